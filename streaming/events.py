"""The one vocabulary every provider's stream is turned into.

A provider's ``stream()`` yields ``TextDelta``, ``ThinkingDelta``, ``ToolCall``, at most one
``Usage`` (just before the end) and ends with exactly one ``Finish``; failures are raised as
``ProviderError`` (never yielded), so that ``async for`` code reads the happy path and a ``try``
reads the rest. ``streaming.policy.guarded`` adds retries, the idle timeout and ``partial``.
"""

from __future__ import annotations

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


@dataclass(frozen=True, slots=True)
class ThinkingDelta:
    """Reasoning text some models stream before the answer. Providers parse it; the answer
    engine does not store or show it yet."""

    text: str


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
    output_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class Finish:
    reason: FinishReason


Event = TextDelta | ThinkingDelta | ToolCall | Usage | Finish


class ProviderError(Exception):
    """A provider failed. ``retryable`` says whether trying again may work; ``partial`` says
    whether any text had already been produced (then it is never retried from scratch)."""

    code = "provider_error"
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        partial: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after
        self.partial = partial


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


class AuthenticationFailed(ProviderError):
    code = "authentication_failed"


class BadRequest(ProviderError):
    code = "bad_request"


class MalformedStream(ProviderError):
    code = "malformed_stream"


class ModelUnavailable(ProviderError):
    """The model cannot be run here (no key, no model file)."""

    code = "model_unavailable"


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message of the context sent to a model.

    ``role`` is ``system``, ``user``, ``assistant`` or ``tool``. An assistant message may carry
    ``tool_calls``; a ``tool`` message answers one of them by ``tool_call_id``.
    """

    role: str
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str = ""
    name: str = ""


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """What to ask a model. When the last message is from the assistant, the model continues
    that text (used to continue a stopped or failed answer)."""

    model: str
    messages: tuple[ChatMessage, ...]
    max_tokens: int = 1024
    tools: tuple[ToolSpec, ...] = ()
