"""The inline ``<think>`` splitter: the rules, and the same result however the text is cut."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streaming.events import ReasoningDelta, TextDelta
from streaming.think_tags import ThinkTags


def split(text: str, *cuts: int, **options) -> tuple[str, str, bool]:
    """(reasoning, answer, lone_close) for ``text`` fed in pieces cut at ``cuts``."""
    splitter = ThinkTags(**options)
    events = []
    bounds = [0, *sorted(cuts), len(text)]
    for start, stop in itertools.pairwise(bounds):
        events += splitter.feed(text[start:stop])
    events += splitter.end()
    reasoning = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    answer = "".join(e.text for e in events if isinstance(e, TextDelta))
    return reasoning, answer, splitter.lone_close


def runs(text: str, pieces: list[str], **options) -> list[tuple[str, str]]:
    """The events as (kind, text) runs, adjacent ones of a kind joined."""
    splitter = ThinkTags(**options)
    events = [e for piece in pieces for e in splitter.feed(piece)] + splitter.end()
    joined: list[tuple[str, str]] = []
    for event in events:
        kind = type(event).__name__
        if joined and joined[-1][0] == kind:
            joined[-1] = (kind, joined[-1][1] + event.text)
        elif event.text:
            joined.append((kind, event.text))
    return joined


@pytest.mark.parametrize(
    ("text", "reasoning", "answer"),
    [
        ("<think>\nTwo and two.\n</think>\n\nFour.", "Two and two.", "Four."),
        ("  <thinking>hm</thinking>Yes", "hm", "Yes"),
        ("<think>\n\n</think>\n\nNo thoughts.", "", "No thoughts."),  # Qwen3 with thinking off
        ("Plain answer.", "", "Plain answer."),
        ("", "", ""),
        ("\n\nLeading blank lines stay.", "", "\n\nLeading blank lines stay."),
        ("Use <think> like <think>this</think>.", "", "Use <think> like <think>this</think>."),
        ("<think>a</thinking> still thinking</think>done", "a</thinking> still thinking", "done"),
        ("<thinking>a</think>b</thinking>c", "a</think>b", "c"),
        ("<think>cut off mid-thought", "cut off mid-thought", ""),
        ("<think>ends on a partial tag </thi", "ends on a partial tag </thi", ""),
        ("<thin", "", "<thin"),
        ("<b>bold</b>", "", "<b>bold</b>"),
        ("<think>x</think>then <think>is text</think>", "x", "then <think>is text</think>"),
    ],
)
def test_a_block_at_the_start_is_reasoning(text, reasoning, answer):
    assert split(text)[:2] == (reasoning, answer)


def test_a_lone_closing_tag_at_the_start_ends_an_empty_reasoning():
    assert split("</think>\n\nThe answer.") == ("", "The answer.", True)


def test_a_lone_closing_tag_early_on_a_line_of_its_own_is_dropped_and_reported():
    # What was before it has gone out as text; the caller learns to start inside next time.
    assert split("Okay, let me see.\n</think>\n\nIt is 4.") == (
        "",
        "Okay, let me see.\nIt is 4.",
        True,
    )


@pytest.mark.parametrize(
    "text",
    [
        "Write `</think>` to close it.",  # not at a line start
        "```html\n</think>\n```",  # in code
        "x" * 50 + "\n</think>",  # past the window
    ],
)
def test_a_closing_tag_elsewhere_is_text(text):
    assert split(text, lone_close_within=40) == ("", text, False)


def test_starting_inside_reasoning_everything_before_the_closing_tag_is_reasoning():
    text = "Okay, the user wants 2+2.\n</think>\n\n4"
    assert split(text, starts_in_reasoning=True) == ("Okay, the user wants 2+2.", "4", False)
    assert split("<think>\nhm</think>4", starts_in_reasoning=True)[:2] == ("hm", "4")
    assert split("\n</think>\n\n4", starts_in_reasoning=True)[:2] == ("", "4")
    assert split("never closed", starts_in_reasoning=True)[:2] == ("never closed", "")


def test_an_answer_without_tags_is_held_back_only_where_a_tag_could_start():
    splitter = ThinkTags()
    assert splitter.feed("Hello") == [TextDelta("Hello")]
    assert splitter.feed(", world\n") == [TextDelta(", world\n")]
    assert splitter.feed("</th") == []  # could be a lone closing tag on a line of its own
    assert splitter.feed("at is all") == [TextDelta("</that is all")]
    assert splitter.feed(" a <") == [TextDelta(" a <")]  # not at a line start: no tag
    assert splitter.end() == []


def test_reasoning_streams_as_it_comes_holding_back_only_a_possible_tag():
    splitter = ThinkTags()
    assert splitter.feed("<thi") == []
    assert splitter.feed("nk>\nStep one") == [ReasoningDelta("Step one")]
    assert splitter.feed(", step two.\n</thi") == [ReasoningDelta(", step two.")]
    assert splitter.feed("nk>\n\nDone") == [TextDelta("Done")]


def test_an_opening_tag_split_one_character_at_a_time():
    text = "<thinking>\nabc\n</thinking>\nxyz"
    assert runs(text, list(text)) == [("ReasoningDelta", "abc"), ("TextDelta", "xyz")]


ALPHABET = st.sampled_from(
    [
        "<",
        ">",
        "/",
        "think",
        "thinking",
        "<think>",
        "</think>",
        "<thinking>",
        "</thinking>",
        "\n",
        " ",
        "a",
        "b",
        "`",
        "```",
        "Ä",
        "👋",
    ]
)


@settings(max_examples=400, deadline=None)
@given(
    pieces=st.lists(ALPHABET, max_size=30),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=12),
    starts_in_reasoning=st.booleans(),
    window=st.sampled_from([5, 30, 10_000]),
)
def test_any_split_into_chunks_gives_the_same_result(pieces, cuts, starts_in_reasoning, window):
    text = "".join(pieces)
    cuts = sorted({min(c, len(text)) for c in cuts})
    options = {"starts_in_reasoning": starts_in_reasoning, "lone_close_within": window}
    chunks = [text[a:b] for a, b in itertools.pairwise([0, *cuts, len(text)])]
    whole = runs(text, [text], **options)
    assert runs(text, chunks, **options) == whole
    assert runs(text, list(text), **options) == whole
    assert split(text, *cuts, **options) == split(text, **options)


@settings(max_examples=200, deadline=None)
@given(
    reasoning=st.text(st.sampled_from("ab <>/\n"), max_size=40),
    answer=st.text(st.sampled_from("xy <>/\n`"), max_size=40),
    cuts=st.lists(st.integers(min_value=0, max_value=120), max_size=10),
)
def test_a_well_formed_block_comes_apart_exactly(reasoning, answer, cuts):
    text = f"<think>\n{reasoning}\n</think>\n\n{answer}"
    expected_reasoning = reasoning.strip()
    if "</think>" in reasoning:
        return  # the model closed the block itself
    got_reasoning, got_answer, _ = split(text, *(min(c, len(text)) for c in cuts))
    assert got_reasoning == expected_reasoning
    assert got_answer == answer.lstrip()


@settings(max_examples=200, deadline=None)
@given(text=st.text(st.sampled_from("ab <>/\nt`"), max_size=60))
def test_text_that_cannot_hold_a_tag_passes_through_unchanged(text):
    if "<think" in text or "</think" in text:
        return
    assert split(text) == ("", text, False)
