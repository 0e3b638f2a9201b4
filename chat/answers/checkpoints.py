"""What every answer of this process has streamed, stored in the database together: one writer
per process (per event loop) takes each answer's changed text and reasoning, and the heartbeat
of those that changed nothing for ``HEARTBEAT_INTERVAL``, every ``CHECKPOINT_INTERVAL``, and
stores them all in one transaction in one trip to the database thread.

One small write per answer per interval, each in a thread hop of its own (and, with
``DATABASE_CONN_MAX_AGE=0``, on a connection of its own), was the largest share of the server's
CPU at 100 streams (docs/benchmarks.md). Now a hundred answers cost one hop an interval; no
answer ever waits for it. Only one batch is in flight at a time; one that fails is logged (at
most every ``outages.WARN_EVERY``) and what it carried goes with the next. The writer runs
while this process has answers streaming; an answer's first checkpoint is due an interval
after it began.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import DatabaseError

from chat.answers import storage
from chat.answers.outages import Throttled
from chat.answers.per_loop import PerLoop

log = logging.getLogger(__name__)

# How much earlier than asked a timer may fire: the event loop's clock resolution (libuv, under
# uvloop, counts milliseconds and reads its clock once per turn).
EARLY = 0.01


class Streaming(Protocol):
    """What the writer reads of an answer being written."""

    message_id: int
    text: str
    reasoning: str
    redacted: bool


@dataclass
class _Tracked:
    answer: Streaming
    stored: tuple[int, int]  # the lengths of text and reasoning last stored
    beat: float  # when its row last beat (or the answer began)
    began: float


@dataclass
class _Writer:
    loop: asyncio.AbstractEventLoop
    answers: dict[int, _Tracked] = field(default_factory=dict)
    running: asyncio.Task[None] | None = None
    outage: Throttled = field(default_factory=lambda: Throttled(log))

    def add(self, answer: Streaming) -> None:
        stored, now = (len(answer.text), len(answer.reasoning)), time.monotonic()
        self.answers[answer.message_id] = _Tracked(answer, stored, now, now)
        if self.running is None or self.running.done():
            self.running = self.loop.create_task(self.run(), name="checkpoints")

    def remove(self, message_id: int) -> None:
        self.answers.pop(message_id, None)

    async def run(self) -> None:
        while self.answers:
            await asyncio.sleep(settings.CHECKPOINT_INTERVAL)
            await self.write()

    def due(self, now: float) -> tuple[list[storage.Checkpoint], list[tuple[_Tracked, Any]]]:
        """The checkpoints due now, and what each would make stored."""
        batch, done = [], []
        for tracked in list(self.answers.values()):
            if now - tracked.began < settings.CHECKPOINT_INTERVAL - EARLY:
                # Its first checkpoint is due an interval after it began, as if it had a
                # writer of its own: an answer shorter than that is written twice in all.
                continue
            answer = tracked.answer
            lengths = (len(answer.text), len(answer.reasoning))
            text_changed = lengths[0] != tracked.stored[0]
            reasoning_changed = lengths[1] != tracked.stored[1]
            if not (text_changed or reasoning_changed):
                if now - tracked.beat < settings.HEARTBEAT_INTERVAL:
                    continue
            batch.append(
                storage.Checkpoint(
                    answer.message_id,
                    answer.text if text_changed else None,
                    answer.reasoning if reasoning_changed else None,
                    answer.redacted,
                )
            )
            done.append((tracked, lengths))
        return batch, done

    async def write(self) -> None:
        now = time.monotonic()
        batch, done = self.due(now)
        if not batch:
            return
        try:
            await database_sync_to_async(storage.save_checkpoints)(batch)
        except DatabaseError as exc:
            # The answers go on streaming; the next batch carries this text too.
            self.failed(exc, len(batch))
            return
        for tracked, lengths in done:
            tracked.stored, tracked.beat = lengths, now

    def failed(self, exc: BaseException, count: int) -> None:
        self.outage.warn(
            "checkpoint of %d answers failed (%s); the next batch carries their text", count, exc
        )


_writers = PerLoop(_Writer)


def track(answer: Streaming) -> None:
    """Checkpoint ``answer`` with the others from now until ``untrack``."""
    _writers.get().add(answer)


def untrack(message_id: int) -> None:
    """The answer is ending: its outcome is stored whole, not checkpointed."""
    _writers.get().remove(message_id)


def reset() -> None:
    """Forget this process's writer (tests run each case on a new event loop)."""
    _writers.reset()
