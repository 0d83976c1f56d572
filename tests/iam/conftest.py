"""Record the AWS calls of the session (see plugin.py) for the parity test."""

from __future__ import annotations

import pytest

from tests.iam import plugin
from tests.iam.plugin import (  # noqa: F401  (pytest finds hooks by name in a conftest)
    pytest_collection_modifyitems,
)


def pytest_configure(config: pytest.Config) -> None:
    plugin.pytest_configure(config)
    # pulumi_aws warns about its own deprecated modules when the package is imported.
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:pulumi_aws.*")
