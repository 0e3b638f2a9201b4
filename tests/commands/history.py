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


def make_conversation(owner, title, turns, first_day=None, **fields):
    """``turns`` question-and-answer pairs, one a day, the newest today (or ``first_day`` days
    ago for the oldest, going forward one day per turn)."""
    first_day = turns - 1 if first_day is None else first_day
    newest = max(first_day - turns + 1, 0)
    conversation = Conversation.objects.create(
        owner=owner, title=title, model="local:smollm2", updated_at=ago(newest), **fields
    )
    for turn in range(turns):
        day = first_day - turn
        question = add(conversation, "user", f"question {turn}", day)
        add(conversation, "assistant", f"answer {turn}", day, reply_to=question)
    return conversation


def texts(conversation):
    return list(conversation.messages.order_by("seq", "pk").values_list("text", flat=True))
