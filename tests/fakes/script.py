"""What the fake upstream answers: a ``Script`` per request, optionally with one ``Fault``.

Scripts are plain dataclasses that round-trip through JSON, so the same script can be queued
in-process, posted to the control endpoint of a fake running in another process, or embedded in
a chat message as ``fake:{...}``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

DEFAULT_TEXT = "Hello from the fake upstream."

# A fixed vocabulary so synthesized answers are reproducible; every 20th word ends a paragraph so
# that long answers also exercise newlines inside tokens.
_WORDS = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor".split()


def split_tokens(text: str) -> list[str]:
    """Split text into word-sized tokens whose concatenation is exactly ``text``."""
    return re.findall(r"\S+\s*|\s+", text)


def synthesized_tokens(count: int) -> list[str]:
    tokens = []
    for i in range(count):
        word = _WORDS[i % len(_WORDS)]
        token = word if i == 0 else " " + word
        if i % 20 == 19:
            token += ".\n"
        tokens.append(token)
    return tokens


@dataclass
class Fault:
    """A failure to inject.

    Kinds: ``http`` (a non-200 answer with ``status``), ``invalid_key`` and ``overloaded`` (each
    format's real-world answer: 401 / 401 / 400 API_KEY_INVALID, and 503 / 529 / 503),
    and the mid-stream ones, which happen once ``after`` content tokens were written:
    ``drop`` (the connection is closed without finishing the body), ``stall`` (no byte for
    ``seconds`` or until the client goes away), ``malformed`` (a line that is not valid JSON)
    and ``error_event`` (the format's in-stream error, then the body ends).
    """

    kind: str
    after: int = 0
    status: int = 500
    retry_after: float | str | None = None
    retry_after_ms: float | None = None
    error_type: str = ""
    message: str = ""
    seconds: float = 30.0

    MID_STREAM = frozenset({"drop", "stall", "malformed", "error_event"})

    @property
    def mid_stream(self) -> bool:
        return self.kind in self.MID_STREAM

    @classmethod
    def http(
        cls,
        status: int,
        *,
        retry_after: float | str | None = None,
        retry_after_ms: float | None = None,
        message: str = "",
    ) -> Fault:
        return cls(
            "http",
            status=status,
            retry_after=retry_after,
            retry_after_ms=retry_after_ms,
            message=message,
        )

    @classmethod
    def rate_limited(
        cls, *, retry_after: float | str | None = None, retry_after_ms: float | None = None
    ) -> Fault:
        return cls.http(429, retry_after=retry_after, retry_after_ms=retry_after_ms)

    @classmethod
    def overloaded(cls, *, retry_after: float | str | None = None) -> Fault:
        return cls("overloaded", retry_after=retry_after)

    @classmethod
    def invalid_key(cls) -> Fault:
        return cls("invalid_key")

    @classmethod
    def drop(cls, after: int = 0) -> Fault:
        return cls("drop", after=after)

    @classmethod
    def stall(cls, after: int = 0, seconds: float = 30.0) -> Fault:
        return cls("stall", after=after, seconds=seconds)

    @classmethod
    def malformed(cls, after: int = 0) -> Fault:
        return cls("malformed", after=after)

    @classmethod
    def error_event(
        cls, after: int = 0, *, status: int = 500, error_type: str = "", message: str = ""
    ) -> Fault:
        return cls(
            "error_event", after=after, status=status, error_type=error_type, message=message
        )


@dataclass
class ToolCallScript:
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    id: str = ""


REASONING_FORMATS = (
    "",
    "reasoning_content",
    "reasoning",
    "think_tags",
    "thinking_tags",
    "lone_close",
)


@dataclass
class Script:
    """One answer. Tokens come from ``tokens``, else ``word_count`` synthesized words, else
    ``text`` split at word boundaries. ``finish`` is ``end``, ``length``, ``tool_calls`` or
    ``content_filter`` (empty: ``tool_calls`` when there are tool calls, else ``end``). Usage
    numbers left ``None`` are made up from the request and the answer.

    ``reasoning`` is streamed (split at word boundaries) before the answer, the way each API
    does: Anthropic a signed ``thinking`` block (then ``redacted`` ``redacted_thinking``
    blocks), Gemini ``thought: true`` parts, the Responses API a reasoning item (its summary
    only when the request asks for one, its ``encrypted_content`` only when the request
    includes it), Chat Completions by ``reasoning_format``: a ``reasoning_content`` delta (the
    default), a ``reasoning`` delta, or inline in the content as ``<think>`` (``think_tags``),
    ``<thinking>`` (``thinking_tags``) or R1's ``…</think>`` without the opening tag
    (``lone_close``). ``chunk_chars`` cuts Chat Completions content (tags and all) into pieces
    of that many characters instead. ``reasoning_tokens`` is reported in usage (made up when
    ``None``). ``keepalive_interval`` makes Anthropic send ``ping`` events that often while the
    answer waits for its first token.
    """

    text: str = DEFAULT_TEXT
    tokens: list[str] | None = None
    word_count: int = 0
    tokens_per_second: float = 0.0
    first_token_delay: float = 0.0
    reasoning: str = ""
    reasoning_format: str = ""
    redacted: int = 0
    reasoning_tokens: int | None = None
    chunk_chars: int = 0
    keepalive_interval: float = 0.0
    tool_calls: list[ToolCallScript] = field(default_factory=list)
    input_tokens: int | None = None
    output_tokens: int | None = None
    usage: bool = True
    finish: str = ""
    fault: Fault | None = None

    def answer_tokens(self) -> list[str]:
        if self.tokens is not None:
            return list(self.tokens)
        if self.word_count:
            return synthesized_tokens(self.word_count)
        return split_tokens(self.text)

    def answer_text(self) -> str:
        return "".join(self.answer_tokens())

    def finish_reason(self) -> str:
        return self.finish or ("tool_calls" if self.tool_calls else "end")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Script:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown script fields: {sorted(unknown)}")
        values = dict(data)
        if values.get("fault") is not None:
            values["fault"] = Fault(**values["fault"])
        values["tool_calls"] = [ToolCallScript(**call) for call in values.get("tool_calls", [])]
        return cls(**values)

    def __post_init__(self) -> None:
        if self.reasoning_format not in REASONING_FORMATS:
            raise ValueError(
                f"reasoning_format must be one of {REASONING_FORMATS}, "
                f"not {self.reasoning_format!r}"
            )
