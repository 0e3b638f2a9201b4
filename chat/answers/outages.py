"""A warning about an outage that fails every flush (Redis, the database), logged at most once
per ``every`` seconds with the count of failures held back since the last one."""

from __future__ import annotations

import logging
import math
import time

WARN_EVERY = 10.0  # seconds between two warnings about the same outage


class Throttled:
    def __init__(self, log: logging.Logger, every: float = WARN_EVERY):
        self.log, self.every = log, every
        self.warned_at, self.held = -math.inf, 0

    def warn(self, message: str, *args: object) -> None:
        """Log ``message % args`` with the failures since the last warning, unless one was
        logged less than ``every`` seconds ago (then only count it)."""
        self.held += 1
        now = time.monotonic()
        if now - self.warned_at < self.every:
            return
        self.log.warning(f"{message} (%d failures since the last warning)", *args, self.held)
        self.warned_at, self.held = now, 0
