"""The atomic reservation engine: Lua scripts over per-offer Redis keys, and the Python face over them."""
