"""Local emulators of each platform's API contract (auth, signatures, payload shapes, throttling,
injected 5xx and timeouts) that keep the stock they were told. Tests and the demo run against them."""
