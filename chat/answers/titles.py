"""A new conversation's title, written by its model once the first answer has completed.

Until then a conversation is called by the start of its first message (``Conversation.start``),
which may be a pasted code block, or the same words as another chat's. After the first answer,
in the background (the answer and its end frame do not wait), the answer's model is asked for a
short title; when it fails or says nothing the first message is used again, cleaned of markdown
punctuation. A conversation the user renamed (or a fork) is never retitled:
``Conversation.title_pending`` is cleared by a rename, and the title is stored only while it is
still set. The open page is told with a ``conversation.title`` frame.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable

from channels.db import database_sync_to_async
from django.conf import settings

from chat.answers import catalog, frames
from chat.answers.errors import UnknownModel
from chat.answers.frames import Frame
from chat.models import Conversation, Message
from streaming.events import ChatMessage, ChatRequest, ProviderError

log = logging.getLogger(__name__)

TITLE_MAX_CHARS = 80
TITLE_MAX_TOKENS = 24
# What of the first exchange the model reads: enough to tell what it is about.
EXCHANGE_CHARS = 1500
TITLE_INSTRUCTIONS = (
    "You name conversations. Reply with a title of at most six words, in the language of the "
    "conversation, that says what it is about. Reply with the title alone: no quotes, no "
    "markdown, no full stop at the end."
)

# Conversations this process is naming (two answers of compare mode end together).
naming: set[int] = set()

_FENCE = re.compile(r"^\s*(`{3,}|~{3,})\S*\s*$")
_LINE_MARKS = re.compile(r"^\s*(?:[#>]+|[-*+]\s|\d+[.)]\s)\s*")
_MARKS = re.compile(r"[`*]+|~~|__")
QUOTES = "\"'\u201c\u201d\u2018\u2019\u00ab\u00bb"  # straight, curly and angle quotes
_LABEL = re.compile(r"^(?:title|titre|titel|título)\s*:\s*", re.IGNORECASE)


def plain(text: str) -> str:
    """``text`` on one line without markdown punctuation: no code fences, backticks,
    emphasis, heading or quote marks."""
    lines = []
    for line in text.splitlines():
        if _FENCE.match(line):
            continue
        lines.append(_MARKS.sub("", _LINE_MARKS.sub("", line)))
    return " ".join(" ".join(lines).split())


def clip(text: str, limit: int = TITLE_MAX_CHARS) -> str:
    """At most ``limit`` characters, cut at a word where one ends near the limit."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:-")


def fallback(first_message: str) -> str:
    """Today's rule, cleaned: the first message's start without markdown punctuation."""
    return clip(plain(first_message))


def cleaned(answer: str) -> str:
    """The model's reply as a title: its first line, without quotes, a "Title:" label,
    markdown punctuation or a final full stop; empty when nothing is left."""
    line = next((line for line in answer.strip().splitlines() if plain(line)), "")
    title = _LABEL.sub("", plain(line)).strip().strip(QUOTES).strip()
    return clip(title.rstrip(".").strip())


def request_for(first_message: str, answer: str) -> ChatRequest:
    prompt = (
        f"The first message:\n{first_message[:EXCHANGE_CHARS]}\n\n"
        f"The answer:\n{answer[:EXCHANGE_CHARS]}\n\n"
        "The title of this conversation:"
    )
    return ChatRequest(
        model="",  # the model's own name is filled in by catalog.complete
        messages=(ChatMessage("system", TITLE_INSTRUCTIONS), ChatMessage("user", prompt)),
        max_tokens=TITLE_MAX_TOKENS,
    )


def _first_exchange(conversation_id: int, answer_id: int) -> tuple[str, str] | None:
    """The first message and the answer just completed, while the conversation still waits
    for its title; None once it has one (generated, or the user's)."""
    if not Conversation.objects.filter(pk=conversation_id, title_pending=True).exists():
        return None
    first = (
        Message.objects.filter(conversation_id=conversation_id, role=Message.Role.USER)
        .order_by("seq", "pk")
        .values_list("text", flat=True)
        .first()
    )
    answer = Message.objects.filter(pk=answer_id).values_list("text", flat=True).first()
    if first is None:
        return None
    return first, answer or ""


def _store(conversation_id: int, title: str) -> bool:
    # Only while it is pending: a rename made while the model was writing wins.
    return bool(
        Conversation.objects.filter(pk=conversation_id, title_pending=True).update(
            title=title, title_pending=False
        )
    )


async def name_conversation(
    conversation_id: int,
    answer_id: int,
    model_name: str,
    tell: Callable[[Frame], Awaitable[None]],
) -> str | None:
    """Give a conversation whose first answer (``answer_id``, by ``model_name``) completed its
    title, and ``tell`` the answer's audience. Returns the title stored, or None."""
    if not settings.GENERATE_TITLES or conversation_id in naming:
        return None
    naming.add(conversation_id)
    try:
        exchange = await database_sync_to_async(_first_exchange)(conversation_id, answer_id)
        if exchange is None:
            return None
        first_message, answer = exchange
        title = ""
        try:
            title = cleaned(await catalog.complete(model_name, request_for(first_message, answer)))
        except (ProviderError, UnknownModel) as exc:  # the model failed, or is offered no more
            log.warning("the title of conversation %s failed: %s", conversation_id, exc)
        title = title or fallback(first_message) or f"Conversation {conversation_id}"
        if not await database_sync_to_async(_store)(conversation_id, title):
            return None
    except Exception:
        log.exception("naming conversation %s failed", conversation_id)
        return None
    finally:
        naming.discard(conversation_id)
    await tell(frames.conversation_title(conversation_id, title))
    return title
