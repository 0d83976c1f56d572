"""S3 download/upload, streamed to and from disk (never the whole video in memory)."""

from __future__ import annotations

import logging
from pathlib import Path

import boto3
from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import BotoCoreError, ClientError

from vidpipe.aws import error_code, http_status, is_not_found

from .errors import Failed, InvalidInput, Transient

log = logging.getLogger(__name__)


def _client():
    # Plain client: boto3 honours AWS_ENDPOINT_URL (moto locally), so there is no "local" branch.
    return boto3.client("s3")


def _classify(exc: Exception, what: str) -> Exception:
    """Map an S3 error to the job's typed errors."""
    if isinstance(exc, ClientError):
        code, status = error_code(exc), http_status(exc)
        if code in ("NoSuchBucket", "AccessDenied", "403", "InvalidAccessKeyId") or status == 403:
            # Configuration, not luck: a retry would fail the same way.
            return Failed(f"S3 {what} refused: {code}")
        if is_not_found(exc) and what == "download":
            return InvalidInput("the uploaded file was not found")
        return Transient(f"S3 {what} failed ({code or status}); it will be retried")
    # Connection errors, read timeouts, incomplete reads, failed multipart uploads.
    return Transient(f"S3 {what} failed ({type(exc).__name__}); it will be retried")


def download(bucket: str, key: str, dest: Path) -> int:
    """Stream s3://bucket/key to `dest`; return its size."""
    try:
        _client().download_file(bucket, key, str(dest))
    except (ClientError, BotoCoreError, S3UploadFailedError) as exc:
        raise _classify(exc, "download") from exc
    size = dest.stat().st_size
    log.info("downloaded s3://%s/%s (%d bytes)", bucket, key, size)
    return size


def upload(src: Path, bucket: str, key: str, content_type: str) -> None:
    try:
        _client().upload_file(str(src), bucket, key, ExtraArgs={"ContentType": content_type})
    except (ClientError, BotoCoreError, S3UploadFailedError) as exc:
        raise _classify(exc, "upload") from exc
    log.info("uploaded s3://%s/%s", bucket, key)
