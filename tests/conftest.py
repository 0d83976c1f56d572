"""Shared by every test: no test may ever reach real AWS."""

import os
import threading

import botocore.loaders
import botocore.session
import pytest

# Dummy credentials and a fixed region before anything imports boto3: moto answers every call.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
for _var in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
    os.environ.pop(_var, None)

# The browser harness (tests/web/harness.py: a `vidpipe up` stack, Debian chromium, pages) for
# tests/web and tests/console alike. A plugin of the root conftest, so its session-wide browser
# exists once: two sync Playwright instances cannot share a thread.
pytest_plugins = ["tests.web.harness"]


class _UniquePaths(list):
    """boto3 appends its data folder to the loader of every Session it makes: once is enough."""

    def append(self, path):
        if path not in self:
            super().append(path)


_loaders: dict[str | None, botocore.loaders.Loader] = {}
_loaders_lock = threading.Lock()


def _shared_loader(search_path_string=None):
    """One botocore data loader per process (per AWS_DATA_PATH) instead of one per Session.

    vidpipe.aws makes a new boto3 Session for each client, and the fixtures forget the clients
    between tests (aws.reset_clients), so every test re-read and re-parsed the service models
    (S3's alone is megabytes of JSON): about 0.2 s of each API test's setup. The models are read
    only; a loader caches what it loaded, as it does for all the clients of one Session. Only this
    test process is affected: the services' own processes load their models as in production.
    """
    with _loaders_lock:
        loader = _loaders.get(search_path_string)
        if loader is None:
            loader = _original_create_loader(search_path_string)
            loader._search_paths = _UniquePaths(loader.search_paths)
            _loaders[search_path_string] = loader
        return loader


_original_create_loader = botocore.session.create_loader
botocore.session.create_loader = _shared_loader


# `make test` runs each half with pytest-xdist, `--dist loadgroup`: every test goes with its group
# to one worker. A group is a module (module-scoped stacks and browsers are built once), or one of
# these folders whose session-scoped fixtures are costly (generated media, Pulumi program runs),
# or tests/pipeline with tests/iam: the IAM parity test reads the calls its worker recorded while
# the pipeline scenarios ran (tests/iam/plugin.py sorts it after them).
XDIST_GROUPS = {
    "tests/pipeline/": "pipeline-and-iam",
    "tests/iam/": "pipeline-and-iam",
    "tests/pulumi/": "pulumi",
    "tests/transcode/": "transcode",
}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        group = next((g for folder, g in XDIST_GROUPS.items() if module.startswith(folder)), module)
        item.add_marker(pytest.mark.xdist_group(group))
