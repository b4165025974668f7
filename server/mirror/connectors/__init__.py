"""One small module per platform: its request shape, its signing, its throttling signals."""

from __future__ import annotations

import aiohttp

from server.config import MirrorSettings
from server.mirror.connectors.base import Connector


def build_connectors(config: MirrorSettings, http: aiohttp.ClientSession) -> dict[str, Connector]:
    """The enabled platforms only: a platform without credentials is simply off."""
    from server.mirror.connectors.google import GoogleMerchant
    from server.mirror.connectors.meta import MetaCatalog
    from server.mirror.connectors.shopify import Shopify
    from server.mirror.connectors.tiktok import TikTokShop

    classes: dict[str, type[Connector]] = {
        "tiktok": TikTokShop,
        "shopify": Shopify,
        "meta": MetaCatalog,
        "google": GoogleMerchant,
    }
    return {name: classes[name](config, http) for name in config.enabled()}
