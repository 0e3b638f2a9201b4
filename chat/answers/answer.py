"""One answer being written: the task that streams it from the model, owned by the process that
started it.

An answer outlives the socket that asked for it: closing every tab does not stop it; an
explicit stop, a failure or the end of the answer does. Its text and, apart from it, the
model's reasoning go out as coalesced deltas (the first of each at once, then one frame per
``FLUSH_INTERVAL`` or ``FLUSH_CHARS``, and per ``FLUSH_INTERVAL_UNDER_WAY`` once it has
streamed for ``UNDER_WAY_AFTER``) and into the database as checkpoints every
``CHECKPOINT_INTERVAL``, with the other answers of this process (``checkpoints``), so the
cost of an answer grows with its duration, not its token count.
Until its text begins, phase frames say what it does (waiting, thinking, running a tool).
While it streams, only this task changes the answer's row (through ``storage``); the stale
sweeper takes over only once it stops beating.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import DatabaseError

from chat.answers import (
    catalog,
    checkpoints,
    frames,
    journal,
    processes,
    starting,
    storage,
    titles,
)
from chat.answers.audience import Audience, Progress, RemoteWatcher, Subscriber
from chat.answers.errors import CannotAnswer, provider_failure
from chat.answers.frames import Frame
from chat.models import Message
from streaming import tools
from streaming.events import (
    ChatRequest,
    Finish,
    FinishReason,
    ProviderError,
    ReasoningDelta,
    ReasoningState,
    TextDelta,
    ToolCall,
    Usage,
)
from streaming.policy import guarded
from streaming.providers.base import Provider
from streaming.tokens import count_tokens

log = logging.getLogger(__name__)
Status = Message.Status

# Answers being written by this process, by message id.
running: dict[int, Answer] = {}
# The tasks writing them (each goes on with the answers after its tool calls).
tasks: set[asyncio.Task[None]] = set()
# Set when this process stops serving: every answer is interrupted, and so is any that starts.
closing = False

# What an answer that ended with no text and no tool call, on the model's own terms, says. Such
# an answer fails (a blank "complete" answer reads as if the page broke): it can be regenerated,
# or continued, which asks again.
EMPTY_ANSWER = "The model returned an empty answer."

# How long an answer that ended keeps trying to store its outcome while the database is down.
FINAL_SAVE_PATIENCE = 60.0

# Seconds of streaming after which an answer's frames are coalesced over the longer window.
UNDER_WAY_AFTER = 1.0


@dataclass(frozen=True, slots=True)
class Header:
    """What a start frame says of an answer."""

    message: int
    conversation: int
    title: str
    reply_to: int | None
    model: str
    context_from_seq: int | None
    owner_channel: str  # this process's control channel
    settings_notes: tuple[str, ...] = ()  # what the provider adapted of the settings

    @classmethod
    def of(cls, message: Message, title: str) -> Header:
        return cls(
            settings_notes=tuple(frames.settings_notes(message)),
            message=message.pk,
            conversation=message.conversation_id,
            title=title,
            reply_to=message.reply_to_id,
            model=message.model,
            context_from_seq=message.context_from_seq,
            owner_channel=message.owner_channel,
        )

    def start_frame(
        self,
        offset: int,
        reasoning_offset: int,
        phase: tuple[str, int],
        follows: int | None = None,
    ) -> Frame:
        return frames.start(
            self.message,
            conversation=self.conversation,
            title=self.title,
            reply_to=self.reply_to,
            model=self.model,
            offset=offset,
            reasoning_offset=reasoning_offset,
            context_from_seq=self.context_from_seq,
            follows=follows,
            phase=phase[0],
            phase_elapsed_ms=phase[1],
        )


@dataclass(frozen=True, slots=True)
class Sent:
    """What a continued answer had sent (and stored) before: it goes on from there."""

    text: str = ""
    reasoning: str = ""
    reasoning_redacted: bool = False
    reasoning_ms: int | None = None

    @classmethod
    def of(cls, message: Message) -> Sent:
        return cls(
            message.text, message.reasoning, message.reasoning_redacted, message.reasoning_ms
        )


class Answer:
    """The task writing one answer, and everything it has sent so far.

    ``text`` and ``reasoning`` are exactly what subscribers were sent (a continued answer starts
    with what it stored); ``pending`` holds what came from the model and is not flushed yet, per
    part. Frames go out under ``lock``, so a newcomer joining mid-answer gets everything so far
    and then every later frame, with no gap and no overlap. When the model calls tools, ``run``
    runs them and starts the answer after them with the same audience.
    """

    def __init__(
        self,
        header: Header,
        sent: Sent,
        provider: Provider,
        request: ChatRequest,
        *,
        tool_round: int = 0,
        audience: Audience | None = None,
    ) -> None:
        self.header = header
        self.message_id = header.message
        self.provider = provider
        self.request = request
        self.tool_round = tool_round
        self.lock = asyncio.Lock()
        self.audience = (
            audience.carried_over(self.message_id, self.lock, self.progress)
            if audience is not None
            else Audience(self.message_id, self.lock, self.progress)
        )
        # What was sent, and what waits to be.
        self.text = sent.text
        self.reasoning = sent.reasoning
        self.redacted = sent.reasoning_redacted
        self.seq = 0
        self.pending: dict[str, list[str]] = {"reasoning": [], "text": []}
        self.pending_len = 0
        self.pending_redacted = False
        self.wake = asyncio.Event()
        # What it does until its text begins, told in phase frames.
        self.phase = frames.WAITING
        self.phase_at = time.monotonic()
        self.phase_due = False
        # Timing.
        self.started = self.phase_at
        self.first_token_at: float | None = None
        self.reasoning_since: float | None = None  # the first reasoning of this stream
        self.reasoning_ms_before = sent.reasoning_ms  # a continued answer's earlier reasoning
        self.flushed_at = 0.0
        # The outcome.
        self.reasoning_state: ReasoningState | None = None
        self.usage = Usage()
        self.finish_reason = ""
        self.tool_calls: list[ToolCall] = []
        self.status = Status.STREAMING
        self.stopped = False
        self.interrupted = False  # by a graceful stop of this process
        self.ended: Frame | None = None  # the end frame, once sent
        self.upstream: asyncio.Task[None] | None = None

    def progress(self) -> Progress:
        return Progress(self.seq, self.text, self.reasoning, self.redacted)

    # Text in ------------------------------------------------------------------------------

    async def consume(self) -> None:
        async for event in guarded(self.provider, self.request, catalog.stream_policy()):
            if isinstance(event, TextDelta):
                if self.add(event.text):
                    await self.flush()
            elif isinstance(event, ReasoningDelta):
                if self.add_reasoning(event):
                    await self.flush()
            elif isinstance(event, ToolCall):
                self.tool_calls.append(event)
            elif isinstance(event, ReasoningState):
                self.reasoning_state = event
            elif isinstance(event, Usage):
                self.usage = event
            elif isinstance(event, Finish):
                self.finish_reason = event.reason.value

    def add(self, text: str) -> bool:
        """Queue text for the flusher; True when it must go out now instead: the answer's first
        text (time to first token is what users feel) or a full frame's worth."""
        if not text:
            return False
        self._queue("text", text)
        if self.first_token_at is None:
            self.first_token_at = time.monotonic()
            self.enter(frames.WRITING)
            return True
        return self._due()

    def add_reasoning(self, delta: ReasoningDelta) -> bool:
        """The same for reasoning; the first of it (or what the provider hid) goes out at once,
        with the phase, so the page says "Thinking…" as soon as the model does."""
        if self.reasoning_since is None:
            self.reasoning_since = time.monotonic()
        self._queue("reasoning", delta.text)
        if delta.redacted and not self.redacted:
            self.pending_redacted = True
        if self.phase != frames.THINKING and self.first_token_at is None:
            self.enter(frames.THINKING)
            return True
        return self.pending_redacted or self._due()

    def _queue(self, part: str, text: str) -> None:
        if text:
            self.pending[part].append(text)
            self.pending_len += len(text)

    def _due(self) -> bool:
        if self.pending_len >= settings.FLUSH_CHARS:
            return True
        self.wake.set()
        return False

    def enter(self, phase: str) -> None:
        """The answer now does ``phase``; its frame goes out with the next flush (but for
        ``writing``, which the first text delta says)."""
        self.phase, self.phase_at = phase, time.monotonic()
        self.phase_due = phase != frames.WRITING

    def current_phase(self) -> tuple[str, int]:
        """What the answer is doing, and for how many milliseconds it has been."""
        return self.phase, round((time.monotonic() - self.phase_at) * 1000)

    def phase_frame(self) -> Frame:
        return frames.phase(self.message_id, *self.current_phase())

    # Text out -----------------------------------------------------------------------------

    async def flush(self) -> None:
        """Send what is pending: the phase when it changed, then reasoning, then text. With the
        journal on, what is sent is in Redis first, so a killed process loses none of it."""
        async with self.lock:
            out: list[Frame] = []
            if self.phase_due:
                self.phase_due = False
                out.append(self.phase_frame())
            reasoning = "".join(self.pending["reasoning"])
            text = "".join(self.pending["text"])
            redacted = self.redacted or self.pending_redacted
            self._drop_pending()
            if journal.enabled() and (reasoning or text):
                entries = []
                if reasoning:
                    entries.append(journal.reasoning(len(self.reasoning), reasoning))
                if text:
                    entries.append(journal.text(len(self.text), text))
                await journal.record(self.message_id, entries)
            if reasoning or redacted != self.redacted:
                self.redacted = redacted
                self.seq += 1
                out.append(
                    frames.reasoning_delta(
                        self.message_id, self.seq, len(self.reasoning), reasoning, redacted=redacted
                    )
                )
                self.reasoning += reasoning
            if text:
                self.seq += 1
                out.append(frames.delta(self.message_id, self.seq, len(self.text), text))
                self.text += text
            if not out:
                return
            self.flushed_at = time.monotonic()
            for frame in out:
                await self.audience.send(frame)

    def _drop_pending(self) -> None:
        for part in self.pending.values():
            part.clear()
        self.pending_len = 0
        self.pending_redacted = False

    def flush_window(self) -> float:
        """How long text may wait to be sent: short while the reader waits for the answer to
        begin, longer once it has streamed (reasoning or text) for ``UNDER_WAY_AFTER``."""
        began = self.reasoning_since if self.reasoning_since is not None else self.first_token_at
        if began is not None and time.monotonic() - began >= UNDER_WAY_AFTER:
            return max(settings.FLUSH_INTERVAL, settings.FLUSH_INTERVAL_UNDER_WAY)
        return settings.FLUSH_INTERVAL

    async def flusher(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            delay = self.flushed_at + self.flush_window() - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await self.flush()

    # Who follows it -----------------------------------------------------------------------

    async def _join(self, subscriber: Subscriber, offset: int, reasoning_offset: int) -> bool:
        """Send a newcomer the reasoning from ``reasoning_offset``, the text from ``offset`` and
        what the answer is doing; False when it has already ended (then it got the end frame
        too, and there is nothing to follow). Hold the lock."""
        start = self.header.start_frame(offset, reasoning_offset, self.current_phase())
        await subscriber.deliver(start)
        if reasoning_offset < len(self.reasoning) or self.redacted:
            await subscriber.deliver(
                frames.reasoning_delta(
                    self.message_id,
                    self.seq,
                    reasoning_offset,
                    self.reasoning[reasoning_offset:],
                    redacted=self.redacted,
                )
            )
        if offset < len(self.text):
            await subscriber.deliver(
                frames.delta(self.message_id, self.seq, offset, self.text[offset:])
            )
        if self.ended is not None:  # it ended while the newcomer was on its way
            await subscriber.deliver(self.ended)
            return False
        return True

    async def subscribe(
        self, subscriber: Subscriber, offset: int = 0, reasoning_offset: int = 0
    ) -> None:
        """Send ``subscriber`` what it lacks from those offsets, then every live frame."""
        async with self.lock:
            if await self._join(subscriber, offset, reasoning_offset):
                self.audience.add(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.audience.remove(subscriber)

    async def watch(self, channel: str, offset: int, reasoning_offset: int = 0) -> None:
        """The same, for a watcher on another process."""
        watcher = RemoteWatcher(channel, offset, reasoning_offset)
        async with self.lock:
            if await self._join(watcher, offset, reasoning_offset):
                self.audience.add_watcher(watcher)

    def unwatch(self, channel: str) -> None:
        self.audience.remove_watcher(channel)

    # Lifecycle ----------------------------------------------------------------------------

    def stop(self) -> None:
        self.stopped = True
        if self.upstream is not None:
            self.upstream.cancel()  # closes the provider's HTTP stream: no more tokens billed

    def interrupt(self) -> None:
        """End the answer because this process is stopping: what was sent is stored, as
        interrupted, and can be continued on another process."""
        self.interrupted = True
        if self.upstream is not None:
            self.upstream.cancel()

    async def run(self) -> None:
        flusher = asyncio.create_task(self.flusher())
        checkpoints.track(self)
        error = detail = ""
        try:
            self.upstream = asyncio.create_task(self.consume())
            self.interrupted = self.interrupted or closing
            if self.stopped or self.interrupted:  # before it began
                self.upstream.cancel()
            await self.upstream
            self.status = Status.COMPLETE
            error, detail = self.ended_badly()
        except asyncio.CancelledError:
            if self.stopped:
                self.status = Status.STOPPED
                self.finish_reason = "stopped"
            elif self.interrupted:
                self.status = Status.INTERRUPTED
                self.finish_reason = "interrupted"
                error, detail = storage.RESTARTED_ERROR, "the server process was stopped"
            else:
                raise
            self._drop_pending()  # never sent: what is stored is exactly what clients saw
        except ProviderError as exc:
            self.status, detail = Status.FAILED, str(exc)
            error = provider_failure(exc, self.provider.display_name)
            self.finish_reason = "error"
        except Exception as exc:
            log.exception("answer %s failed", self.message_id)
            self.status, error, detail = Status.FAILED, "Something went wrong.", repr(exc)
            self.finish_reason = "error"
        finally:
            checkpoints.untrack(self.message_id)
            flusher.cancel()
            await asyncio.gather(flusher, return_exceptions=True)
        await self.flush()
        calls = []
        if self.status == Status.COMPLETE and self.tool_calls:
            self.enter(frames.TOOL)
            await self.flush()
            calls = self.run_tools()
        await self.finish(error, detail, calls)
        if calls:
            await self.answer_after_tools(calls)
        elif self.status == Status.COMPLETE and settings.GENERATE_TITLES:
            # After the end frame, beside it: neither the answer nor the next one waits.
            processes.detach(
                titles.name_conversation(
                    self.header.conversation, self.message_id, self.header.model, self.tell
                ),
                f"title-{self.header.conversation}",
            )

    async def tell(self, frame: Frame) -> None:
        """A frame for everyone who followed this answer, after it ended."""
        async with self.lock:
            await self.audience.send(frame)

    def ended_badly(self) -> tuple[str, str]:
        """What to tell the user of a stream that finished without an answer, making the answer
        failed: the provider said it went wrong, or it sent nothing to show. Cut off at the
        length limit or by a content filter, it stays complete (its end frame says so); and
        the detail, for operators."""
        if self.finish_reason == FinishReason.ERROR:
            self.status = Status.FAILED
            error = f"{self.provider.display_name} could not finish the answer."
            return error, "the stream finished with an error as its finish reason"
        text = self.text + "".join(self.pending["text"])
        if text.strip() or self.tool_calls or self.finish_reason not in ("", FinishReason.END):
            return "", ""
        self.status, self.finish_reason = Status.FAILED, "empty"
        return EMPTY_ANSWER, "the stream finished with no text and no tool call"

    def run_tools(self) -> list[dict[str, object]]:
        """Run the tool calls the model made; each result goes back to it in the next round."""
        return [
            {
                "id": c.id,
                "name": c.name,
                "arguments": c.arguments,
                "result": tools.run(c.name, c.arguments),
            }
            for c in self.tool_calls
        ]

    async def answer_after_tools(self, calls: list[dict[str, object]]) -> None:
        """Send the tool results back to the model and stream its next answer to everyone who
        followed this one."""
        try:
            message, request = await database_sync_to_async(starting.answer_after_tools)(
                self.message_id, calls, self.tool_round + 1, self.header.owner_channel
            )
        except Exception as exc:
            log.exception("answering after the tool calls of %s failed", self.message_id)
            detail = str(exc) if isinstance(exc, CannotAnswer) else "The model could not go on."
            async with self.lock:
                await self.audience.send(frames.error("cannot_answer", detail, self.message_id))
            return
        following = Answer(
            Header.of(message, self.header.title),
            Sent(),
            self.provider,
            request,
            tool_round=self.tool_round + 1,
            audience=self.audience,
        )
        running[message.pk] = following
        async with following.lock:
            start = following.header.start_frame(
                0, 0, following.current_phase(), follows=self.message_id
            )
            await following.audience.send(start)
        await following.run()

    def reasoning_ms(self) -> int | None:
        """From the first reasoning to the first text (or now), on top of what a continued
        answer had reasoned before; None when the model did not reason."""
        if self.reasoning_since is None:
            return self.reasoning_ms_before
        until = self.first_token_at
        if until is None or until < self.reasoning_since:
            until = time.monotonic()
        return (self.reasoning_ms_before or 0) + round((until - self.reasoning_since) * 1000)

    def metrics(self) -> dict[str, object]:
        output = self.usage.output_tokens
        if output is None or self.status in (Status.STOPPED, Status.INTERRUPTED):
            output = count_tokens(self.reasoning + self.text, self.header.model)
        ttft_ms = None
        tokens_per_second = None
        if self.first_token_at is not None:
            ttft_ms = round((self.first_token_at - self.started) * 1000)
            streaming_for = time.monotonic() - self.first_token_at
            if streaming_for > 0 and output:
                tokens_per_second = round(output / streaming_for, 1)
        return {
            "input_tokens": self.usage.input_tokens,
            "output_tokens": output,
            "ttft_ms": ttft_ms,
            "tokens_per_second": tokens_per_second,
            "reasoning_tokens": self.usage.reasoning_tokens,
            "reasoning_ms": self.reasoning_ms(),
        }

    def token_count(self, output_tokens: int | None) -> int | None:
        """What the answer takes in a later context: its text, without the reasoning (which is
        not sent back on later turns) when it reasoned."""
        if not self.reasoning and not self.redacted and not self.usage.reasoning_tokens:
            return output_tokens
        return count_tokens(self.text, self.header.model)

    async def save_final(self, outcome: storage.Outcome) -> None:
        """Store the outcome, trying again while the database is unreachable: an answer that
        ends during an outage must not be left to be marked interrupted. The write is by
        primary key, so a late one still lands on the right row."""
        delay = 0.2
        deadline = time.monotonic() + FINAL_SAVE_PATIENCE
        save = database_sync_to_async(storage.save_final)
        while True:
            try:
                return await save(self.message_id, self.header.conversation, outcome)
            except DatabaseError as exc:
                if time.monotonic() + delay > deadline:
                    raise
                log.warning("saving answer %s failed (%s); retrying", self.message_id, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def finish(self, error: str, detail: str, calls: list[dict[str, object]]) -> None:
        """Store the answer, then tell everyone it ended: a client that sees the end can read
        the stored answer. While the database is unreachable the answer waits in ``running``,
        where a reload or a second tab still finds its text."""
        metrics = self.metrics()
        state = self.reasoning_state if self.status == Status.COMPLETE else None
        outcome = storage.Outcome(
            text=self.text,
            reasoning=self.reasoning,
            reasoning_redacted=self.redacted,
            reasoning_state=state.to_dict() if state is not None else None,
            token_count=self.token_count(metrics["output_tokens"]),  # type: ignore[arg-type]
            status=self.status,
            finish_reason=self.finish_reason,
            error=error,
            detail=detail,
            tool_calls=calls,
            metrics=metrics,
        )
        try:
            await self.save_final(outcome)
            if journal.enabled():  # journal: the outcome is stored, the journal is not needed
                await journal.forget(self.message_id)
        finally:
            running.pop(self.message_id, None)
            frame = frames.end(
                self.message_id,
                status=self.status,
                finish_reason=self.finish_reason,
                error=error,
                length=len(self.text),
                reasoning_length=len(self.reasoning),
                settings_notes=list(self.header.settings_notes),
                **metrics,
            )
            async with self.lock:
                for call in calls:
                    await self.audience.send(frames.tool_call(self.message_id, call))
                self.ended = frame
                await self.audience.send(frame)


def launch(answer: Answer) -> Answer:
    """Start writing ``answer`` in the background, findable in ``running`` until it ends."""
    running[answer.message_id] = answer
    task = processes.detach(answer.run(), f"answer-{answer.message_id}")
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return answer


async def interrupt_all() -> None:
    """This process is stopping: interrupt every answer it writes and wait until each has
    stored its text and told its audience; answers that start from now on end at once."""
    global closing
    closing = True
    while tasks:
        for answer in list(running.values()):
            answer.interrupt()
        await asyncio.wait(list(tasks), timeout=1)


def reset() -> None:
    """Forget this process's answers (tests run each case on a new event loop)."""
    global closing
    closing = False
    running.clear()
    tasks.clear()
