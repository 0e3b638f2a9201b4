"""An answer's rows in the database: created when it starts, checkpointed while it streams,
stored whole when it ends, and marked interrupted when the process running it died.

Every function here runs queries: call them from async code through ``database_sync_to_async``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from chat import redaction
from chat.answers import journal
from chat.answers.errors import CannotAnswer, TooManyAnswers
from chat.models import Conversation, Message

Status = Message.Status

INTERRUPTED_ERROR = "The server stopped while answering. You can continue the answer."
RESTARTED_ERROR = "The server restarted while answering. You can continue the answer."


@dataclass(frozen=True, slots=True)
class Outcome:
    """How an answer ended, as stored."""

    text: str
    reasoning: str
    reasoning_redacted: bool
    reasoning_state: dict[str, Any] | None  # what the provider needs back with this turn
    token_count: int | None  # what its text takes in a later context
    status: str
    finish_reason: str
    error: str
    detail: str  # the precise reason, for operators; redacted before it is stored
    tool_calls: list[dict[str, Any]]
    metrics: dict[str, Any]


def check_limit(user_id: int, adding: int = 1) -> None:
    """Refuse ``adding`` more answers when they would take the user over their limit. Run it in
    the transaction that creates them: it locks the user's row, so two starts at once (on any
    process) are counted one after the other. (SQLite has no row locks, and needs none: its
    transactions are IMMEDIATE (``chat.settings``), each holding the database's write lock
    from its start, which orders two starts the same way.)"""
    if connection.features.has_select_for_update:
        get_user_model().objects.select_for_update().filter(pk=user_id).exists()
    live = Message.objects.filter(conversation__owner_id=user_id, status__in=Message.LIVE)
    if live.count() + adding > settings.MAX_CONCURRENT_GENERATIONS:
        raise TooManyAnswers(
            f"You already have {settings.MAX_CONCURRENT_GENERATIONS} answers being written."
        )


def create_answer(
    reply_to: Message,
    *,
    seq: int,
    model: str,
    context_from_seq: int | None,
    channel: str,
    replaces: Message | None,
    settings: dict[str, Any] | None = None,
) -> Message:
    """A new answer to ``reply_to``; with ``replaces``, a new version of that answer;
    ``settings``: those it is made with."""
    now = timezone.now()
    # Within a start's transaction, no savepoint of its own: a failure fails the start whole.
    with transaction.atomic(savepoint=False):
        if replaces is not None:
            replaces.versions().update(active=False, chosen=False)
        return Message.objects.create(
            conversation=reply_to.conversation,
            role=Message.Role.ASSISTANT,
            status=Status.STREAMING,
            model=model,
            seq=seq,
            reply_to=reply_to,
            context_from_seq=context_from_seq,
            owner_channel=channel,
            started_at=now,
            heartbeat_at=now,
            settings=settings,
        )


def reopen_answer(
    answer: Message,
    *,
    context_from_seq: int | None,
    channel: str,
    settings: dict[str, Any] | None = None,
) -> None:
    """Make a stopped, failed or interrupted answer, or one the model ended at the length
    limit, stream again, from its stored text, with the conversation's settings of now. A
    completed turn's reasoning state goes: the answer it belonged to goes on."""
    continuable = Message.objects.filter(Message.continuable_answers(), pk=answer.pk)
    updated = continuable.update(
        reasoning_state=None,
        finish_reason="",
        settings=settings,
        status=Status.STREAMING,
        owner_channel=channel,
        heartbeat_at=timezone.now(),
        context_from_seq=context_from_seq,
        error="",
        error_detail="",
    )
    if not updated:
        raise CannotAnswer("This answer cannot be continued.")
    answer.refresh_from_db()


def add_tool_results(answered: Message, calls: list[dict[str, Any]]) -> int:
    """Store the results of the tool calls ``answered`` made; the seq of the answer after them.
    Run it in the transaction that creates that answer."""
    conversation = answered.conversation
    seq = conversation.next_seq()
    for offset, call in enumerate(calls):
        conversation.messages.create(
            role=Message.Role.TOOL,
            text=str(call["result"]),
            tool_call_id=str(call["id"]),
            model=str(call["name"]),
            seq=seq + offset,
            reply_to=answered,
        )
    return seq + len(calls)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """An answer's heartbeat, with its text and reasoning so far where they changed (None: not
    changed since the last checkpoint)."""

    message_id: int
    text: str | None
    reasoning: str | None = None
    redacted: bool = False


def save_checkpoints(checkpoints: list[Checkpoint]) -> None:
    """Store the checkpoints of many answers in one transaction: one update per answer whose
    text or reasoning changed, one for all whose heartbeat alone is due. An answer that is no
    longer streaming (its outcome is stored) is left as it is."""
    now = timezone.now()
    beating = []
    with transaction.atomic():
        for checkpoint in checkpoints:
            fields: dict[str, Any] = {}
            if checkpoint.text is not None:
                fields["text"] = checkpoint.text
            if checkpoint.reasoning is not None:
                fields["reasoning"] = checkpoint.reasoning
                fields["reasoning_redacted"] = checkpoint.redacted
            if not fields:
                beating.append(checkpoint.message_id)
                continue
            live = Message.objects.filter(pk=checkpoint.message_id, status=Status.STREAMING)
            live.update(heartbeat_at=now, **fields)
        if beating:
            live = Message.objects.filter(pk__in=beating, status=Status.STREAMING)
            live.update(heartbeat_at=now)


def save_final(message_id: int, conversation_id: int, outcome: Outcome) -> None:
    now = timezone.now()
    metrics = outcome.metrics
    with transaction.atomic():
        Message.objects.filter(pk=message_id).update(
            tool_calls=outcome.tool_calls,
            text=outcome.text,
            reasoning=outcome.reasoning,
            reasoning_redacted=outcome.reasoning_redacted,
            reasoning_state=outcome.reasoning_state,
            reasoning_ms=metrics["reasoning_ms"],
            reasoning_tokens=metrics["reasoning_tokens"],
            status=outcome.status,
            finish_reason=outcome.finish_reason,
            error=outcome.error,
            error_detail=redaction.redact(outcome.detail),  # an upstream may quote our key
            input_tokens=metrics["input_tokens"],
            output_tokens=metrics["output_tokens"],
            token_count=outcome.token_count,
            ttft_ms=metrics["ttft_ms"],
            tokens_per_second=metrics["tokens_per_second"],
            finished_at=now,
            heartbeat_at=now,
            owner_channel="",
        )
        Conversation.objects.filter(pk=conversation_id).update(updated_at=now)


def _stale(now: datetime) -> QuerySet[Message]:
    """Answers said to be live whose process stopped beating."""
    stale = now - timedelta(seconds=settings.HEARTBEAT_STALE_AFTER)
    return Message.objects.filter(status__in=Message.LIVE, heartbeat_at__lt=stale)


def _interrupted(now: datetime) -> dict[str, Any]:
    return {
        "status": Status.INTERRUPTED,
        "finish_reason": "interrupted",
        "error": INTERRUPTED_ERROR,
        "error_detail": "the process running this answer stopped sending heartbeats",
        "finished_at": now,
        "owner_channel": "",
    }


def mark_stale_interrupted() -> int:
    """Mark answers whose owning process stopped beating as interrupted; their text up to the
    last checkpoint is kept (with the answer journal, everything their clients were sent) and
    can be continued."""
    now = timezone.now()
    if not journal.enabled():
        return _stale(now).update(**_interrupted(now))
    return sum(_interrupt_recovered(pk, now) for pk in _stale(now).values_list("pk", flat=True))


def interrupt_if_stale(message_id: int) -> bool:
    """Mark this one answer interrupted if its process stopped beating; whether it is still
    being written (somewhere that beats)."""
    now = timezone.now()
    if journal.enabled():
        interrupted = _interrupt_recovered(message_id, now)
    else:
        interrupted = _stale(now).filter(pk=message_id).update(**_interrupted(now))
    if interrupted:
        return False
    return Message.objects.filter(pk=message_id, status__in=Message.LIVE).exists()


def _interrupt_recovered(message_id: int, now: datetime) -> int:
    """Mark one stale answer interrupted with the text and reasoning its journal recovers beyond
    the last checkpoint, then delete the journal; 1 if it was stale."""
    stale = _stale(now).filter(pk=message_id)
    stored = stale.values_list("text", "reasoning").first()
    if stored is None:
        return 0
    text, reasoning = journal.recovered(message_id, *stored)
    fields = _interrupted(now)
    if len(text) > len(stored[0]):
        fields["text"] = text
    if len(reasoning) > len(stored[1]):
        fields["reasoning"] = reasoning
    # Still stale: an owner that was only slow, and beat meanwhile, goes on writing it.
    updated = stale.update(**fields)
    if updated:
        journal.forget_now(message_id)
    return updated
