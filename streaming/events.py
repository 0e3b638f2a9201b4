"""The one vocabulary every provider's stream is turned into.

A provider's ``stream()`` yields, in this order:

- ``ReasoningDelta``s while the model reasons (several reasoning phases may interleave with
  text and tool calls, but reasoning is never mixed into ``TextDelta``);
- ``TextDelta``s and ``ToolCall``s;
- at most one ``ReasoningState``, once the last text and tool call are out, when the turn has
  reasoning that must be sent back with it;
- at most one ``Usage``;
- exactly one ``Finish``;

and ``KeepAlive`` anywhere before the end (``guarded`` never passes it on).

Failures are raised as ``ProviderError`` (never yielded), so that ``async for`` code reads the
happy path and a ``try`` reads the rest. A stream that fails or is closed early yields no
``ReasoningState``: reasoning that was cut off cannot be sent back (Anthropic refuses a thinking
block without its signature). ``streaming.policy.guarded`` adds retries, the idle timeout and
``partial``; it swallows ``KeepAlive``.
"""

from __future__ import annotations

import base64
import enum
from dataclasses import dataclass, field
from typing import Any


class FinishReason(enum.StrEnum):
    END = "end"
    LENGTH = "length"
    TOOL_CALLS = "tool_calls"
    STOPPED = "stopped"
    CONTENT_FILTER = "content_filter"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


REASONING_EFFORTS = ("off", "low", "medium", "high")


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """Reasoning ("thinking") text as it streams, apart from the answer.

    ``text`` is exact: the reasoning is the concatenation of every delta's ``text``. An empty
    ``text`` says that the model has begun (or goes on) reasoning without anything to show yet,
    so a client can say "Thinking…" instead of showing a frozen cursor. ``redacted`` is true for
    reasoning the provider keeps hidden (Anthropic's ``redacted_thinking`` blocks, or thinking
    whose display the API omitted): show "reasoning hidden by the provider"; its ``text`` is
    empty.
    """

    text: str
    redacted: bool = False


ThinkingDelta = ReasoningDelta  # the earlier name


@dataclass(frozen=True, slots=True)
class ReasoningState:
    """What of a turn's reasoning the provider needs back, verbatim, with that turn.

    Opaque to everyone but the provider that made it: store it beside the assistant message it
    came with (``to_dict()`` is plain JSON) and pass it back as ``ChatMessage.reasoning``: within
    the tool loop it belongs to always, on later turns when ``across_turns`` says so (elsewhere
    the APIs ignore or strip it, and it costs context).
    ``provider`` and ``model`` name who made it: a provider ignores a state made by another
    provider or for another model, whose signatures the API would refuse.

    What ``data`` holds, per provider (for reading logs; never build it elsewhere):

    - ``anthropic``: ``{"blocks": [...]}``, the turn's ``thinking`` blocks with their
      ``signature`` and ``redacted_thinking`` blocks with their ``data``, in order;
    - ``gemini``: ``{"parts": [...]}``, the turn's parts in order, each text part as its length
      in characters, function calls by position, each with the ``thought_signature`` (standard
      base64) it came with; signed thought parts whole;
    - ``openai`` (Responses API): ``{"items": [...]}``, the turn's output items in order:
      reasoning items whole (with ``encrypted_content``), message and function call items by
      id, text by length;
    - ``openai`` (Chat Completions, compatible servers): ``{"field": "reasoning_content",
      "text": "..."}``, the reasoning text, which DeepSeek-style servers require back on turns
      that called tools, on every later request (``across_turns``).
    """

    provider: str
    model: str
    data: dict[str, Any] = field(default_factory=dict)
    # Whether the provider wants it back on later turns too, not only within the tool loop it
    # belongs to (DeepSeek's thinking mode refuses a later request without it).
    across_turns: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "model": self.model,
            "data": self.data,
            "across_turns": self.across_turns,
        }

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> ReasoningState:
        return cls(
            value["provider"],
            value["model"],
            dict(value.get("data") or {}),
            bool(value.get("across_turns", False)),
        )


@dataclass(frozen=True, slots=True)
class KeepAlive:
    """The upstream is alive but has nothing to say yet (Anthropic's ``ping`` during long
    silent reasoning). ``guarded`` resets its idle timer on it and does not pass it on."""


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A complete tool call: providers reassemble streamed argument fragments before yielding."""

    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts as the provider reports them (``None`` where it did not), for the whole
    answer: sent once, after the last text and tool call, before ``Finish``."""

    input_tokens: int | None = None
    output_tokens: int | None = None  # reasoning included
    # Of ``output_tokens``, those spent reasoning: OpenAI's ``reasoning_tokens``, Gemini's
    # ``thoughts_token_count``, Anthropic's ``thinking_tokens`` where it reports them.
    reasoning_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class Finish:
    reason: FinishReason


Event = TextDelta | ReasoningDelta | ToolCall | ReasoningState | KeepAlive | Usage | Finish


class ProviderError(Exception):
    """A provider failed. ``retryable`` says whether trying again may work; ``partial`` says
    whether anything had already been produced, text or reasoning (then it is never retried
    from scratch).

    ``message`` is the precise account, for operators. What the user is told is made from the
    rest: ``status`` (the HTTP status the provider answered with, if any), ``reason`` (the
    provider's own words: the error message of its body or of its in-stream error event, or
    the type of that event), ``reached`` (false when no connection could be made at all)."""

    code = "provider_error"
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        partial: bool = False,
        reason: str = "",
        reached: bool = True,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after
        self.partial = partial
        self.reason = reason
        self.reached = reached


class RateLimited(ProviderError):
    code = "rate_limited"
    retryable = True


class Overloaded(ProviderError):
    code = "overloaded"
    retryable = True


class UpstreamUnavailable(ProviderError):
    """Connection refused or dropped, or a 5xx from the provider."""

    code = "upstream_unavailable"
    retryable = True


class IdleTimeout(ProviderError):
    code = "idle_timeout"
    retryable = True
    seconds: float | None = None  # how long the provider was silent


class AuthenticationFailed(ProviderError):
    code = "authentication_failed"


class BadRequest(ProviderError):
    code = "bad_request"


class MalformedStream(ProviderError):
    code = "malformed_stream"


class ModelUnavailable(ProviderError):
    """The model cannot be run here (no key, no model file)."""

    code = "model_unavailable"


class _Encoded:
    """The base64 forms of a file's bytes that the APIs take."""

    __slots__ = ()
    media_type: str
    data: bytes

    def base64(self) -> str:
        return base64.b64encode(self.data).decode()

    def data_url(self) -> str:
        return f"data:{self.media_type};base64,{self.base64()}"


@dataclass(frozen=True, slots=True)
class Image(_Encoded):
    """An image sent with a user message, as stored (PNG, JPEG or WebP); ``width`` and
    ``height`` in pixels, for the token estimate (``Provider.image_tokens``)."""

    media_type: str
    data: bytes = field(repr=False)
    width: int
    height: int
    name: str = ""


@dataclass(frozen=True, slots=True)
class Document(_Encoded):
    """A PDF sent whole, for a model that reads PDFs itself (pages, layout, figures)."""

    name: str
    media_type: str
    data: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message of the context sent to a model.

    ``role`` is ``system``, ``user``, ``assistant`` or ``tool``. An assistant message may carry
    ``tool_calls``; a ``tool`` message answers one of them by ``tool_call_id``.

    An assistant message may carry the ``ReasoningState`` its stream ended with, in
    ``reasoning``; the provider sends it back as its API requires (Anthropic: the thinking
    blocks first in the turn; Gemini: each signature on its part; OpenAI Responses: the
    reasoning items before the function calls). Within a tool loop, always pass it: Anthropic
    with thinking and Gemini 3 refuse a follow-up without it. A provider drops states that are
    not its own or were made for another model, and Anthropic's when thinking is off.

    A user message may carry ``attachments``: the ``Image``s and ``Document``s sent with it,
    which a provider sends before ``content``, in order, as its API takes them. Only what the
    model can take is given (the chat app asks ``Provider.capabilities``); text files, and
    PDFs for a model that cannot read them, come folded into ``content`` instead. A provider
    without images or documents (the local model) sends ``content`` alone.
    """

    role: str
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str = ""
    name: str = ""
    reasoning: ReasoningState | None = None
    attachments: tuple[Image | Document, ...] = ()


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """What to ask a model. When the last message is from the assistant, the model continues
    that text (used to continue a stopped or failed answer).

    ``max_tokens`` bounds the answer; a provider that reasons adds the reasoning's allowance
    on top where its API counts reasoning in the same limit. ``reasoning_effort`` is one of
    ``REASONING_EFFORTS``: ``off`` sends no reasoning settings at all (the model's default),
    ``low`` / ``medium`` / ``high`` ask the model to reason and stream it (see each provider
    for the mapping). Models that cannot reason ignore it.

    ``temperature`` and ``top_p`` are the sampling parameters; ``None`` sends none (the
    provider's default). Where a model cannot take one (OpenAI's reasoning models, Claude with
    extended thinking), ``Provider.adapt`` leaves it out and says so in a note.
    """

    model: str
    messages: tuple[ChatMessage, ...]
    max_tokens: int = 1024
    tools: tuple[ToolSpec, ...] = ()
    reasoning_effort: str = "off"
    temperature: float | None = None
    top_p: float | None = None

    def __post_init__(self) -> None:
        if self.reasoning_effort not in REASONING_EFFORTS:
            raise ValueError(
                f"reasoning_effort must be one of {', '.join(REASONING_EFFORTS)}, "
                f"not {self.reasoning_effort!r}"
            )
