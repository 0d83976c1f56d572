"""pytest plugin: record the AWS calls of the whole session (tests/iam/recorder.py).

Loaded by tests/iam/conftest.py (so `pytest tests` or `pytest tests/pipeline tests/iam` records
the pipeline tests that run before the parity test), and with `-p tests.iam.plugin` by the parity
test's own pytest subprocess for the scenarios the session did not run. Under xdist each worker
records its own tests: the root conftest puts tests/pipeline and tests/iam in one xdist group, so
the parity test runs after the pipeline scenarios, in the worker that recorded them.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests.iam import recorder

# The pipeline tests whose calls the parity test needs (about a minute on 2 cores): the real job
# end to end through the API (uploads, presigned reads, history), the CLI's history, dlq list,
# retry and redrive, the sweeper's DLQ send and its look-up of a dead run, and a delete while
# processing (StopExecution, removal of the objects), and the operators' retry/redrive through the
# poller with no database (`python -m cli` subprocesses). Every other pipeline test calls a subset.
SCENARIOS = (
    "tests/pipeline/test_e2e.py::test_uploads_through_the_api_come_out_processed_in_s3_and_the_database",
    "tests/pipeline/test_failures.py::test_a_hanging_job_times_out_is_retried_then_fails_into_the_dlq",
    "tests/pipeline/test_failures.py::test_dlq_redrive_starts_a_new_attempt_and_removes_what_needs_nothing",
    "tests/pipeline/test_failures.py::test_deleting_a_processing_video_stops_its_execution",
    "tests/pipeline/test_failures.py::test_sweeper_redrives_a_processing_video_whose_run_died",
    "tests/pipeline/test_failures.py::test_operators_retry_and_redrive_without_database_access",
    # The poller removes an output that landed after its video was deleted.
    "tests/pipeline/test_failures.py::test_output_that_lands_after_its_video_was_deleted_is_removed",
    # The API's operators' console: runs, a run's detail, queue depths, the DLQ and its redrive.
    "tests/console/test_routes.py::test_executions_newest_first_with_status_filter[sqlite]",
    "tests/console/test_routes.py::test_execution_detail_has_definition_path_and_timeline[sqlite]",
    "tests/console/test_routes.py::test_queue_depths[sqlite]",
    "tests/console/test_routes.py::test_dlq_list_then_retry_then_redrive_removes_the_settled_message[sqlite]",
)

_PATH = pytest.StashKey[Path]()
# Node ids of the tests whose body ran in this session, passed or not (reports carry no config).
_ran: set[str] = set()


def recording(config: pytest.Config) -> Path | None:
    """The file this session records into (None when the plugin is not active)."""
    return config.stash.get(_PATH, None)


def scenarios_missing() -> list[str]:
    """The scenarios whose body did not run in this session (or in this xdist worker)."""
    return [node for node in SCENARIOS if node not in _ran]


def _plain_node_id(node_id: str) -> str:
    """The node id without the "@group" suffix that `--dist loadgroup` gives grouped tests."""
    if node_id.rfind("@") > node_id.rfind("]"):
        return node_id.rsplit("@", 1)[0]
    return node_id


def pytest_configure(config: pytest.Config) -> None:
    if recording(config) is not None:
        return
    work = Path(tempfile.mkdtemp(prefix="vidpipe-aws-calls-"))
    log = Path(os.environ.get(recorder.ENV_VAR) or work / "calls.jsonl")
    recorder.install(log)
    # Child Pythons (the job the local Fargate runner starts) record into the same file.
    os.environ["PYTHONPATH"] = recorder.subprocess_pythonpath(work / "site", log)
    config.stash[_PATH] = log
    config.pluginmanager.register(_Reports(log), "vidpipe-aws-call-reports")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The parity tests read what the others recorded: run them last.
    items.sort(key=lambda item: item.nodeid.startswith("tests/iam/"))


class _Reports:
    """Sees every test's report, and marks in the recording where each test starts and ends.
    Registered as a plugin object: a hook in tests/iam/conftest.py would only hear about the tests
    under tests/iam."""

    def __init__(self, log: Path) -> None:
        self.log = log

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None):
        test = _plain_node_id(item.nodeid)
        recorder.mark(self.log, "start", test)
        try:
            return (yield)
        finally:
            recorder.mark(self.log, "end", test)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call":
            _ran.add(_plain_node_id(report.nodeid))
