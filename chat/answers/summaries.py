"""Summaries of what falls out of the context window, when ``SUMMARIZE_DROPPED`` is on.

Before an answer starts, the model is asked to summarize the messages its window no longer
holds; the summary is stored on the conversation, and ``chat.answers.context`` sends it in
place of the messages it covers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings

from chat.answers import catalog
from chat.answers.context import MESSAGE_OVERHEAD, answer_tokens, fit_transcript, start_with_user
from chat.models import Conversation
from streaming.events import ChatMessage, ChatRequest, ProviderError
from streaming.tokens import count_tokens
from streaming.window import WindowItem, WindowResult, context_length, units

log = logging.getLogger(__name__)

# A summary is asked for with this many output tokens at most, and this much room is kept for
# it in every window while summaries are on, so a new summary never pushes messages out.
SUMMARY_MAX_TOKENS = 512
# When a summary is made, it takes in this share of the budget more than strictly needed, so
# the next few turns fit without another summary: one model call every few turns, not each.
SUMMARY_HEADROOM = 0.25
SUMMARY_INSTRUCTIONS = (
    "You write short, factual summaries of conversations so that the conversation can go on "
    "without them. Keep names, numbers, decisions, open questions and what the user wants. "
    "Write at most 200 words of plain text, without a preamble."
)

Complete = Callable[[ChatRequest], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class _SummaryPlan:
    previous: str
    previous_through: int
    messages: tuple[WindowItem, ...]  # to be summarized, oldest first
    through_seq: int
    prompt_budget: int


def _plan_summary(
    conversation: Conversation, *, model: str, max_output_tokens: int, before_seq: int, prefill: str
) -> _SummaryPlan | None:
    """What a new summary must take in, or None when no unsummarized message falls out."""
    conversation.refresh_from_db(fields=["summary", "summary_through_seq"])
    fit = fit_transcript(
        conversation,
        model=model,
        max_output_tokens=max_output_tokens,
        before_seq=before_seq,
        prefill=prefill,
        summary_room=SUMMARY_MAX_TOKENS,
    )
    result = fit.result
    if not result.truncated:
        return None
    # Move the window's start on by whole units until the kept part leaves the headroom free,
    # keeping at least the newest unit.
    kept_tokens = sum(item.tokens for item in result.kept)
    room = fit.room - (result.tokens - kept_tokens)
    start = result.start
    for begin, end in [r for r in units(result.items) if r[0] >= result.start][:-1]:
        if kept_tokens <= room * (1 - SUMMARY_HEADROOM):
            break
        kept_tokens -= sum(item.tokens for item in result.items[begin:end])
        start = end
    start = start_with_user(WindowResult(result.system, result.items, start, 0)).start
    dropped = result.items[:start]
    return _SummaryPlan(
        previous=conversation.summary if fit.summary_through_seq else "",
        previous_through=conversation.summary_through_seq,
        messages=dropped,
        through_seq=dropped[-1].key,
        prompt_budget=context_length(model, settings.MODEL_CONTEXT_LENGTHS) - SUMMARY_MAX_TOKENS,
    )


def _clip(text: str, tokens: int, limit: int) -> str:
    if tokens <= limit:
        return text
    return text[: max(1, len(text) * limit // tokens)] + " […]"


def _line(item: WindowItem) -> str:
    message = item.message
    if message.role == "tool":
        return f"Tool result: {message.content}"
    text = message.content
    for call in message.tool_calls:
        text += f"\n(called {call.name} with {json.dumps(call.arguments)})"
    return f"{message.role.capitalize()}: {text}"


def _summary_prompts(plan: _SummaryPlan, model: str) -> list[list[str]]:
    """The dropped messages as transcript lines, in chunks that each fit one summary request
    next to the instructions and the summary so far."""
    fixed = count_tokens(SUMMARY_INSTRUCTIONS, model) + 2 * MESSAGE_OVERHEAD
    room = max(plan.prompt_budget - fixed - SUMMARY_MAX_TOKENS, 64)
    chunks: list[list[str]] = [[]]
    used = 0
    for item in plan.messages:
        line = _clip(_line(item), item.tokens, room // 2)
        tokens = count_tokens(line, model) + 1
        if chunks[-1] and used + tokens > room:
            chunks.append([])
            used = 0
        chunks[-1].append(line)
        used += tokens
    return chunks


def _summary_request(model: str, summary: str, lines: list[str]) -> ChatRequest:
    prompt = ""
    if summary:
        prompt += f"The summary so far:\n{summary}\n\nWhat was said after it:\n"
    else:
        prompt += "The conversation:\n"
    prompt += "\n\n".join(lines)
    prompt += "\n\nWrite the summary of all of it now."
    return ChatRequest(
        model=model,
        messages=(ChatMessage("system", SUMMARY_INSTRUCTIONS), ChatMessage("user", prompt)),
        max_tokens=SUMMARY_MAX_TOKENS,
    )


def _store_summary(conversation: Conversation, plan: _SummaryPlan, summary: str) -> bool:
    # Two answers started together (compare mode) may both summarize; the first one stored wins
    # and the other is dropped rather than overwriting it with an older cut.
    stored = Conversation.objects.filter(
        pk=conversation.pk, summary_through_seq=plan.previous_through
    ).update(summary=summary, summary_through_seq=plan.through_seq)
    if stored:
        conversation.summary = summary
        conversation.summary_through_seq = plan.through_seq
    return bool(stored)


async def summarize_dropped(
    conversation: Conversation,
    *,
    model: str,
    max_output_tokens: int,
    before_seq: int,
    complete: Complete,
    prefill: str = "",
) -> bool:
    """Summarize what would fall out of the window, when ``SUMMARIZE_DROPPED`` is on.

    Call it before ``build_context`` with the same arguments. ``complete`` runs the model on a
    ``ChatRequest`` (its ``model`` is the ``model`` given here) and returns the answer's text.
    Returns True when a new summary was stored on ``conversation`` (the instance is updated
    too); False when summaries are off, nothing new fell out, or the model failed, which is
    logged and leaves the old summary in place so the answer itself can still go ahead.
    """
    if not settings.SUMMARIZE_DROPPED:
        return False
    plan = await sync_to_async(_plan_summary)(
        conversation,
        model=model,
        max_output_tokens=max_output_tokens,
        before_seq=before_seq,
        prefill=prefill,
    )
    if plan is None:
        return False
    summary = plan.previous
    try:
        for lines in _summary_prompts(plan, model):
            summary = (await complete(_summary_request(model, summary, lines))).strip()
            if not summary:
                return False
    except ProviderError as exc:
        log.warning("summary of conversation %s failed: %s", conversation.pk, exc)
        return False
    return await sync_to_async(_store_summary)(conversation, plan, summary)


async def summarize_before(
    conversation: Conversation, model_name: str, before_seq: int, prefill: str
) -> None:
    """Have ``model_name`` summarize what falls out of its window for an answer at
    ``before_seq`` (when summaries are on)."""
    if not settings.SUMMARIZE_DROPPED:
        return

    async def complete(request: ChatRequest) -> str:
        return await catalog.complete(model_name, request)

    await summarize_dropped(
        conversation,
        model=model_name,
        max_output_tokens=answer_tokens(conversation, model_name),
        before_seq=before_seq,
        complete=complete,
        prefill=prefill,
    )
