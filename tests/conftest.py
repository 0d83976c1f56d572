"""Shared by every test: no test may ever reach real AWS."""

import os

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
