"""Fixtures: the program run once with no config and once with every tunable changed."""

from __future__ import annotations

from typing import Any

import pytest

from .harness import TUNED, Stack, example_config, run_program


def pytest_configure(config):
    # pulumi_aws warns about its own deprecated modules when the package is imported.
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:pulumi_aws.*")


@pytest.fixture(scope="session")
def stack() -> Stack:
    """The program with no config set: it must behave as Pulumi.dev.yaml.example documents."""
    return run_program()


@pytest.fixture(scope="session")
def tuned_stack() -> Stack:
    return run_program({k: str(v).lower() if isinstance(v, bool) else v for k, v in TUNED.items()})


@pytest.fixture(scope="session", params=["default", "tuned"])
def configured(request, stack, tuned_stack) -> tuple[Stack, dict[str, Any]]:
    """(stack, the config values it was built with), for rules that read config."""
    if request.param == "default":
        return stack, example_config()
    return tuned_stack, {**example_config(), **TUNED}
