"""S3 access for media: streamed uploads, presigned downloads, removal."""

from __future__ import annotations

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


def presigned_get(key: str | None, settings: Settings) -> str | None:
    if not key:
        return None
    return aws.client("s3").generate_presigned_url(
        "get_object",
        Params={"Bucket": settings.bucket, "Key": key},
        ExpiresIn=settings.presign_expiry_seconds,
    )


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
