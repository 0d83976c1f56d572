"""Keep the local bucket and the DLQ on disk: moto keeps everything in memory, and a restart of
`vidpipe up` must not lose the uploads the database still refers to, nor the failed videos'
dead-letter messages (the database does not hold those).

`Mirrors` runs the mirrors' `sync` every `interval` seconds in one thread, and once more on stop;
each mirror's `restore` puts its copy back after a start.
- `BucketMirror` copies new or changed objects to `<data_dir>/s3/<bucket>/<key>` (and removes
  deleted ones) through the S3 API. An object written less than `interval` before a hard kill can
  be missing after it: its video then fails with "the uploaded file was not found" instead of
  being lost silently.
- `QueueMirror` writes a queue's message bodies to `<data_dir>/sqs/<queue>.json` when they change.
  Restored messages are sent anew: new ids and sent times, same bodies.
Both find changes by reading moto's backends in this process (the moto server runs here, as
`ecs_shim` needs): SQS cannot list messages without receiving them (which would hide them from
`vidpipe dlq` and count as deliveries), and listing the bucket over HTTP four times a second was
most of an idle stack's CPU.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from vidpipe import aws

log = logging.getLogger(__name__)


class BucketMirror:
    def __init__(self, bucket: str, root: Path, *, account: str):
        self.bucket = bucket
        self.root = Path(root) / bucket
        self.account = account
        self._etags: dict[str, str] = {}

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
            files = (p for p in self.root.rglob("*") if p.is_file() and p.suffix != ".part")
            for path in sorted(files):
                key = path.relative_to(self.root).as_posix()
                s3.upload_file(str(path), self.bucket, key)
                count += 1
        self.sync()
        return count

    def _listing(self) -> dict[str, str]:
        """Key -> ETag, read from moto in this process: ListObjects over HTTP four times a second
        was most of an idle stack's CPU."""
        from moto.s3.models import s3_backends

        keys = s3_backends[self.account]["aws"].get_bucket(self.bucket).keys
        for _ in range(10):
            try:
                return {name: key.etag for name, key in keys.items()}
            except (RuntimeError, KeyError, IndexError):  # the server thread wrote meanwhile
                continue
        raise RuntimeError(f"bucket {self.bucket} kept changing while listed")

    def sync(self) -> None:
        current = self._listing()
        if current == self._etags:
            return
        s3 = aws.client("s3")
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


class QueueMirror:
    def __init__(self, queue_url: str, root: Path, *, account: str, region: str):
        self.queue_url = queue_url
        self.name = queue_url.rstrip("/").rsplit("/", 1)[-1]
        self.path = Path(root) / f"{self.name}.json"
        self.account = account
        self.region = region
        self._saved: tuple[str, ...] | None = None

    def _messages(self) -> list:
        from moto.sqs.models import sqs_backends

        queue = sqs_backends[self.account][self.region].get_queue(self.name)
        with queue._messages_lock:
            return list(queue._messages)

    def restore(self) -> int:
        """Send the saved bodies into the (new, empty) queue."""
        count = 0
        if self.path.exists():
            sqs = aws.client("sqs")
            for body in json.loads(self.path.read_text())["bodies"]:
                sqs.send_message(QueueUrl=self.queue_url, MessageBody=body)
                count += 1
        self.sync()
        return count

    def sync(self) -> None:
        messages = self._messages()
        ids = tuple(m.id for m in messages)
        if ids == self._saved:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".part")
        tmp.write_text(json.dumps({"queue": self.name, "bodies": [m.body for m in messages]}))
        os.replace(tmp, self.path)
        self._saved = ids


class Mirrors:
    """One thread syncing every mirror; a last sync on stop."""

    def __init__(self, mirrors: Sequence[BucketMirror | QueueMirror], interval: float = 0.25):
        self.mirrors = list(mirrors)
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def restore(self) -> dict[str, int]:
        return {type(m).__name__: m.restore() for m in self.mirrors}

    def sync(self) -> None:
        for mirror in self.mirrors:
            try:
                mirror.sync()
            except (BotoCoreError, ClientError, OSError) as exc:
                log.warning("%s: %s", type(mirror).__name__, exc)
            except Exception:  # never let the mirror thread die silently
                log.exception("%s failed", type(mirror).__name__)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="mirrors", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sync()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self.sync()
