"""The finer points of reasoning: signatures on text parts, omitted thinking, summary parts,
keep-alives during a silent start."""

from __future__ import annotations

from streaming.events import (
    ChatMessage,
    ChatRequest,
    ReasoningDelta,
    ReasoningState,
    TextDelta,
    ToolCall,
)
from streaming.policy import StreamPolicy, guarded
from streaming.providers import anthropic as anthropic_provider
from streaming.providers import openai_responses
from streaming.providers.gemini import model_parts
from tests.fakes.script import Script
from tests.fakes.upstream import FakeUpstream
from tests.streaming.conftest import ask, run, text_of


async def test_gemini_sends_a_signature_on_an_empty_last_part_back(make_provider, fake_upstream):
    provider = make_provider("gemini")
    fake_upstream.enqueue(Script(reasoning="Hm.", tokens=["Four", "."]), Script(text="ok"))
    question = ChatMessage("user", "2+2?")
    events, _ = await run(provider.stream(ChatRequest("gemini-3-flash", (question,))))
    [state] = [e for e in events if isinstance(e, ReasoningState)]
    assert [sorted(part) for part in state.data["parts"]] == [
        ["text"],
        ["text", "thought_signature"],
    ]
    answer = ChatMessage("assistant", text_of(events), reasoning=state)
    messages = (question, answer, ChatMessage("user", "And 3+3?"))
    _, error = await run(provider.stream(ChatRequest("gemini-3-flash", messages)))
    assert error is None  # the fake checked the signature against its part
    parts = fake_upstream.requests[1].body["contents"][1]["parts"]
    assert parts[0] == {"text": "Four."}
    assert parts[1]["text"] == "" and parts[1]["thoughtSignature"]


def test_gemini_keeps_call_signatures_when_the_text_changed():
    call = ToolCall("c1", "calculator", {"expression": "1"})
    state = ReasoningState(
        "gemini",
        "gemini-3-flash",
        {
            "parts": [
                {"text": 5, "thought_signature": "AAAA"},
                {"function_call": 0, "name": "calculator", "thought_signature": "AQID"},
            ]
        },
    )
    message = ChatMessage("assistant", "Other text", tool_calls=(call,), reasoning=state)
    assert model_parts(message, "gemini-3-flash") == [
        {"text": "Other text"},
        {
            "function_call": {"name": "calculator", "args": {"expression": "1"}},
            "thought_signature": b"\x01\x02\x03",
        },
    ]
    # Another model's state is not sent.
    assert model_parts(message, "gemini-2.5-pro") == [
        {"text": "Other text"},
        {"function_call": {"name": "calculator", "args": {"expression": "1"}}},
    ]


def test_anthropic_thinking_whose_text_is_omitted_is_hidden_reasoning():
    translator = anthropic_provider.Translator(trimmed=False, model="claude-opus-5")
    start = {"index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}}
    assert translator.content_block_start(start) == ReasoningDelta("")
    delta = {"index": 0, "delta": {"type": "signature_delta", "signature": "c2ln"}}
    assert translator.content_block_delta(delta) is None
    assert translator.content_block_stop({"index": 0}) == ReasoningDelta("", redacted=True)
    assert translator.blocks == [{"type": "thinking", "thinking": "", "signature": "c2ln"}]


def test_anthropic_drops_a_thinking_block_that_never_got_its_signature():
    translator = anthropic_provider.Translator(trimmed=False)
    translator.content_block_start(
        {"index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}}
    )
    translator.content_block_delta(
        {"index": 0, "delta": {"type": "thinking_delta", "thinking": "half"}}
    )
    translator.content_block_stop({"index": 0})
    assert translator.blocks == []


def test_responses_summary_parts_are_joined_by_a_blank_line():
    translator = openai_responses.Translator("gpt-5")
    events = [
        translator.event(payload)
        for payload in [
            {"type": "response.output_item.added", "item": {"type": "reasoning"}},
            {"type": "response.reasoning_summary_part.added", "summary_index": 0},
            {"type": "response.reasoning_summary_text.delta", "delta": "**One**"},
            {"type": "response.reasoning_summary_part.added", "summary_index": 1},
            {"type": "response.reasoning_summary_text.delta", "delta": "**Two**"},
            {"type": "response.output_text.delta", "delta": "Answer"},
        ]
    ]
    assert [e for e in events if e is not None] == [
        ReasoningDelta(""),
        ReasoningDelta("**One**"),
        ReasoningDelta("\n\n**Two**"),
        TextDelta("Answer"),
    ]


async def test_pings_during_a_long_silent_start_are_not_an_idle_timeout(
    make_provider, fake_upstream: FakeUpstream
):
    # 3 s before the first token, a ping every 0.1 s, an idle limit of 2 s: alive throughout.
    fake_upstream.enqueue(Script(text="Awake", first_token_delay=3.0, keepalive_interval=0.1))
    policy = StreamPolicy(retries=0, idle_timeout=2.0)
    events, error = await run(guarded(make_provider("anthropic"), ask(), policy))
    assert error is None and text_of(events) == "Awake"
    assert len(fake_upstream.requests) == 1


async def test_continuing_an_answer_never_starts_inside_reasoning(make_provider, fake_upstream):
    provider = make_provider("openai")
    provider.starts_in_reasoning.add("r1")  # as if seen omitting its opening tag
    fake_upstream.enqueue(Script(tokens=[" three,", " four"]))
    request = ChatRequest(
        "r1", (ChatMessage("user", "Count"), ChatMessage("assistant", "one, two,"))
    )
    events, _ = await run(provider.stream(request))
    assert text_of(events) == " three, four"
    assert not [e for e in events if isinstance(e, ReasoningDelta)]


def test_anthropic_never_puts_thinking_after_text_in_a_merged_turn():
    state = ReasoningState(
        "anthropic",
        "claude-x",
        {"blocks": [{"type": "thinking", "thinking": "t", "signature": "s"}]},
    )
    request = ChatRequest(
        "claude-x",
        (
            ChatMessage("user", "hi"),
            ChatMessage("assistant", "first", reasoning=state),
            ChatMessage("assistant", "second", reasoning=state),
            ChatMessage("user", "and?"),
        ),
    )
    _, messages, _ = anthropic_provider.to_anthropic(request, thinking=True)
    assert [b["type"] for b in messages[1]["content"]] == ["thinking", "text", "text"]
