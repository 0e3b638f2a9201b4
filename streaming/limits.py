"""How long an answer may be by default: the output-token limit of each model family.

Matched like the context lengths (``streaming.window``): a prefix of the model's bare name, the
longest prefix winning. They are the vendors' published output limits; the operator's ceiling
(``MAX_OUTPUT_TOKENS``) caps each, and a conversation may ask for less.
"""

from __future__ import annotations

from collections.abc import Mapping

from streaming.window import bare_model_name, context_length

MAX_OUTPUT_TOKENS: Mapping[str, int] = {
    "gpt-4o": 16_384,
    "gpt-4.1": 32_768,
    "gpt-4-turbo": 4096,
    "gpt-5": 128_000,
    "o1": 100_000,
    "o3": 100_000,
    "o4-mini": 100_000,
    "claude": 8192,
    "claude-opus-4": 32_000,
    "claude-sonnet-4": 64_000,
    "claude-haiku-4": 64_000,
    "claude-3-7-sonnet": 64_000,
    "gemini": 8192,
    "gemini-2.5": 65_536,
    "gemini-3": 65_536,
}
# A local model answers within its own context: a quarter of it leaves the rest for the chat.
LOCAL_SHARE = 4


def default_output_tokens(
    model: str, ceiling: int, context_lengths: Mapping[str, int] | None = None
) -> int:
    """The output-token limit of ``model`` (``provider:model``) when its conversation sets
    none: its family's, a quarter of the context for a local model, at most ``ceiling``; a
    model of no known family gets the ceiling."""
    if model.startswith("local:"):
        return max(1, min(ceiling, context_length(model, context_lengths) // LOCAL_SHARE))
    bare = bare_model_name(model)
    matches = [prefix for prefix in MAX_OUTPUT_TOKENS if bare.startswith(prefix)]
    if not matches:
        return ceiling
    return min(ceiling, MAX_OUTPUT_TOKENS[max(matches, key=len)])


def output_tokens(
    model: str,
    chosen: int | None,
    ceiling: int,
    context_lengths: Mapping[str, int] | None = None,
) -> int:
    """What an answer of ``model`` may take: the conversation's ``chosen`` limit (capped by
    the ceiling, which may have come down since), else the model's default."""
    if chosen is not None:
        return max(1, min(chosen, ceiling))
    return default_output_tokens(model, ceiling, context_lengths)
