"""Reasoning through the engine: streamed apart from the answer, stored beside it, resumed and
replayed exactly, sent back in tool loops, and kept consistent by stop and continue."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.test import AsyncClient

from chat.answers.answer import running
from chat.models import Conversation, Message
from chat.web import api_tokens
from tests.conftest import assemble, connect, receive_until
from tests.fakes.script import Script, ToolCallScript
from tests.fakes.upstream import FakeUpstream

pytestmark = pytest.mark.django_db(transaction=True)

THOUGHT = "The user greets me. A short, warm reply in French fits; 🌍 maybe."
ANSWER = "Bonjour! Ça va? 🌍"

# name -> (settings prefix, fake upstream URL attribute, model, extra settings, script fields)
PROVIDERS = {
    "anthropic": ("ANTHROPIC", "anthropic_base_url", "claude-test", {}, {}),
    "gemini": ("GEMINI", "gemini_base_url", "gemini-3-test", {}, {}),
    "openai-responses": ("OPENAI", "openai_base_url", "gpt-test", {"OPENAI_API": "responses"}, {}),
    "openai-reasoning-content": ("OPENAI", "openai_base_url", "deepseek-reasoner", {}, {}),
    "openai-think-tags": (
        "OPENAI",
        "openai_base_url",
        "qwen3-test",
        {},
        {"reasoning_format": "think_tags", "chunk_chars": 3},
    ),
}


@pytest.fixture(params=sorted(PROVIDERS))
def provider(request, settings):
    """Each provider's reasoning events in turn, its real SDK pointed at the fake upstream."""
    prefix, url, model, extra, script = PROVIDERS[request.param]
    with FakeUpstream() as fake:
        setattr(settings, f"{prefix}_API_KEY", "test-key")
        setattr(settings, f"{prefix}_BASE_URL", getattr(fake, url))
        setattr(settings, f"{prefix}_MODELS", [model])
        for name, value in extra.items():
            setattr(settings, name, value)
        settings.PROVIDER_RETRIES = 0
        provider = prefix.lower()
        yield fake, f"{provider}:{model}", script, request.param


def sent(model: str, content: str = "hi", **extra) -> dict:
    return {
        "type": "send",
        "conversation": None,
        "content": content,
        "model": model,
        "reasoning_effort": "high",
        **extra,
    }


async def test_each_provider_streams_reasoning_apart_from_the_answer(alice, provider):
    fake, model, script, name = provider
    fake.enqueue(Script(reasoning=THOUGHT, text=ANSWER, reasoning_tokens=21, **script))
    ws = await connect(alice)
    await ws.send_json_to(sent(model))
    frames = await receive_until(ws, "message.end")
    await ws.disconnect()
    message = frames[0]["message"]
    assert frames[0]["phase"] == "waiting"
    reasoning = assemble(frames, message, part="reasoning")
    assert reasoning.strip() == THOUGHT
    assert assemble(frames, message) == ANSWER
    # The page is told the model thinks before any of it shows.
    kinds = [(f["type"], f.get("part")) for f in frames]
    assert kinds.index(("message.phase", None)) < kinds.index(("delta", "reasoning"))
    assert next(f for f in frames if f["type"] == "message.phase")["phase"] == "thinking"
    # Every reasoning delta comes before the first text delta here.
    assert kinds.index(("delta", None)) > max(
        i for i, kind in enumerate(kinds) if kind == ("delta", "reasoning")
    )
    end = frames[-1]
    assert end["status"] == "complete"
    assert end["reasoning_ms"] is not None and end["reasoning_ms"] >= 0
    assert end["reasoning_length"] == len(reasoning)
    if name in ("gemini", "openai-responses", "openai-reasoning-content"):
        assert end["usage"]["reasoning_tokens"] == 21
    stored = await Message.objects.aget(pk=message)
    assert (stored.reasoning, stored.text) == (reasoning, ANSWER)
    assert stored.reasoning_ms == end["reasoning_ms"]
    # Turns that must be sent back with their reasoning keep what the provider needs.
    if name in ("anthropic", "gemini", "openai-responses"):
        assert stored.reasoning_state["provider"] == model.partition(":")[0]


async def test_the_effort_becomes_the_conversations_and_reaches_the_provider(alice, settings):
    with FakeUpstream() as fake:
        settings.ANTHROPIC_API_KEY = "test-key"
        settings.ANTHROPIC_BASE_URL = fake.anthropic_base_url
        settings.ANTHROPIC_MODELS = ["claude-test"]
        fake.enqueue(Script(reasoning=THOUGHT, text=ANSWER), Script(text="Plain."))
        ws = await connect(alice)
        await ws.send_json_to(sent("anthropic:claude-test"))
        first = await receive_until(ws, "message.end")
        conversation = await Conversation.objects.aget(pk=first[0]["conversation"])
        assert conversation.reasoning_effort == "high"
        assert fake.requests[0].body["thinking"]["type"] == "enabled"
        # A later message without the setting keeps it; one that says "off" turns it off.
        await ws.send_json_to(
            {
                "type": "send",
                "conversation": conversation.pk,
                "content": "again",
                "model": "anthropic:claude-test",
                "reasoning_effort": "off",
            }
        )
        await receive_until(ws, "message.end")
        await ws.disconnect()
        await conversation.arefresh_from_db()
        assert conversation.reasoning_effort == "off"
        assert "thinking" not in fake.requests[1].body


async def test_a_bad_effort_is_refused_and_stores_nothing(alice, upstream):
    ws = await connect(alice)
    await ws.send_json_to(sent("openai:gpt-test", reasoning_effort="extreme"))
    error = await ws.receive_json_from(timeout=5)
    await ws.disconnect()
    assert error["type"] == "error" and error["code"] == "bad_frame"
    assert "reasoning_effort" in error["detail"]
    assert not await Conversation.objects.filter(owner=alice).aexists()


def anthropic_sent_back(body: dict) -> bool:
    turn = next(m for m in body["messages"] if m["role"] == "assistant")
    first = turn["content"][0]
    return (
        body["thinking"]["type"] == "enabled" and first["type"] == "thinking" and first["signature"]
    )


def gemini_sent_back(body: dict) -> bool:
    turn = next(c for c in body["contents"] if c["role"] == "model")
    return any("functionCall" in part and part.get("thoughtSignature") for part in turn["parts"])


def responses_sent_back(body: dict) -> bool:
    kinds = [item.get("type") for item in body["input"]]
    reasoning = body["input"][kinds.index("reasoning")]
    return reasoning["encrypted_content"] and kinds.index("reasoning") < kinds.index(
        "function_call"
    )


def chat_completions_sent_back(body: dict) -> bool:
    turn = next(m for m in body["messages"] if m["role"] == "assistant")
    return turn["reasoning_content"].strip() == "I should compute this with the tool."


TOOL_LOOPS = {
    "anthropic": anthropic_sent_back,
    "gemini": gemini_sent_back,
    "openai-responses": responses_sent_back,
    "openai-reasoning-content": chat_completions_sent_back,
}


@pytest.mark.parametrize("provider", sorted(TOOL_LOOPS), indirect=True)
async def test_a_tool_loop_with_reasoning_completes(alice, provider):
    """Gemini 3 and DeepSeek refuse (with the real HTTP 400) a follow-up that lacks the
    reasoning it must carry back, Anthropic and OpenAI a mangled one: the engine sends it back
    verbatim, as each API wants it."""
    fake, model, script, name = provider
    fake.enqueue(
        Script(
            reasoning="I should compute this with the tool.",
            text="Let me compute.",
            tool_calls=[ToolCallScript("calculator", {"expression": "6 * 7"}, id="call_1")],
            **script,
        ),
        Script(reasoning="The tool said 42.", text="It is 42.", **script),
    )
    ws = await connect(alice)
    await ws.send_json_to(sent(model, "What is 6 * 7?", tools=["calculator"]))
    first = await receive_until(ws, "message.end")
    second = await receive_until(ws, "message.end")
    await ws.disconnect()
    assert first[-1]["finish_reason"] == "tool_calls"
    # The tool runs in its own phase, after the text that announced it.
    assert {"type": "message.phase", "phase": "tool"}.items() <= next(
        f for f in first if f["type"] == "message.phase" and f["phase"] == "tool"
    ).items()
    assert second[-1]["status"] == "complete", second[-1]
    after = second[0]["message"]
    assert assemble(second, after) == "It is 42."
    assert assemble(second, after, part="reasoning").strip() == "The tool said 42."
    assert len(fake.requests) == 2
    assert TOOL_LOOPS[name](fake.requests[1].body)


async def test_on_a_later_turn_reasoning_is_not_sent_back(alice, settings):
    with FakeUpstream() as fake:
        settings.ANTHROPIC_API_KEY = "test-key"
        settings.ANTHROPIC_BASE_URL = fake.anthropic_base_url
        settings.ANTHROPIC_MODELS = ["claude-test"]
        fake.enqueue(Script(reasoning=THOUGHT, text=ANSWER), Script(reasoning="More.", text="Ok."))
        ws = await connect(alice)
        await ws.send_json_to(sent("anthropic:claude-test"))
        first = await receive_until(ws, "message.end")
        await ws.send_json_to(
            {
                "type": "send",
                "conversation": first[0]["conversation"],
                "content": "and now?",
                "model": "anthropic:claude-test",
            }
        )
        second = await receive_until(ws, "message.end")
        await ws.disconnect()
    assert second[-1]["status"] == "complete"
    earlier_turn = fake.requests[1].body["messages"][1]
    assert earlier_turn["role"] == "assistant"
    # Its text alone, without thinking blocks: sent as a plain string since it is text alone.
    assert earlier_turn["content"] == ANSWER.rstrip()


def assemble_from(frames: list[dict], message: int, part: str, held: str) -> str:
    """What a client holding ``held`` of ``part`` holds after these frames."""
    text = held
    for frame in frames:
        if frame["type"] == "delta" and frame.get("part", "text") == part:
            assert frame["message"] == message
            assert frame["offset"] <= len(text), f"gap at {frame['offset']} (held {len(text)})"
            text += frame["text"][len(text) - frame["offset"] :]
    return text


async def thinking(ws, thought_chars: int) -> tuple[int, list[dict]]:
    """Ask for an answer and read frames until ``thought_chars`` of its reasoning are held."""
    await ws.send_json_to(sent("openai:gpt-test"))
    frames = [await ws.receive_json_from(timeout=5)]
    message = frames[0]["message"]
    while len(assemble(frames, message, part="reasoning")) < thought_chars:
        frames.append(await ws.receive_json_from(timeout=5))
    return message, frames


async def test_a_resume_mid_reasoning_is_exact(alice, upstream):
    thought = " ".join(f"step{i}" for i in range(60))
    upstream.enqueue(Script(reasoning=thought, text=ANSWER, tokens_per_second=80))
    first = await connect(alice)
    message, seen = await thinking(first, 40)
    held = assemble(seen, message, part="reasoning")
    assert assemble(seen, message) == ""
    await first.disconnect()

    second = await connect(alice)
    await second.send_json_to(
        {"type": "resume", "message": message, "offset": 0, "reasoning_offset": len(held)}
    )
    rest = await receive_until(second, "message.end")
    await second.disconnect()
    assert rest[0]["reasoning_offset"] == len(held)
    assert assemble_from(rest, message, "reasoning", held) == thought
    assert assemble_from(rest, message, "text", "") == ANSWER


async def test_a_stored_answer_replays_its_reasoning(alice, upstream):
    upstream.enqueue(Script(reasoning=THOUGHT, text=ANSWER))
    ws = await connect(alice)
    await ws.send_json_to(sent("openai:gpt-test"))
    live = await receive_until(ws, "message.end")
    message = live[0]["message"]
    # A reload: the page resumes from nothing and is sent the stored answer.
    await ws.send_json_to({"type": "resume", "message": message, "offset": 0})
    replay = await receive_until(ws, "message.end")
    # One that holds all of the text but only part of the reasoning gets the rest of it.
    await ws.send_json_to(
        {"type": "resume", "message": message, "offset": len(ANSWER), "reasoning_offset": 10}
    )
    tail = await receive_until(ws, "message.end")
    await ws.disconnect()
    assert assemble(replay, message, part="reasoning") == THOUGHT
    assert assemble(replay, message) == ANSWER
    assert replay[0]["phase"] is None
    assert replay[-1]["reasoning_ms"] == live[-1]["reasoning_ms"]
    assert replay[-1]["usage"] == live[-1]["usage"]
    assert assemble_from(tail, message, "reasoning", THOUGHT[:10]) == THOUGHT
    assert [f for f in tail if f["type"] == "delta" and "part" not in f] == []


async def test_stop_during_reasoning_keeps_what_was_shown(alice, upstream):
    thought = " ".join(f"idea{i}" for i in range(200))
    upstream.enqueue(Script(reasoning=thought, text=ANSWER, tokens_per_second=40))
    ws = await connect(alice)
    message, frames = await thinking(ws, 30)
    await ws.send_json_to({"type": "stop", "message": message})
    frames += await receive_until(ws, "message.end")
    await ws.disconnect()
    end = frames[-1]
    assert end["status"] == "stopped"
    shown = assemble(frames, message, part="reasoning")
    assert 30 <= len(shown) < len(thought)
    assert end["reasoning_length"] == len(shown) and end["length"] == 0
    assert end["reasoning_ms"] is not None
    stored = await Message.objects.aget(pk=message)
    assert (stored.reasoning, stored.text, stored.reasoning_state) == (shown, "", None)


async def test_continue_goes_on_from_the_stored_reasoning(alice, upstream):
    thought = " ".join(f"idea{i}" for i in range(200))
    upstream.enqueue(
        Script(reasoning=thought, text=ANSWER, tokens_per_second=40),
        Script(reasoning="Picking up.", text=ANSWER),
    )
    ws = await connect(alice)
    message, frames = await thinking(ws, 30)
    await ws.send_json_to({"type": "stop", "message": message})
    frames += await receive_until(ws, "message.end")
    shown = assemble(frames, message, part="reasoning")
    first_ms = frames[-1]["reasoning_ms"]
    await ws.send_json_to({"type": "continue", "message": message})
    more = await receive_until(ws, "message.end")
    await ws.disconnect()
    assert more[0]["reasoning_offset"] == len(shown)
    whole = assemble_from(more, message, "reasoning", shown)
    assert whole == shown + "Picking up."
    assert more[-1]["status"] == "complete"
    assert more[-1]["reasoning_ms"] >= first_ms
    stored = await Message.objects.aget(pk=message)
    assert (stored.reasoning, stored.text) == (whole, ANSWER)


async def test_the_sse_api_resumes_reasoning_by_last_event_id(alice, upstream):
    upstream.enqueue(Script(reasoning=THOUGHT, text=ANSWER))
    ws = await connect(alice)
    await ws.send_json_to(sent("openai:gpt-test"))
    frames = await receive_until(ws, "message.end")
    await ws.disconnect()
    message = frames[0]["message"]
    _, token = await sync_to_async(api_tokens.create)(alice, "tests")
    response = await AsyncClient().get(
        f"/api/messages/{message}/stream",
        headers={"Authorization": f"Bearer {token}", "Last-Event-ID": f"3:0:{len(THOUGHT) - 6}"},
    )
    body = b"".join([chunk async for chunk in response.streaming_content]).decode()
    assert f'"offset":{len(THOUGHT) - 6},"text":"{THOUGHT[-6:]}"' in body
    assert f"id: 1:{len(ANSWER)}:{len(THOUGHT)}\n" in body


async def test_keepalives_during_silent_reasoning_are_not_an_idle_timeout(alice, settings):
    """Claude may think for minutes before its first visible token, sending only pings."""
    with FakeUpstream() as fake:
        settings.ANTHROPIC_API_KEY = "test-key"
        settings.ANTHROPIC_BASE_URL = fake.anthropic_base_url
        settings.ANTHROPIC_MODELS = ["claude-test"]
        settings.PROVIDER_RETRIES = 0
        settings.IDLE_TIMEOUT = 1.3  # the provider passes pings on after a second of silence
        fake.enqueue(
            Script(reasoning=THOUGHT, text=ANSWER, first_token_delay=2.8, keepalive_interval=0.1),
            Script(reasoning=THOUGHT, text=ANSWER, first_token_delay=2.8),
        )
        ws = await connect(alice)
        await ws.send_json_to(sent("anthropic:claude-test"))
        alive = await receive_until(ws, "message.end")
        await ws.send_json_to(sent("anthropic:claude-test"))
        silent = await receive_until(ws, "message.end")
        await ws.disconnect()
    assert alive[0]["phase"] == "waiting"
    assert alive[-1]["status"] == "complete"
    assert assemble(alive, alive[0]["message"]) == ANSWER
    # Without them the same silence is an idle upstream.
    assert silent[-1]["status"] == "failed"


async def test_a_remote_watcher_gets_the_reasoning_and_the_text(alice, upstream, settings):
    settings.REMOTE_FLUSH_INTERVAL = 0.1
    thought = " ".join(f"step{i}" for i in range(80))
    upstream.enqueue(Script(reasoning=thought, word_count=80, tokens_per_second=200))
    ws = await connect(alice)
    await ws.send_json_to(sent("openai:gpt-test"))
    start = await ws.receive_json_from(timeout=10)
    message = start["message"]
    channel = await get_channel_layer().new_channel()
    await running[message].watch(channel, 0, 0)
    local = await receive_until(ws, "message.end")
    await ws.disconnect()
    remote = []
    while not remote or remote[-1]["type"] != "message.end":
        event = await asyncio.wait_for(get_channel_layer().receive(channel), 10)
        remote.append(event["frame"])
    assert assemble(remote, message, part="reasoning") == thought
    assert assemble(remote, message) == assemble([start, *local], message)
    assert remote[-1]["reasoning_ms"] == local[-1]["reasoning_ms"]
