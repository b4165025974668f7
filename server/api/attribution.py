"""Where a viewer came from (the watch URL's utm_* and the referring site), as it travels to the order.

The watch page reads `utm_source`, `utm_medium`, `utm_campaign` and the referrer's host once, keeps them
for the session and sends them on join (`attribution` in the join payload) and with reservations and
checkout (the optional `Liveshop-Attribution` header, `utm_source=..&utm_medium=..&utm_campaign=..&ref=..`
URL-encoded). Everything here is optional and forgiving: a viewer's URL is theirs to mangle, so a bad
value is dropped rather than refused, and no purchase ever fails over it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

HEADER = "Liveshop-Attribution"
MAX_HEADER = 1000
DIRECT = "direct"
OTHER = "other"
PLATFORMS = ("tiktok", "instagram", "youtube", "shopify", "facebook")

# referrer host suffix -> platform (a suffix matches the host itself or any subdomain of it)
_HOSTS = {
    "tiktok.com": "tiktok",
    "tiktokv.com": "tiktok",
    "instagram.com": "instagram",
    "youtube.com": "youtube",
    "youtu.be": "youtube",
    "shopify.com": "shopify",
    "myshopify.com": "shopify",
    "shop.app": "shopify",
    "facebook.com": "facebook",
    "fb.com": "facebook",
    "fb.me": "facebook",
    "messenger.com": "facebook",
}
# what shops write in utm_source for the same platforms
_ALIASES = {"ig": "instagram", "insta": "instagram", "fb": "facebook", "meta": "facebook", "yt": "youtube"}
_TOKEN = re.compile(r"[^a-z0-9._-]+")
_TEXT = re.compile(r"[^A-Za-z0-9 ._@/+-]+")


@dataclass(frozen=True)
class Attribution:
    source: str = DIRECT  # what the report groups by: utm_source (normalised), else the referring platform
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    referrer: str | None = None  # the referring platform (tiktok ... other), None when there was none

    def columns(self) -> dict[str, str | None]:
        """The order's attribution columns."""
        return {
            "source": self.source,
            "utm_source": self.utm_source,
            "utm_medium": self.utm_medium,
            "utm_campaign": self.utm_campaign,
            "referrer": self.referrer,
        }


NONE = Attribution()


def token(value: Any, limit: int = 40) -> str | None:
    """A lower-case identifier ([a-z0-9._-]) or None: what utm_source and platform names become."""
    if not isinstance(value, str):
        return None
    cleaned = _TOKEN.sub("-", value.strip().lower()).strip("-.")[:limit]
    return cleaned or None


def text(value: Any, limit: int = 100) -> str | None:
    """A short plain label (a medium, a campaign name) or None."""
    if not isinstance(value, str):
        return None
    cleaned = " ".join(_TEXT.sub(" ", value).split())[:limit]
    return cleaned or None


def platform_of(host: Any) -> str | None:
    """The platform a referrer host belongs to: tiktok ... facebook, `other`, or None for no referrer."""
    if not isinstance(host, str) or not host.strip():
        return None
    name = host.strip().lower().split("/")[0].split(":")[0].rstrip(".")
    if not name:
        return None
    for suffix, platform in _HOSTS.items():
        if name == suffix or name.endswith("." + suffix):
            return platform
    return OTHER


def resolve(fields: dict[str, Any]) -> Attribution:
    """From the page's fields ({utm_source, utm_medium, utm_campaign, ref}); unknown keys are ignored."""
    utm_source = token(fields.get("utm_source"))
    referrer = platform_of(fields.get("ref"))
    source = _ALIASES.get(utm_source, utm_source) if utm_source else (referrer or DIRECT)
    return Attribution(
        source=source,
        utm_source=utm_source,
        utm_medium=text(fields.get("utm_medium")),
        utm_campaign=text(fields.get("utm_campaign")),
        referrer=referrer,
    )


def from_header(value: str | None) -> Attribution:
    """The `Liveshop-Attribution` header; absent, oversized or garbled gives direct."""
    if not value or len(value) > MAX_HEADER:
        return NONE
    try:
        pairs = dict(parse_qsl(value, keep_blank_values=False, max_num_fields=10))
    except ValueError:
        return NONE
    return resolve(pairs)


def from_payload(value: Any) -> Attribution:
    """The `attribution` object of a socket.io join; anything else gives direct."""
    return resolve(value) if isinstance(value, dict) else NONE
