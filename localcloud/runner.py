"""The local Fargate: runs the ECS tasks that Step Functions starts, as subprocesses.

It watches the cluster through the ECS API (ListTasks / DescribeTasks, like an agent would), runs
each new task's container command with the task definition's environment, the RunTask overrides
and what a task needs to reach the local AWS, keeps each task's output in
`<logs_dir>/<task-id>.log`, and calls StopTask when the process exits. At most `concurrency`
tasks run at once; the others wait (PENDING, as while Fargate provisions).

Idle, it costs next to nothing: with `tasks_hint` (a cheap in-process count of the cluster's
tasks, which only grows) it lists the cluster only when that count moved, and every
`rediscover_seconds` anyway; without it, every `poll_seconds`.

Step Functions does not stop a `runTask.waitForTaskToken` task when it gives up on it (heartbeat
timeout, execution stopped): in AWS the job notices when its heartbeat is refused, as it does
here (each attempt has its own token: `localcloud.ecs_shim`). The runner also kills a task whose
state gave up on it, and terminates one whose execution ended, so no process outlives its state.
"""

from __future__ import annotations

import enum
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from vidpipe import aws

log = logging.getLogger(__name__)

# The part of this machine's environment a container image would also have.
_BASE_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV")
PROJECT_ROOT = Path(__file__).resolve().parents[1]  # the image's WORKDIR
_GAVE_UP = ("TaskTimedOut",)
_FINISHED = ("TaskSucceeded", "TaskFailed")


class TaskState(enum.StrEnum):
    RUNNING = "running"
    FINISHED = "finished"  # the state got the task's result
    GAVE_UP = "gave_up"  # the state timed out on the task
    ENDED = "ended"  # the execution ended without the task's result


@dataclass
class LocalTask:
    arn: str
    command: list[str]
    env: dict[str, str]
    queued_at: float = field(default_factory=time.monotonic)
    process: subprocess.Popen | None = None
    started_at: float | None = None
    log_path: Path | None = None
    finished_seen_at: float | None = None
    stop_reason: str | None = None

    @property
    def id(self) -> str:
        return self.arn.rsplit("/", 1)[-1]


class LocalFargateRunner:
    def __init__(
        self,
        *,
        cluster: str,
        logs_dir: Path,
        local_env: dict[str, str],
        concurrency: int | None = None,
        poll_seconds: float = 0.1,
        tasks_hint: Callable[[], int] | None = None,
        rediscover_seconds: float = 5.0,
        supervise_seconds: float = 0.5,
        finish_grace_seconds: float = 10.0,
        stop_grace_seconds: float = 5.0,
        execution_of: Callable[[dict[str, str]], str | None] | None = None,
    ):
        self.cluster = cluster
        self.logs_dir = Path(logs_dir)
        self.local_env = dict(local_env)
        self.concurrency = max(1, concurrency or os.cpu_count() or 1)
        self.poll_seconds = poll_seconds
        self.tasks_hint = tasks_hint
        self.rediscover_seconds = rediscover_seconds
        self._hinted: int | None = None
        self._last_discover = 0.0
        self.supervise_seconds = supervise_seconds
        self.finish_grace_seconds = finish_grace_seconds
        self.stop_grace_seconds = stop_grace_seconds
        self.execution_of = execution_of
        self._ecs = aws.client("ecs")
        self._sfn = aws.client("stepfunctions")
        self._seen: set[str] = set()
        self._pending: list[LocalTask] = []
        self._running: dict[str, LocalTask] = {}
        self._definitions: dict[str, dict] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_supervise = 0.0
        # Observability for tests and benchmarks: task arn -> wall time its process started.
        self.started: dict[str, float] = {}
        self.launched: list[LocalTask] = []
        self.max_seen_running = 0

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._loop, name="fargate-runner", daemon=True)
        self._thread.start()

    def signal_stop(self) -> None:
        """Stop watching (returns at once; `stop` finishes the job)."""
        self._stop.set()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop watching; terminate running tasks (SIGTERM, then SIGKILL after
        `stop_grace_seconds`). The loop gets `timeout` to finish its ECS call in flight."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
        for task in list(self._running.values()):
            self._terminate(task, "the local runner stopped", graceful=True)
        deadline = time.monotonic() + self.stop_grace_seconds
        for task in list(self._running.values()):
            self._wait_or_kill(task, deadline)
            self._finish(task)

    @property
    def running_count(self) -> int:
        return len(self._running)

    # --- the loop --------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._tick()
            except (BotoCoreError, ClientError) as exc:
                log.warning("runner: ECS unavailable: %s", exc)
                self._stop.wait(1)
            except Exception:  # never let the runner die silently
                log.exception("runner: unexpected error")
                self._stop.wait(1)
            self._stop.wait(self.poll_seconds)

    def _tick(self) -> None:
        now = time.monotonic()
        hint = self.tasks_hint() if self.tasks_hint is not None else None
        if (
            hint is None
            or hint != self._hinted
            or now - self._last_discover >= (self.rediscover_seconds)
        ):
            self._last_discover = now
            self._discover()
            self._hinted = hint
        self._reap()
        now = time.monotonic()
        if now - self._last_supervise >= self.supervise_seconds:
            self._last_supervise = now
            self._supervise()
        while self._pending and len(self._running) < self.concurrency and not self._stop.is_set():
            task = self._pending.pop(0)
            if self.execution_of and self._state_of(task) in (TaskState.ENDED, TaskState.GAVE_UP):
                self._stop_task(task.arn, "the execution no longer waits for this task")
                continue
            self._launch(task)

    def _discover(self) -> None:
        arns: list[str] = []
        for page in self._ecs.get_paginator("list_tasks").paginate(
            cluster=self.cluster, desiredStatus="RUNNING"
        ):
            arns.extend(page["taskArns"])
        new = [arn for arn in arns if arn not in self._seen]
        for start in range(0, len(new), 100):
            described = self._ecs.describe_tasks(
                cluster=self.cluster, tasks=new[start : start + 100]
            )
            for desc in sorted(described["tasks"], key=lambda t: t.get("createdAt") or 0):
                self._seen.add(desc["taskArn"])
                task = self._prepare(desc)
                if task is not None:
                    self._pending.append(task)

    def _prepare(self, desc: dict) -> LocalTask | None:
        definition = self._definition(desc["taskDefinitionArn"])
        containers = definition["containerDefinitions"]
        if len(containers) != 1:
            log.error(
                "runner: task %s has %d containers; only one is supported",
                desc["taskArn"],
                len(containers),
            )
            self._stop_task(desc["taskArn"], "unsupported task definition")
            return None
        container = containers[0]
        env = {k: os.environ[k] for k in _BASE_ENV if k in os.environ}
        env.update({e["name"]: e["value"] for e in container.get("environment", [])})
        command = list(container.get("command") or [])
        for override in desc.get("overrides", {}).get("containerOverrides", []):
            if override.get("name") != container["name"]:
                continue
            env.update({e["name"]: e["value"] for e in override.get("environment", [])})
            command = list(override.get("command") or command)
        env.update(self.local_env)
        if not command:
            self._stop_task(desc["taskArn"], "the container has no command")
            return None
        # The image's `python` is this environment's interpreter.
        if command[0] in ("python", "python3"):
            command[0] = sys.executable
        return LocalTask(arn=desc["taskArn"], command=command, env=env)

    def _definition(self, arn: str) -> dict:
        if arn not in self._definitions:
            self._definitions[arn] = self._ecs.describe_task_definition(taskDefinition=arn)[
                "taskDefinition"
            ]
        return self._definitions[arn]

    def _launch(self, task: LocalTask) -> None:
        task.log_path = self.logs_dir / f"{task.id}.log"
        logfile = open(task.log_path, "ab")
        logfile.write(
            f"# task {task.arn}\n# command: {' '.join(task.command)}\n"
            f"# started {time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n".encode()
        )
        logfile.flush()
        try:
            task.process = subprocess.Popen(
                task.command,
                env=task.env,
                cwd=PROJECT_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=logfile,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: ffmpeg children die with it
            )
        except OSError as exc:
            logfile.write(f"# could not start: {exc}\n".encode())
            logfile.close()
            self._stop_task(task.arn, f"CannotStartContainerError: {exc}")
            return
        finally:
            if task.process is not None:
                logfile.close()
        task.started_at = time.monotonic()
        self.started[task.arn] = time.time()
        self.launched.append(task)
        self._running[task.arn] = task
        self.max_seen_running = max(self.max_seen_running, len(self._running))
        log.info(
            "runner: task %s started (pid %d), log %s", task.id, task.process.pid, task.log_path
        )

    def _reap(self) -> None:
        for task in list(self._running.values()):
            if task.process is not None and task.process.poll() is not None:
                self._finish(task)

    def _finish(self, task: LocalTask) -> None:
        code = task.process.poll() if task.process else None
        reason = task.stop_reason or f"Essential container in task exited (exit code {code})"
        with open(task.log_path, "ab") as f:
            f.write(f"# exited with code {code}: {reason}\n".encode())
        self._running.pop(task.arn, None)
        self._stop_task(task.arn, reason)
        log.info("runner: task %s exited with code %s", task.id, code)

    def _stop_task(self, arn: str, reason: str) -> None:
        try:
            self._ecs.stop_task(cluster=self.cluster, task=arn, reason=reason[:255])
        except (BotoCoreError, ClientError) as exc:
            log.warning("runner: StopTask %s failed: %s", arn, exc)

    # --- supervision -----------------------------------------------------------------------

    def _supervise(self) -> None:
        if self.execution_of is None:
            return
        now = time.monotonic()
        for task in list(self._running.values()):
            state = self._state_of(task)
            if state is TaskState.ENDED:
                self._terminate(task, "the execution is no longer running", graceful=True)
            elif state is TaskState.GAVE_UP:
                # Killed outright: a dying job must not report on a token a retry reuses.
                self._terminate(task, "the state gave up on this task (timed out)", graceful=False)
            elif state is TaskState.FINISHED:
                task.finished_seen_at = task.finished_seen_at or now
                if now - task.finished_seen_at > self.finish_grace_seconds:
                    self._terminate(task, "the task reported but did not exit", graceful=True)
            if task.stop_reason and task.process and task.process.poll() is None:
                if (
                    task.finished_seen_at
                    and now - task.finished_seen_at > 2 * self.finish_grace_seconds
                ):
                    self._kill(task)

    def _state_of(self, task: LocalTask) -> TaskState:
        """Where the state machine is with this task (read from the execution's history)."""
        execution_arn = self.execution_of(task.env) if self.execution_of else None
        if not execution_arn:
            return TaskState.RUNNING
        try:
            status = self._sfn.describe_execution(executionArn=execution_arn)["status"]
            events = []
            for page in self._sfn.get_paginator("get_execution_history").paginate(
                executionArn=execution_arn
            ):
                events.extend(page["events"])
        except ClientError as exc:
            if aws.is_not_found(exc):
                return TaskState.ENDED
            raise
        mine = None
        for i, event in enumerate(events):
            if event["type"] == "TaskSubmitted" and task.arn in (
                event.get("taskSubmittedEventDetails", {}).get("output") or ""
            ):
                mine = i
        if mine is not None:
            for event in events[mine + 1 :]:
                if event["type"] in _GAVE_UP:
                    return TaskState.GAVE_UP
                if event["type"] in _FINISHED:
                    return TaskState.FINISHED
        return TaskState.RUNNING if status == "RUNNING" else TaskState.ENDED

    def _terminate(self, task: LocalTask, reason: str, *, graceful: bool) -> None:
        if task.process is None or task.process.poll() is not None or task.stop_reason:
            return
        task.stop_reason = reason
        task.finished_seen_at = task.finished_seen_at or time.monotonic()
        log.info("runner: stopping task %s: %s", task.id, reason)
        if graceful:
            self._signal(task, signal.SIGTERM)
        else:
            self._kill(task)

    def _kill(self, task: LocalTask) -> None:
        self._signal(task, signal.SIGKILL)

    @staticmethod
    def _signal(task: LocalTask, sig: int) -> None:
        try:
            os.killpg(task.process.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def _wait_or_kill(self, task: LocalTask, deadline: float) -> None:
        if task.process is None:
            return
        try:
            task.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self._kill(task)
            task.process.wait()
