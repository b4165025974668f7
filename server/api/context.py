"""Typed application keys: how handlers reach the shared services of their node."""

from __future__ import annotations

from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from server.clock import Clock
from server.config import Settings
from server.events import EventBus
from server.inventory.engine import Inventory

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
DB = web.AppKey("db", async_sessionmaker[AsyncSession])
REDIS = web.AppKey("redis", Redis)
EVENTS = web.AppKey("events", EventBus)
INVENTORY = web.AppKey("inventory", Inventory)
CLOCK = web.AppKey("clock", Clock)  # the node's one clock (the inventory engine reads the same)
