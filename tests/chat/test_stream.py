import time

import pytest

from chat.answers import answer
from chat.models import Message
from tests.conftest import assemble, connect, receive_until
from tests.fakes.script import Script

pytestmark = pytest.mark.django_db(transaction=True)

TEXT = "Streams arrive in order, héllo 🌍 wörld, with\nnewlines and emoji 👩‍👩‍👧 intact."


async def test_it_streams_in_order_with_contiguous_offsets_and_stores_the_text(alice, upstream):
    upstream.enqueue(Script(text=TEXT, tokens_per_second=200))
    ws = await connect(alice)
    await ws.send_json_to(
        {"type": "send", "conversation": None, "content": "hi", "model": "openai:gpt-test"}
    )
    frames = await receive_until(ws, "message.end")
    await ws.disconnect()

    start, *deltas, end = frames
    assert start["type"] == "message.start"
    assert start["model"] == "openai:gpt-test"
    assert [d["type"] for d in deltas] == ["delta"] * len(deltas)
    assert [d["seq"] for d in deltas] == list(range(1, len(deltas) + 1))
    offset = 0
    for d in deltas:
        assert d["offset"] == offset
        offset += len(d["text"])
    assert assemble(deltas, start["message"]) == TEXT
    assert end["status"] == "complete"
    assert end["finish_reason"] == "end"
    assert end["usage"]["output_tokens"] > 0
    assert end["ttft_ms"] is not None

    answer = await Message.objects.aget(pk=start["message"])
    assert answer.text == TEXT
    assert answer.status == Message.Status.COMPLETE
    user_message = await Message.objects.aget(pk=start["reply_to"])
    assert user_message.text == "hi"
    assert user_message.conversation_id == answer.conversation_id == start["conversation"]


async def test_it_coalesces_over_the_longer_window_once_the_answer_is_under_way(
    alice, upstream, settings
):
    settings.FLUSH_INTERVAL = 0.01
    settings.FLUSH_INTERVAL_UNDER_WAY = 0.3
    settings.FLUSH_CHARS = 10_000
    upstream.enqueue(Script(word_count=250, tokens_per_second=100))
    ws = await connect(alice)
    await ws.send_json_to(
        {"type": "send", "conversation": None, "content": "hi", "model": "openai:gpt-test"}
    )
    received = []
    while True:
        frame = await ws.receive_json_from(timeout=30)
        received.append((time.monotonic(), frame))
        if frame["type"] == "message.end":
            break
    await ws.disconnect()

    deltas = [(at, f) for at, f in received if f["type"] == "delta"]
    first = deltas[0][0]
    # Past the first second (and the flush due then), frames are sent at least 0.3 s apart
    # (but the last, as the stream ends; and one may arrive late, bunched with the next).
    late = [at for at, _ in deltas if at > first + answer.UNDER_WAY_AFTER + 0.1]
    assert late, "the answer streamed for over two seconds"
    assert len(late) <= (late[-1] - late[0]) / 0.3 + 3
    # Before, the short window sends many more frames for the same stream of tokens.
    early = [at for at, _ in deltas if at < first + answer.UNDER_WAY_AFTER]
    assert len(early) > 2 * len(late) / (late[-1] - late[0] + 0.3)
    assert assemble([f for _, f in received], received[0][1]["message"]) == (
        Script(word_count=250).answer_text()
    )


async def test_it_coalesces_fast_tokens_into_fewer_frames(alice, upstream, settings):
    settings.FLUSH_INTERVAL = 0.05
    upstream.enqueue(Script(word_count=400, tokens_per_second=2000))
    ws = await connect(alice)
    await ws.send_json_to(
        {"type": "send", "conversation": None, "content": "hi", "model": "openai:gpt-test"}
    )
    frames = await receive_until(ws, "message.end")
    await ws.disconnect()

    deltas = [f for f in frames if f["type"] == "delta"]
    assert len(deltas) < 200  # 400 tokens, at most one frame per flush window or 256 chars
    assert max(len(d["text"]) for d in deltas[1:]) <= settings.FLUSH_CHARS + 20
    assert len(deltas[0]["text"].split()) == 1  # the first token goes out at once, alone
    assert assemble(deltas, frames[0]["message"]) == Script(word_count=400).answer_text()


async def test_it_continues_an_existing_conversation(alice, upstream):
    upstream.enqueue(Script(text="First answer."), Script(text="Second answer."))
    ws = await connect(alice)
    await ws.send_json_to(
        {"type": "send", "conversation": None, "content": "one", "model": "openai:gpt-test"}
    )
    first = await receive_until(ws, "message.end")
    conversation = first[0]["conversation"]
    await ws.send_json_to(
        {"type": "send", "conversation": conversation, "content": "two", "model": "openai:gpt-test"}
    )
    second = await receive_until(ws, "message.end")
    await ws.disconnect()

    assert second[0]["conversation"] == conversation
    sent = upstream.requests[-1].body["messages"]
    assert [(m["role"], m["content"]) for m in sent] == [
        ("user", "one"),
        ("assistant", "First answer."),
        ("user", "two"),
    ]
    texts = [m.text async for m in Message.objects.filter(conversation_id=conversation)]
    assert texts == ["one", "First answer.", "two", "Second answer."]


async def test_the_start_frame_says_where_the_models_context_begins(alice, upstream, settings):
    settings.MODEL_CONTEXT_LENGTHS = {"openai:gpt-test": 300}
    settings.MAX_OUTPUT_TOKENS = 100
    upstream.enqueue(*[Script(text="word " * 30) for _ in range(4)])
    ws = await connect(alice)
    conversation = None
    starts = []
    for _ in range(4):
        await ws.send_json_to(
            {
                "type": "send",
                "conversation": conversation,
                "content": "more " * 30,
                "model": "openai:gpt-test",
            }
        )
        frames = await receive_until(ws, "message.end")
        conversation = frames[0]["conversation"]
        starts.append(frames[0])
    await ws.disconnect()
    assert starts[0]["context_from_seq"] == 1
    assert starts[-1]["context_from_seq"] > 1  # the oldest messages no longer fit
    stored = await Message.objects.aget(pk=starts[-1]["message"])
    assert stored.context_from_seq == starts[-1]["context_from_seq"]
