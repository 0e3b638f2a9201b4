"""Reasoning through each provider's real SDK: streamed apart and exact, the effort in the right
request fields, token counts, and tool loops that carry the reasoning state back."""

from __future__ import annotations

import json

import anthropic
import pytest

from streaming.events import (
    BadRequest,
    ChatMessage,
    ChatRequest,
    Finish,
    FinishReason,
    ReasoningDelta,
    ReasoningState,
    TextDelta,
    ToolCall,
    ToolSpec,
    Usage,
)
from streaming.providers.base import ProviderConfig
from streaming.providers.openai import OpenAIProvider, Translator
from streaming.tools import run as run_tool
from tests.fakes.script import Fault, Script, ToolCallScript
from tests.fakes.upstream import FakeUpstream
from tests.fakes.wire import anthropic_signature
from tests.streaming.conftest import ask, run, text_of

CALCULATOR = ToolSpec(
    "calculator",
    "Arithmetic",
    {"type": "object", "properties": {"expression": {"type": "string"}}},
)
REASONING = "First, the numbers.\nThen the sum, carefully."


@pytest.fixture
async def responses(fake_upstream: FakeUpstream):
    """OpenAI through the Responses API (the fake stands in for api.openai.com)."""
    provider = OpenAIProvider(
        ProviderConfig(api_key="test-key", base_url=fake_upstream.openai_base_url, api="responses")
    )
    yield provider
    await provider.aclose()


def camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(word.title() for word in rest)


def reasoning_of(events) -> str:
    return "".join(e.text for e in events if isinstance(e, ReasoningDelta))


def states(events) -> list[ReasoningState]:
    return [e for e in events if isinstance(e, ReasoningState)]


def think(model: str, effort: str = "medium", **kwargs) -> ChatRequest:
    return ask("What is 2+2?", model=model, reasoning_effort=effort, **kwargs)


def assert_reasoning_comes_first_and_apart(events) -> None:
    first_text = next(i for i, e in enumerate(events) if isinstance(e, TextDelta))
    assert all(isinstance(e, ReasoningDelta) for e in events[:first_text])
    assert not [e for e in events[first_text:] if isinstance(e, ReasoningDelta)]


# Streaming apart and exact ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "model"), [("anthropic", "claude-sonnet-4-5"), ("gemini", "gemini-2.5-flash")]
)
async def test_reasoning_streams_apart_and_exact(name, model, make_provider, fake_upstream):
    fake_upstream.enqueue(Script(reasoning=REASONING, tokens=["It is ", "4."]))
    events, error = await run(make_provider(name).stream(think(model)))
    assert error is None
    assert reasoning_of(events) == REASONING
    assert text_of(events) == "It is 4."
    assert_reasoning_comes_first_and_apart(events)
    assert events[-1] == Finish(FinishReason.END)


async def test_the_responses_api_streams_its_reasoning_summary(responses, fake_upstream):
    fake_upstream.enqueue(Script(reasoning=REASONING, tokens=["It is ", "4."]))
    events, error = await run(responses.stream(think("gpt-5")))
    assert error is None
    assert fake_upstream.requests[0].path == "/v1/responses"
    assert reasoning_of(events) == REASONING
    assert text_of(events) == "It is 4."
    assert_reasoning_comes_first_and_apart(events)
    assert events[0] == ReasoningDelta("")  # said at once: the model is reasoning
    [state] = states(events)
    assert state.provider == "openai" and state.model == "gpt-5"
    assert events[-1] == Finish(FinishReason.END)


@pytest.mark.parametrize("reasoning_format", ["reasoning_content", "reasoning"])
async def test_compatible_servers_stream_reasoning_in_either_field(
    reasoning_format, make_provider, fake_upstream
):
    fake_upstream.enqueue(Script(reasoning=REASONING, text="4", reasoning_format=reasoning_format))
    events, _ = await run(make_provider("openai").stream(ask()))
    assert (reasoning_of(events), text_of(events)) == (REASONING, "4")
    assert not states(events)  # nothing to send back without tool calls


@pytest.mark.parametrize("reasoning_format", ["think_tags", "thinking_tags"])
@pytest.mark.parametrize("chunk_chars", [0, 1, 2, 3, 5, 7])
async def test_inline_tags_come_apart_however_the_content_is_cut(
    reasoning_format, chunk_chars, make_provider, fake_upstream
):
    script = Script(
        reasoning=REASONING,
        text="The answer is <b>4</b>.",
        reasoning_format=reasoning_format,
        chunk_chars=chunk_chars,
    )
    fake_upstream.enqueue(script)
    events, error = await run(make_provider("openai").stream(ask()))
    assert error is None
    assert reasoning_of(events) == REASONING
    assert text_of(events) == "The answer is <b>4</b>."
    assert_reasoning_comes_first_and_apart(events)


async def test_a_server_that_omits_the_opening_tag_is_recognised(make_provider, fake_upstream):
    provider = make_provider("openai")
    r1 = dict(reasoning=REASONING, text="4", reasoning_format="lone_close", chunk_chars=4)
    fake_upstream.enqueue(Script(**r1), Script(**r1))
    events, _ = await run(provider.stream(ask(model="deepseek-r1-distill")))
    assert "</think>" not in text_of(events) and text_of(events).endswith("\n4")
    # From the next answer on, the model starts inside reasoning.
    events, _ = await run(provider.stream(ask(model="deepseek-r1-distill")))
    assert (reasoning_of(events), text_of(events)) == (REASONING, "4")


async def test_openai_itself_over_chat_completions_keeps_tags_as_text():
    # OpenAI's own models never inline reasoning: text that looks like it is the answer.
    provider = OpenAIProvider(ProviderConfig(api_key="k", api="chat_completions"))
    assert provider.split_tags is False
    await provider.aclose()
    chunk = {"choices": [{"delta": {"content": "<think>literally</think>"}}]}
    assert Translator("gpt-4o").chunk(chunk) == [TextDelta("<think>literally</think>")]


async def test_redacted_thinking_is_reasoning_hidden_by_the_provider(make_provider, fake_upstream):
    fake_upstream.enqueue(Script(reasoning="Visible part.", redacted=2, text="Done"))
    events, _ = await run(make_provider("anthropic").stream(think("claude-sonnet-4-5")))
    hidden = [e for e in events if isinstance(e, ReasoningDelta) and e.redacted]
    assert len(hidden) == 2 and all(e.text == "" for e in hidden)
    assert reasoning_of(events) == "Visible part."
    [state] = states(events)
    blocks = state.data["blocks"]
    assert [b["type"] for b in blocks] == ["thinking", "redacted_thinking", "redacted_thinking"]
    assert blocks[0] == {
        "type": "thinking",
        "thinking": "Visible part.",
        "signature": anthropic_signature("Visible part."),
    }


async def test_the_state_comes_after_the_last_text_and_call_before_usage(
    make_provider, fake_upstream
):
    call = ToolCallScript("calculator", {"expression": "2+2"})
    fake_upstream.enqueue(Script(reasoning="hm", text="Let me.", tool_calls=[call]))
    events, _ = await run(make_provider("anthropic").stream(think("claude-sonnet-4-5")))
    kinds = [type(e).__name__ for e in events]
    assert kinds[-4:] == ["ToolCall", "ReasoningState", "Usage", "Finish"]
    assert json.loads(json.dumps(events[-3].to_dict()))  # plain JSON


async def test_a_stream_cut_short_leaves_no_state(make_provider, fake_upstream):
    fake_upstream.enqueue(Script(reasoning="one two three", text="x", fault=Fault.drop(after=2)))
    events, error = await run(make_provider("anthropic").stream(think("claude-sonnet-4-5")))
    assert error is not None and not states(events)
    assert reasoning_of(events) == "one two "


# Usage -------------------------------------------------------------------------------------------


async def test_every_provider_reports_reasoning_tokens(make_provider, responses, fake_upstream):
    cases = [
        (make_provider("openai"), "deepseek-reasoner"),  # completion_tokens_details
        (make_provider("gemini"), "gemini-2.5-flash"),  # thoughtsTokenCount
        (responses, "gpt-5"),  # output_tokens_details
        (make_provider("anthropic"), "claude-sonnet-4-5"),  # output_tokens_details
    ]
    for provider, model in cases:
        fake_upstream.enqueue(
            Script(
                reasoning=REASONING,
                text="4",
                input_tokens=10,
                output_tokens=30,
                reasoning_tokens=12,
            )
        )
        events, _ = await run(provider.stream(think(model)))
        assert [e for e in events if isinstance(e, Usage)] == [Usage(10, 30, 12)], model


# Request shapes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("effort", "budget"), [("low", 1024), ("medium", 4096), ("high", 16384)])
async def test_anthropic_thinks_with_a_budget_above_the_answers_allowance(
    effort, budget, make_provider, fake_upstream
):
    request = think("claude-sonnet-4-5", effort, max_tokens=500)
    _, error = await run(make_provider("anthropic").stream(request))
    assert error is None
    body = fake_upstream.requests[0].body
    assert body["thinking"] == {"type": "enabled", "budget_tokens": budget, "display": "summarized"}
    assert body["max_tokens"] == 500 + budget
    assert not {"temperature", "top_p", "top_k", "tool_choice"} & set(body)


async def test_off_sends_no_reasoning_settings(make_provider, responses, fake_upstream):
    for provider in (make_provider("anthropic"), make_provider("gemini"), responses):
        await run(provider.stream(ask(model="gpt-5", max_tokens=300)))
    anthropic_body, gemini_body, responses_body = (r.body for r in fake_upstream.requests)
    assert "thinking" not in anthropic_body and anthropic_body["max_tokens"] == 300
    assert "thinkingConfig" not in gemini_body.get("generationConfig", {})
    assert gemini_body["generationConfig"]["maxOutputTokens"] == 300
    assert "reasoning" not in responses_body and "include" not in responses_body
    assert responses_body["store"] is False and responses_body["max_output_tokens"] == 300


async def test_anthropic_does_not_think_while_continuing_an_answer(make_provider, fake_upstream):
    request = ChatRequest(
        model="claude-sonnet-4-5",
        messages=(ChatMessage("user", "Count"), ChatMessage("assistant", "one, two,")),
        reasoning_effort="high",
    )
    _, error = await run(make_provider("anthropic").stream(request))
    assert error is None and "thinking" not in fake_upstream.requests[0].body


async def test_anthropic_switches_to_adaptive_thinking_when_a_budget_is_refused(
    make_provider, fake_upstream
):
    provider = make_provider("anthropic")
    fake_upstream.enqueue(Script(reasoning="hm", text="ok"), Script(text="again"))
    events, error = await run(provider.stream(think("claude-opus-4-7", "low")))
    assert error is None and text_of(events) == "ok"
    refused, accepted = fake_upstream.requests
    assert refused.status == 400 and refused.body["thinking"]["type"] == "enabled"
    assert accepted.body["thinking"] == {"type": "adaptive", "display": "summarized"}
    assert accepted.body["output_config"] == {"effort": "low"}
    # Remembered: the next answer asks adaptively at once.
    await run(provider.stream(think("claude-opus-4-7", "high")))
    assert fake_upstream.requests[2].body["thinking"]["type"] == "adaptive"
    assert len(fake_upstream.requests) == 3


@pytest.mark.parametrize(
    ("model", "config"),
    [
        ("gemini-2.5-flash", {"includeThoughts": True, "thinkingBudget": 8192}),
        ("gemini-3-pro-preview", {"includeThoughts": True, "thinkingLevel": "MEDIUM"}),
    ],
)
async def test_gemini_thinks_by_budget_or_by_level(model, config, make_provider, fake_upstream):
    _, error = await run(make_provider("gemini").stream(think(model, max_tokens=100)))
    assert error is None
    generation = fake_upstream.requests[0].body["generationConfig"]
    # google-genai sends these keys in snake case; proto JSON parsing takes either spelling.
    sent = {camel(key): value for key, value in generation["thinkingConfig"].items()}
    assert sent == config
    assert generation["maxOutputTokens"] == 100 + 8192


async def test_the_responses_api_asks_for_a_summary_and_encrypted_reasoning(
    responses, fake_upstream
):
    request = think("gpt-5", "high", max_tokens=200, tools=(CALCULATOR,))
    request = ChatRequest(
        model=request.model,
        messages=(ChatMessage("system", "Be brief."), *request.messages),
        max_tokens=200,
        tools=request.tools,
        reasoning_effort="high",
    )
    await run(responses.stream(request))
    body = fake_upstream.requests[0].body
    assert body["reasoning"] == {"effort": "high", "summary": "auto"}
    assert body["include"] == ["reasoning.encrypted_content"]
    assert body["store"] is False and body["stream"] is True
    assert body["max_output_tokens"] == 200 + 32768
    assert body["instructions"] == "Be brief."
    assert body["input"] == [{"role": "user", "content": "What is 2+2?"}]
    assert body["tools"] == [
        {
            "type": "function",
            "name": "calculator",
            "description": "Arithmetic",
            "parameters": CALCULATOR.parameters,
            "strict": False,
        }
    ]


async def test_a_model_that_cannot_reason_is_asked_again_plainly(responses, fake_upstream):
    fake_upstream.enqueue(Script(text="plain"))
    events, error = await run(responses.stream(think("gpt-4o")))
    assert error is None and text_of(events) == "plain"
    refused, accepted = fake_upstream.requests
    assert refused.status == 400 and "reasoning" in refused.body
    assert "reasoning" not in accepted.body and "include" not in accepted.body
    await run(responses.stream(think("gpt-4o")))
    assert len(fake_upstream.requests) == 3 and "reasoning" not in fake_upstream.requests[2].body


async def test_the_default_api_is_responses_for_openai_and_chat_for_other_servers():
    cases = [
        (ProviderConfig(api_key="k"), "responses"),
        (ProviderConfig(api_key="k", base_url="https://api.openai.com/v1"), "responses"),
        (ProviderConfig(base_url="http://127.0.0.1:11434/v1"), "chat_completions"),
        (ProviderConfig(base_url="http://127.0.0.1:1/v1", api="responses"), "responses"),
        (ProviderConfig(api_key="k", api="chat_completions"), "chat_completions"),
    ]
    for config, api in cases:
        provider = OpenAIProvider(config)
        assert provider.api == api, config
        await provider.aclose()
    with pytest.raises(ValueError, match="api must be one of"):
        OpenAIProvider(ProviderConfig(api_key="k", api="assistants"))


# Tool loops --------------------------------------------------------------------------------------


async def answer(provider, fake: FakeUpstream, messages: list[ChatMessage], model: str):
    request = ChatRequest(
        model=model, messages=tuple(messages), tools=(CALCULATOR,), reasoning_effort="medium"
    )
    events, error = await run(provider.stream(request))
    return events, error


def follow_up(messages: list[ChatMessage], events, *, keep_state: bool = True) -> None:
    """Add the answer and its tool results to the conversation, as the engine will."""
    calls = tuple(e for e in events if isinstance(e, ToolCall))
    [state] = states(events) or [None]
    messages.append(
        ChatMessage(
            "assistant",
            text_of(events),
            tool_calls=calls,
            reasoning=state if keep_state else None,
        )
    )
    for call in calls:
        messages.append(
            ChatMessage("tool", run_tool(call.name, call.arguments), tool_call_id=call.id)
        )


LOOP_MODELS = {
    "anthropic": "claude-sonnet-4-5",
    "gemini": "gemini-3-flash-preview",
    "responses": "gpt-5",
}


def loop_scripts() -> list[Script]:
    return [
        Script(
            reasoning="I need the sum.",
            text="Let me compute.",
            tool_calls=[ToolCallScript("calculator", {"expression": "2+2"}, id="call_a")],
        ),
        Script(
            reasoning="Now double it.",
            text="",
            tool_calls=[ToolCallScript("calculator", {"expression": "4*2"}, id="call_b")],
        ),
        Script(reasoning="That is all.", text="It is 8."),
    ]


@pytest.mark.parametrize("name", ["anthropic", "gemini", "responses"])
async def test_a_two_round_tool_loop_with_reasoning_completes(
    name, make_provider, responses, fake_upstream
):
    provider = responses if name == "responses" else make_provider(name)
    model = LOOP_MODELS[name]
    fake_upstream.enqueue(*loop_scripts())
    messages = [ChatMessage("user", "What is (2+2)*2?")]
    for _ in range(2):
        events, error = await answer(provider, fake_upstream, messages, model)
        assert error is None, error
        assert events[-1] == Finish(FinishReason.TOOL_CALLS)
        assert len(states(events)) == 1
        follow_up(messages, events)
    events, error = await answer(provider, fake_upstream, messages, model)
    assert error is None, error
    assert text_of(events) == "It is 8." and reasoning_of(events) == "That is all."
    assert [r.status for r in fake_upstream.requests] == [200, 200, 200]


async def test_anthropic_sends_thinking_blocks_first_and_unmodified(make_provider, fake_upstream):
    provider = make_provider("anthropic")
    fake_upstream.enqueue(*loop_scripts()[:2])
    messages = [ChatMessage("user", "What is (2+2)*2?")]
    events, _ = await answer(provider, fake_upstream, messages, "claude-sonnet-4-5")
    follow_up(messages, events)
    await answer(provider, fake_upstream, messages, "claude-sonnet-4-5")
    turn = fake_upstream.requests[1].body["messages"][1]
    assert turn["role"] == "assistant"
    assert turn["content"] == [
        {
            "type": "thinking",
            "thinking": "I need the sum.",
            "signature": anthropic_signature("I need the sum."),
        },
        {"type": "text", "text": "Let me compute."},
        {"type": "tool_use", "id": "call_a", "name": "calculator", "input": {"expression": "2+2"}},
    ]


async def test_the_fake_refuses_an_anthropic_tool_loop_without_the_thinking_block(fake_upstream):
    client = anthropic.AsyncAnthropic(
        base_url=fake_upstream.anthropic_base_url, api_key="k", max_retries=0
    )
    messages = [
        {"role": "user", "content": "What is 2+2?"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "calculator", "input": {}}],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "4"}]},
    ]
    with pytest.raises(anthropic.BadRequestError) as refused:
        await client.messages.create(
            model="claude-sonnet-4-5",
            max_tokens=3000,
            messages=messages,
            thinking={"type": "enabled", "budget_tokens": 2000},
            stream=True,
        )
    await client.close()
    assert refused.value.status_code == 400
    assert refused.value.body["error"]["message"].startswith(
        "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found "
        "`tool_use`. When `thinking` is enabled, a final `assistant` message must start with a "
        "thinking block"
    )


async def test_anthropic_without_the_state_asks_that_step_without_thinking(
    make_provider, fake_upstream
):
    # Rather than the 400 above: the API's own advice is to disable thinking there.
    provider = make_provider("anthropic")
    fake_upstream.enqueue(*loop_scripts())
    messages = [ChatMessage("user", "What is (2+2)*2?")]
    events, _ = await answer(provider, fake_upstream, messages, "claude-sonnet-4-5")
    follow_up(messages, events, keep_state=False)
    events, error = await answer(provider, fake_upstream, messages, "claude-sonnet-4-5")
    assert error is None
    assert "thinking" not in fake_upstream.requests[1].body


async def test_anthropic_refuses_a_modified_thinking_block(make_provider, fake_upstream):
    provider = make_provider("anthropic")
    fake_upstream.enqueue(*loop_scripts())
    messages = [ChatMessage("user", "What is (2+2)*2?")]
    events, _ = await answer(provider, fake_upstream, messages, "claude-sonnet-4-5")
    follow_up(messages, events)
    state = messages[1].reasoning
    blocks = [{**state.data["blocks"][0], "thinking": "Something else."}]
    messages[1] = ChatMessage(
        "assistant",
        messages[1].content,
        tool_calls=messages[1].tool_calls,
        reasoning=ReasoningState(state.provider, state.model, {"blocks": blocks}),
    )
    _, error = await answer(provider, fake_upstream, messages, "claude-sonnet-4-5")
    assert isinstance(error, BadRequest) and error.status == 400
    assert "Invalid `signature` in `thinking` block" in error.message


async def test_a_state_from_another_model_is_not_sent(make_provider, fake_upstream):
    provider = make_provider("anthropic")
    fake_upstream.enqueue(*loop_scripts())
    messages = [ChatMessage("user", "What is (2+2)*2?")]
    events, _ = await answer(provider, fake_upstream, messages, "claude-sonnet-4-5")
    follow_up(messages, events)
    _, error = await answer(provider, fake_upstream, messages, "claude-haiku-4-5")
    assert error is None
    body = fake_upstream.requests[1].body
    assert "thinking" not in body  # its last turn has no thinking of this model's
    assert [b["type"] for b in body["messages"][1]["content"]] == ["text", "tool_use"]


async def test_gemini_3_refuses_a_follow_up_without_the_signatures(make_provider, fake_upstream):
    provider = make_provider("gemini")
    fake_upstream.enqueue(*loop_scripts())
    messages = [ChatMessage("user", "What is (2+2)*2?")]
    events, _ = await answer(provider, fake_upstream, messages, "gemini-3-flash-preview")
    follow_up(messages, events, keep_state=False)
    _, error = await answer(provider, fake_upstream, messages, "gemini-3-flash-preview")
    assert isinstance(error, BadRequest) and error.status == 400
    assert "Function call is missing a thought_signature in functionCall parts" in error.message
    assert "`default_api:calculator`" in error.message


async def test_gemini_sends_each_signature_back_on_its_part(make_provider, fake_upstream):
    provider = make_provider("gemini")
    calls = [
        ToolCallScript("calculator", {"expression": "1+1"}),
        ToolCallScript("calculator", {"expression": "2+2"}),
    ]
    fake_upstream.enqueue(Script(reasoning="Two at once.", text="Both:", tool_calls=calls))
    fake_upstream.enqueue(Script(text="2 and 4."))
    messages = [ChatMessage("user", "1+1 and 2+2?")]
    events, _ = await answer(provider, fake_upstream, messages, "gemini-3-flash-preview")
    follow_up(messages, events)
    _, error = await answer(provider, fake_upstream, messages, "gemini-3-flash-preview")
    assert error is None
    first = fake_upstream.requests[0]
    sent = fake_upstream.requests[1].body["contents"][1]
    assert sent["role"] == "model"
    assert [sorted(p) for p in sent["parts"]] == [
        ["text"],
        ["functionCall", "thoughtSignature"],
        ["functionCall"],  # parallel calls: only the first is signed
    ]
    assert sent["parts"][0] == {"text": "Both:"}
    assert first.status == 200


async def test_the_responses_api_sends_reasoning_items_before_the_calls(responses, fake_upstream):
    fake_upstream.enqueue(*loop_scripts()[:2])
    messages = [ChatMessage("user", "What is (2+2)*2?")]
    events, _ = await answer(responses, fake_upstream, messages, "gpt-5")
    follow_up(messages, events)
    _, error = await answer(responses, fake_upstream, messages, "gpt-5")
    assert error is None
    sent = fake_upstream.requests[1].body["input"]
    assert [item.get("type", "message") for item in sent] == [
        "message",
        "reasoning",
        "message",
        "function_call",
        "function_call_output",
    ]
    reasoning, message, call = sent[1:4]
    assert reasoning["encrypted_content"].startswith("gAAAA") and reasoning["summary"] == [
        {"type": "summary_text", "text": "I need the sum."}
    ]
    assert message["content"][0]["text"] == "Let me compute."
    assert call["call_id"] == "call_a" and json.loads(call["arguments"]) == {"expression": "2+2"}
    assert sent[4] == {"type": "function_call_output", "call_id": "call_a", "output": "4"}


async def test_the_responses_api_without_the_state_sends_the_calls_alone(responses, fake_upstream):
    # The API takes a function call without its reasoning item (the model just loses it), as
    # long as the call does not name the item it came with.
    fake_upstream.enqueue(*loop_scripts()[:2])
    messages = [ChatMessage("user", "What is (2+2)*2?")]
    events, _ = await answer(responses, fake_upstream, messages, "gpt-5")
    follow_up(messages, events, keep_state=False)
    _, error = await answer(responses, fake_upstream, messages, "gpt-5")
    assert error is None
    sent = fake_upstream.requests[1].body["input"]
    assert [item.get("type", "message") for item in sent] == [
        "message",
        "message",
        "function_call",
        "function_call_output",
    ]
    assert "id" not in sent[2]


async def test_the_responses_api_refuses_tampered_reasoning(responses, fake_upstream):
    fake_upstream.enqueue(*loop_scripts())
    messages = [ChatMessage("user", "What is (2+2)*2?")]
    events, _ = await answer(responses, fake_upstream, messages, "gpt-5")
    follow_up(messages, events)
    state = messages[1].reasoning
    items = [dict(i) for i in state.data["items"]]
    items[0] = {**items[0], "item": {**items[0]["item"], "encrypted_content": "gAAAAtampered"}}
    messages[1] = ChatMessage(
        "assistant",
        messages[1].content,
        tool_calls=messages[1].tool_calls,
        reasoning=ReasoningState("openai", "gpt-5", {"items": items}),
    )
    _, error = await answer(responses, fake_upstream, messages, "gpt-5")
    assert isinstance(error, BadRequest) and "could not be verified" in error.message


async def test_deepseek_gets_its_reasoning_content_back_on_tool_turns(make_provider, fake_upstream):
    provider = make_provider("openai")
    fake_upstream.enqueue(*loop_scripts())
    messages = [ChatMessage("user", "What is (2+2)*2?")]
    events, _ = await answer(provider, fake_upstream, messages, "deepseek-reasoner")
    [state] = states(events)
    assert state.data == {"field": "reasoning_content", "text": "I need the sum."}
    assert state.across_turns is True
    follow_up(messages, events)
    _, error = await answer(provider, fake_upstream, messages, "deepseek-reasoner")
    assert error is None
    sent = fake_upstream.requests[1].body["messages"][1]
    assert sent["reasoning_content"] == "I need the sum."
    # Without it, DeepSeek's 400.
    messages[1] = ChatMessage("assistant", messages[1].content, tool_calls=messages[1].tool_calls)
    _, error = await answer(provider, fake_upstream, messages, "deepseek-reasoner")
    assert isinstance(error, BadRequest)
    assert "Missing `reasoning_content` field in the assistant message at message index 1" in (
        error.message
    )
