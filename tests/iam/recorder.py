"""Record every AWS call the vidpipe components make, attributed to the component that made it.

Test-only instrumentation (nothing here is imported by production code). `install(path)` wraps
botocore's `Session.create_client` so every client created afterwards gets a
`provide-client-params` handler: it fires for every API call *and* for every presigned URL (a
presigned GET is authorised with the presigner's credentials, so it needs the same permission).
Each call is appended to `path` as one JSON line: component, service, operation, parameters.

Attribution: production runs each component as its own process (the API and the poller in ECS
services, the job as a Fargate task, the CLI on an operator's machine); here they share the test
process. A call belongs to the outermost component frame on its stack, counted after the last
`localcloud/` frame (the local cloud starts components, it is not one):
`api/` -> api, `poller/` -> poller, `jobs/` -> job, `cli/` or `vidpipe/cli/` -> cli.
Core modules (`vidpipe/`) act for their caller. Calls with no component frame (the test harness
itself, the local Fargate runner, moto's Step Functions interpreter, which is checked from the
ASL instead) are recorded as component None and ignored by the parity test.

Work handed to another thread loses the caller's stack: Starlette's `run_in_threadpool` (anyio
worker threads) and s3transfer's executors. The component is carried across with a context
variable set by wrappers around `anyio.to_thread.run_sync` and `ThreadPoolExecutor.submit`.

Subprocesses (the job started by the local Fargate runner) load `sitecustomize.py` from a
directory put first on PYTHONPATH (`subprocess_pythonpath`), which calls `install` with the same
log file. Lines are short single `write`s in append mode, so concurrent writers do not interleave.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import functools
import json
import os
import sys
import threading
from collections.abc import Collection
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
ENV_VAR = "VIDPIPE_AWS_CALL_LOG"

# Directory (relative to the repository) -> component. Longest prefix wins (vidpipe/cli/ is the
# CLI although vidpipe/ is the core).
COMPONENT_DIRS = {
    "api/": "api",
    "poller/": "poller",
    "jobs/": "job",
    "cli/": "cli",
    "vidpipe/cli/": "cli",
}
LAUNCHER_DIRS = ("localcloud/",)

_inherited: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "vidpipe_component", default=None
)
_installed: dict[str, Any] = {}
_lock = threading.Lock()


def _component_of(filename: str) -> str | None | bool:
    """The component of a source file; False for a launcher (local cloud); None otherwise."""
    try:
        rel = Path(filename).resolve().relative_to(REPO).as_posix()
    except (ValueError, OSError):
        return None
    if rel.startswith(LAUNCHER_DIRS):
        return False
    best = max((d for d in COMPONENT_DIRS if rel.startswith(d)), key=len, default=None)
    return COMPONENT_DIRS[best] if best else None


@functools.lru_cache(maxsize=4096)
def _cached_component_of(filename: str) -> str | None | bool:
    return _component_of(filename)


def current_component(skip: int = 1) -> str | None:
    """Outermost component frame after the last launcher frame; else the inherited one."""
    frame = sys._getframe(skip)
    chain = []
    while frame is not None:
        chain.append(frame.f_code.co_filename)
        frame = frame.f_back
    return component_of_stack(reversed(chain)) or _inherited.get()


def component_of_stack(filenames) -> str | None:
    """The component of a call whose stack has these source files, outermost first."""
    found = None
    for filename in filenames:
        kind = _cached_component_of(filename)
        if kind is False:
            found = None  # a launcher: what it starts is attributed afresh
        elif kind and found is None:
            found = kind
    return found


def _jsonable(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if depth > 4:
        return None
    if isinstance(value, dict):
        return {str(k): _jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v, depth + 1) for v in value]
    return None  # bodies, file objects: not needed to decide a permission


# Parameters that never decide a permission and can be large.
_DROPPED = {"Body", "MessageBody", "input", "output"}


def _on_call(params: dict, model, context: dict | None = None, **_: Any) -> None:
    path = _installed.get("path")
    if path is None:
        return
    record = {
        "component": current_component(skip=2),
        "service": model.service_model.service_name,
        "operation": model.name,
        "presigned": bool((context or {}).get("is_presign_request")),
        "params": {k: _jsonable(v) for k, v in params.items() if k not in _DROPPED},
        "pid": os.getpid(),
    }
    line = json.dumps(record, sort_keys=True) + "\n"
    with _lock, open(path, "a", encoding="utf-8") as handle:
        handle.write(line)


def _with_component(component: str | None, fn):
    @functools.wraps(fn)
    def run(*args, **kwargs):
        token = _inherited.set(component)
        try:
            return fn(*args, **kwargs)
        finally:
            _inherited.reset(token)

    return run


def _patch_create_client() -> None:
    import botocore.session

    original = botocore.session.Session.create_client

    @functools.wraps(original)
    def create_client(self, *args, **kwargs):
        client = original(self, *args, **kwargs)
        client.meta.events.register("provide-client-params", _on_call)
        return client

    botocore.session.Session.create_client = create_client


def _patch_executor() -> None:
    original = concurrent.futures.ThreadPoolExecutor.submit

    @functools.wraps(original)
    def submit(self, fn, /, *args, **kwargs):
        return original(self, _with_component(current_component(skip=2), fn), *args, **kwargs)

    concurrent.futures.ThreadPoolExecutor.submit = submit


def _patch_anyio() -> None:
    try:
        import anyio.to_thread
    except ImportError:  # the job's image has no anyio
        return
    original = anyio.to_thread.run_sync

    @functools.wraps(original)
    async def run_sync(func, *args, **kwargs):
        # anyio runs func in a copy of this context, so the variable reaches the worker thread.
        token = _inherited.set(current_component(skip=2))
        try:
            return await original(func, *args, **kwargs)
        finally:
            _inherited.reset(token)

    anyio.to_thread.run_sync = run_sync


def install(path: str | os.PathLike) -> None:
    """Record into `path` from now on (idempotent; a second call only changes the file)."""
    _installed["path"] = str(path)
    if _installed.get("patched"):
        return
    _patch_create_client()
    _patch_executor()
    _patch_anyio()
    _installed["patched"] = True


def subprocess_pythonpath(directory: Path, log_path: Path) -> str:
    """Write a sitecustomize.py into `directory` that records into `log_path`; return the
    PYTHONPATH value that makes child Python processes load it (keeping the existing one)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sitecustomize.py").write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        "from tests.iam.recorder import install\n"
        f"install({str(log_path)!r})\n"
    )
    existing = os.environ.get("PYTHONPATH", "")
    return os.pathsep.join(p for p in (str(directory), existing) if p)


def mark(path: str | os.PathLike, event: str, test: str) -> None:
    """A line that is no call: where a test starts or ends (tests/iam/plugin.py writes them)."""
    line = json.dumps({"marker": event, "test": test}, sort_keys=True) + "\n"
    with _lock, open(path, "a", encoding="utf-8") as handle:
        handle.write(line)


def read(path: str | os.PathLike, tests: Collection[str] | None = None) -> list[dict]:
    """The calls recorded in `path`; with `tests`, only those made from the start of one of these
    tests to its end (its fixtures' setup and teardown included, its subprocesses too: a
    test's local cloud and jobs end with its teardown)."""
    file = Path(path)
    if not file.exists():
        return []
    calls, inside = [], tests is None
    for line in file.read_text().splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        if "marker" in record:
            if tests is not None:
                inside = record["marker"] == "start" and record["test"] in tests
            continue
        if inside:
            calls.append(record)
    return calls
