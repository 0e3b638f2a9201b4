import random

import pytest

from tests.conftest import connect, receive_until
from tests.fakes.script import Script

pytestmark = pytest.mark.django_db(transaction=True)

SEND = {"type": "send", "conversation": None, "content": "hi", "model": "openai:gpt-test"}


def hold(text: str, frame: dict) -> str:
    """Apply one delta as a client following the protocol does."""
    assert frame["offset"] <= len(text), "a gap"
    return text + frame["text"][len(text) - frame["offset"] :]


async def test_disconnecting_at_random_points_and_resuming_loses_and_repeats_nothing(
    alice, upstream, settings
):
    settings.FLUSH_INTERVAL = 0.005
    settings.FRAME_RATE_BURST = 10_000  # this test reconnects far faster than any person
    rng = random.Random(7)
    for trial in range(12):
        script = Script(tokens=[f"w{trial}-{i} é🌍 " for i in range(80)], tokens_per_second=800)
        upstream.enqueue(script)
        ws = await connect(alice)
        await ws.send_json_to(SEND)
        message = (await ws.receive_json_from(timeout=10))["message"]
        text = ""
        ended = False
        while not ended:
            for _ in range(rng.randint(0, 6)):
                frame = await ws.receive_json_from(timeout=10)
                if frame["type"] == "delta":
                    text = hold(text, frame)
                elif frame["type"] == "message.end":
                    ended = True
                    break
            await ws.disconnect()
            if ended:
                break
            ws = await connect(alice)
            await ws.send_json_to({"type": "resume", "message": message, "offset": len(text)})
            start = await ws.receive_json_from(timeout=10)
            assert start["type"] == "message.start", start
            assert start["offset"] == len(text)
        assert text == script.answer_text(), f"trial {trial}"


async def test_resuming_a_finished_answer_sends_the_rest_and_its_end(alice, upstream):
    upstream.enqueue(Script(text="The whole answer, stored."))
    ws = await connect(alice)
    await ws.send_json_to(SEND)
    message = (await receive_until(ws, "message.end"))[0]["message"]
    await ws.send_json_to({"type": "resume", "message": message, "offset": 4})
    frames = await receive_until(ws, "message.end")
    await ws.disconnect()
    assert [f["type"] for f in frames] == ["message.start", "delta", "message.end"]
    assert frames[1]["offset"] == 4
    assert frames[1]["text"] == "whole answer, stored."
    assert frames[2]["status"] == "complete"


async def test_another_user_cannot_resume_or_stop_an_answer(alice, bob, upstream):
    upstream.enqueue(Script(text="private"))
    ws = await connect(alice)
    await ws.send_json_to(SEND)
    message = (await receive_until(ws, "message.end"))[0]["message"]
    await ws.disconnect()
    intruder = await connect(bob)
    for frame in (
        {"type": "resume", "message": message, "offset": 0},
        {"type": "stop", "message": message},
        {"type": "regenerate", "message": message},
        {"type": "continue", "message": message},
    ):
        await intruder.send_json_to(frame)
        assert (await intruder.receive_json_from(timeout=5))["code"] == "not_found"
    await intruder.disconnect()


async def test_joining_an_answer_just_as_it_ends_still_delivers_its_end(alice, upstream):
    from chat.answers.answer import running
    from chat.web.api import EventQueue

    upstream.enqueue(Script(text="Quick."))
    ws = await connect(alice)
    await ws.send_json_to(SEND)
    start = await ws.receive_json_from(timeout=10)
    answer = running[start["message"]]  # looked up before it ended...
    await receive_until(ws, "message.end")
    await ws.disconnect()

    late = EventQueue()
    await answer.subscribe(late, 0)  # ...joined after
    frames = [late.frames.get_nowait().data for _ in range(late.frames.qsize())]
    assert [f["type"] for f in frames] == ["message.start", "delta", "message.end"]
    assert frames[1]["text"] == "Quick."
    assert late not in answer.audience.subscribers
