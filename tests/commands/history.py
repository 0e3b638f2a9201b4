"""Conversations with a known shape and age, for the truncate_history tests."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from chat.models import Conversation, Message


def ago(days: float):
    return timezone.now() - timedelta(days=days)


def add(conversation, role, text, days_ago=0.0, **fields):
    fields.setdefault("seq", conversation.next_seq())
    return Message.objects.create(
        conversation=conversation, role=role, text=text, created_at=ago(days_ago), **fields
    )


def reasoned(turn):
    """What an answer that reasoned stores beside its text."""
    return {
        "reasoning": f"reasoning {turn}",
        "reasoning_redacted": turn % 2 == 1,
        "reasoning_ms": 1000 + turn,
        "reasoning_tokens": 10 + turn,
        "reasoning_state": {"signature": f"sig-{turn}"},
    }


def make_conversation(owner, title, turns, first_day=None, reasoning=False, **fields):
    """``turns`` question-and-answer pairs, one a day, the newest today (or ``first_day`` days
    ago for the oldest, going forward one day per turn); with ``reasoning``, each answer
    reasoned (``reasoned(turn)``)."""
    first_day = turns - 1 if first_day is None else first_day
    newest = max(first_day - turns + 1, 0)
    conversation = Conversation.objects.create(
        owner=owner, title=title, model="local:smollm2", updated_at=ago(newest), **fields
    )
    for turn in range(turns):
        day = first_day - turn
        question = add(conversation, "user", f"question {turn}", day)
        extra = reasoned(turn) if reasoning else {}
        add(conversation, "assistant", f"answer {turn}", day, reply_to=question, **extra)
    return conversation


def texts(conversation):
    return list(conversation.messages.order_by("seq", "pk").values_list("text", flat=True))


REASONING_FIELDS = (
    "text",
    "reasoning",
    "reasoning_redacted",
    "reasoning_ms",
    "reasoning_tokens",
    "reasoning_state",
)


def answers_with_reasoning(conversation):
    """Each answer's text with everything stored about its reasoning."""
    answers = conversation.messages.filter(role="assistant").order_by("seq", "pk")
    return list(answers.values(*REASONING_FIELDS))


def every_reasoning():
    """The reasoning of every message left, in any conversation."""
    return sorted(Message.objects.exclude(reasoning="").values_list("reasoning", flat=True))
