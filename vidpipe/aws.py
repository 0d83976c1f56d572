"""boto3 clients. boto3 itself honours AWS_ENDPOINT_URL, so the same code talks to moto locally."""

from __future__ import annotations

from functools import lru_cache

import boto3
from botocore.config import Config

# Standard retry mode backs off on throttling and transient network errors before we give up.
_CONFIG = Config(
    retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=30
)


@lru_cache
def client(service: str):
    """A shared, thread-safe client per service (boto3 clients are thread-safe, sessions are not)."""
    config = _CONFIG
    if service == "s3":
        # SigV4 presigned URLs (the only kind newer regions accept), expiry up to 7 days.
        config = config.merge(Config(signature_version="s3v4"))
    return boto3.session.Session().client(service, config=config)


def reset_clients() -> None:
    """Forget cached clients (after the environment changes, e.g. a new local endpoint)."""
    client.cache_clear()
