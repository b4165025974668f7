"""Argon2 password hashing on a small dedicated pool: each attempt costs 64 MiB and ~100 ms of a core,
so concurrency is bounded (a login flood queues instead of exhausting memory) and an unknown account
costs the same work as a known one (no telling them apart by timing)."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.errors import Code, DomainError

_hasher = PasswordHasher()
WORKERS = max(1, min(4, os.cpu_count() or 1))
MAX_WAITING = 64  # attempts queued beyond this are told to come back (never a pile of 64 MiB buffers)
_pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="argon2")
_waiting = 0
_dummy_hash: str | None = None


async def _run(fn, *args):  # type: ignore[no-untyped-def]
    global _waiting
    if _waiting >= MAX_WAITING:
        error = DomainError(Code.SERVICE_UNAVAILABLE, "Too many sign-ins at once; retry shortly")
        error.headers["Retry-After"] = "1"
        raise error
    _waiting += 1
    try:
        # The pool's WORKERS threads are the bound on concurrent hashing; the rest wait in its queue.
        return await asyncio.get_running_loop().run_in_executor(_pool, fn, *args)
    finally:
        _waiting -= 1


async def hash_password(password: str) -> str:
    return str(await _run(_hasher.hash, password))


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


async def check_password(hashed: str | None, password: str) -> bool:
    """True when `password` matches; with no hash (unknown account) the same work, then False."""
    global _dummy_hash
    if hashed is None:
        if _dummy_hash is None:
            _dummy_hash = await hash_password("liveshop-no-such-account")
        await _run(_verify, _dummy_hash, password)
        return False
    return bool(await _run(_verify, hashed, password))
