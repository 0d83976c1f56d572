"""Secrets of a local stack, generated once per data directory and kept there (mode 0600)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def jwt_secret(data_dir: Path) -> str:
    """DATA_DIR/jwt-secret: created with a random value on first use, then reused, so tokens
    survive a restart of `vidpipe up` and no two stacks share a key."""
    path = Path(data_dir) / "jwt-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(48))
    return path.read_text().strip()
