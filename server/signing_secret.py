"""The token-signing secret: a random one kept beside the embedded data, and checks on an operator's own."""

from __future__ import annotations

import ipaddress
import math
import os
import secrets
from collections import Counter
from pathlib import Path

SECRET_FILE = "liveshop.secret"
MIN_LENGTH = 32
MIN_ENTROPY_BITS = 96.0  # `openssl rand -hex 16` measures ~105
# Strings seen in examples, compose files and tutorials: a secret containing one is someone else's too.
PLACEHOLDERS = (
    "change-me",
    "changeme",
    "change_me",
    "replace-me",
    "replaceme",
    "placeholder",
    "your-secret",
    "yoursecret",
    "example",
    "embedded-demo-secret",
    "secret-of-32-chars",
    "notasecret",
)


class WeakSecret(ValueError):
    """The secret is a known placeholder or too guessable to sign tokens with."""


def entropy_bits(value: str) -> float:
    """Shannon entropy of the string's own characters times its length: a floor on how guessable it is."""
    counts = Counter(value)
    total = len(value)
    per_char = -sum(n / total * math.log2(n / total) for n in counts.values())
    return per_char * total


def check_secret(value: str) -> str:
    """Refuses placeholders, short secrets and low-entropy ones, with the fix in the message."""
    hint = "generate one: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
    lowered = value.lower()
    if any(p in lowered for p in PLACEHOLDERS):
        raise WeakSecret(f"LIVESHOP_SECRET is a published placeholder; {hint}")
    if len(value) < MIN_LENGTH:
        raise WeakSecret(f"LIVESHOP_SECRET must be at least {MIN_LENGTH} characters; {hint}")
    if entropy_bits(value) < MIN_ENTROPY_BITS:
        raise WeakSecret(f"LIVESHOP_SECRET is too predictable (repeated characters); {hint}")
    return value


def sqlite_directory(database_url: str) -> Path | None:
    """Where an embedded SQLite database lives (None for an in-memory one)."""
    path = database_url.split(":///", 1)[1] if ":///" in database_url else ""
    path = path.split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return Path(path).expanduser().resolve().parent


def embedded_secret(database_url: str) -> str:
    """The data directory's own random secret, made on first start and kept (mode 0600) beside the data."""
    directory = sqlite_directory(database_url)
    if directory is None:
        return secrets.token_urlsafe(48)
    path = directory / SECRET_FILE
    try:
        stored = path.read_text().strip()
    except FileNotFoundError:
        stored = ""
    if len(stored) >= MIN_LENGTH:
        return stored
    directory.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process of this data directory made it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as out:
        out.write(value + "\n")
    return value


def is_loopback(host: str) -> bool:
    """A bind address only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
