"""What each answer has sent, kept in Redis before it is sent: no text a client was shown is
lost when the process writing the answer is killed outright (SIGKILL, OOM, a lost machine).

Checkpoints store an answer's text in the database at most every ``CHECKPOINT_INTERVAL``; with
``ANSWER_JOURNAL`` on (the default when ``REDIS_URL`` is set) every flush is also appended to a
Redis stream of its own answer, ``chat:journal:<message id>``, and only then sent. Each entry is
``{part, offset, text}``: ``part`` is ``text`` or ``reasoning`` (each with its own code-point
offsets, as in the delta frames), ``offset`` is how much of that part was sent before it.

One writer per process (per event loop) sends what all of its answers queued as one pipelined
round trip, one batch in flight at a time; what is queued meanwhile goes in the next one.
``record`` returns once its entries are written. Redis is never allowed to fail or stall an
answer: a batch that errs or takes longer than ``TIMEOUT`` is logged (at most every
``outages.WARN_EVERY``) and given up, and until a later batch succeeds callers do not wait for
theirs; the loss on a hard kill is then what it is without the journal, up to one checkpoint
interval.

When the answer's outcome is stored, ``forget`` deletes its stream; every write also refreshes an
expiry of ``EXPIRY``, so a stream nobody deletes goes away by itself. The stale sweeper, in a
database thread, reads a dead process's answers back with ``recovered`` (the sync client) and
stores what the checkpoints missed. A stream is started afresh by its answer's first write in a
process, so a continued answer's entries (which begin at its stored text's length) never meet
those of an earlier run.

Redis is imported only when the journal is used.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.conf import settings

from chat.answers.outages import Throttled
from chat.answers.per_loop import PerLoop

log = logging.getLogger(__name__)

TEXT = "text"
REASONING = "reasoning"
PARTS = (TEXT, REASONING)
KEY = "chat:journal:{}"
TIMEOUT = 0.5  # seconds one batch (or one read by the sweeper) may take
EXPIRY = 24 * 3600  # seconds a stream outlives its last write


class Entry(NamedTuple):
    """One flush of one part: ``text`` sent at ``offset`` code points."""

    part: str
    offset: int
    text: str


def text(offset: int, chunk: str) -> Entry:
    return Entry(TEXT, offset, chunk)


def reasoning(offset: int, chunk: str) -> Entry:
    return Entry(REASONING, offset, chunk)


def enabled() -> bool:
    return bool(settings.ANSWER_JOURNAL and settings.REDIS_URL)


def key(message_id: int) -> str:
    return KEY.format(message_id)


def extend(held: str, offset: int, text: str) -> str | None:
    """``held`` with an entry applied by the protocol's rules: appended when it starts where
    ``held`` ends, only its unseen tail when it overlaps, unchanged when it holds nothing new;
    None when it starts past the end (a gap)."""
    if offset > len(held):
        return None
    if offset + len(text) <= len(held):
        return held
    return held + text[len(held) - offset :]


# Failures ------------------------------------------------------------------------------------

_outage = Throttled(log)


def _failed(doing: str, exc: BaseException) -> None:
    """Log a Redis failure, throttled: an outage fails every flush."""
    _outage.warn(
        "answer journal: %s failed (%s: %s); text since the last checkpoint is not safe from a "
        "crash until Redis answers again",
        doing,
        type(exc).__name__,
        exc,
    )


def _options(retry: type) -> dict[str, Any]:
    from redis.backoff import NoBackoff

    # No retries of its own: a failed batch is given up and the next one tries again.
    return {
        "socket_timeout": TIMEOUT,
        "socket_connect_timeout": TIMEOUT,
        "retry": retry(NoBackoff(), 0),
        "decode_responses": True,
    }


# Writing (the answers' event loop) -----------------------------------------------------------


@dataclass
class _Op:
    message_id: int
    entries: list[Entry]  # empty: delete the stream
    done: asyncio.Future[None]


@dataclass
class _Writer:
    loop: asyncio.AbstractEventLoop
    client: Any = None
    queue: list[_Op] = field(default_factory=list)
    draining: asyncio.Task[None] | None = None
    started: set[int] = field(default_factory=set)  # streams this process has begun
    healthy: bool = True  # the last batch was written
    round_trips: int = 0

    async def submit(self, op: _Op) -> None:
        self.queue.append(op)
        if self.draining is None or self.draining.done():
            self.draining = self.loop.create_task(self.drain(), name="answer-journal")
        if not self.healthy:
            return  # Redis is failing: the batch is tried, but nobody waits for it
        try:
            await asyncio.shield(op.done)
        except asyncio.CancelledError:
            # The caller (a flush) is cancelled between journaling a chunk and sending it:
            # let it finish that step; the cancellation reaches it at its next await.
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
                task.cancel()

    async def drain(self) -> None:
        while self.queue:
            batch, self.queue = self.queue, []
            try:
                async with asyncio.timeout(TIMEOUT):
                    await self.write(batch)
                self.healthy = True
            except Exception as exc:  # unreachable, erring or too slow: the answer goes on
                self.healthy = False
                _failed("writing to Redis", exc)
            finally:
                for op in batch:
                    if not op.done.done():
                        op.done.set_result(None)

    async def write(self, batch: list[_Op]) -> None:
        if self.client is None:
            from redis.asyncio import Redis
            from redis.asyncio.retry import Retry

            self.client = Redis.from_url(settings.REDIS_URL, **_options(Retry))
        pipe = self.client.pipeline(transaction=False)
        begun: set[int] = set()
        for op in batch:
            name = key(op.message_id)
            if not op.entries:
                pipe.delete(name)
                continue
            if op.message_id not in self.started and op.message_id not in begun:
                pipe.delete(name)  # what an earlier run of this answer left
                begun.add(op.message_id)
            for entry in op.entries:
                pipe.xadd(name, {"part": entry.part, "offset": entry.offset, "text": entry.text})
            pipe.expire(name, EXPIRY)
        self.round_trips += 1
        await pipe.execute()
        self.started |= begun


_writers = PerLoop(_Writer)


def writer() -> _Writer:
    """This event loop's writer."""
    return _writers.get()


async def record(message_id: int, entries: list[Entry]) -> None:
    """Write ``entries`` to the answer's stream, with everything else queued meanwhile; return
    once they are written (or given up: Redis never fails an answer)."""
    if entries:
        w = writer()
        await w.submit(_Op(message_id, list(entries), w.loop.create_future()))


async def forget(message_id: int) -> None:
    """Delete the answer's stream: its outcome is stored."""
    w = writer()
    w.started.discard(message_id)
    await w.submit(_Op(message_id, [], w.loop.create_future()))


def reset() -> None:
    """Forget this process's writer and its warnings (tests run each case on a new event loop)."""
    global _outage
    _writers.reset()
    _outage = Throttled(log)


# Reading back (the stale sweeper, in a database thread) --------------------------------------

_sync_clients: dict[str, Any] = {}


def _sync_client() -> Any:
    url = settings.REDIS_URL
    client = _sync_clients.get(url)
    if client is None:
        from redis import Redis
        from redis.retry import Retry

        client = _sync_clients[url] = Redis.from_url(url, **_options(Retry))
    return client


def recovered(message_id: int, stored_text: str, stored_reasoning: str) -> tuple[str, str]:
    """The stored text and reasoning of an answer whose process died, with what its journal
    holds beyond them; the stored ones as they are when Redis fails."""
    try:
        rows = _sync_client().xrange(key(message_id))
    except Exception as exc:
        _failed(f"reading the journal of answer {message_id}", exc)
        return stored_text, stored_reasoning
    return _replayed(stored_text, rows, TEXT), _replayed(stored_reasoning, rows, REASONING)


def _replayed(stored: str, rows: list[tuple[str, dict[str, str]]], part: str) -> str:
    """``stored`` with the entries of ``part`` applied in order, up to the first that cannot be
    placed (a gap, or a damaged entry)."""
    held = stored
    for _, fields in rows:
        if fields.get("part") != part:
            continue
        try:
            extended = extend(held, int(fields["offset"]), fields["text"])
        except (KeyError, ValueError):
            extended = None
        if extended is None:
            log.warning("answer journal: a gap in a %s at %s code points", part, len(held))
            return held
        held = extended
    return held


def forget_now(message_id: int) -> None:
    """``forget``, for the sweeper: delete the stream of an answer marked interrupted."""
    try:
        _sync_client().delete(key(message_id))
    except Exception as exc:
        _failed(f"deleting the journal of answer {message_id}", exc)
