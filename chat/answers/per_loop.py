"""One object per running event loop: a process-wide writer (the journal's, the checkpoints')
belongs to the loop its tasks run on, and tests run each case on a new loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar


class OnALoop(Protocol):
    loop: asyncio.AbstractEventLoop


T = TypeVar("T", bound=OnALoop)


class PerLoop(Generic[T]):
    """``get()`` is the object made by ``make`` for the running loop, made anew on a new loop."""

    def __init__(self, make: Callable[[asyncio.AbstractEventLoop], T]) -> None:
        self.make = make
        self.current: T | None = None

    def get(self) -> T:
        loop = asyncio.get_running_loop()
        if self.current is None or self.current.loop is not loop:
            self.current = self.make(loop)
        return self.current

    def reset(self) -> None:
        self.current = None
