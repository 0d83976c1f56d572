"""Keep the local bucket on disk: moto keeps S3 in memory, and a restart of `vidpipe up` must not
lose the uploads the database still refers to.

A mirror thread copies new or changed objects to `<data_dir>/s3/<bucket>/<key>` (and removes
deleted ones) every `interval` seconds through the S3 API; `restore` puts them back after a start.
An object written less than `interval` before a hard kill can be missing after it: its video then
fails with "the uploaded file was not found" instead of being lost silently.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from vidpipe import aws

log = logging.getLogger(__name__)


class BucketMirror:
    def __init__(self, bucket: str, root: Path, interval: float = 0.25):
        self.bucket = bucket
        self.root = Path(root) / bucket
        self.interval = interval
        self._etags: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"unsafe key {key!r}")
        return path

    def restore(self) -> int:
        """Upload every mirrored file back into the (new, empty) bucket."""
        s3 = aws.client("s3")
        count = 0
        if self.root.exists():
            for path in sorted(p for p in self.root.rglob("*") if p.is_file()):
                key = path.relative_to(self.root).as_posix()
                s3.upload_file(str(path), self.bucket, key)
                count += 1
        self.sync()
        return count

    def sync(self) -> None:
        s3 = aws.client("s3")
        current: dict[str, str] = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            for obj in page.get("Contents", []):
                current[obj["Key"]] = obj["ETag"]
        for key, etag in current.items():
            if self._etags.get(key) != etag:
                path = self._path(key)
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(path.name + ".part")
                s3.download_file(self.bucket, key, str(tmp))
                tmp.replace(path)
                self._etags[key] = etag
        for key in set(self._etags) - set(current):
            self._path(key).unlink(missing_ok=True)
            del self._etags[key]

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="bucket-mirror", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sync()
            except (BotoCoreError, ClientError, OSError) as exc:
                log.warning("bucket mirror: %s", exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            try:
                self.sync()
            except (BotoCoreError, ClientError, OSError) as exc:
                log.warning("bucket mirror: final sync failed: %s", exc)
