"""The answer engine's one door: everything the edges (the socket, the SSE API, the pages) may
ask of answers.

Start answers (``send``, ``regenerate``, ``continue_answer``), show one again
(``select_version``), ``stop`` one, and ``follow`` one from an offset, whichever process writes
it: each returns a ``Following`` that delivers frames to the given ``Subscriber`` until it ends
or is closed. Refusals are ``Refused`` exceptions, each with a message for the user.

Inside: ``answer`` (the task that writes one answer), ``audience`` (who is shown it),
``storage`` (its rows), ``starting`` (its row and request, made together), ``frames`` (what
clients are sent), ``processes`` (messages between server processes), ``context`` and
``summaries`` (what the model is sent), ``catalog`` (the models offered).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import close_old_connections

from chat.answers import answer as answer_task
from chat.answers import catalog, frames, processes, starting, storage, summaries
from chat.answers.answer import Answer, Header, Sent, launch, running
from chat.answers.audience import Subscriber
from chat.answers.errors import (
    AttachmentUnsupported,
    CannotAnswer,
    NotFound,
    NotResumable,
    NotStreaming,
    Refused,
    SignedOut,
    TooManyAnswers,
    UnknownModel,
)
from chat.answers.frames import Frame, conversation_deleted, conversation_renamed
from chat.answers.frames import error as error_frame
from chat.models import Attachment, Conversation, Message, SettingsChange

__all__ = [
    "AttachmentUnsupported",
    "CannotAnswer",
    "Following",
    "Frame",
    "NotFound",
    "NotResumable",
    "NotStreaming",
    "Refused",
    "SentMessage",
    "SettingsChange",
    "SignedOut",
    "Subscriber",
    "TooManyAnswers",
    "UnknownModel",
    "capabilities",
    "continue_answer",
    "conversation_deleted",
    "conversation_renamed",
    "default_model",
    "edit",
    "error_frame",
    "follow",
    "fork",
    "keep",
    "models",
    "news_of_branch",
    "news_of_conversation",
    "provider_labels",
    "reasoning_models",
    "regenerate",
    "select_version",
    "send",
    "start_serving",
    "stop",
    "stop_answers",
    "stop_serving",
    "sweep_stale_answers",
    "transcript",
]

log = logging.getLogger(__name__)


class Following:
    """One subscriber following one answer; ``close`` when it wants no more frames."""

    def __init__(self, message_id: int, close: Callable[[], Awaitable[None]] | None = None):
        self.message_id = message_id
        self._close = close

    async def close(self) -> None:
        if self._close is not None:
            close, self._close = self._close, None
            await close()


# The models ------------------------------------------------------------------------------


def models() -> list[str]:
    """The models offered here, as ``provider:model`` names."""
    return catalog.models()


def default_model() -> str:
    return catalog.default_model()


def capabilities() -> dict[str, list[str]]:
    """Every model offered, with what it takes besides text: ``vision`` (images), ``pdf``
    (PDFs whole; the others get a PDF's text)."""
    return catalog.offered_capabilities()


def provider_labels() -> dict[str, str]:
    """Each provider offered by the name badges and the model picker show."""
    return catalog.provider_labels()


def reasoning_models() -> list[str]:
    """The models offered whose reasoning follows the conversation's ``reasoning_effort``
    (the others ignore it)."""
    return catalog.reasoning_models()


def transcript(conversation: Conversation) -> list[dict[str, Any]]:
    """The messages shown of a conversation, as pages show them (the ``branch`` frame's)."""
    return frames.transcript(conversation)


# The user's other tabs ------------------------------------------------------------------


def _news_of_message(ready: list[starting.Prepared], created: bool) -> list[Frame]:
    """What the user's other tabs are told of a message sent: the conversation when it is new,
    and the message with the answers it started, from the rows just stored (the answers hold
    their message and its conversation, as stored). Nothing when that cannot be read: telling
    the tabs never fails what caused it (they show it on their next load)."""
    answer = ready[0].message
    try:
        conversation, ids = answer.conversation, [p.message.pk for p in ready]
        news = [frames.conversation_created(conversation)] if created else []
        return [*news, frames.conversation_message(conversation, answer.reply_to, ids)]
    except Exception:
        log.exception("could not read what to tell the other tabs of answer %s", answer.pk)
        return []


async def news_of_conversation(conversation_id: int) -> Frame:
    """What the user's other tabs are told of a conversation made without a message (a fork)."""
    conversation = await Conversation.objects.aget(pk=conversation_id)
    return frames.conversation_created(conversation)


async def news_of_branch(message_id: int) -> Frame:
    """What the user's other tabs are told when the message ``message_id`` (an edit, or a
    version chosen) changed the branch its conversation shows."""
    conversation_id = await database_sync_to_async(
        lambda: Message.objects.values_list("conversation_id", flat=True).get(pk=message_id)
    )()
    return frames.conversation_branch(conversation_id)


# Starting answers ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SentMessage:
    """A message sent: the answers it started, followed, and what the user's other tabs are
    told of it (``chat.web.tabs.tell``)."""

    following: list[Following]
    news: list[Frame]


async def send(
    user: Any,
    conversation_id: int | None,
    content: str,
    model_names: list[str],
    change: SettingsChange,
    subscriber: Subscriber,
    attachments: Sequence[int] = (),
    still_signed_in: Callable[[], bool] | None = None,
) -> SentMessage:
    """Store the user's message (in a new conversation when ``conversation_id`` is None) with
    their files ``attachments`` (ids) and start an answer by each model (several: compare
    mode); ``change`` is what the message changes of the conversation's settings (its tools,
    its reasoning effort). A refused send stores nothing: the message and its answers are
    stored together or not at all, and the conversation's settings stay as they were.

    ``still_signed_in`` (a socket's check of its sign-in, which runs queries) is asked first,
    and refuses with ``SignedOut``. The check, the rows and the news are one trip to the
    database thread: a hundred answers started at once queue there a hundred times, not three
    hundred, behind the checkpoints of those already streaming."""
    offered = catalog.models()
    for model in model_names:
        if model not in offered:
            raise UnknownModel(f"{model!r} is not one of the models offered here")
    channel = await _owner_channel()
    args = (user, conversation_id, content, change, model_names, channel, attachments)
    try:
        if settings.SUMMARIZE_DROPPED:
            ready, news = await _send_summarized(still_signed_in, *args)
        else:
            ready, news = await database_sync_to_async(_send_at_once)(still_signed_in, *args)
    except Conversation.DoesNotExist:
        raise NotFound("No such conversation") from None
    except Attachment.DoesNotExist:
        raise NotFound("No such attachment") from None
    following = []
    for prepared in ready:
        answer = launch(_answer(prepared, Sent()))
        following.append(await _subscribe(answer, subscriber, 0, 0))
    return SentMessage(following, news)


Started = tuple[list[starting.Prepared], list[Frame]]  # the answers ready, and the news


def _check_signed_in(still_signed_in: Callable[[], bool] | None) -> None:
    if still_signed_in is not None and not still_signed_in():
        raise SignedOut  # the edge says it in its own words


def _started(ready: list[starting.Prepared], conversation_id: int | None) -> Started:
    return ready, _news_of_message(ready, conversation_id is None)


def _send_at_once(
    still_signed_in: Callable[[], bool] | None, user: Any, conversation_id: int | None, *more: Any
) -> Started:
    _check_signed_in(still_signed_in)
    return _started(starting.sent_message(user, conversation_id, *more), conversation_id)


async def _send_summarized(
    still_signed_in: Callable[[], bool] | None,
    user: Any,
    conversation_id: int | None,
    content: str,
    change: SettingsChange,
    model_names: list[str],
    channel: str,
    attachments: Sequence[int],
) -> Started:
    """``send`` when summaries are on: each model summarizes what falls out of its window once
    the message is stored and before its answer is made, so the message is stored first. What
    would be refused is found first, in a transaction that is rolled back; a refusal that comes
    only after (another answer started meanwhile) takes the message back."""
    db = database_sync_to_async
    args = (user, conversation_id, content, change, model_names, channel, attachments)

    def check() -> None:
        _check_signed_in(still_signed_in)
        starting.check_sent_message(*args)

    await db(check)()
    stored = await db(starting.store_message)(
        user, conversation_id, content, change, model_names[0], attachments
    )
    message = stored.message
    try:
        for model in model_names:
            await summaries.summarize_before(message.conversation, model, message.seq + 1, "")

        def answers() -> Started:
            ready = starting.answers_to(user.pk, message, model_names, channel)
            return _started(ready, conversation_id)

        return await db(answers)()
    except BaseException:
        await db(starting.unstore)(stored)
        raise


async def edit(
    user: Any,
    message_id: int,
    content: str,
    model: str | None,
    subscriber: Subscriber,
    attachments: Sequence[int] | None = None,
) -> Following:
    """A new version of the user's message ``message_id``, with the user's files
    ``attachments`` (None: those of the version edited), on a branch of its own that is shown
    from now on (what followed the old version stays on the old branch), and a new answer to it
    by ``model`` (the conversation's model when None). ``subscriber`` is sent the branch now
    shown (a ``branch`` frame), then the answer. Answers still being written on the branch
    left are stopped: nobody is shown them any more. A refused edit stores nothing."""
    message = await _own_message(user, message_id, role=Message.Role.USER)
    chosen = model or message.conversation.model
    if chosen not in catalog.models():
        raise UnknownModel(f"{chosen!r} is not one of the models offered here")
    channel = await _owner_channel()
    db = database_sync_to_async
    args = (user, message, content, chosen, channel, attachments)
    try:
        ready = await _store_edit(message, chosen, args)
    except Attachment.DoesNotExist:
        raise NotFound("No such attachment") from None
    await stop_answers(await db(_hidden_live)(message.conversation_id))
    await subscriber.deliver(await db(_branch_frame)(message.conversation_id))
    answer = launch(_answer(ready[0], Sent()))
    return await _subscribe(answer, subscriber, 0, 0)


async def _store_edit(
    message: Message, chosen: str, args: tuple[Any, ...]
) -> list[starting.Prepared]:
    """``edit``'s new version and its answer, all or nothing; with summaries on, the model
    summarizes what falls out of its window in between."""
    db = database_sync_to_async
    if not settings.SUMMARIZE_DROPPED:
        return await db(starting.edited_message)(*args)
    user, _, content, _, channel, attachments = args
    await db(starting.check_edited_message)(*args)
    edited = await db(starting.store_edit)(message, content, attachments)
    try:
        await summaries.summarize_before(message.conversation, chosen, edited.message.seq + 1, "")
        return await db(starting.answers_to)(user.pk, edited.message, [chosen], channel)
    except BaseException:
        await db(starting.unstore_edit)(edited)
        raise


async def fork(user: Any, message_id: int) -> tuple[int, str]:
    """A new conversation of the user's, with the conversation's settings, made of the branch
    shown up to the message ``message_id`` (up to the one before it, for a user message): its
    id, and the text to send in it (a user message's own, else empty)."""
    message = await _own_message(user, message_id)
    if message.is_live:
        raise NotResumable("Wait for this answer to end, or stop it, before forking from it")
    if not message.active:
        raise CannotAnswer(starting.OTHER_BRANCH)
    forked = await database_sync_to_async(message.conversation.fork)(message)
    return forked.pk, message.text if message.role == Message.Role.USER else ""


def _hidden_live(conversation_id: int) -> list[Message]:
    """The answers of a conversation still being written on a branch no longer shown."""
    return list(
        Message.objects.filter(
            conversation_id=conversation_id, status__in=Message.LIVE, active=False
        )
    )


def _branch_frame(conversation_id: int) -> Frame:
    conversation = Conversation.objects.get(pk=conversation_id)
    return frames.branch(conversation)


def _answer(ready: starting.Prepared, sent: Sent) -> Answer:
    return Answer(Header.of(ready.message, ready.title), sent, ready.provider, ready.request)


async def regenerate(
    user: Any, message_id: int, model: Callable[[str], str], subscriber: Subscriber
) -> Following:
    """A new version of an answer, by ``model(the answer's own model)``; the earlier versions
    are kept. The request's model is read only once the answer is known to be the user's."""
    message = await _own_message(user, message_id, role=Message.Role.ASSISTANT)
    if message.is_live:
        raise NotResumable("Stop this answer before regenerating it")
    chosen = model(message.model)
    reply_to = await _own_message(user, message.reply_to_id)
    answer = await _start(user.pk, reply_to, chosen, replaces=message)
    return await _subscribe(answer, subscriber, 0, 0)


async def continue_answer(user: Any, message_id: int, subscriber: Subscriber) -> Following:
    """Go on with a stopped, failed or interrupted answer, or one the model ended at the
    length limit, from its stored text (and its reasoning so far: more of it may follow)."""
    message = await _own_message(user, message_id, role=Message.Role.ASSISTANT)
    if not message.continuable:
        raise NotResumable(
            "Only a stopped, failed or interrupted answer, or one stopped at the length limit, "
            "can continue"
        )
    channel = await _owner_channel()
    await summaries.summarize_before(message.conversation, message.model, message.seq, message.text)
    ready = await database_sync_to_async(starting.reopened_answer)(user.pk, message, channel)
    answer = launch(_answer(ready, Sent.of(message)))
    return await _subscribe(answer, subscriber, len(message.text), len(message.reasoning))


async def select_version(user: Any, message_id: int, subscriber: Subscriber) -> Following:
    """Show (and send to the model) this version of an answer, or of an edited user message,
    instead of the others. An answer is replayed; a user message's version brings its own
    branch, which the subscriber is sent as a ``branch`` frame (its answers still being written
    are followed with ``resume``)."""
    message = await _own_message(user, message_id)
    if message.role not in (Message.Role.USER, Message.Role.ASSISTANT):
        raise NotFound("No such message")
    await database_sync_to_async(message.make_current)()
    if message.role == Message.Role.USER:
        await subscriber.deliver(
            await database_sync_to_async(_branch_frame)(message.conversation_id)
        )
    else:
        await _replay(message.pk, 0, 0, subscriber)
    return Following(message.pk)


async def keep(user: Any, message_id: int, subscriber: Subscriber) -> Following:
    """Of the answers compared side by side, go on with this one: the others become its earlier
    versions (``Message.keep_of_compared``). The subscriber is sent the branch now shown, as
    a ``branch`` frame."""
    message = await _own_message(user, message_id, role=Message.Role.ASSISTANT)
    try:
        await database_sync_to_async(message.keep_of_compared)()
    except ValueError as exc:
        raise CannotAnswer(str(exc)) from None
    await subscriber.deliver(await database_sync_to_async(_branch_frame)(message.conversation_id))
    return Following(message.pk)


async def _start(
    user_id: int, reply_to: Message, model: str, replaces: Message | None = None
) -> Answer:
    channel = await _owner_channel()
    conversation = reply_to.conversation
    before_seq = replaces.seq if replaces else await database_sync_to_async(conversation.next_seq)()
    await summaries.summarize_before(conversation, model, before_seq, "")
    ready = await database_sync_to_async(starting.new_answer)(
        user_id, reply_to, model, channel, replaces
    )
    return launch(_answer(ready, Sent()))


# Stopping --------------------------------------------------------------------------------


async def stop(user: Any, message_id: int) -> None:
    """Stop an answer wherever it is being written."""
    message = await _own_message(user, message_id)
    if not await _stop(message):
        raise NotStreaming("This answer is not being written any more")


async def stop_answers(messages: Iterable[Message]) -> None:
    """Stop these answers (a conversation being deleted): nothing is billed for them after."""
    for message in messages:
        await _stop(message)


async def _stop(message: Message) -> bool:
    answer = running.get(message.pk)
    if answer is not None:
        answer.stop()
        return True
    if not message.is_live or not message.owner_channel:
        return False
    # An owner that stopped beating is dead: nothing reads its channel. Its answer is marked
    # interrupted here instead, and whoever follows it is told by their relay.
    if await database_sync_to_async(storage.interrupt_if_stale)(message.pk):
        await processes.send(message.owner_channel, processes.stop(message.pk))
    return True


# Following -------------------------------------------------------------------------------


async def follow(
    user: Any, message_id: int, offset: int, subscriber: Subscriber, reasoning_offset: int = 0
) -> Following:
    """Send ``subscriber`` an answer's text from ``offset`` and its reasoning from
    ``reasoning_offset``, then every frame until it ends: from this process when it writes the
    answer, through the owner's control channel when another one does, and from the database
    when nobody does any more."""
    message = await _own_message(user, message_id)
    answer = running.get(message.pk)
    if answer is not None:
        return await _subscribe(answer, subscriber, offset, reasoning_offset)
    if message.is_live and await database_sync_to_async(_still_live)(message):
        return await _follow_remote(message, offset, reasoning_offset, subscriber)
    await _replay(message.pk, offset, reasoning_offset, subscriber)
    return Following(message.pk)


async def _subscribe(
    answer: Answer, subscriber: Subscriber, offset: int, reasoning_offset: int
) -> Following:
    await answer.subscribe(subscriber, offset, reasoning_offset)

    async def close() -> None:
        answer.unsubscribe(subscriber)

    return Following(answer.message_id, close)


def _still_live(message: Message) -> bool:
    """Whether the answer is still being written somewhere: its owner still beats."""
    if not storage.interrupt_if_stale(message.pk):
        return False
    message.refresh_from_db()
    return message.is_live and bool(message.owner_channel)


async def _follow_remote(
    message: Message, offset: int, reasoning_offset: int, subscriber: Subscriber
) -> Following:
    owner = message.owner_channel
    channel = await processes.new_channel()
    await processes.send(owner, processes.watch(message.pk, offset, reasoning_offset, channel))
    held = {"text": offset, "reasoning": reasoning_offset}
    relay = processes.detach(_relay(message.pk, held, channel, subscriber), f"relay-{message.pk}")

    async def close() -> None:
        relay.cancel()
        await processes.send(owner, processes.unwatch(message.pk, channel))

    return Following(message.pk, close)


async def _relay(
    message_id: int, held: dict[str, int], channel: str, subscriber: Subscriber
) -> None:
    """Hand a remote answer's frames, as its owner sends them, to a subscriber here; ``held``
    is what the subscriber has of the text and of the reasoning.

    While nothing comes for a heartbeat interval, the row says whether the answer is still
    being written: an owner that died sends nothing ever again, so once it has stopped beating
    its answer is marked interrupted here and replayed from the database."""
    receiving: asyncio.Future[processes.Message] | None = None
    try:
        while True:
            if receiving is None:
                receiving = asyncio.ensure_future(processes.receive(channel))
            done, _ = await asyncio.wait({receiving}, timeout=settings.HEARTBEAT_INTERVAL)
            if not done:
                if await database_sync_to_async(storage.interrupt_if_stale)(message_id):
                    continue
                await _replay(message_id, held["text"], held["reasoning"], subscriber)
                return
            event, receiving = receiving.result(), None
            if event["type"] == processes.GONE:
                # The owner finished (or died) between our read and our request: the database
                # knows the rest.
                await _replay(message_id, held["text"], held["reasoning"], subscriber)
                return
            frame = Frame(**event["frame"])
            if frame.type == "delta":
                part = frame.data.get("part", "text")
                held[part] = max(held[part], frame.data["offset"] + len(frame.data["text"]))
            if not await subscriber.deliver(frame) or frame.type == "message.end":
                return
    finally:
        if receiving is not None:
            receiving.cancel()


async def _replay(
    message_id: int, offset: int, reasoning_offset: int, subscriber: Subscriber
) -> None:
    """An answer from the database: the reasoning and the text from those offsets, then its
    end."""
    message = await database_sync_to_async(_message)(message_id)
    for frame in frames.stored_frames(message, offset, reasoning_offset):
        await subscriber.deliver(frame)


# This process's part ---------------------------------------------------------------------


async def stop_serving() -> None:
    """A graceful stop of this process: every answer it writes stores exactly the text its
    clients were sent, as interrupted ("the server restarted", to be continued elsewhere), and
    sends them its end frame; this returns once all have. Answers asked for from now on are
    refused."""
    count = len(running)
    if count:
        log.warning("stopping: interrupting the %d answers this process writes", count)
    await answer_task.interrupt_all()


async def start_serving() -> None:
    """Take this process's part in answers, as it starts serving: open its control channel
    (where other processes send stop and watch) and start sweeping the answers of processes
    that died, at once and then periodically. Calling it again does nothing."""
    await _control_channel()


async def _control_channel() -> str:
    return await processes.control_channel(_on_control_message, _sweep_stale_answers)


async def _owner_channel() -> str:
    """The control channel, for an answer about to start here: none starts while stopping."""
    if answer_task.closing:
        raise CannotAnswer("The server is restarting. Try again in a moment.")
    return await _control_channel()


async def _on_control_message(message: processes.Message) -> None:
    answer = running.get(message.get("message"))
    kind = message.get("type")
    if answer is None:
        if kind == processes.WATCH:
            await processes.send(message["reply_channel"], processes.gone(message["message"]))
    elif kind == processes.STOP:
        answer.stop()
    elif kind == processes.WATCH:
        await answer.watch(
            message["reply_channel"],
            int(message.get("offset", 0)),
            int(message.get("reasoning_offset", 0)),
        )
    elif kind == processes.UNWATCH:
        answer.unwatch(message["reply_channel"])


async def _sweep_stale_answers() -> None:
    while True:
        try:
            count = await database_sync_to_async(storage.mark_stale_interrupted)()
            if count:
                log.warning("marked %d answers interrupted: their process stopped", count)
        except Exception:
            log.exception("sweeping stale answers failed")
        await asyncio.sleep(settings.HEARTBEAT_STALE_AFTER)


def sweep_stale_answers() -> int:
    """Mark answers whose process died as interrupted (before a page shows them); how many."""
    return storage.mark_stale_interrupted()


# Reading ---------------------------------------------------------------------------------


@database_sync_to_async
def _own_message(user: Any, message_id: int | None, role: str = "") -> Message:
    close_old_connections()
    messages = Message.objects.filter(conversation__owner=user)
    if role:
        messages = messages.filter(role=role)
    try:
        return messages.select_related("conversation").get(pk=message_id)
    except Message.DoesNotExist:
        raise NotFound("No such message") from None


def _message(message_id: int) -> Message:
    return Message.objects.select_related("conversation").get(pk=message_id)
