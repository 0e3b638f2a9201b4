"""Setting an answer up: its row and its provider request, made in one trip to the database.

Each function checks the user's limit of answers being written, builds the request from the
conversation's context (refusing one that no longer fits the model) and stores the row, in
that order, so a refused answer leaves nothing behind. They run queries: call them through
``database_sync_to_async``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from chat.answers import catalog, context, storage
from chat.models import Message
from streaming.events import ChatRequest
from streaming.providers.base import Provider


@dataclass(frozen=True, slots=True)
class Prepared:
    """An answer ready to be written."""

    message: Message
    title: str  # its conversation's
    request: ChatRequest
    provider: Provider


def new_answer(
    user_id: int, reply_to: Message, model: str, channel: str, replaces: Message | None
) -> Prepared:
    """An answer to ``reply_to`` by ``model``; with ``replaces``, a new version of that one."""
    provider, _ = catalog.resolve(model)
    storage.check_limit(user_id)
    conversation = reply_to.conversation
    seq = replaces.seq if replaces is not None else conversation.next_seq()
    request, from_seq = context.request_for(conversation, seq, model, "", 0)
    message = storage.create_answer(
        reply_to,
        seq=seq,
        model=model,
        context_from_seq=from_seq,
        channel=channel,
        replaces=replaces,
    )
    return Prepared(message, str(conversation), request, provider)


def reopened_answer(user_id: int, answer: Message, channel: str) -> Prepared:
    """A stopped, failed or interrupted answer, to be continued from its stored text."""
    provider, _ = catalog.resolve(answer.model)
    storage.check_limit(user_id)
    conversation = answer.conversation
    request, from_seq = context.request_for(conversation, answer.seq, answer.model, answer.text, 0)
    storage.reopen_answer(answer, context_from_seq=from_seq, channel=channel)
    return Prepared(answer, str(conversation), request, provider)


def answer_after_tools(
    answered_id: int, calls: list[dict[str, object]], tool_round: int, channel: str
) -> tuple[Message, ChatRequest]:
    """The results of the tool calls of answer ``answered_id``, and the model's next answer,
    which may call tools again until ``context.MAX_TOOL_ROUNDS``."""
    answered = Message.objects.select_related("conversation", "reply_to").get(pk=answered_id)
    with transaction.atomic():
        seq = storage.add_tool_results(answered, calls)
        request, from_seq = context.request_for(
            answered.conversation, seq, answered.model, "", tool_round
        )
        message = storage.create_answer(
            answered.reply_to,
            seq=seq,
            model=answered.model,
            context_from_seq=from_seq,
            channel=channel,
            replaces=None,
        )
    return message, request
