"""One idle timer per stream instead of one per event.

A stream of thousands of tokens would otherwise schedule and cancel a timer handle for every
token. Here each wait only stores the time it began; a single ``loop.call_at`` timer looks at
that when it fires and either re-arms itself for the current wait's deadline or, when the wait
has lasted ``seconds``, cancels the waiting task. ``IdleWatchdog.expired`` tells that
cancellation apart from anyone else's (a user's stop cancels the same task).
"""

from __future__ import annotations

import asyncio


class IdleWatchdog:
    """Cancels the task in ``waiting()`` once a wait has lasted ``seconds``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._loop = asyncio.get_running_loop()
        self._time = self._loop.time
        # When the current wait began, or None between waits (the consumer is busy: its time
        # is not the provider's silence).
        self._since: float | None = None
        self._task: asyncio.Task | None = None
        # Cancellation requests the task already carried when it began waiting, so that a new
        # one (a stop) and ours can be told apart.
        self._baseline = 0
        self._expired = False
        self._timer = self._loop.call_at(self._time() + seconds, self._check)

    def begin(self) -> None:
        """A wait for the next event begins (called before each ``anext``)."""
        task = asyncio.current_task()
        if task is not self._task:
            self._task = task
            self._baseline = task.cancelling() if task is not None else 0
        self._since = self._time()

    def end(self) -> None:
        """The wait is over: an event came, or the stream ended."""
        self._since = None

    def close(self) -> None:
        self._timer.cancel()

    def expired(self) -> bool:
        """Whether the cancellation just caught around a wait was this watchdog's and no one else's.

        Withdraws the watchdog's own cancellation request (``Task.uncancel``) so the task is not
        left cancelling; a stop requested meanwhile is still pending and wins."""
        if not self._expired or self._task is None:
            return False
        self._expired = False
        return self._task.uncancel() <= self._baseline

    def _check(self) -> None:
        since = self._since
        now = self._time()
        if since is None:
            self._timer = self._loop.call_at(now + self.seconds, self._check)
            return
        deadline = since + self.seconds
        if now < deadline:
            self._timer = self._loop.call_at(deadline, self._check)
            return
        task = self._task
        if task is None or task.done() or task.cancelling() > self._baseline:
            # Someone else is already cancelling the wait; theirs is the outcome.
            return
        self._expired = True
        task.cancel()
