"""What a model is sent of a conversation: the system prompt, then the newest messages that fit.

``build_context`` turns the stored transcript into ``ChatMessage``s with token counts and runs
the sliding window over them (``streaming.window``). ``summarize_dropped``, when
``SUMMARIZE_DROPPED`` is on, has the model write a summary of what fell out of the window; the
summary is stored on the conversation and sent in place of the messages it covers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings

from chat.models import Conversation, Message
from streaming.events import ChatMessage, ChatRequest, ProviderError, ToolCall
from streaming.tokens import count_tokens
from streaming.window import WindowItem, WindowResult, context_length, fit_window, units

log = logging.getLogger(__name__)

# Chat formats wrap every message in role markers and separators; counted text alone would
# undercount by a few tokens per message, which adds up over a long conversation.
MESSAGE_OVERHEAD = 4
# A summary is asked for with this many output tokens at most, and this much room is kept for
# it in every window while summaries are on, so a new summary never pushes messages out.
SUMMARY_MAX_TOKENS = 512
# When a summary is made, it takes in this share of the budget more than strictly needed, so
# the next few turns fit without another summary: one model call every few turns, not each.
SUMMARY_HEADROOM = 0.25
SUMMARY_HEADER = (
    "Summary of the earlier part of this conversation, whose messages are no longer shown to you:\n"
)
SUMMARY_INSTRUCTIONS = (
    "You write short, factual summaries of conversations so that the conversation can go on "
    "without them. Keep names, numbers, decisions, open questions and what the user wants. "
    "Write at most 200 words of plain text, without a preamble."
)

Complete = Callable[[ChatRequest], Awaitable[str]]


class ContextTooLong(Exception):
    """Even the newest message does not fit the model's context next to the system prompt."""

    def __init__(self, model: str, needed: int, budget: int) -> None:
        super().__init__(
            f"The newest message is too long for {model}: it needs about {needed} tokens "
            f"and the model can take {max(budget, 0)} besides its answer."
        )
        self.needed = needed
        self.budget = budget


@dataclass(frozen=True, slots=True)
class Context:
    """The messages to send, and where in the conversation they begin."""

    messages: tuple[ChatMessage, ...]
    from_seq: int | None  # the oldest seq sent; stored on the answer as context_from_seq
    tokens: int  # the estimated input tokens, system prompt and prefill included
    budget: int  # what the model can take besides its answer
    dropped: int  # messages of the transcript that were not sent
    summary_through_seq: int  # 0 when no summary was sent


def message_tokens(message: ChatMessage, model: str) -> int:
    tokens = MESSAGE_OVERHEAD + count_tokens(message.content, model)
    for call in message.tool_calls:
        tokens += count_tokens(call.name + json.dumps(call.arguments), model)
    return tokens


def _tool_calls(value: object) -> tuple[ToolCall, ...]:
    calls = []
    for call in value if isinstance(value, list) else []:
        if not isinstance(call, dict) or not call.get("id"):
            continue
        arguments = call.get("arguments") or {}
        if isinstance(arguments, str):
            # Providers stream arguments as JSON text; a stored string is decoded here so the
            # model gets back the object it produced.
            try:
                arguments = json.loads(arguments)
            except ValueError:
                arguments = {"input": arguments}
        if not isinstance(arguments, dict):
            arguments = {"input": arguments}
        calls.append(
            ToolCall(id=str(call["id"]), name=str(call.get("name", "")), arguments=arguments)
        )
    return tuple(calls)


def _stored_tokens(row: Message) -> int | None:
    # Stored counts are the provider's count of the text (the answer's output tokens); the
    # role markers around it come on top.
    if row.token_count is not None:
        return row.token_count + MESSAGE_OVERHEAD
    if row.role == Message.Role.ASSISTANT and row.output_tokens is not None:
        return row.output_tokens + MESSAGE_OVERHEAD
    return None


def _rows(conversation: Conversation, before_seq: int) -> list[Message]:
    return list(
        conversation.transcript()
        .filter(seq__lt=before_seq)
        .exclude(status__in=Message.LIVE)
        .only(
            "id",
            "seq",
            "role",
            "text",
            "status",
            "tool_calls",
            "tool_call_id",
            "token_count",
            "output_tokens",
        )
    )


def transcript_items(rows: Sequence[Message], model: str) -> tuple[list[str], list[WindowItem]]:
    """The pinned system texts, and the window items of everything else, in seq order.

    An assistant message with tool calls and the tool messages answering it share a group.
    A tool result whose call is gone, and a call without its result, are left out: providers
    refuse either, and a pruned history can leave them behind.
    """
    pinned: list[str] = []
    answered = {row.tool_call_id for row in rows if row.role == Message.Role.TOOL}
    group_of_call: dict[str, int] = {}
    name_of_call: dict[str, str] = {}
    items: list[WindowItem] = []
    for row in rows:
        if row.role == Message.Role.SYSTEM:
            if row.text:
                pinned.append(row.text)
            continue
        group: int | None = None
        if row.role == Message.Role.TOOL:
            group = group_of_call.get(row.tool_call_id)
            if group is None:
                continue
            # Gemini matches a result to its call by the function's name, not an id.
            name = name_of_call.get(row.tool_call_id, "")
            message = ChatMessage("tool", row.text, tool_call_id=row.tool_call_id, name=name)
        else:
            calls = ()
            if row.role == Message.Role.ASSISTANT:
                calls = tuple(call for call in _tool_calls(row.tool_calls) if call.id in answered)
            if not row.text and not calls:
                continue  # an answer that failed before its first token says nothing
            message = ChatMessage(row.role, row.text, tool_calls=calls)
            if calls:
                group = row.seq
                group_of_call.update((call.id, row.seq) for call in calls)
                name_of_call.update((call.id, call.name) for call in calls)
        tokens = _stored_tokens(row)
        if tokens is None:
            tokens = message_tokens(message, model)
        items.append(WindowItem(message, tokens, group=group, key=row.seq))
    return pinned, items


def _system(pinned: list[str], summary: str) -> str:
    parts = [text for text in pinned if text]
    if summary:
        parts.append(SUMMARY_HEADER + summary)
    return "\n\n".join(parts)


def _start_with_user(result: WindowResult) -> WindowResult:
    # Some providers (Anthropic, Gemini) refuse a conversation that opens with the assistant
    # or a tool result; where the window cut the conversation, give up the leading unit(s)
    # when a user message follows.
    if not result.truncated:
        return result
    ranges = [r for r in units(result.items) if r[0] >= result.start]
    for begin, _ in ranges:
        if result.items[begin].message.role == "user":
            if begin == result.start:
                return result
            freed = sum(item.tokens for item in result.items[result.start : begin])
            return WindowResult(result.system, result.items, begin, result.tokens - freed)
    return result


@dataclass(frozen=True, slots=True)
class _Fit:
    result: WindowResult
    budget: int  # the context length less the answer's tokens
    room: int  # what the system prompt and the messages can take: the budget less the prefill
    total: int  # transcript messages before any were dropped
    summary_through_seq: int  # the summary sent covers messages up to this seq; 0 for none


def _fit(
    conversation: Conversation,
    *,
    model: str,
    max_output_tokens: int,
    before_seq: int,
    prefill: str,
    summary_room: int | None = None,
) -> _Fit:
    """The window over the transcript. With summaries on and a summary stored, the messages it
    covers are replaced by it, unless the whole transcript fits anyway (a model with a larger
    context took over). ``summary_room`` counts a fixed allowance instead of the stored
    summary, so that a summary planned now fits whatever its length."""
    pinned, items = transcript_items(_rows(conversation, before_seq), model)
    pinned.insert(0, conversation.system_prompt)
    budget = context_length(model, settings.MODEL_CONTEXT_LENGTHS) - max_output_tokens
    room = budget - count_tokens(prefill, model)

    def window(through: int, summary: str, summary_tokens: int | None) -> WindowResult:
        text = _system(pinned, summary)
        system = ChatMessage("system", text) if text else None
        tokens = message_tokens(system, model) if system else 0
        if summary_tokens is not None:
            base = _system(pinned, "")
            tokens = (
                MESSAGE_OVERHEAD + count_tokens(base, model) + count_tokens(SUMMARY_HEADER, model)
            )
            tokens += summary_tokens
        candidates = [item for item in items if item.key > through]
        return _start_with_user(fit_window(system, candidates, room, system_tokens=tokens))

    whole = window(0, "", None)
    if not whole.truncated or not settings.SUMMARIZE_DROPPED:
        return _Fit(whole, budget, room, len(items), 0)
    through = conversation.summary_through_seq if conversation.summary else 0
    result = window(through, conversation.summary if through else "", summary_room)
    return _Fit(result, budget, room, len(items), through)


def build_context(
    conversation: Conversation,
    *,
    model: str,
    max_output_tokens: int,
    before_seq: int,
    prefill: str = "",
) -> Context:
    """The messages to send ``model`` (a ``provider:model`` name) for an answer at
    ``before_seq``: the system prompt (with the stored summary when summaries are on), then the
    newest messages before that seq that fit the model's context less ``max_output_tokens``.

    ``prefill`` is the partial text of an answer being continued; it is sent last, as the
    assistant's, and its tokens are kept free. Raises ``ContextTooLong`` when not even the
    newest message fits. Runs queries: call it through ``sync_to_async`` from async code.
    """
    fit = _fit(
        conversation,
        model=model,
        max_output_tokens=max_output_tokens,
        before_seq=before_seq,
        prefill=prefill,
    )
    result = fit.result
    prefill_tokens = count_tokens(prefill, model)
    if result.items and not result.kept:
        last_begin = units(result.items)[-1][0]
        needed = result.tokens + sum(item.tokens for item in result.items[last_begin:])
        raise ContextTooLong(model, needed + prefill_tokens, fit.budget)
    messages = result.messages
    if prefill:
        messages += (ChatMessage("assistant", prefill),)
    kept = result.kept
    return Context(
        messages=messages,
        from_seq=kept[0].key if kept else None,
        tokens=result.tokens + prefill_tokens,
        budget=fit.budget,
        dropped=fit.total - len(kept),
        summary_through_seq=fit.summary_through_seq,
    )


# Summaries ---------------------------------------------------------------------------------


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
    fit = _fit(
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
    start = _start_with_user(WindowResult(result.system, result.items, start, 0)).start
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
