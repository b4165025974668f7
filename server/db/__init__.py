"""Storage floor: the async engine, the shared schema and its migrations."""
