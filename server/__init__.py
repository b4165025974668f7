"""liveshop: a live-shopping streaming server."""

__version__ = "0.1.0"
