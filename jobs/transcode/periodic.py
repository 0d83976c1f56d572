"""The job's background senders (heartbeat, progress): a daemon thread that does one thing every
few seconds while a `with` block runs."""

from __future__ import annotations

import threading
from typing import Self


class Periodic:
    """`tick()` every `every` seconds (first after one period) from `__enter__` until
    `__exit__`, or until `tick` returns False. Subclasses implement `tick`."""

    def __init__(self, every: float, name: str) -> None:
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def tick(self) -> bool | None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            if self.tick() is False:
                return
