import pytest

from chat.models import Message
from tests.conftest import assemble, connect, receive_until
from tests.fakes.script import Fault, Script

pytestmark = pytest.mark.django_db(transaction=True)

SEND = {"type": "send", "conversation": None, "content": "hi", "model": "openai:gpt-test"}


async def test_a_failed_answer_keeps_its_text_and_continue_completes_it(alice, upstream):
    upstream.enqueue(
        Script(tokens=["One ", "two ", "three ", "four "], fault=Fault.drop(after=2)),
        Script(tokens=["three ", "four."]),
    )
    ws = await connect(alice)
    await ws.send_json_to(SEND)
    frames = await receive_until(ws, "message.end")
    message = frames[0]["message"]
    assert frames[-1]["status"] == "failed"
    assert frames[-1]["error"]
    assert assemble(frames, message) == "One two "

    await ws.send_json_to({"type": "continue", "message": message})
    more = await receive_until(ws, "message.end")
    await ws.disconnect()
    assert more[0]["offset"] == len("One two ")
    assert more[-1]["status"] == "complete"
    sent = upstream.requests[-1].body["messages"]
    assert sent[-1] == {"role": "assistant", "content": "One two "}
    stored = await Message.objects.aget(pk=message)
    assert stored.text == "One two three four."
    assert assemble(frames + more, message) == stored.text


async def test_regenerate_keeps_the_old_answer_as_an_earlier_version(alice, upstream):
    upstream.enqueue(Script(text="First try."), Script(text="Second try."))
    ws = await connect(alice)
    await ws.send_json_to(SEND)
    first = (await receive_until(ws, "message.end"))[0]
    await ws.send_json_to({"type": "regenerate", "message": first["message"]})
    second = await receive_until(ws, "message.end")
    new = second[0]["message"]
    assert new != first["message"]
    assert assemble(second, new) == "Second try."
    # The model was asked the same question again, without the answer being replaced.
    assert [m["content"] for m in upstream.requests[-1].body["messages"]] == ["hi"]

    old = await Message.objects.aget(pk=first["message"])
    current = await Message.objects.aget(pk=new)
    assert (old.active, current.active) == (False, True)
    assert old.seq == current.seq
    assert [m.pk async for m in current.versions()] == [old.pk, new]

    await ws.send_json_to({"type": "select_version", "message": old.pk})
    replay = await receive_until(ws, "message.end")
    await ws.disconnect()
    assert assemble(replay, old.pk) == "First try."
    await old.arefresh_from_db()
    await current.arefresh_from_db()
    assert (old.active, current.active) == (True, False)


async def test_compare_mode_streams_one_answer_per_model(alice, upstream, settings):
    settings.OPENAI_MODELS = ["gpt-a", "gpt-b"]
    upstream.enqueue(Script(text="From A."), Script(text="From B."))
    ws = await connect(alice)
    await ws.send_json_to(
        {
            "type": "send",
            "conversation": None,
            "content": "hi",
            "models": ["openai:gpt-a", "openai:gpt-b"],
        }
    )
    frames = []
    ends = 0
    while ends < 2:
        frames.append(await ws.receive_json_from(timeout=10))
        ends += frames[-1]["type"] == "message.end"
    await ws.disconnect()
    starts = {f["model"]: f["message"] for f in frames if f["type"] == "message.start"}
    assert set(starts) == {"openai:gpt-a", "openai:gpt-b"}
    texts = sorted(assemble(frames, m) for m in starts.values())
    assert texts == ["From A.", "From B."]
    answers = [m async for m in Message.objects.filter(pk__in=starts.values())]
    assert all(a.active for a in answers)
    assert len({a.reply_to_id for a in answers}) == 1
