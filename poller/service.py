"""The poller's loops: jobs queue, status queue, periodic sweeper; SIGTERM drains cleanly.

Draining: stop receiving, finish the messages already received (a message received during the
drain is released with visibility 0 so another poller task takes it at once), run no new sweep,
exit. Nothing is lost either way: a message is deleted only after its work is done.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable

from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy.orm import Session, sessionmaker

from poller import jobs, status, sweeper
from vidpipe import aws
from vidpipe.settings import Settings

log = logging.getLogger(__name__)


class PollerService:
    def __init__(
        self,
        settings: Settings,
        session_factory: sessionmaker[Session],
        *,
        wait_seconds: int = 10,
        sweep_interval_seconds: float = 60.0,
    ):
        self.settings = settings
        self.session_factory = session_factory
        self.wait_seconds = wait_seconds
        self.sweep_interval_seconds = sweep_interval_seconds
        self.running = jobs.RunningExecutions(
            settings, refresh_seconds=settings.running_count_refresh_seconds
        )
        self.stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        # Counters for logs, tests and benchmarks.
        self.counts: dict[str, int] = {}
        self.started_at: dict[
            str, float
        ] = {}  # execution name -> wall time StartExecution returned

    def _count(self, key: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        for name, target in (
            ("poller-jobs", self._jobs_loop),
            ("poller-status", self._status_loop),
            ("poller-sweeper", self._sweep_loop),
        ):
            thread = threading.Thread(target=self._guard(target), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info(
            "poller started: at most %d running executions", self.settings.max_running_executions
        )

    def stop(self, timeout: float | None = None) -> None:
        """Drain: finish in-hand messages, then return."""
        self.stopping.set()
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        self._threads = [t for t in self._threads if t.is_alive()]
        log.info("poller stopped")

    def run_until_signalled(self) -> None:
        """The `vidpipe poller` process: run until SIGTERM/SIGINT, then drain."""

        def handler(signum, _frame):
            log.info("%s: draining", signal.Signals(signum).name)
            self.stopping.set()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
        self.start()
        while not self.stopping.wait(0.5):
            pass
        self.stop()

    def _guard(self, loop: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            while not self.stopping.is_set():
                try:
                    loop()
                    return
                except Exception:  # an unexpected error must not end the loop for ever
                    log.exception(
                        "%s failed; restarting it in 1 s", threading.current_thread().name
                    )
                    self.stopping.wait(1)

        return run

    # --- loops -----------------------------------------------------------------------------

    def _receive(self, queue_url: str, max_messages: int) -> list[dict]:
        try:
            return (
                aws.client("sqs")
                .receive_message(
                    QueueUrl=queue_url,
                    MaxNumberOfMessages=max(1, min(10, max_messages)),
                    WaitTimeSeconds=self.wait_seconds,
                )
                .get("Messages", [])
            )
        except (BotoCoreError, ClientError) as exc:
            log.warning("receive from %s failed: %s", queue_url, exc)
            self.stopping.wait(2)
            return []

    def _delete(self, queue_url: str, message: dict) -> None:
        try:
            aws.client("sqs").delete_message(
                QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"]
            )
        except (BotoCoreError, ClientError) as exc:  # it comes back; handling is idempotent
            log.warning("delete from %s failed: %s", queue_url, exc)

    def _release(self, queue_url: str, messages: list[dict]) -> None:
        for message in messages:
            try:
                aws.client("sqs").change_message_visibility(
                    QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
            except (BotoCoreError, ClientError):
                pass  # it becomes visible after the visibility timeout anyway

    def _jobs_loop(self) -> None:
        queue = self.settings.jobs_queue_url
        limit = self.settings.max_running_executions
        while not self.stopping.is_set():
            try:
                capacity = limit - self.running.current(limit)
            except (BotoCoreError, ClientError) as exc:
                log.warning("ListExecutions failed: %s", exc)
                self.stopping.wait(2)
                continue
            if capacity <= 0:
                self._count("backpressure")
                self.running.wait_for_room(self.stopping)
                continue
            messages = self._receive(queue, capacity)
            for i, message in enumerate(messages):
                if self.stopping.is_set():
                    self._release(queue, messages[i:])
                    break
                outcome = jobs.handle_job_message(
                    message["Body"], self.settings, self.session_factory
                )
                self._count(f"jobs.{outcome.action}")
                if outcome.action is jobs.JobAction.STARTED and outcome.execution:
                    self.running.started()
                    self.started_at[outcome.execution] = time.time()
                if outcome.action.done:
                    self._delete(queue, message)

    def _status_loop(self) -> None:
        queue = self.settings.status_queue_url
        while not self.stopping.is_set():
            messages = self._receive(queue, 10)
            for i, message in enumerate(messages):
                if self.stopping.is_set():
                    self._release(queue, messages[i:])
                    break
                result = status.handle_status_message(
                    message["Body"], self.session_factory, self.settings
                )
                self._count(f"status.{result.outcome}")
                if result.ends_run:
                    self.running.run_ended()
                if result.outcome.done:
                    self._delete(queue, message)

    def _sweep_loop(self) -> None:
        while not self.stopping.wait(self.sweep_interval_seconds):
            try:
                with self.session_factory() as session:
                    report = sweeper.sweep(session, self.settings)
                if report.resent or report.redriven or report.failed:
                    log.info("sweeper: %s", report)
            except (BotoCoreError, ClientError) as exc:
                log.warning("sweeper: AWS unavailable: %s", exc)
