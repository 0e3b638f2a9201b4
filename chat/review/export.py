"""Conversations as JSON for the admin's export: everything stored, streamed a conversation at
a time so that an export of many long conversations is never held in memory whole.

An answer's reasoning is exported as it was shown (text, whether the provider hid some, its
time and tokens). The opaque state a provider needs back (signatures, encrypted items) is not:
it means nothing outside the provider's API, so the export says only whether one is stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from chat.models import Conversation, Message

EXPORTED_MESSAGE_FIELDS = (
    "id",
    "seq",
    "role",
    "text",
    "reasoning",
    "reasoning_redacted",
    "reasoning_ms",
    "reasoning_tokens",
    "status",
    "model",
    "active",
    "chosen",
    "parent_id",
    "reply_to_id",
    "tool_calls",
    "tool_call_id",
    "token_count",
    "context_from_seq",
    "input_tokens",
    "output_tokens",
    "ttft_ms",
    "tokens_per_second",
    "finish_reason",
    "error",
    "error_detail",
    "created_at",
    "started_at",
    "finished_at",
)


# What a user's own export leaves out: the precise reasons of failures are for operators.
OPERATOR_ONLY_FIELDS = ("error_detail",)


def export_message(message: Message, *, operator: bool = True) -> dict[str, Any]:
    fields = {
        name: getattr(message, name)
        for name in EXPORTED_MESSAGE_FIELDS
        if operator or name not in OPERATOR_ONLY_FIELDS
    }
    fields["reasoning_state_stored"] = bool(message.reasoning_state)
    # References only: the files themselves stay on the server (an import leaves them out).
    fields["attachments"] = [a.as_data() for a in message.attachments.all()]
    return fields


def export_conversation(conversation: Conversation, *, operator: bool = True) -> dict[str, Any]:
    return {
        "id": conversation.pk,
        "owner": conversation.owner.get_username(),
        "title": conversation.title,
        "model": conversation.model,
        "system_prompt": conversation.system_prompt,
        "tools": conversation.tools,
        "reasoning_effort": conversation.reasoning_effort,
        "temperature": conversation.temperature,
        "top_p": conversation.top_p,
        "max_output_tokens": conversation.max_output_tokens,
        "summary": conversation.summary,
        "summary_through_seq": conversation.summary_through_seq,
        "created_at": conversation.created_at,
        "updated_at": conversation.updated_at,
        "messages": [
            export_message(message, operator=operator) for message in conversation.messages.all()
        ],
    }


def export(queryset: QuerySet[Conversation], *, operator: bool = True) -> Iterator[str]:
    """``operator``: the admin's export; without it, a user's own (no operators' details)."""
    # Versions share a seq: by id within it, the order they were written (and are imported in).
    in_order = Prefetch("messages", queryset=Message.objects.order_by("seq", "pk"))
    conversations = queryset.select_related("owner").prefetch_related(
        in_order, "messages__attachments"
    )
    head = json.dumps({"exported_at": timezone.now().isoformat()})
    yield head[:-1] + ', "conversations": ['
    for i, conversation in enumerate(conversations.iterator(chunk_size=50)):
        prefix = "," if i else ""
        yield prefix + json.dumps(
            export_conversation(conversation, operator=operator), cls=DjangoJSONEncoder
        )
    yield "]}\n"
