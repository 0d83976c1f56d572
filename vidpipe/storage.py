"""S3 access for media: streamed uploads, presigned downloads, removal."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import BinaryIO

from boto3.s3.transfer import TransferConfig

from vidpipe import aws
from vidpipe.settings import Settings

# Sequential 8 MiB parts: the upload's memory stays at one part, whatever the file's size.
_STREAMING = TransferConfig(
    multipart_threshold=8 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024, use_threads=False
)


def upload_stream(fileobj: BinaryIO, key: str, settings: Settings) -> None:
    aws.client("s3").upload_fileobj(
        fileobj, settings.bucket, key, ExtraArgs={"ContentType": "video/mp4"}, Config=_STREAMING
    )


class _PresignCache:
    """Signed GET URLs reused while they still have most of their life left.

    Signing costs ~0.2-0.4 ms of CPU in botocore, and the public list signs one URL per row: it was
    the largest item of the API's profile. A URL is reused only while at least 2/3 of its
    `presign_expiry_seconds` remain, so every URL handed out stays valid for >= 2/3 of the
    configured time (600 s of the default 900 s). Keyed by endpoint, region, bucket, key and
    expiry (a new endpoint or setting signs anew); bounded (least recently used entries go).
    """

    def __init__(self, max_entries: int = 20_000) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple, tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple, reuse_until_age: float, now: float) -> str | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            url, signed_at = entry
            if not 0 <= now - signed_at < reuse_until_age:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return url

    def put(self, key: tuple, url: str, signed_at: float) -> None:
        with self._lock:
            self._entries[key] = (url, signed_at)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_presigned = _PresignCache()


def _cache_key(s3, key: str, settings: Settings) -> tuple:
    expiry = settings.presign_expiry_seconds
    return (s3.meta.endpoint_url, s3.meta.region_name, settings.bucket, key, expiry)


def _reusable(cache_key: tuple, settings: Settings, now: float) -> str | None:
    """A signed URL still in its reuse window (the first third of its life), if cached."""
    return _presigned.get(cache_key, settings.presign_expiry_seconds / 3, now)


def presigned_get(key: str | None, settings: Settings) -> str | None:
    if not key:
        return None
    s3 = aws.client("s3")
    cache_key = _cache_key(s3, key, settings)
    # Wall clock on purpose: the URL's X-Amz-Date is wall-clock time.
    now = time.time()
    url = _reusable(cache_key, settings, now)
    if url is None:
        url = s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": settings.bucket, "Key": key},
            ExpiresIn=settings.presign_expiry_seconds,
        )
        _presigned.put(cache_key, url, now)
    return url


def cached_presigned_get(key: str, settings: Settings) -> str | None:
    """`presigned_get`'s URL when its cache still holds one, else None: never signs and never makes
    a client, so it may run on an event loop (signing may fetch or refresh credentials over the
    network, and making a client resolves them)."""
    s3 = aws.existing_client("s3")
    return None if s3 is None else _reusable(_cache_key(s3, key, settings), settings, time.time())


def delete_objects(keys: list[str], prefixes: list[str], settings: Settings) -> None:
    """Delete the given keys and every object under the given prefixes."""
    s3 = aws.client("s3")
    doomed = list(keys)
    for prefix in prefixes:
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=settings.bucket, Prefix=prefix
        ):
            doomed.extend(obj["Key"] for obj in page.get("Contents", []))
    for start in range(0, len(doomed), 1000):
        batch = doomed[start : start + 1000]
        s3.delete_objects(
            Bucket=settings.bucket,
            Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True},
        )
