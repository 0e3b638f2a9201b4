"""A user's conversations imported from the JSON of an export (export.py): checked whole
before anything is stored, then stored as new conversations of the user, in one transaction.

Ids in the file only link its messages to each other (``reply_to_id``, ``parent_id``); every
row gets a new one. An answer that was still being written when it was exported is imported
as interrupted: nothing will write it here."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from chat.models import Conversation, Message
from streaming.events import REASONING_EFFORTS

MAX_BYTES = 20 * 1024 * 1024
MAX_CONVERSATIONS = 5000
MAX_MESSAGES = 20000  # in one conversation


class BadImport(ValueError):
    """The file is not an export this can import; the message says what is wrong, for the user."""


def _fail(where: str, what: str) -> BadImport:
    return BadImport(f"{where}: {what}" if where else what)


def _text(item: dict[str, Any], key: str, where: str, limit: int | None = None) -> str:
    value = item.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _fail(where, f"{key} must be text")
    if limit is not None and len(value) > limit:
        raise _fail(where, f"{key} is longer than {limit} characters")
    return value


def _number(item: dict[str, Any], key: str, where: str, *, whole: bool = True) -> Any:
    value = item.get(key)
    if value is None:
        return None
    kinds = (int,) if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value < 0:
        raise _fail(where, f"{key} must be a {'whole ' if whole else ''}number of 0 or more")
    return value


def _flag(item: dict[str, Any], key: str, where: str, default: bool) -> bool:
    value = item.get(key, default)
    if not isinstance(value, bool):
        raise _fail(where, f"{key} must be true or false")
    return value


def _time(item: dict[str, Any], key: str, where: str) -> datetime | None:
    value = item.get(key)
    if value is None:
        return None
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        raise _fail(where, f"{key} must be a date and time (ISO 8601)")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


def _message(item: Any, where: str) -> tuple[Message, Any, Any, Any]:
    """The unsaved message, its id in the file, and the file's ids it replies to and follows."""
    if not isinstance(item, dict):
        raise _fail(where, "must be an object")
    own_id = item.get("id")
    if isinstance(own_id, bool) or not isinstance(own_id, int | str):
        raise _fail(where, "id is missing")
    role = item.get("role")
    if role not in Message.Role.values:
        raise _fail(where, f"role must be one of {', '.join(Message.Role.values)}")
    status = item.get("status", Message.Status.COMPLETE)
    if status not in Message.Status.values:
        raise _fail(where, f"status must be one of {', '.join(Message.Status.values)}")
    if status in Message.LIVE:
        status = Message.Status.INTERRUPTED
    seq = _number(item, "seq", where)
    if seq is None:
        raise _fail(where, "seq is missing")
    tool_calls = item.get("tool_calls") or []
    # Read back as the model's calls and shown as the page's: objects with text id and name.
    if not isinstance(tool_calls, list) or not all(
        isinstance(call, dict) and all(isinstance(call.get(key, ""), str) for key in ("id", "name"))
        for call in tool_calls
    ):
        raise _fail(where, "tool_calls must be a list of calls, each with a text id and name")
    message = Message(
        role=role,
        status=status,
        seq=seq,
        text=_text(item, "text", where),
        reasoning=_text(item, "reasoning", where),
        reasoning_redacted=_flag(item, "reasoning_redacted", where, False),
        reasoning_ms=_number(item, "reasoning_ms", where),
        reasoning_tokens=_number(item, "reasoning_tokens", where),
        model=_text(item, "model", where, 200),
        chosen=_flag(item, "chosen", where, True),
        active=_flag(item, "active", where, True),
        tool_calls=tool_calls,
        tool_call_id=_text(item, "tool_call_id", where, 200),
        token_count=_number(item, "token_count", where),
        context_from_seq=_number(item, "context_from_seq", where),
        input_tokens=_number(item, "input_tokens", where),
        output_tokens=_number(item, "output_tokens", where),
        ttft_ms=_number(item, "ttft_ms", where),
        tokens_per_second=_number(item, "tokens_per_second", where, whole=False),
        finish_reason=_text(item, "finish_reason", where, 32),
        error=_text(item, "error", where),
        created_at=_time(item, "created_at", where) or timezone.now(),
        started_at=_time(item, "started_at", where),
        finished_at=_time(item, "finished_at", where),
    )
    return message, own_id, item.get("reply_to_id"), item.get("parent_id")


def _conversation(
    item: Any, where: str
) -> tuple[Conversation, list[tuple[Message, Any, Any, Any]]]:
    if not isinstance(item, dict):
        raise _fail(where, "must be an object")
    effort = item.get("reasoning_effort") or "off"
    if effort not in REASONING_EFFORTS:
        raise _fail(where, f"reasoning_effort must be one of {', '.join(REASONING_EFFORTS)}")
    tools = item.get("tools") or []
    if not isinstance(tools, list) or not all(isinstance(name, str) for name in tools):
        raise _fail(where, "tools must be a list of names")
    temperature = _number(item, "temperature", where, whole=False)
    top_p = _number(item, "top_p", where, whole=False)
    conversation = Conversation(
        title=_text(item, "title", where, 200),
        title_pending=False,
        model=_text(item, "model", where, 200),
        system_prompt=_text(item, "system_prompt", where),
        temperature=temperature,
        top_p=top_p,
        max_output_tokens=_number(item, "max_output_tokens", where),
        tools=tools,
        reasoning_effort=effort,
        summary=_text(item, "summary", where),
        summary_through_seq=_number(item, "summary_through_seq", where) or 0,
        created_at=_time(item, "created_at", where) or timezone.now(),
        updated_at=_time(item, "updated_at", where) or timezone.now(),
    )
    items = item.get("messages")
    if not isinstance(items, list):
        raise _fail(where, "messages must be a list")
    if len(items) > MAX_MESSAGES:
        raise _fail(where, f"more than {MAX_MESSAGES} messages")
    messages = [_message(m, f"{where}, message {i + 1}") for i, m in enumerate(items)]
    ids = [own for _, own, _, _ in messages]
    if len(set(ids)) != len(ids):
        raise _fail(where, "two messages have the same id")
    known = set(ids)
    for i, (_, _, reply_to, parent) in enumerate(messages):
        for name, target in (("reply_to_id", reply_to), ("parent_id", parent)):
            if target is not None and target not in known:
                raise _fail(f"{where}, message {i + 1}", f"{name} names no message of it")
    return conversation, messages


def parse(raw: bytes) -> list[tuple[Conversation, list[tuple[Message, Any, Any, Any]]]]:
    """The file's conversations, checked, unsaved; BadImport says what is wrong."""
    if len(raw) > MAX_BYTES:
        raise BadImport(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise BadImport("The file is not JSON.") from error
    if not isinstance(data, dict) or not isinstance(data.get("conversations"), list):
        raise BadImport('The file is not an export: it has no "conversations" list.')
    items = data["conversations"]
    if len(items) > MAX_CONVERSATIONS:
        raise BadImport(f"The file has more than {MAX_CONVERSATIONS} conversations.")
    return [_conversation(item, f"Conversation {i + 1}") for i, item in enumerate(items)]


@transaction.atomic
def import_conversations(owner: object, raw: bytes) -> list[Conversation]:
    """Stores the file's conversations as new ones of ``owner``; nothing when it is refused."""
    stored = []
    for conversation, messages in parse(raw):
        conversation.owner = owner
        conversation.save()
        for message, _, _, _ in messages:
            message.conversation = conversation
        # In the file's order, so versions sharing a seq keep theirs (by id).
        Message.objects.bulk_create([message for message, _, _, _ in messages], batch_size=500)
        by_file_id = {own_id: message for message, own_id, _, _ in messages}
        linked = []
        for message, _, reply_to, parent in messages:
            if reply_to is None and parent is None:
                continue
            message.reply_to = by_file_id[reply_to] if reply_to is not None else None
            message.parent = by_file_id[parent] if parent is not None else None
            linked.append(message)
        Message.objects.bulk_update(linked, ["reply_to", "parent"], batch_size=500)
        stored.append(conversation)
    return stored
