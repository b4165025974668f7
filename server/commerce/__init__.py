"""Catalog, broadcasts, flash offers, reservations and orders: the buying path."""
