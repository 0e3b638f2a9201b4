"""How long an answer may be by default: the output-token limit of each model family.

Matched like the context lengths (``streaming.window``): an override for the model
(``MODEL_OUTPUT_TOKENS``), else a prefix of the model's bare name, the longest prefix winning.
They are the vendors' published output limits; the operator's ceiling (``MAX_OUTPUT_TOKENS``),
when set, caps each, and a conversation may ask for less.
"""

from __future__ import annotations

from collections.abc import Mapping

from streaming.window import bare_model_name, context_length, override_for

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
# So does a model of no known family when no ceiling says otherwise.
LOCAL_SHARE = 4
# The longest answer a conversation may ask for when the operator sets no ceiling: the longest
# of any family.
LONGEST = max(MAX_OUTPUT_TOKENS.values())


def own_limit(model: str, overrides: Mapping[str, int] | None = None) -> int | None:
    """The output limit of ``model`` itself: an override for the exact name, then for the name
    without its provider, then its family's; None for a model of no known family."""
    overridden = override_for(model, overrides)
    if overridden is not None:
        return overridden
    bare = bare_model_name(model)
    matches = [prefix for prefix in MAX_OUTPUT_TOKENS if bare.startswith(prefix)]
    return MAX_OUTPUT_TOKENS[max(matches, key=len)] if matches else None


def default_output_tokens(
    model: str,
    ceiling: int | None,
    context_lengths: Mapping[str, int] | None = None,
    overrides: Mapping[str, int] | None = None,
) -> int:
    """The output-token limit of ``model`` (``provider:model``) when its conversation sets
    none: its own (``own_limit``), a quarter of the context for a local model, at most
    ``ceiling`` (None: no ceiling); a model of no known family gets the ceiling, or a quarter
    of its context without one."""
    quarter = max(1, context_length(model, context_lengths) // LOCAL_SHARE)
    limit = own_limit(model, overrides)
    if limit is None and model.startswith("local:"):
        limit = quarter
    if limit is None:
        limit = ceiling if ceiling is not None else quarter
    return max(1, min(limit, ceiling)) if ceiling is not None else limit


def output_tokens(
    model: str,
    chosen: int | None,
    ceiling: int | None,
    context_lengths: Mapping[str, int] | None = None,
    overrides: Mapping[str, int] | None = None,
) -> int:
    """What an answer of ``model`` may take: the conversation's ``chosen`` limit (capped by
    the ceiling, which may have come down since), else the model's default."""
    if chosen is not None:
        return max(1, min(chosen, ceiling)) if ceiling is not None else chosen
    return default_output_tokens(model, ceiling, context_lengths, overrides)
