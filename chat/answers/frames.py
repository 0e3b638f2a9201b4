"""The frames the server sends about answers, defined once for every edge and process.

A frame is encoded once however many sockets receive it. ``stored_frames`` reads a finished (or
interrupted) answer back from the database as the same frames a live one sends, so a client
never needs to know which of the two it is following.
"""

from __future__ import annotations

import json
from typing import Any

from chat.models import Conversation, Message


class Frame:
    """A server-to-client event, JSON-encoded at most once however many receive it."""

    __slots__ = ("_json", "data")

    def __init__(self, **data: Any) -> None:
        self.data = data
        self._json: str | None = None

    @property
    def type(self) -> str:
        return self.data["type"]

    @property
    def json(self) -> str:
        if self._json is None:
            self._json = json.dumps(self.data, ensure_ascii=False, separators=(",", ":"))
        return self._json


def start(
    message_id: int,
    *,
    conversation: int,
    title: str,
    reply_to: int | None,
    model: str,
    offset: int,
    reasoning_offset: int,
    context_from_seq: int | None,
    follows: int | None = None,
    phase: str | None = None,
    phase_elapsed_ms: int = 0,
) -> Frame:
    """An answer started, or was joined; ``phase`` is what a live one is doing (``None`` for
    one read back from the database) and ``phase_elapsed_ms`` for how long."""
    return Frame(
        type="message.start",
        conversation=conversation,
        title=title,
        message=message_id,
        reply_to=reply_to,
        model=model,
        offset=offset,
        reasoning_offset=reasoning_offset,
        context_from_seq=context_from_seq,
        follows=follows,
        phase=phase,
        phase_elapsed_ms=phase_elapsed_ms,
    )


def delta(message_id: int, seq: int, offset: int, text: str) -> Frame:
    return Frame(type="delta", message=message_id, seq=seq, offset=offset, text=text)


def reasoning_delta(
    message_id: int, seq: int, offset: int, text: str, *, redacted: bool = False
) -> Frame:
    """Reasoning of an answer; ``offset`` counts code points within the reasoning text.
    ``redacted`` (sent only when true) says the provider hid some of it."""
    frame = Frame(
        type="delta", part="reasoning", message=message_id, seq=seq, offset=offset, text=text
    )
    if redacted:
        frame.data["redacted"] = True
    return frame


# What an answer is doing before (and between) its text.
WAITING, THINKING, TOOL, WRITING = "waiting", "thinking", "tool", "writing"


def phase(message_id: int, name: str, elapsed_ms: int) -> Frame:
    return Frame(type="message.phase", message=message_id, phase=name, elapsed_ms=elapsed_ms)


# What the page says under an answer the model ended before it was done, by finish reason.
# Continuing one cut off by a content filter would send the filtered text back to the same
# filter: only the length limit offers Continue (``Message.can_continue``); both can be
# regenerated.
ENDING_NOTES = {
    "length": "Stopped at the length limit.",
    "content_filter": "Stopped by the provider's content filter.",
}


def ending_note(status: str, finish_reason: str) -> str:
    """What to say of how a completed answer ended, "" when the model simply finished."""
    return ENDING_NOTES.get(finish_reason, "") if status == Message.Status.COMPLETE else ""


def end(
    message_id: int,
    *,
    status: str,
    finish_reason: str,
    input_tokens: int | None,
    output_tokens: int | None,
    ttft_ms: int | None,
    tokens_per_second: float | None,
    reasoning_tokens: int | None,
    reasoning_ms: int | None,
    error: str,
    length: int,
    reasoning_length: int,
    settings_notes: list[str],
) -> Frame:
    """The answer ended; ``length`` (``reasoning_length``) is how many code points its stored
    text (reasoning) has. A client holding more than that (sent by a process that died before
    storing it) was shown an end that is lost: the answer is the first ``length`` code points,
    and continues from there. ``note`` says how a completed answer ended when the model
    stopped before it was done (the length limit, a content filter); ``continuable`` whether
    ``continue`` may take it up."""
    return Frame(
        type="message.end",
        message=message_id,
        status=status,
        finish_reason=finish_reason,
        note=ending_note(status, finish_reason) or None,
        continuable=Message.can_continue(status, finish_reason),
        length=length,
        reasoning_length=reasoning_length,
        usage={
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "reasoning_tokens": reasoning_tokens,
        },
        ttft_ms=ttft_ms,
        tokens_per_second=tokens_per_second,
        reasoning_ms=reasoning_ms,
        error=error or None,
        settings_notes=settings_notes,
    )


def settings_notes(message: Message) -> list[str]:
    """What the provider adapted of the settings an answer was made with ("temperature
    ignored: …"), from its stored settings."""
    notes = (message.settings or {}).get("notes") if isinstance(message.settings, dict) else None
    return [str(note) for note in notes] if isinstance(notes, list) else []


def conversation_title(conversation_id: int, title: str) -> Frame:
    """The conversation has a new title (made by its model after the first answer)."""
    return Frame(type="conversation.title", conversation=conversation_id, title=title)


def tool_call(message_id: int, call: dict[str, Any]) -> Frame:
    """A tool call the model made (id, name, arguments) and its result."""
    called = {k: v for k, v in call.items() if k != "result"}
    return Frame(type="tool.call", message=message_id, call=called, result=call.get("result"))


def error(code: str, detail: str, message_id: int | None = None) -> Frame:
    """A refusal; with ``message_id``, the failure of that answer (its end frame follows)."""
    if message_id is None:
        return Frame(type="error", code=code, detail=detail)
    return Frame(type="error", code=code, detail=detail, message=message_id)


def stored_frames(message: Message, offset: int, reasoning_offset: int = 0) -> list[Frame]:
    """An answer read back from the database (with its conversation): its start, its reasoning
    from ``reasoning_offset``, its text from ``offset``, its tool calls and, once it has ended,
    its end."""
    frames = [
        start(
            message.pk,
            conversation=message.conversation_id,
            title=str(message.conversation),
            reply_to=message.reply_to_id,
            model=message.model,
            offset=offset,
            reasoning_offset=reasoning_offset,
            context_from_seq=message.context_from_seq,
        )
    ]
    if reasoning_offset < len(message.reasoning) or message.reasoning_redacted:
        frames.append(
            reasoning_delta(
                message.pk,
                1,
                reasoning_offset,
                message.reasoning[reasoning_offset:],
                redacted=message.reasoning_redacted,
            )
        )
    if offset < len(message.text):
        frames.append(delta(message.pk, 1, offset, message.text[offset:]))
    if not message.is_live:
        frames += [tool_call(message.pk, call) for call in message.tool_calls]
        frames.append(
            end(
                message.pk,
                status=message.status,
                finish_reason=message.finish_reason,
                input_tokens=message.input_tokens,
                output_tokens=message.output_tokens,
                ttft_ms=message.ttft_ms,
                tokens_per_second=message.tokens_per_second,
                reasoning_tokens=message.reasoning_tokens,
                reasoning_ms=message.reasoning_ms,
                error=message.error,
                length=len(message.text),
                reasoning_length=len(message.reasoning),
                settings_notes=settings_notes(message),
            )
        )
    return frames


# The transcript --------------------------------------------------------------------------


def transcript(conversation: Conversation) -> list[dict[str, Any]]:
    """The messages shown of ``conversation`` (the branch shown), as the page holds them: each
    with the ids of its versions (of an answer, regenerated; of a user message, edited), in
    one query for the versions instead of one per message."""
    versions = _versions(conversation)
    rows = conversation.current_messages().prefetch_related("attachments")
    return [message_data(m, versions) for m in rows]


def message_data(m: Message, versions: dict[tuple[int, str], list[int]]) -> dict[str, Any]:
    """One message as the page holds it. ``versions``: of an answer, every version's id (its
    own alone when it has one); of a user message, those of its edits, and none until edited."""
    mine = versions.get((m.seq, m.role), [m.pk])
    if (m.role == Message.Role.USER and len(mine) < 2) or m.role not in _VERSIONED:
        mine = []
    return {
        "id": m.pk,
        "role": m.role,
        "text": m.text,
        "reasoning": m.reasoning,
        "reasoning_redacted": m.reasoning_redacted,
        "reasoning_ms": m.reasoning_ms,
        "reasoning_tokens": m.reasoning_tokens,
        "status": m.status,
        "model": m.model,
        "seq": m.seq,
        "reply_to": m.reply_to_id,
        "context_from_seq": m.context_from_seq,
        "versions": mine,
        "tool_calls": m.tool_calls or [],
        "tool_call_id": m.tool_call_id,
        "ttft_ms": m.ttft_ms,
        "tokens_per_second": m.tokens_per_second,
        "output_tokens": m.output_tokens,
        "error": m.error,
        "finish_reason": m.finish_reason,
        "note": ending_note(m.status, m.finish_reason) or None,
        "continuable": m.continuable,
        "settings_notes": settings_notes(m),
        "attachments": [a.as_data() for a in m.attachments.all()],
        "created_at": m.created_at.isoformat(),
    }


_VERSIONED = (Message.Role.USER, Message.Role.ASSISTANT)


def _versions(conversation: Conversation) -> dict[tuple[int, str], list[int]]:
    """(seq, role) -> the ids of every version of the message there, oldest first (the order
    of Message.versions())."""
    versions: dict[tuple[int, str], list[int]] = {}
    rows = (
        conversation.messages.filter(role__in=_VERSIONED)
        .order_by("created_at", "pk")
        .values_list("seq", "role", "pk")
    )
    for seq, role, pk in rows:
        versions.setdefault((seq, role), []).append(pk)
    return versions


def branch(conversation: Conversation) -> Frame:
    """The branch now shown of a conversation (after an edit, or another version of a user
    message chosen): every message of it, as the page data has them."""
    return Frame(type="branch", conversation=conversation.pk, messages=transcript(conversation))


# The user's other tabs -------------------------------------------------------------------
# What one tab did, told to the user's other tabs (chat.web.tabs sends them).


def conversation_created(conversation: Conversation) -> Frame:
    return Frame(
        type="conversation.created",
        conversation=conversation.pk,
        title=str(conversation),
        updated_at=conversation.updated_at.isoformat(),
    )


def conversation_message(
    conversation: Conversation, message: Message, answer_ids: list[int]
) -> Frame:
    """The user's message sent from another tab, as the page data has it, and the answers it
    started, which the tab follows with ``resume``."""
    return Frame(
        type="conversation.message",
        conversation=conversation.pk,
        title=str(conversation),
        message=message_data(message, {}),
        answers=answer_ids,
    )


def conversation_renamed(conversation: Conversation) -> Frame:
    return Frame(type="conversation.renamed", conversation=conversation.pk, title=str(conversation))


def conversation_deleted(conversation_id: int) -> Frame:
    return Frame(type="conversation.deleted", conversation=conversation_id)


def conversation_branch(conversation_id: int) -> Frame:
    """Another branch is shown of the conversation: the tab reads its messages again."""
    return Frame(type="conversation.branch", conversation=conversation_id)
