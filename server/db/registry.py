"""Imports every module that declares tables, so metadata and migrations see the whole schema.

Feature packages add their own `models` module here; the storage floor only names them.
"""

from __future__ import annotations

import importlib

MODEL_MODULES = (
    "server.db.models",
    "server.live.models",
    "server.mirror.models",
    "server.payments.models",
    "server.mirror.hooks.models",
)


def import_all_models() -> None:
    for name in MODEL_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
