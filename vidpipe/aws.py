"""boto3 clients and the one reading of AWS error codes.

boto3 itself honours AWS_ENDPOINT_URL, so the same code talks to moto locally. The module needs
boto3 only, so the transcode job's image carries it too (Dockerfile.job).
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

# Standard retry mode backs off on throttling and transient network errors before we give up.
_CONFIG = Config(
    retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=30
)

# "The thing addressed does not exist", as each service we call spells it. S3 answers a bare
# "404" to HEAD requests; Step Functions has both spellings depending on the operation.
NOT_FOUND_CODES = frozenset(
    {
        "404",
        "NoSuchKey",
        "NotFound",
        "NoSuchBucket",
        "ExecutionDoesNotExist",
        "StateMachineDoesNotExist",
        "ResourceNotFound",
        "ResourceNotFoundException",
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
    }
)
# A task token nobody waits for any more: the state timed out, the execution ended, or the token
# was never valid. Whoever holds one stops working for it.
TASK_TOKEN_GONE_CODES = frozenset({"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"})


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError ("" for anything else)."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def http_status(exc: BaseException) -> int:
    if isinstance(exc, ClientError):
        return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return 0


def is_not_found(exc: BaseException) -> bool:
    return error_code(exc) in NOT_FOUND_CODES


def is_token_gone(exc: BaseException) -> bool:
    return error_code(exc) in TASK_TOKEN_GONE_CODES


_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def _new_client(service: str):
    config = _CONFIG
    if service == "s3":
        # SigV4 presigned URLs (the only kind newer regions accept), expiry up to 7 days.
        config = config.merge(Config(signature_version="s3v4"))
    return boto3.session.Session().client(service, config=config)


def client(service: str):
    """A shared, thread-safe client per service (boto3 clients are thread-safe, sessions are not)."""
    found = _clients.get(service)
    if found is None:
        # Made outside the lock: making one may fetch credentials over the network.
        made = _new_client(service)
        with _clients_lock:
            found = _clients.setdefault(service, made)
    return found


def existing_client(service: str):
    """The shared client if one was made already, else None; never makes one (making a client
    resolves credentials, which may ask the ECS credential endpoint over the network)."""
    return _clients.get(service)


def reset_clients() -> None:
    """Forget cached clients (after the environment changes, e.g. a new local endpoint)."""
    with _clients_lock:
        _clients.clear()
