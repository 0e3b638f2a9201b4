"""Compare mode's choice: of the answers given side by side, the one kept goes on; the others
become its earlier versions and are no longer sent to the model."""

import pytest
from asgiref.sync import sync_to_async

from chat.models import Message
from tests.conftest import connect, receive_until
from tests.fakes.script import Script, ToolCallScript

pytestmark = pytest.mark.django_db(transaction=True)

COMPARE = {
    "type": "send",
    "conversation": None,
    "content": "Which?",
    "models": ["openai:gpt-a", "openai:gpt-b"],
}


async def compared(ws):
    await ws.send_json_to(COMPARE)
    ends = {}
    while len(ends) < 2:
        frame = await ws.receive_json_from(timeout=10)
        if frame["type"] == "message.end":
            ends[frame["message"]] = frame
        if frame["type"] == "message.start":
            conversation = frame["conversation"]
    return conversation, sorted(ends)


async def test_the_answer_kept_goes_on_and_the_others_become_its_versions(
    alice, upstream, settings
):
    settings.OPENAI_MODELS = ["gpt-a", "gpt-b"]
    upstream.enqueue(Script(text="From A."), Script(text="From B."), Script(text="Next."))
    ws = await connect(alice)
    conversation, (a, b) = await compared(ws)
    await ws.send_json_to({"type": "keep", "message": b})
    branch = await ws.receive_json_from(timeout=10)
    assert branch["type"] == "branch"
    answers = [m for m in branch["messages"] if m["role"] == "assistant"]
    assert [m["id"] for m in answers] == [b]
    assert answers[0]["versions"] == [a, b]
    kept, other = await Message.objects.aget(pk=b), await Message.objects.aget(pk=a)
    assert (other.seq, other.active, kept.active) == (kept.seq, False, True)
    # (Which model got which scripted answer depends on whose request came first.)
    assert {kept.text, other.text} == {"From A.", "From B."}

    # The next message is sent with the kept answer alone.
    await ws.send_json_to(
        {"type": "send", "conversation": conversation, "content": "And?", "model": "openai:gpt-b"}
    )
    await receive_until(ws, "message.end")
    sent = [(m["role"], m["content"]) for m in upstream.requests[-1].body["messages"]]
    assert sent == [("user", "Which?"), ("assistant", kept.text), ("user", "And?")]
    # The other one can still be shown, in the kept one's place.
    await ws.send_json_to({"type": "select_version", "message": a})
    await receive_until(ws, "message.end")
    await ws.disconnect()
    assert (await Message.objects.aget(pk=a)).active


async def test_only_an_answer_compared_and_ended_can_be_kept(alice, bob, upstream, settings):
    settings.OPENAI_MODELS = ["gpt-a", "gpt-b"]
    upstream.enqueue(Script(text="Alone."))
    ws = await connect(alice)
    await ws.send_json_to({**COMPARE, "models": ["openai:gpt-a"]})
    alone = (await receive_until(ws, "message.end"))[-1]["message"]
    await ws.send_json_to({"type": "keep", "message": alone})
    refused = await ws.receive_json_from(timeout=10)
    assert (refused["code"], refused["detail"]) == (
        "cannot_answer",
        "This answer is not one of several compared side by side.",
    )
    upstream.enqueue(Script(text="A."), Script(text="B."))
    _, (a, _b) = await compared(ws)
    other = await connect(bob)
    await other.send_json_to({"type": "keep", "message": a})
    assert (await other.receive_json_from(timeout=10))["code"] == "not_found"
    await other.disconnect()
    await ws.disconnect()
    assert await sync_to_async(Message.objects.filter(active=False).count)() == 0


async def test_answers_that_called_tools_are_not_kept_apart(alice, upstream, settings):
    settings.OPENAI_MODELS = ["gpt-a", "gpt-b"]
    upstream.enqueue(
        Script(tool_calls=[ToolCallScript("calculator", {"expression": "1+1"}, id="c")]),
        Script(text="B."),
        Script(text="It is 2."),
    )
    ws = await connect(alice)
    await ws.send_json_to({**COMPARE, "tools": ["calculator"]})
    ends = []
    while len(ends) < 3:
        frame = await ws.receive_json_from(timeout=10)
        if frame["type"] == "message.end":
            ends.append(frame["message"])
    await ws.send_json_to({"type": "keep", "message": ends[-1]})
    refused = await ws.receive_json_from(timeout=10)
    await ws.disconnect()
    assert refused["code"] == "cannot_answer"
    assert "tools" in refused["detail"]
