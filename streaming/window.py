"""The sliding window: which messages of a long conversation are sent to a model.

A pure function of token counts, so it can be tested on its own: the system prompt always
goes, then the newest messages that fit the budget, dropping the oldest first. Messages are
never split, and items sharing a group key (a tool call and its results) go or stay together.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from streaming.events import ChatMessage

# Context lengths by model family, matched as a prefix of the model's own name (after the
# "provider:" part and any "vendor/" path), the longest prefix winning. They are the vendors'
# published limits; MODEL_CONTEXT_LENGTHS overrides them, e.g. for a local server started
# with a smaller context than the model supports.
CONTEXT_LENGTHS: Mapping[str, int] = {
    "gpt-4o": 128_000,
    "gpt-4.1": 1_047_576,
    "gpt-4-turbo": 128_000,
    "gpt-5": 400_000,
    "o1": 200_000,
    "o3": 200_000,
    "o4-mini": 200_000,
    "claude": 200_000,
    "gemini": 1_048_576,
    "smollm2": 8192,
}
# Small on purpose: a model we know nothing about is more likely a small local one, and
# sending too little costs memory while sending too much costs the whole answer.
DEFAULT_CONTEXT_LENGTH = 8192


@dataclass(frozen=True, slots=True)
class WindowItem:
    """One message with the tokens it takes in a context.

    Consecutive items with the same non-``None`` ``group`` are kept or dropped together (an
    assistant message with tool calls and the tool results that answer it). ``key`` is the
    caller's own reference (a seq, a primary key); the window only hands it back.
    """

    message: ChatMessage
    tokens: int
    group: Hashable | None = None
    key: Hashable | None = None


@dataclass(frozen=True, slots=True)
class WindowResult:
    """``items[start:]`` are kept, ``items[:start]`` dropped; ``tokens`` counts the system
    prompt and the kept items."""

    system: ChatMessage | None
    items: tuple[WindowItem, ...]
    start: int
    tokens: int

    @property
    def kept(self) -> tuple[WindowItem, ...]:
        return self.items[self.start :]

    @property
    def dropped(self) -> tuple[WindowItem, ...]:
        return self.items[: self.start]

    @property
    def truncated(self) -> bool:
        return self.start > 0

    @property
    def messages(self) -> tuple[ChatMessage, ...]:
        head = (self.system,) if self.system is not None else ()
        return head + tuple(item.message for item in self.kept)


def units(items: Sequence[WindowItem]) -> list[tuple[int, int]]:
    """``(start, end)`` index ranges of what must be kept or dropped as a whole."""
    ranges: list[tuple[int, int]] = []
    begin = 0
    for index in range(1, len(items) + 1):
        group = items[index - 1].group
        if index == len(items) or group is None or items[index].group != group:
            ranges.append((begin, index))
            begin = index
    return ranges


def fit_window(
    system: ChatMessage | None,
    items: Sequence[WindowItem],
    budget: int,
    *,
    system_tokens: int = 0,
) -> WindowResult:
    """Keep the system prompt and the newest whole units of ``items`` that fit ``budget``.

    ``system_tokens`` is what the system prompt takes; it always survives, even when it alone
    exceeds the budget (then nothing else is kept). The kept items are always a suffix of
    ``items``: an older unit that would fit never jumps over a newer one that does not, so the
    model never sees a conversation with a hole in it.
    """
    items = tuple(items)
    if any(item.tokens < 0 for item in items) or system_tokens < 0:
        raise ValueError("token counts cannot be negative")
    used = system_tokens
    start = len(items)
    for begin, end in reversed(units(items)):
        size = sum(item.tokens for item in items[begin:end])
        if used + size > budget:
            break
        used += size
        start = begin
    return WindowResult(system=system, items=items, start=start, tokens=used)


def model_entries(value: str, shape: str) -> Iterator[tuple[str, str, str]]:
    """The entries of a per-model setting, ``"openai:my-model=<value>,local:smollm2=<value>"``:
    each as (the entry, its model, its value), the model as written (a key without
    ``provider:`` applies to every provider serving a model of that name). Raises
    ``ValueError`` naming an entry that is not ``model=<shape>``."""
    for entry in value.split(","):
        entry = entry.strip()
        if not entry:
            continue
        model, sep, said = entry.rpartition("=")
        model = model.strip()
        if not sep or not model:
            raise ValueError(f"{entry!r} is not model={shape}")
        yield entry, model, said


def parse_context_lengths(value: str) -> dict[str, int]:
    """``"openai:gpt-4o-mini=128000,local:smollm2=8192"`` as a mapping; raises ``ValueError``
    with a sentence naming the bad entry."""
    lengths: dict[str, int] = {}
    for entry, model, number in model_entries(value, "tokens"):
        try:
            tokens = int(number.strip())
        except ValueError:
            raise ValueError(f"{entry!r}: {number.strip()!r} is not a whole number") from None
        if tokens < 1:
            raise ValueError(f"{entry!r}: the number of tokens must be at least 1")
        lengths[model] = tokens
    return lengths


def bare_model_name(model: str) -> str:
    """``"openai:meta-llama/Llama-3-8B"`` → ``"llama-3-8b"``: the name families are matched on."""
    name = model.partition(":")[2] if ":" in model else model
    return name.rsplit("/", 1)[-1].lower()


Setting = TypeVar("Setting")


def override_for(model: str, overrides: Mapping[str, Setting] | None) -> Setting | None:
    """An operator's value for ``model`` (``provider:model``): the one for the exact name,
    else the one for the name without its provider; None when neither is given."""
    overrides = overrides or {}
    if model in overrides:
        return overrides[model]
    _, sep, name = model.partition(":")
    return overrides.get(name) if sep else None


def context_length(model: str, overrides: Mapping[str, int] | None = None) -> int:
    """The context length of ``model`` (``provider:model`` or a bare name): an override for the
    exact name, then one for the name without its provider, then the family table."""
    overridden = override_for(model, overrides)
    if overridden is not None:
        return overridden
    bare = bare_model_name(model)
    matches = [prefix for prefix in CONTEXT_LENGTHS if bare.startswith(prefix)]
    if not matches:
        return DEFAULT_CONTEXT_LENGTH
    return CONTEXT_LENGTHS[max(matches, key=len)]
