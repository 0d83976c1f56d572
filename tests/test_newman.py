"""The Postman collection (collections/), run by newman against a real `vidpipe up`.

tests/newman/run.sh does the work (server, upload files, newman, clean SIGTERM stop); this wrapper
lets `pytest` (and so CI) run it. It is skipped only on a developer machine without Node.js; under
CI (the CI variable set) a missing Node.js is a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# Boots a local cloud, ffmpeg or servers: `make test` runs these after the quick ones.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
RUNNER = ROOT / "tests" / "newman" / "run.sh"


def test_postman_collection_passes_under_newman():
    if shutil.which("node") is None:
        if os.environ.get("CI"):
            pytest.fail("node is not installed: CI must run the Postman collection")
        pytest.skip("node is not installed (apt-get install nodejs npm)")
    env = dict(os.environ)
    # The server runs from the same venv as this test run.
    env.setdefault("VIDPIPE_VENV_BIN", str(Path(sys.executable).parent))
    result = subprocess.run(
        ["bash", str(RUNNER)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, (
        f"newman run failed (exit {result.returncode}):\n" + (result.stdout[-12000:])
    )
