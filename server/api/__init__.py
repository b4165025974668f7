"""HTTP plumbing shared by the features: errors, auth, validation, OpenAPI, metrics."""
