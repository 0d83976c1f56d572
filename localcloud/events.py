"""Local delivery of the completion events (docs/messages.md) to a webhook URL.

In AWS an EventBridge rule on the bus targets an API destination, which POSTs each event to the
webhook. Moto's API-destination target sends no body at all (and only with
MOTO_EVENTS_INVOKE_HTTP=true), so locally the rule targets an SQS queue, which moto does deliver
to, and `WebhookForwarder` POSTs each queued event, as EventBridge's envelope, to the URL.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request

from vidpipe import aws

log = logging.getLogger(__name__)

EVENTS_QUEUE = "vidpipe-events"
RULE_NAME = "vidpipe-completion-events"
# The completion events the state machine publishes (source and detail types).
EVENT_PATTERN = {"source": ["vidpipe"], "detail-type": ["Video Processed", "Video Failed"]}


def create_bus(name: str) -> str:
    """The custom bus the state machine's Publish* states put to; returns its ARN."""
    return aws.client("events").create_event_bus(Name=name)["EventBusArn"]


def route_to_queue(bus_name: str) -> str:
    """Rule on the bus -> SQS queue holding each completion event; returns the queue URL."""
    sqs = aws.client("sqs")
    queue_url = sqs.create_queue(
        QueueName=EVENTS_QUEUE,
        # A webhook that is down gets each event again after 10 s, for an hour at most.
        Attributes={"VisibilityTimeout": "10", "MessageRetentionPeriod": "3600"},
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    events = aws.client("events")
    events.put_rule(Name=RULE_NAME, EventBusName=bus_name, EventPattern=json.dumps(EVENT_PATTERN))
    events.put_targets(
        Rule=RULE_NAME, EventBusName=bus_name, Targets=[{"Id": "webhook", "Arn": queue_arn}]
    )
    return queue_url


class WebhookForwarder:
    """Long-polls the events queue and POSTs each event (JSON) to `url`; an event is deleted
    only once the webhook answered 2xx."""

    def __init__(self, queue_url: str, url: str, *, wait_seconds: int = 1, timeout: float = 10):
        self.queue_url = queue_url
        self.url = url
        self.wait_seconds = wait_seconds
        self.timeout = timeout
        self.delivered = 0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="webhook-forwarder", daemon=True)
        self._thread.start()
        log.info("completion events are delivered to %s", self.url)

    def stop(self, timeout: float = 10) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        sqs = aws.client("sqs")
        while not self._stopping.is_set():
            try:
                messages = sqs.receive_message(
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=10,
                    WaitTimeSeconds=self.wait_seconds,
                ).get("Messages", [])
            except Exception as exc:  # the local AWS stopping under us, or a hiccup
                log.warning("reading the events queue failed: %s", exc)
                self._stopping.wait(1)
                continue
            for message in messages:
                if self._post(message["Body"]):
                    sqs.delete_message(
                        QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                    )
                    self.delivered += 1

    def _post(self, body: str) -> bool:
        request = urllib.request.Request(
            self.url,
            data=body.encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return 200 <= response.status < 300
        except (urllib.error.URLError, OSError) as exc:
            log.warning("webhook %s did not take the event: %s", self.url, exc)
            return False
