"""Wiring: every module that declares tables, so the metadata (and Alembic) sees the whole schema.

Each floor and feature owns its tables in its own module; a new one adds its import here.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from server import broadcasts
from server.api import models as accounts
from server.commerce import models as commerce
from server.commerce.giveaways import models as giveaways
from server.db import outbox
from server.db.base import Base
from server.inventory import models as stock
from server.live import models as live
from server.mirror import models as mirror
from server.mirror.hooks import models as webhooks
from server.payments import models as payments

MODEL_MODULES = (accounts, outbox, stock, broadcasts, commerce, giveaways, live, mirror, webhooks, payments)


def import_all_models() -> MetaData:
    """The metadata of every table (the imports above registered them)."""
    return Base.metadata
