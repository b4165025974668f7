"""Where recordings live: a directory (the default) or an S3-compatible object store.

Both answer the same few calls, always from a worker thread (the recorder's writer, or
`asyncio.to_thread` for reads), never on the event loop. The S3 client is boto3: the reference client,
thread-safe once built, and spoken by every S3-compatible server (MinIO, Ceph, R2, moto); the recorder
already writes through one ordered worker thread, so an async client (aiobotocore, which pins botocore
to its own versions) would buy nothing but a second dependency tree.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

log = logging.getLogger("liveshop.media")


class StoreUnavailable(Exception):
    """The store did not answer (timed out, refused, 5xx): not the same as "no such recording"."""


class RecordingStore(Protocol):
    """Objects named `<broadcast>/<file>`; a missing one is None, an unreachable store raises."""

    where: str  # for logs and docs: the folder or s3://bucket/prefix

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes | None: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def delete_folder(self, broadcast_id: str) -> int: ...

    def folders(self) -> list[str]: ...


class DirectoryStore:
    """One folder per broadcast; each file written whole (a partial file renamed into place)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.where = str(root)

    def put(self, key: str, data: bytes) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        partial.write_bytes(data)
        partial.replace(path)  # readers see the whole file or none of it

    def get(self, key: str) -> bytes | None:
        try:
            return (self.root / key).read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None

    def exists(self, key: str) -> bool:
        return (self.root / key).is_file()

    def delete(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)

    def delete_folder(self, broadcast_id: str) -> int:
        folder = self.root / broadcast_id
        count = sum(1 for _ in folder.iterdir()) if folder.is_dir() else 0
        shutil.rmtree(folder, ignore_errors=True)
        return count

    def folders(self) -> list[str]:
        if not self.root.exists():
            return []
        return [p.name for p in self.root.iterdir() if p.is_dir()]


class S3Store:
    """An S3 bucket under a prefix: `s3://bucket/prefix/<broadcast>/<file>`."""

    def __init__(self, url: str, client: Any) -> None:
        parts = urlsplit(url)
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        self.where = url
        self.client = client

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _call(self, what: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, what)(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("NoSuchKey", "404", "NotFound"):
                raise KeyError(kwargs.get("Key", "")) from exc
            raise StoreUnavailable(f"{what}: {code or exc}") from exc
        except BotoCoreError as exc:  # connect/read timeouts, refused connections, bad endpoints
            raise StoreUnavailable(f"{what}: {type(exc).__name__}") from exc

    def put(self, key: str, data: bytes) -> None:
        content_type = (
            "application/vnd.apple.mpegurl"
            if key.endswith(".m3u8")
            else "image/jpeg"
            if key.endswith(".jpg")
            else "application/json"
            if key.endswith(".json")
            else "video/mp4"
        )
        self._call("put_object", Key=self._key(key), Body=data, ContentType=content_type)

    def get(self, key: str) -> bytes | None:
        try:
            body = self._call("get_object", Key=self._key(key))["Body"]
        except KeyError:
            return None
        try:
            return bytes(body.read())
        except Exception as exc:  # the connection died mid-body
            raise StoreUnavailable(f"get_object: {type(exc).__name__}") from exc
        finally:
            body.close()

    def exists(self, key: str) -> bool:
        try:
            self._call("head_object", Key=self._key(key))
        except KeyError:
            return False
        return True

    def delete(self, key: str) -> None:
        self._call("delete_object", Key=self._key(key))

    def _list(self, prefix: str, delimiter: str = "") -> list[dict[str, Any]]:
        pages: list[dict[str, Any]] = []
        token: str | None = None
        for _ in range(10_000):  # 10,000 pages of 1,000: bounded even for a huge bucket
            extra: dict[str, Any] = {"ContinuationToken": token} if token else {}
            if delimiter:
                extra["Delimiter"] = delimiter
            page = self._call("list_objects_v2", Prefix=prefix, **extra)
            pages.append(page)
            if not page.get("IsTruncated"):
                break
            token = page.get("NextContinuationToken")
        return pages

    def delete_folder(self, broadcast_id: str) -> int:
        keys = [
            o["Key"] for page in self._list(self._key(broadcast_id) + "/") for o in page.get("Contents", [])
        ]
        for start in range(0, len(keys), 1000):
            batch = [{"Key": k} for k in keys[start : start + 1000]]
            self._call("delete_objects", Delete={"Objects": batch, "Quiet": True})
        return len(keys)

    def folders(self) -> list[str]:
        base = self._key("")
        return [
            p["Prefix"][len(base) :].strip("/")
            for page in self._list(base, delimiter="/")
            for p in page.get("CommonPrefixes", [])
        ]


def s3_client(endpoint: str, region: str, access_key: str, secret_key: str, timeout_s: float) -> Any:
    """A boto3 client with short timeouts and one retry: a slow store costs a write, never a stall."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=timeout_s,
        read_timeout=timeout_s,
        retries={"max_attempts": 2, "mode": "standard"},
        s3={"addressing_style": "path"},
        max_pool_connections=16,
    )
    return boto3.client(
        "s3",
        endpoint_url=endpoint or None,
        region_name=region or "us-east-1",
        aws_access_key_id=access_key or None,
        aws_secret_access_key=secret_key or None,
        config=config,
    )
