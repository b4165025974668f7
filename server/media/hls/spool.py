"""Recording writes an object store did not take, kept on the node's disk in write order until it takes
them: a store that is down for a while costs the replay nothing once it is back, and a node restarted
meanwhile finds them and sends them on.

Order is the point: a playlist is written after its segments, so a store that receives the writes in
order never lists a segment it does not have. A newer write of a key already waiting (the playlists,
rewritten after each segment) replaces the older one and takes its place at the end, which keeps that
rule and sends each playlist once. Bounded in bytes: past `max_bytes` a write is refused (the caller
counts it dropped). One node owns a spool directory (a lock file): a second node on the same machine
and recordings_dir runs without one, and says so."""

from __future__ import annotations

import base64
import fcntl
import os
import threading
from collections import OrderedDict
from pathlib import Path

LOCK = ".lock"


class SpoolBusy(Exception):
    """Another process holds this spool directory."""


class Spool:
    """A FIFO of (key, bytes) in a directory: one file per write, named by its place in the order."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.bytes = 0
        self._lock = threading.Lock()  # the recorder's writer adds and sends; readers look up
        self._waiting: OrderedDict[str, tuple[Path, int]] = OrderedDict()  # key -> (file, size), oldest first
        self._seq = 0
        root.mkdir(parents=True, exist_ok=True)
        self._owner = os.open(root / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._owner, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(self._owner)
            raise SpoolBusy(str(root)) from exc
        for leftover in sorted(root.iterdir()):  # from before a restart, in their order
            if leftover.name == LOCK:
                continue
            seq, _, encoded = leftover.name.partition("-")
            try:
                key = base64.urlsafe_b64decode(encoded.encode()).decode() if seq.isdigit() else ""
            except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
                key = ""
            if leftover.suffix == ".tmp" or not key:  # a write cut short, or not ours
                leftover.unlink(missing_ok=True)
                continue
            self._replace(key, leftover, leftover.stat().st_size)
            self._seq = max(self._seq, int(seq))

    def close(self) -> None:
        """Let another process own the directory (what waits stays for it)."""
        if self._owner >= 0:
            os.close(self._owner)  # closing the descriptor releases the lock
            self._owner = -1

    def __len__(self) -> int:
        return len(self._waiting)

    def add(self, key: str, data: bytes) -> bool:
        """Keep `key` to send later, after everything waiting; False when the spool is full."""
        with self._lock:
            replaced = self._waiting.get(key)
            if self.bytes - (replaced[1] if replaced else 0) + len(data) > self.max_bytes:
                return False
            self._seq += 1
            encoded = base64.urlsafe_b64encode(key.encode()).decode()
            path = self.root / f"{self._seq:012d}-{encoded}"
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)  # whole or absent, even if the node dies mid-write
            self._replace(key, path, len(data))
            return True

    def _replace(self, key: str, path: Path, size: int) -> None:
        old = self._waiting.pop(key, None)
        if old is not None:
            old[0].unlink(missing_ok=True)
            self.bytes -= old[1]
        self._waiting[key] = (path, size)
        self.bytes += size

    def oldest(self) -> tuple[str, bytes] | None:
        with self._lock:
            if not self._waiting:
                return None
            key, (path, _) = next(iter(self._waiting.items()))
            return key, path.read_bytes()

    def sent(self, key: str) -> None:
        """The store took `key` (unless a newer write of it came meanwhile: that one still waits)."""
        with self._lock:
            found = self._waiting.get(key)
            if found is not None and next(iter(self._waiting)) == key:
                self._waiting.pop(key)
                found[0].unlink(missing_ok=True)
                self.bytes -= found[1]

    def get(self, key: str) -> bytes | None:
        """The waiting write of `key` (newer than the store's), or None."""
        with self._lock:
            found = self._waiting.get(key)
            if found is None:
                return None
            return found[0].read_bytes()

    def drop_folder(self, folder: str) -> int:
        """Forget every waiting write under `folder/` (retention deleted the recording)."""
        with self._lock:
            keys = [k for k in self._waiting if k.startswith(folder + "/")]
            for key in keys:
                path, size = self._waiting.pop(key)
                path.unlink(missing_ok=True)
                self.bytes -= size
            return len(keys)

    def folders(self) -> set[str]:
        with self._lock:
            return {k.split("/", 1)[0] for k in self._waiting}
