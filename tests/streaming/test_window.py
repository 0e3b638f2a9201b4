from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streaming.events import ChatMessage
from streaming.window import (
    DEFAULT_CONTEXT_LENGTH,
    WindowItem,
    context_length,
    fit_window,
    parse_context_lengths,
    units,
)

SYSTEM = ChatMessage("system", "Be brief.")


def item(n: int, tokens: int, group: int | None = None) -> WindowItem:
    return WindowItem(ChatMessage("user", f"message {n}"), tokens, group=group, key=n)


@st.composite
def conversations(draw):
    """Items with token counts, some in groups of consecutive items (a tool call and its
    results), and a budget that is sometimes too small for anything."""
    items = []
    n = 0
    for _ in range(draw(st.integers(0, 25))):
        size = draw(st.sampled_from([1, 1, 1, 2, 3]))
        group = n if size > 1 else None
        for _ in range(size):
            items.append(item(n, draw(st.integers(0, 50)), group))
            n += 1
    system_tokens = draw(st.integers(0, 60))
    budget = draw(st.integers(0, 400))
    system = draw(st.sampled_from([SYSTEM, None]))
    return system, items, budget, system_tokens if system else 0


@given(conversations())
def test_it_always_keeps_the_system_prompt(case):
    system, items, budget, system_tokens = case
    result = fit_window(system, items, budget, system_tokens=system_tokens)
    if system is not None:
        assert result.messages[0] is system
    assert result.system is system


@given(conversations())
def test_it_never_exceeds_the_budget(case):
    system, items, budget, system_tokens = case
    result = fit_window(system, items, budget, system_tokens=system_tokens)
    kept_tokens = sum(i.tokens for i in result.kept)
    assert result.tokens == system_tokens + kept_tokens
    if result.kept:
        assert result.tokens <= budget
    else:
        assert result.tokens == system_tokens


@given(conversations())
def test_it_keeps_the_newest_contiguous_run(case):
    system, items, budget, system_tokens = case
    result = fit_window(system, items, budget, system_tokens=system_tokens)
    assert list(result.kept) == items[len(items) - len(result.kept) :]
    assert list(result.dropped) + list(result.kept) == items
    head = (system,) if system else ()
    assert result.messages == head + tuple(i.message for i in result.kept)


@given(conversations())
def test_it_drops_only_what_does_not_fit(case):
    system, items, budget, system_tokens = case
    result = fit_window(system, items, budget, system_tokens=system_tokens)
    if result.dropped:
        # The unit just before the window would have pushed it over the budget.
        begin, end = next(r for r in units(items) if r[1] == result.start)
        assert result.tokens + sum(i.tokens for i in items[begin:end]) > budget


@given(conversations())
def test_it_never_separates_a_group(case):
    system, items, budget, system_tokens = case
    result = fit_window(system, items, budget, system_tokens=system_tokens)
    if result.dropped and result.kept:
        last_dropped, first_kept = result.dropped[-1], result.kept[0]
        assert first_kept.group is None or first_kept.group != last_dropped.group


def test_it_keeps_everything_that_fits():
    items = [item(n, 10) for n in range(5)]
    result = fit_window(SYSTEM, items, 60, system_tokens=10)
    assert result.start == 0
    assert not result.truncated
    assert result.tokens == 60


def test_it_drops_the_oldest_first():
    items = [item(n, 10) for n in range(5)]
    result = fit_window(SYSTEM, items, 35, system_tokens=5)
    assert [i.key for i in result.kept] == [2, 3, 4]
    assert result.truncated
    assert result.tokens == 35


def test_it_drops_a_tool_call_with_its_results():
    items = [item(0, 10), item(1, 10, group=1), item(2, 10, group=1), item(3, 10)]
    result = fit_window(None, items, 25)
    assert [i.key for i in result.kept] == [3]


def test_it_does_not_skip_over_a_message_that_does_not_fit():
    items = [item(0, 1), item(1, 100), item(2, 1)]
    result = fit_window(None, items, 50)
    assert [i.key for i in result.kept] == [2]


def test_it_keeps_the_system_prompt_alone_when_it_exceeds_the_budget():
    result = fit_window(SYSTEM, [item(0, 1)], 10, system_tokens=20)
    assert result.messages == (SYSTEM,)
    assert result.kept == ()


def test_it_refuses_negative_token_counts():
    with pytest.raises(ValueError):
        fit_window(None, [item(0, -1)], 10)


def test_it_parses_context_lengths():
    value = "openai:gpt-4o-mini=128000, local:smollm2=4096,,llama3.1=32000"
    assert parse_context_lengths(value) == {
        "openai:gpt-4o-mini": 128000,
        "local:smollm2": 4096,
        "llama3.1": 32000,
    }
    assert parse_context_lengths("") == {}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("gpt-4o", "'gpt-4o' is not model=tokens"),
        ("=5", "'=5' is not model=tokens"),
        ("gpt-4o=lots", "'lots' is not a whole number"),
        ("gpt-4o=0", "at least 1"),
    ],
)
def test_it_rejects_bad_context_lengths(value, message):
    with pytest.raises(ValueError, match=message):
        parse_context_lengths(value)


@pytest.mark.parametrize(
    ("model", "tokens"),
    [
        ("openai:gpt-4o", 128_000),
        ("openai:gpt-4o-mini", 128_000),
        ("anthropic:claude-sonnet-4-5", 200_000),
        ("gemini:gemini-2.5-flash", 1_048_576),
        ("gemini:models/gemini-2.0-flash", 1_048_576),
        ("local:smollm2", 8192),
        ("openai:gpt-4.1-mini", 1_047_576),
        ("openai:qwen2.5:7b", DEFAULT_CONTEXT_LENGTH),
        ("gpt-4o", 128_000),
    ],
)
def test_it_knows_context_lengths_by_family(model, tokens):
    assert context_length(model) == tokens


def test_it_prefers_overrides():
    overrides = {"openai:gpt-4o": 1000, "smollm2": 2048}
    assert context_length("openai:gpt-4o", overrides) == 1000
    assert context_length("azure:gpt-4o", overrides) == 128_000
    assert context_length("local:smollm2", overrides) == 2048
