"""What each provider sends: conversation turns, tool results, continuation, and options."""

from __future__ import annotations

from streaming.events import ChatMessage, ChatRequest, TextDelta, ToolCall, ToolSpec
from streaming.providers.base import ProviderConfig
from streaming.providers.openai import OpenAIProvider
from tests.fakes.script import Script, ToolCallScript
from tests.fakes.upstream import FakeUpstream
from tests.streaming.conftest import ask, run, text_of

CALL = ToolCall("call_1", "calculator", {"expression": "2+2"})
CONVERSATION = (
    ChatMessage("system", "Be brief."),
    ChatMessage("user", "What is 2+2?"),
    ChatMessage("assistant", "Let me compute.", tool_calls=(CALL,)),
    ChatMessage("tool", "4", tool_call_id="call_1", name="calculator"),
    ChatMessage("user", "And so?"),
)
CALCULATOR = ToolSpec("calculator", "Arithmetic", {"type": "object", "properties": {}})


def request(*messages: ChatMessage, **kwargs) -> ChatRequest:
    return ChatRequest(model="test-model", messages=messages, max_tokens=77, **kwargs)


async def sent(provider, fake: FakeUpstream, chat: ChatRequest) -> dict:
    _, error = await run(provider.stream(chat))
    assert error is None
    return fake.requests[-1].body


async def test_openai_gets_every_role_and_the_tool_call(make_provider, fake_upstream):
    body = await sent(make_provider("openai"), fake_upstream, request(*CONVERSATION))
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is 2+2?"},
        {
            "role": "assistant",
            "content": "Let me compute.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "calculator", "arguments": '{"expression": "2+2"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "4"},
        {"role": "user", "content": "And so?"},
    ]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 77


async def test_openai_offers_tools_as_functions(make_provider, fake_upstream):
    body = await sent(make_provider("openai"), fake_upstream, ask(tools=(CALCULATOR,)))
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "calculator",
                "description": "Arithmetic",
                "parameters": {"type": "object", "properties": {}},
            },
        }
    ]


async def test_openai_continues_a_partial_answer_as_an_assistant_message(
    make_provider, fake_upstream
):
    chat = request(ChatMessage("user", "Count"), ChatMessage("assistant", "one, two, "))
    body = await sent(make_provider("openai"), fake_upstream, chat)
    assert body["messages"][-1] == {"role": "assistant", "content": "one, two, "}


async def test_openai_itself_gets_max_completion_tokens():
    official = OpenAIProvider(ProviderConfig(api_key="sk"))
    compatible = OpenAIProvider(ProviderConfig(api_key="", base_url="http://127.0.0.1:1/v1"))
    assert official.max_tokens_field == "max_completion_tokens"
    assert compatible.max_tokens_field == "max_tokens"
    await official.aclose()
    await compatible.aclose()


async def test_openai_works_against_a_base_url_without_v1(fake_upstream: FakeUpstream):
    # llama.cpp and some proxies serve /chat/completions at the root; no key needed there.
    provider = OpenAIProvider(ProviderConfig(base_url=fake_upstream.url))
    fake_upstream.api_key = None
    fake_upstream.enqueue(Script(text="root path"))
    events, error = await run(provider.stream(ask()))
    await provider.aclose()
    assert fake_upstream.requests[0].path == "/chat/completions"
    assert fake_upstream.requests[0].api_key == "none"
    assert error is None and text_of(events) == "root path"


async def test_anthropic_gets_system_apart_and_tool_results_as_user_blocks(
    make_provider, fake_upstream
):
    body = await sent(
        make_provider("anthropic"), fake_upstream, request(*CONVERSATION, tools=(CALCULATOR,))
    )
    assert body["system"] == "Be brief."
    assert body["max_tokens"] == 77
    assert body["messages"] == [
        {"role": "user", "content": "What is 2+2?"},  # text alone: a plain string
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me compute."},
                {
                    "type": "tool_use",
                    "id": "call_1",
                    "name": "calculator",
                    "input": {"expression": "2+2"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "4"},
                {"type": "text", "text": "And so?"},
            ],
        },
    ]
    assert body["tools"] == [
        {
            "name": "calculator",
            "description": "Arithmetic",
            "input_schema": {"type": "object", "properties": {}},
        }
    ]


async def test_anthropic_prefill_loses_trailing_space_and_the_answer_its_leading_one(
    make_provider, fake_upstream
):
    fake_upstream.enqueue(Script(tokens=[" ", " three,", " four"]))
    chat = request(ChatMessage("user", "Count"), ChatMessage("assistant", "one, two, "))
    events, _ = await run(make_provider("anthropic").stream(chat))
    body = fake_upstream.requests[0].body
    assert body["messages"][-1] == {"role": "assistant", "content": "one, two,"}
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["three,", " four"]


async def test_anthropic_sends_its_key_and_an_api_version(make_provider, fake_upstream):
    await sent(make_provider("anthropic"), fake_upstream, ask())
    headers = fake_upstream.requests[0].headers
    assert headers["anthropic-version"]
    # anthropic 2.x sends a bearer token where 0.x sent x-api-key; the API takes either.
    assert "test-key" in (headers.get("x-api-key", ""), headers.get("authorization", "")[7:])


async def test_gemini_gets_a_system_instruction_and_function_responses(
    make_provider, fake_upstream
):
    body = await sent(
        make_provider("gemini"), fake_upstream, request(*CONVERSATION, tools=(CALCULATOR,))
    )
    assert fake_upstream.requests[0].path == "/v1beta/models/test-model:streamGenerateContent"
    assert body["systemInstruction"]["parts"] == [{"text": "Be brief."}]
    assert body["generationConfig"]["maxOutputTokens"] == 77
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "What is 2+2?"}]},
        {
            "role": "model",
            "parts": [
                {"text": "Let me compute."},
                {"functionCall": {"name": "calculator", "args": {"expression": "2+2"}}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "calculator", "response": {"result": "4"}}},
                {"text": "And so?"},
            ],
        },
    ]
    declaration = body["tools"][0]["functionDeclarations"][0]
    assert declaration["name"] == "calculator"
    # google-genai sends this one field in snake case; proto JSON parsing takes either spelling.
    schema = declaration.get("parametersJsonSchema") or declaration.get("parameters_json_schema")
    assert schema == {"type": "object", "properties": {}}


async def test_gemini_finds_a_tool_results_function_name_by_call_id(make_provider, fake_upstream):
    chat = request(*CONVERSATION[:3], ChatMessage("tool", "4", tool_call_id="call_1"))
    body = await sent(make_provider("gemini"), fake_upstream, chat)
    assert body["contents"][-1]["parts"][0]["functionResponse"]["name"] == "calculator"


async def test_gemini_call_ids_are_unique_across_answers(make_provider, fake_upstream):
    provider = make_provider("gemini")
    ids = []
    for _ in range(2):
        fake_upstream.enqueue(Script(text="", tool_calls=[ToolCallScript("calculator", {})]))
        events, _ = await run(provider.stream(ask()))
        ids += [e.id for e in events if isinstance(e, ToolCall)]
    assert len(ids) == 2 and len(set(ids)) == 2
