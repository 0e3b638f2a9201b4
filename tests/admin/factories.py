"""Conversations as the chat leaves them, for the admin tests."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import Permission
from django.utils import timezone

from chat.models import Conversation, Message


def make_staff(django_user_model, username, *permissions):
    user = django_user_model.objects.create_user(username, password="correct horse battery")
    user.is_staff = True
    user.save()
    for codename in permissions:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


def add(conversation, role, text="", **fields):
    fields.setdefault("seq", conversation.next_seq())
    return Message.objects.create(conversation=conversation, role=role, text=text, **fields)


def make_conversation(owner, title="Trip to Oslo", model="openai:gpt-4o", days_ago=0):
    when = timezone.now() - timedelta(days=days_ago)
    conversation = Conversation.objects.create(
        owner=owner, title=title, model=model, created_at=when, updated_at=when
    )
    question = add(conversation, "user", "What should I pack?", created_at=when)
    add(
        conversation,
        "assistant",
        "**Warm** clothes.",
        model=model,
        reply_to=question,
        input_tokens=12,
        output_tokens=30,
        ttft_ms=250,
        tokens_per_second=42.5,
        finish_reason="end",
        created_at=when,
    )
    return conversation


STATE = {"anthropic": [{"type": "thinking", "signature": "sig-EuYBCkQYAiJA"}]}


def add_reasoning_answer(conversation, text="Pack **wool**.", **fields):
    """An answer that reasoned: 12.3 s of thinking, 340 tokens of it, and the opaque state its
    provider needs back."""
    fields.setdefault("model", "anthropic:claude-sonnet-4-5")
    fields.setdefault("reasoning", "Oslo in *winter* is cold, so:\n\n- wool\n- boots")
    fields.setdefault("reasoning_ms", 12_300)
    fields.setdefault("reasoning_tokens", 340)
    fields.setdefault("reasoning_state", STATE)
    return add(conversation, "assistant", text, **fields)
