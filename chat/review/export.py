"""Conversations as JSON for the admin's export: everything stored, streamed a conversation at
a time so that an export of many long conversations is never held in memory whole."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.utils import timezone

from chat.models import Conversation

EXPORTED_MESSAGE_FIELDS = (
    "id",
    "seq",
    "role",
    "text",
    "status",
    "model",
    "active",
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


def export_conversation(conversation: Conversation) -> dict[str, Any]:
    return {
        "id": conversation.pk,
        "owner": conversation.owner.get_username(),
        "title": conversation.title,
        "model": conversation.model,
        "system_prompt": conversation.system_prompt,
        "tools": conversation.tools,
        "summary": conversation.summary,
        "summary_through_seq": conversation.summary_through_seq,
        "created_at": conversation.created_at,
        "updated_at": conversation.updated_at,
        "messages": [
            {name: getattr(message, name) for name in EXPORTED_MESSAGE_FIELDS}
            for message in conversation.messages.all()
        ],
    }


def export(queryset: QuerySet[Conversation]) -> Iterator[str]:
    conversations = queryset.select_related("owner").prefetch_related("messages")
    head = json.dumps({"exported_at": timezone.now().isoformat()})
    yield head[:-1] + ', "conversations": ['
    for i, conversation in enumerate(conversations.iterator(chunk_size=50)):
        prefix = "," if i else ""
        yield prefix + json.dumps(export_conversation(conversation), cls=DjangoJSONEncoder)
    yield "]}\n"
