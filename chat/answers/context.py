"""What a model is sent of a conversation: the system prompt, then the newest messages that fit.

``build_context`` turns the stored transcript into ``ChatMessage``s with token counts and runs
the sliding window over them (``streaming.window``); ``request_for`` makes the provider request
of an answer from it. With ``SUMMARIZE_DROPPED`` on, a summary of what fell out of the window
(``chat.answers.summaries``) is sent in place of the messages it covers. The files of user
messages go as the model can take them (``chat.answers.files``), counted by their provider's
estimates.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.conf import settings

from chat.answers import catalog, files
from chat.answers.errors import CannotAnswer
from chat.models import Attachment, Conversation, Message
from streaming import tools
from streaming.events import ChatMessage, ChatRequest, ReasoningState, ToolCall
from streaming.limits import output_tokens
from streaming.tokens import count_tokens
from streaming.window import WindowItem, WindowResult, context_length, fit_window, units

# Chat formats wrap every message in role markers and separators; counted text alone would
# undercount by a few tokens per message, which adds up over a long conversation.
MESSAGE_OVERHEAD = 4
SUMMARY_HEADER = (
    "Summary of the earlier part of this conversation, whose messages are no longer shown to you:\n"
)


class ContextTooLong(Exception):
    """Even the newest message does not fit the model's context next to the system prompt."""

    def __init__(self, model: str, needed: int, budget: int, with_files: bool = False) -> None:
        what = "The newest message with its files is" if with_files else "The newest message is"
        super().__init__(
            f"{what} too long for {model}: it needs about {needed} tokens "
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
    return tokens + reasoning_tokens(message.reasoning, model)


def reasoning_tokens(state: ReasoningState | None, model: str) -> int:
    """What the reasoning sent back with a turn takes: counted over all of it, signatures and
    encrypted items included, which errs on the side of a window that fits."""
    if state is None:
        return 0
    return count_tokens(json.dumps(state.data, ensure_ascii=False), model)


def _reasoning(row: Message, in_tool_loop: bool) -> ReasoningState | None:
    """The reasoning state to send back with an assistant turn: within the tool loop it belongs
    to always (the APIs refuse a follow-up without it), on later turns where its provider asks
    for it."""
    if not row.reasoning_state:
        return None
    try:
        state = ReasoningState.from_dict(row.reasoning_state)
    except (KeyError, TypeError, AttributeError):
        return None  # not a state this version wrote: the turn goes without
    return state if in_tool_loop or state.across_turns else None


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


@dataclass(frozen=True, slots=True)
class Transcript:
    """The messages a context is made from, oldest first, and the files of each user message
    (by message id), read once."""

    rows: Sequence[Message]
    files: Mapping[int, tuple[Attachment, ...]]

    @classmethod
    def read(cls, conversation: Conversation, before_seq: int) -> Transcript:
        """The conversation's messages shown before ``before_seq``, answers being written left
        out, with their files: two queries."""
        rows = list(
            conversation.current_messages()
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
                "reasoning_state",
                # Read on each row fetched through the conversation: deferred, a query per row.
                "conversation",
            )
            .prefetch_related("attachments")
        )
        users = (row for row in rows if row.role == Message.Role.USER)
        return cls(rows, {row.pk: tuple(row.attachments.all()) for row in users})

    @classmethod
    def first_message(cls, message: Message, files: Sequence[Attachment]) -> Transcript:
        """A new conversation's, as it was just stored: its first message, sent with ``files``
        (nothing to ask the database)."""
        return cls((message,), {message.pk: tuple(files)})


Files = Mapping[int, tuple[Attachment, ...]]


def transcript_items(
    transcript: Transcript, model: str
) -> tuple[list[str], list[WindowItem], Files]:
    """The pinned system texts, the window items of everything else, in seq order, and by seq
    the files of user messages that go as they are (their tokens counted in the items').

    An assistant message with tool calls and the tool messages answering it share a group.
    A tool result whose call is gone, and a call without its result, are left out: providers
    refuse either, and a pruned history can leave them behind. Assistant turns after the last
    user message (the tool loop under way) carry their reasoning state.
    """
    rows = transcript.rows
    capabilities = catalog.capabilities(model)
    native: dict[int, tuple[Attachment, ...]] = {}
    users = [row.seq for row in rows if row.role == Message.Role.USER]
    loop_after = users[-1] if users else 0
    pinned: list[str] = []
    answered = {row.tool_call_id for row in rows if row.role == Message.Role.TOOL}
    group_of_call: dict[str, int] = {}
    name_of_call: dict[str, str] = {}
    items: list[WindowItem] = []
    for row in rows:
        shown = files.NOTHING
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
            if row.role == Message.Role.USER:
                shown = files.shown(transcript.files[row.pk], capabilities)
            text = shown.folded(row.text)
            if not text and not calls and not shown.native:
                # An answer that failed before its first token says nothing; so does a message
                # of images alone to a model that cannot see them.
                continue
            reasoning = None
            if row.role == Message.Role.ASSISTANT:
                reasoning = _reasoning(row, in_tool_loop=row.seq > loop_after)
            message = ChatMessage(row.role, text, tool_calls=calls, reasoning=reasoning)
            if calls:
                group = row.seq
                group_of_call.update((call.id, row.seq) for call in calls)
                name_of_call.update((call.id, call.name) for call in calls)
        tokens = _stored_tokens(row)
        if tokens is None or shown.blocks:  # a stored count is of the user's own text
            tokens = message_tokens(message, model)
        else:
            tokens += reasoning_tokens(message.reasoning, model)
        if shown.native:
            tokens += files.tokens(shown.native, model)
            native[row.seq] = shown.native
        items.append(WindowItem(message, tokens, group=group, key=row.seq))
    return pinned, items, native


def _system(pinned: list[str], summary: str) -> str:
    parts = [text for text in pinned if text]
    if summary:
        parts.append(SUMMARY_HEADER + summary)
    return "\n\n".join(parts)


def start_with_user(result: WindowResult) -> WindowResult:
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
class Fit:
    result: WindowResult
    budget: int  # the context length less the answer's tokens
    room: int  # what the system prompt and the messages can take: the budget less the prefill
    total: int  # transcript messages before any were dropped
    summary_through_seq: int  # the summary sent covers messages up to this seq; 0 for none
    native: Files  # by seq, the files of user messages that go as they are
    asked: tuple[Attachment, ...]  # the files of the message being answered


def fit_transcript(
    conversation: Conversation,
    *,
    model: str,
    max_output_tokens: int,
    before_seq: int,
    prefill: str,
    summary_room: int | None = None,
    transcript: Transcript | None = None,
) -> Fit:
    """The window over the transcript. With summaries on and a summary stored, the messages it
    covers are replaced by it, unless the whole transcript fits anyway (a model with a larger
    context took over). ``summary_room`` counts a fixed allowance instead of the stored
    summary, so that a summary planned now fits whatever its length. ``transcript``: the
    messages before ``before_seq``, when the caller holds them (else they are read)."""
    if transcript is None:
        transcript = Transcript.read(conversation, before_seq)
    pinned, items, native = transcript_items(transcript, model)
    users = [row for row in transcript.rows if row.role == Message.Role.USER]
    asked = transcript.files[users[-1].pk] if users else ()
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
        return start_with_user(fit_window(system, candidates, room, system_tokens=tokens))

    whole = window(0, "", None)
    if not whole.truncated or not settings.SUMMARIZE_DROPPED:
        return Fit(whole, budget, room, len(items), 0, native, asked)
    through = conversation.summary_through_seq if conversation.summary else 0
    result = window(through, conversation.summary if through else "", summary_room)
    return Fit(result, budget, room, len(items), through, native, asked)


def build_context(
    conversation: Conversation,
    *,
    model: str,
    max_output_tokens: int,
    before_seq: int,
    prefill: str = "",
    transcript: Transcript | None = None,
) -> Context:
    """The messages to send ``model`` (a ``provider:model`` name) for an answer at
    ``before_seq``: the system prompt (with the stored summary when summaries are on), then the
    newest messages before that seq that fit the model's context less ``max_output_tokens``.

    ``prefill`` is the partial text of an answer being continued; it is sent last, as the
    assistant's, and its tokens are kept free. Raises ``AttachmentUnsupported`` when the
    model cannot take a file of the message answered (``files.check``), ``ContextTooLong``
    when not even the newest message fits. Runs queries (none for the messages of a
    ``transcript`` given) and reads the files sent: call it through ``sync_to_async`` from
    async code.
    """
    fit = fit_transcript(
        conversation,
        model=model,
        max_output_tokens=max_output_tokens,
        before_seq=before_seq,
        prefill=prefill,
        transcript=transcript,
    )
    files.check(fit.asked, model)
    result = fit.result
    prefill_tokens = count_tokens(prefill, model)
    if result.items and not result.kept:
        last_begin = units(result.items)[-1][0]
        needed = result.tokens + sum(item.tokens for item in result.items[last_begin:])
        with_files = any(item.key in fit.native for item in result.items[last_begin:])
        raise ContextTooLong(model, needed + prefill_tokens, fit.budget, with_files)
    head = (result.system,) if result.system is not None else ()
    messages = head + tuple(_with_files(item, fit.native) for item in result.kept)
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


def _with_files(item: WindowItem, native: Files) -> ChatMessage:
    """The message of ``item`` with the bytes of its files that go as they are."""
    found = native.get(item.key)
    if not found:
        return item.message
    return dataclasses.replace(item.message, attachments=files.parts(found))


# A model that keeps calling tools is stopped after this many rounds: the last round is
# offered no tools, so it has to answer in words.
MAX_TOOL_ROUNDS = 5


@dataclass(frozen=True, slots=True)
class Planned:
    """An answer's provider request, the oldest seq it sends, and the settings it is made
    with (stored on the answer: ``Message.settings``)."""

    request: ChatRequest
    from_seq: int | None
    settings: dict[str, object]


def answer_tokens(conversation: Conversation, model_name: str) -> int:
    """How long an answer of ``model_name`` in ``conversation`` may be, in tokens: its own
    limit, else the model's, at most ``MAX_OUTPUT_TOKENS`` when it is set."""
    return output_tokens(
        model_name,
        conversation.max_output_tokens,
        settings.MAX_OUTPUT_TOKENS,
        settings.MODEL_CONTEXT_LENGTHS,
        settings.MODEL_OUTPUT_TOKENS,
    )


# An answer may take at most this share of its model's context: the rest is the conversation.
ANSWER_SHARE = 2


def _within_context(max_tokens: int, model_name: str) -> tuple[int, str]:
    """``max_tokens``, at most half the model's context (a local model, a model given a short
    context, cannot answer at length and still read the conversation), and a note when it was
    lowered."""
    whole = context_length(model_name, settings.MODEL_CONTEXT_LENGTHS)
    most = max(1, whole // ANSWER_SHARE)
    if max_tokens <= most:
        return max_tokens, ""
    name = model_name.partition(":")[2] or model_name
    return most, f"max_output_tokens lowered to {most}: {name} takes {whole} tokens in all"


def request_for(
    conversation: Conversation,
    answer_seq: int,
    model_name: str,
    prefill: str,
    tool_round: int,
    transcript: Transcript | None = None,
) -> Planned:
    """The provider request for an answer at ``answer_seq`` (``prefill``: the text of an answer
    being continued) with the conversation's settings, as the provider adapts it; from
    ``transcript`` when the caller holds the messages before it. Raises ``CannotAnswer`` when
    the newest message does not fit the model."""
    max_tokens, lowered = _within_context(answer_tokens(conversation, model_name), model_name)
    try:
        context = build_context(
            conversation,
            model=model_name,
            max_output_tokens=max_tokens,
            before_seq=answer_seq,
            prefill=prefill,
            transcript=transcript,
        )
    except ContextTooLong as exc:
        raise CannotAnswer(str(exc)) from None
    enabled = tools.specs(conversation.tools) if tool_round < MAX_TOOL_ROUNDS else ()
    request = ChatRequest(
        model=model_name.partition(":")[2],
        messages=context.messages,
        max_tokens=max_tokens,
        tools=enabled,
        reasoning_effort=conversation.reasoning_effort,
        temperature=conversation.temperature,
        top_p=conversation.top_p,
    )
    notes: tuple[str, ...] = ()
    provider = catalog.providers().get(model_name.partition(":")[0])
    if provider is not None:
        request, notes = provider.adapt(request)
    if lowered and conversation.max_output_tokens is not None:
        notes = (lowered, *notes)
    return Planned(request, context.from_seq, answer_settings(model_name, request, notes))


def answer_settings(model_name: str, request: ChatRequest, notes: tuple[str, ...]) -> dict:
    """What an answer records of the settings it was made with: the values sent, the
    instructions as sent (the system message, summary included) and the provider's notes."""
    head = request.messages[0] if request.messages else None
    return {
        "model": model_name,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "max_output_tokens": request.max_tokens,
        "reasoning_effort": request.reasoning_effort,
        "tools": [spec.name for spec in request.tools],
        "system_prompt": head.content if head is not None and head.role == "system" else "",
        "notes": list(notes),
    }
