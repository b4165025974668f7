"""What a node keeps for mirroring: its configuration, an HTTP session and connectors for webhooks
(order fetches), the status figures, and the in-process worker when it runs one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from server.config import MirrorSettings
from server.mirror.connectors.base import Connector
from server.mirror.status import StatusCollector


@dataclass
class MirrorState:
    config: MirrorSettings
    collector: StatusCollector = field(default_factory=StatusCollector)
    http: aiohttp.ClientSession | None = None
    connectors: dict[str, Connector] = field(default_factory=dict)
    worker: Any = None

    def connector(self, name: str) -> Connector | None:
        return self.connectors.get(name)


MIRROR = web.AppKey("mirror", MirrorState)
