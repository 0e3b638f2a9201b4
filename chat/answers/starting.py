"""Setting an answer up: its row and its provider request, made in one trip to the database.

Each function checks the user's limit of answers being written, builds the request from the
conversation's context (refusing one that no longer fits the model) and stores the rows in one
transaction, so a refused answer leaves nothing behind: not its row, and for a message sent,
not the message either. They run queries: call them through ``database_sync_to_async``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction

from chat.answers import catalog, context, storage
from chat.answers.errors import CannotAnswer
from chat.models import Conversation, Message, SettingsChange
from streaming.events import ChatRequest
from streaming.providers.base import Provider


@dataclass(frozen=True, slots=True)
class Prepared:
    """An answer ready to be written."""

    message: Message
    title: str  # its conversation's
    request: ChatRequest
    provider: Provider


@dataclass(frozen=True, slots=True)
class Stored:
    """A user's message stored ahead of its answers, and what ``unstore`` needs to take it
    back: whether its conversation is new, and what an existing one was before."""

    message: Message
    new_conversation: bool
    settings: dict[str, Any]  # an existing conversation's settings before the message
    updated_at: datetime | None
    # A new conversation's messages so far, for its answers' context: the message alone.
    transcript: context.Transcript | None = None


def sent_message(
    user: Any,
    conversation_id: int | None,
    content: str,
    change: SettingsChange,
    models: list[str],
    channel: str,
    attachments: Sequence[int] = (),
) -> list[Prepared]:
    """A user's message (in a new conversation when ``conversation_id`` is None) with the files
    ``attachments``, and an answer to it by each model, all or nothing: when the user has too
    many answers being written, a file is not theirs or the message does not fit a model,
    nothing is stored and the conversation is as it was."""
    with transaction.atomic():
        storage.check_limit(user.pk, adding=len(models))
        stored = store_message(user, conversation_id, content, change, models[0], attachments)
        message = stored.message
        # The message is the conversation's last: its answers follow it, one seq each.
        return [
            _new_answer(
                message, model, channel, None, seq=message.seq + 1 + i, known=stored.transcript
            )
            for i, model in enumerate(models)
        ]


class _Checked(Exception):
    """Rolls back a transaction that only checked what it would store."""


def check_sent_message(
    user: Any,
    conversation_id: int | None,
    content: str,
    change: SettingsChange,
    models: list[str],
    channel: str,
    attachments: Sequence[int] = (),
) -> None:
    """Raise what ``sent_message`` would refuse, storing nothing whatever happens."""
    try:
        with transaction.atomic():
            sent_message(user, conversation_id, content, change, models, channel, attachments)
            raise _Checked
    except _Checked:
        pass


def store_message(
    user: Any,
    conversation_id: int | None,
    content: str,
    change: SettingsChange,
    model: str,
    attachments: Sequence[int] = (),
) -> Stored:
    """The user's message alone, for answers that are made after it (summaries first)."""
    if conversation_id is None:
        message, files = Conversation.start_with_message(user, model, content, change, attachments)
        return Stored(message, True, {}, None, context.Transcript.first_message(message, files))
    conversation = Conversation.objects.get(pk=conversation_id, owner=user)
    before = conversation.conversation_settings()
    updated_at = conversation.updated_at
    message = conversation.add_message(content, change, attachments)
    return Stored(message, False, before, updated_at)


def unstore(stored: Stored) -> None:
    """Take back a message whose answers were refused after it was stored."""
    conversation_id = stored.message.conversation_id
    with transaction.atomic():
        if stored.new_conversation:
            Conversation.objects.filter(pk=conversation_id).delete()
            return
        Message.objects.filter(pk=stored.message.pk).delete()
        Conversation.objects.filter(pk=conversation_id).update(
            **stored.settings, updated_at=stored.updated_at
        )


OTHER_BRANCH = "This message is on a branch that is not shown: show that branch first."


@dataclass(frozen=True, slots=True)
class Edited:
    """A user's message edited into a new branch, and what ``unstore_edit`` needs to go back:
    the version shown before."""

    message: Message
    before: Message


def edited_message(
    user: Any,
    edited: Message,
    content: str,
    model: str,
    channel: str,
    attachments: Sequence[int] | None = None,
) -> list[Prepared]:
    """A new version of the user's message ``edited`` on a branch of its own, with the files
    ``attachments`` (None: those of ``edited``), and an answer to it by ``model``, all or
    nothing (as ``sent_message``)."""
    with transaction.atomic():
        storage.check_limit(user.pk)
        message = store_edit(edited, content, attachments).message
        return [_new_answer(message, model, channel, None)]


def check_edited_message(
    user: Any,
    edited: Message,
    content: str,
    model: str,
    channel: str,
    attachments: Sequence[int] | None = None,
) -> None:
    """Raise what ``edited_message`` would refuse, storing nothing whatever happens."""
    try:
        with transaction.atomic():
            edited_message(user, edited, content, model, channel, attachments)
            raise _Checked
    except _Checked:
        pass


def store_edit(edited: Message, content: str, attachments: Sequence[int] | None = None) -> Edited:
    """The new version alone, for an answer made after it (summaries first)."""
    conversation = Conversation.objects.get(pk=edited.conversation_id)
    if not edited.active:
        raise CannotAnswer(OTHER_BRANCH)
    return Edited(conversation.add_edit(edited, content, attachments), edited)


def unstore_edit(edited: Edited) -> None:
    """Take back an edit whose answer was refused after it was stored."""
    with transaction.atomic():
        Message.objects.filter(pk=edited.message.pk).delete()
        Message.objects.get(pk=edited.before.pk).make_current()


def answers_to(user_id: int, reply_to: Message, models: list[str], channel: str) -> list[Prepared]:
    """An answer to the user's message ``reply_to`` by each model, all or none."""
    with transaction.atomic():
        storage.check_limit(user_id, adding=len(models))
        return [_new_answer(reply_to, model, channel, None) for model in models]


def new_answer(
    user_id: int, reply_to: Message, model: str, channel: str, replaces: Message | None
) -> Prepared:
    """An answer to ``reply_to`` by ``model``; with ``replaces``, a new version of that one."""
    with transaction.atomic():
        storage.check_limit(user_id)
        return _new_answer(reply_to, model, channel, replaces)


def _new_answer(
    reply_to: Message,
    model: str,
    channel: str,
    replaces: Message | None,
    seq: int | None = None,
    known: context.Transcript | None = None,
) -> Prepared:
    """``seq``: where the answer goes, when the caller knows (else after the last message, or
    in the place of ``replaces``); ``known``: the messages before it, when the caller holds
    them (else they are read)."""
    provider, _ = catalog.resolve(model)
    conversation = reply_to.conversation
    if replaces is not None and not replaces.versions().filter(active=True).exists():
        raise CannotAnswer(OTHER_BRANCH)
    if seq is None:
        seq = replaces.seq if replaces is not None else conversation.next_seq()
    planned = context.request_for(conversation, seq, model, "", 0, known)
    message = storage.create_answer(
        reply_to,
        seq=seq,
        model=model,
        context_from_seq=planned.from_seq,
        channel=channel,
        replaces=replaces,
        settings=planned.settings,
    )
    return Prepared(message, str(conversation), planned.request, provider)


def reopened_answer(user_id: int, answer: Message, channel: str) -> Prepared:
    """A stopped, failed or interrupted answer, to be continued from its stored text."""
    provider, _ = catalog.resolve(answer.model)
    conversation = answer.conversation
    if not answer.active:
        raise CannotAnswer(OTHER_BRANCH)
    with transaction.atomic():
        storage.check_limit(user_id)
        planned = context.request_for(conversation, answer.seq, answer.model, answer.text, 0)
        storage.reopen_answer(
            answer, context_from_seq=planned.from_seq, channel=channel, settings=planned.settings
        )
    return Prepared(answer, str(conversation), planned.request, provider)


def answer_after_tools(
    answered_id: int, calls: list[dict[str, object]], tool_round: int, channel: str
) -> tuple[Message, ChatRequest]:
    """The results of the tool calls of answer ``answered_id``, and the model's next answer,
    which may call tools again until ``context.MAX_TOOL_ROUNDS``."""
    answered = Message.objects.select_related("conversation", "reply_to").get(pk=answered_id)
    with transaction.atomic():
        seq = storage.add_tool_results(answered, calls)
        planned = context.request_for(answered.conversation, seq, answered.model, "", tool_round)
        message = storage.create_answer(
            answered.reply_to,
            seq=seq,
            model=answered.model,
            context_from_seq=planned.from_seq,
            channel=channel,
            replaces=None,
            settings=planned.settings,
        )
    return message, planned.request
