import pytest

from chat.models import Conversation, Message
from tests.conftest import assemble, connect, receive_until
from tests.fakes.script import Script, ToolCallScript

pytestmark = pytest.mark.django_db(transaction=True)


async def test_the_models_tool_calls_run_and_it_answers_with_their_results(alice, upstream):
    upstream.enqueue(
        Script(
            text="Let me work that out.",
            tool_calls=[
                ToolCallScript("calculator", {"expression": "6 * 7"}, id="call_1"),
                ToolCallScript("calculator", {"expression": "2 ** 10"}, id="call_2"),
            ],
        ),
        Script(text="6 times 7 is 42 and 2¹⁰ is 1024."),
    )
    ws = await connect(alice)
    await ws.send_json_to(
        {
            "type": "send",
            "conversation": None,
            "content": "Compute things",
            "model": "openai:gpt-test",
            "tools": ["calculator"],
        }
    )
    frames = await receive_until(ws, "message.end")
    first = frames[0]["message"]
    assert frames[-1]["finish_reason"] == "tool_calls"
    calls = [f for f in frames if f["type"] == "tool.call"]
    assert [(c["call"]["name"], c["call"]["arguments"], c["result"]) for c in calls] == [
        ("calculator", {"expression": "6 * 7"}, "42"),
        ("calculator", {"expression": "2 ** 10"}, "1024"),
    ]
    following = await receive_until(ws, "message.end")
    await ws.disconnect()
    start = following[0]
    assert start["type"] == "message.start" and start["follows"] == first
    assert following[-1]["status"] == "complete"
    assert assemble(following, start["message"]) == "6 times 7 is 42 and 2¹⁰ is 1024."

    # The model was offered the tool, then sent its calls and their results.
    offered = upstream.requests[0].body["tools"]
    assert [t["function"]["name"] for t in offered] == ["calculator"]
    sent = upstream.requests[1].body["messages"]
    assert sent[-3]["role"] == "assistant"
    assert [c["id"] for c in sent[-3]["tool_calls"]] == ["call_1", "call_2"]
    assert sent[-2:] == [
        {"role": "tool", "tool_call_id": "call_1", "content": "42"},
        {"role": "tool", "tool_call_id": "call_2", "content": "1024"},
    ]

    # Everything is stored, in order, and each tool call is in the transcript.
    conversation = await Conversation.objects.aget(pk=start["conversation"])
    assert conversation.tools == ["calculator"]
    stored = [m async for m in conversation.current_messages()]
    assert [m.role for m in stored] == ["user", "assistant", "tool", "tool", "assistant"]
    assert stored[1].tool_calls[0]["result"] == "42"
    assert [m.tool_call_id for m in stored[2:4]] == ["call_1", "call_2"]


async def test_a_conversation_without_tools_offers_none(alice, upstream):
    upstream.enqueue(Script(text="Plain."))
    ws = await connect(alice)
    await ws.send_json_to(
        {"type": "send", "conversation": None, "content": "hi", "model": "openai:gpt-test"}
    )
    await receive_until(ws, "message.end")
    await ws.disconnect()
    assert "tools" not in upstream.requests[0].body


async def test_it_refuses_an_unknown_tool(alice, upstream):
    ws = await connect(alice)
    await ws.send_json_to(
        {
            "type": "send",
            "conversation": None,
            "content": "hi",
            "model": "openai:gpt-test",
            "tools": ["rm -rf"],
        }
    )
    reply = await ws.receive_json_from(timeout=5)
    await ws.disconnect()
    assert reply["code"] == "bad_frame"
    assert await Message.objects.acount() == 0


async def test_replaying_a_stored_answer_includes_its_tool_calls(alice, upstream):
    upstream.enqueue(
        Script(
            text="Checking.",
            tool_calls=[ToolCallScript("calculator", {"expression": "1+1"}, id="c")],
        ),
        Script(text="Two."),
    )
    ws = await connect(alice)
    await ws.send_json_to(
        {
            "type": "send",
            "conversation": None,
            "content": "1+1?",
            "model": "openai:gpt-test",
            "tools": ["calculator"],
        }
    )
    first = (await receive_until(ws, "message.end"))[0]["message"]
    await receive_until(ws, "message.end")
    await ws.send_json_to({"type": "resume", "message": first, "offset": 0})
    replay = await receive_until(ws, "message.end")
    await ws.disconnect()
    assert [f["type"] for f in replay] == ["message.start", "delta", "tool.call", "message.end"]
    assert replay[2]["call"] == {
        "id": "c",
        "name": "calculator",
        "arguments": {"expression": "1+1"},
    }
    assert replay[2]["result"] == "2"
