"""Operators' commands, carried out by the poller (it owns the database; operators need none).

`vidpipe retry` and `vidpipe dlq redrive` send a `RetryCommand` to the status queue and wait for
the `RetryReply` on the replies queue (docs/messages.md). The decision itself is
`vidpipe.operations.retry`, the same the operators' console uses.
"""

from __future__ import annotations

import logging

from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy.orm import Session, sessionmaker

from vidpipe import aws, operations
from vidpipe.contracts import RetryCommand
from vidpipe.settings import Settings

log = logging.getLogger(__name__)


def handle_retry(
    command: RetryCommand, session_factory: sessionmaker[Session], settings: Settings
) -> bool:
    """Carry out one retry command and answer it. False: it failed, keep it for another try."""
    try:
        with session_factory() as session:
            reply = operations.carry_out(session, settings, command)
    except Exception:
        log.exception("retry command %s for %s failed", command.request_id, command.video_id)
        return False
    log.info("operator retry of %s: %s", command.video_id, reply.detail)
    if not settings.replies_queue_url:
        log.warning("no VIDPIPE_REPLIES_QUEUE_URL: the operator gets no answer")
        return True
    try:
        aws.client("sqs").send_message(
            QueueUrl=settings.replies_queue_url, MessageBody=reply.model_dump_json()
        )
    except (BotoCoreError, ClientError) as exc:
        # The retry itself is done and committed; repeating it would be a second retry.
        log.warning("the reply to retry command %s was refused: %s", command.request_id, exc)
    return True
