"""Editing a sent message into a new branch: the edit takes the old version's place, the old
branch is kept, the model is sent the branch shown only, and the choice of branch is kept."""

import json

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient, Client

from chat.models import Conversation, Message
from chat.web import api_tokens
from tests.conftest import assemble, connect, receive_until
from tests.fakes.script import Script

pytestmark = pytest.mark.django_db(transaction=True)

MODEL = "openai:gpt-test"


def send(content: str, conversation=None) -> dict:
    return {"type": "send", "conversation": conversation, "content": content, "model": MODEL}


def sent_texts(request) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in request.body["messages"]]


async def three_turns(alice, upstream):
    """A conversation of three questions and answers, on a socket left open."""
    upstream.enqueue(Script(text="A1."), Script(text="A2."), Script(text="A3."))
    ws = await connect(alice)
    conversation = None
    ids = []
    for question in ("Q1", "Q2", "Q3"):
        await ws.send_json_to(send(question, conversation))
        frames = await receive_until(ws, "message.end")
        conversation = frames[0]["conversation"]
        ids.append(frames[0]["reply_to"])
    return ws, conversation, ids


def shown(conversation: int) -> list[tuple[str, str]]:
    c = Conversation.objects.get(pk=conversation)
    return [(m.role, m.text) for m in c.current_messages()]


async def test_an_edit_branches_and_the_model_is_sent_the_new_branch_only(alice, upstream):
    ws, conversation, (_q1, q2, _q3) = await three_turns(alice, upstream)
    upstream.enqueue(Script(text="B2."), Script(text="B3."))
    await ws.send_json_to({"type": "edit", "message": q2, "content": "Q2 edited"})
    branch = await ws.receive_json_from(timeout=10)
    frames = await receive_until(ws, "message.end")
    assert branch["type"] == "branch"
    assert branch["conversation"] == conversation
    on_branch = [(m["role"], m["text"]) for m in branch["messages"]]
    assert on_branch == [
        ("user", "Q1"),
        ("assistant", "A1."),
        ("user", "Q2 edited"),
        ("assistant", ""),
    ]
    edited = branch["messages"][2]
    assert edited["versions"] == [q2, edited["id"]]
    answer = frames[0]["message"]
    assert frames[0]["reply_to"] == edited["id"]
    assert assemble(frames, answer) == "B2."
    assert sent_texts(upstream.requests[-1]) == [
        ("user", "Q1"),
        ("assistant", "A1."),
        ("user", "Q2 edited"),
    ]

    # The next message continues the new branch; nothing of the old one is sent.
    await ws.send_json_to(send("Q3 on B", conversation))
    await receive_until(ws, "message.end")
    await ws.disconnect()
    assert sent_texts(upstream.requests[-1]) == [
        ("user", "Q1"),
        ("assistant", "A1."),
        ("user", "Q2 edited"),
        ("assistant", "B2."),
        ("user", "Q3 on B"),
    ]
    assert await sync_to_async(shown)(conversation) == [
        ("user", "Q1"),
        ("assistant", "A1."),
        ("user", "Q2 edited"),
        ("assistant", "B2."),
        ("user", "Q3 on B"),
        ("assistant", "B3."),
    ]
    # The old branch is kept whole.
    old = await sync_to_async(list)(
        Message.objects.filter(conversation_id=conversation, active=False).order_by("seq")
    )
    assert [(m.role, m.text) for m in old] == [
        ("user", "Q2"),
        ("assistant", "A2."),
        ("user", "Q3"),
        ("assistant", "A3."),
    ]


async def test_choosing_the_old_version_brings_back_its_branch_and_is_kept(alice, upstream):
    ws, conversation, (_q1, q2, _q3) = await three_turns(alice, upstream)
    upstream.enqueue(Script(text="B2."), Script(text="after switching back"))
    await ws.send_json_to({"type": "edit", "message": q2, "content": "Q2 edited"})
    edited = (await ws.receive_json_from(timeout=10))["messages"][2]["id"]
    await receive_until(ws, "message.end")

    await ws.send_json_to({"type": "select_version", "message": q2})
    branch = await ws.receive_json_from(timeout=10)
    assert branch["type"] == "branch"
    assert [m["text"] for m in branch["messages"]] == ["Q1", "A1.", "Q2", "A2.", "Q3", "A3."]
    assert await sync_to_async(shown)(conversation) == [
        ("user", "Q1"),
        ("assistant", "A1."),
        ("user", "Q2"),
        ("assistant", "A2."),
        ("user", "Q3"),
        ("assistant", "A3."),
    ]
    # The page made again (a reload) shows the branch chosen, with both versions named.
    client = Client()
    await sync_to_async(client.force_login)(alice)
    response = await sync_to_async(client.get)(f"/c/{conversation}/")
    html = response.content.decode()
    start = html.index('<script id="page-data" type="application/json">')
    start = html.index(">", start) + 1
    data = json.loads(html[start : html.index("</script>", start)])
    assert [m["text"] for m in data["messages"]] == ["Q1", "A1.", "Q2", "A2.", "Q3", "A3."]
    assert data["messages"][2]["versions"] == [q2, edited]

    # A message sent now goes on the old branch.
    await ws.send_json_to(send("Q4", conversation))
    await receive_until(ws, "message.end")
    await ws.disconnect()
    assert [text for _, text in sent_texts(upstream.requests[-1])] == [
        "Q1",
        "A1.",
        "Q2",
        "A2.",
        "Q3",
        "A3.",
        "Q4",
    ]


async def test_nested_branches_keep_their_own_choices(alice, upstream):
    ws, conversation, (q1, _q2, _q3) = await three_turns(alice, upstream)
    upstream.enqueue(Script(text="B1."), Script(text="B2."), Script(text="C2."))
    # Edit the first message, go on, then edit the message after it on the new branch.
    await ws.send_json_to({"type": "edit", "message": q1, "content": "P1"})
    p1 = (await ws.receive_json_from(timeout=10))["messages"][0]["id"]
    await receive_until(ws, "message.end")
    await ws.send_json_to(send("P2", conversation))
    p2 = (await receive_until(ws, "message.end"))[0]["reply_to"]
    await ws.send_json_to({"type": "edit", "message": p2, "content": "P2 again"})
    await ws.receive_json_from(timeout=10)
    await receive_until(ws, "message.end")
    texts = [text for _, text in await sync_to_async(shown)(conversation)]
    assert texts == ["P1", "B1.", "P2 again", "C2."]

    # Back to the first version: its branch as it was; then forward again: the choice made
    # on the second branch is still there.
    await ws.send_json_to({"type": "select_version", "message": q1})
    await ws.receive_json_from(timeout=10)
    texts = [text for _, text in await sync_to_async(shown)(conversation)]
    assert texts == ["Q1", "A1.", "Q2", "A2.", "Q3", "A3."]
    await ws.send_json_to({"type": "select_version", "message": p1})
    await ws.receive_json_from(timeout=10)
    await ws.disconnect()
    texts = [text for _, text in await sync_to_async(shown)(conversation)]
    assert texts == ["P1", "B1.", "P2 again", "C2."]


async def test_regenerate_and_its_versions_work_within_a_branch(alice, upstream, settings):
    settings.OPENAI_MODELS = ["gpt-test", "gpt-other"]
    ws, conversation, (_q1, q2, _q3) = await three_turns(alice, upstream)
    upstream.enqueue(Script(text="B2."), Script(text="B2 by the other model."))
    await ws.send_json_to({"type": "edit", "message": q2, "content": "Q2 edited"})
    await ws.receive_json_from(timeout=10)
    first = (await receive_until(ws, "message.end"))[0]["message"]
    await ws.send_json_to({"type": "regenerate", "message": first, "model": "openai:gpt-other"})
    again = await receive_until(ws, "message.end")
    await ws.disconnect()
    assert again[0]["model"] == "openai:gpt-other"
    assert upstream.requests[-1].body["model"] == "gpt-other"
    assert sent_texts(upstream.requests[-1]) == [
        ("user", "Q1"),
        ("assistant", "A1."),
        ("user", "Q2 edited"),
    ]
    regenerated = await Message.objects.aget(pk=again[0]["message"])
    assert [m.pk async for m in regenerated.versions()] == [first, regenerated.pk]
    texts = [text for _, text in await sync_to_async(shown)(conversation)]
    assert texts == ["Q1", "A1.", "Q2 edited", "B2 by the other model."]


async def test_an_edit_can_pick_its_model(alice, upstream, settings):
    settings.OPENAI_MODELS = ["gpt-test", "gpt-other"]
    ws, _conversation, (_q1, _q2, q3) = await three_turns(alice, upstream)
    upstream.enqueue(Script(text="Other."))
    await ws.send_json_to(
        {"type": "edit", "message": q3, "content": "Q3?", "model": "openai:gpt-other"}
    )
    await ws.receive_json_from(timeout=10)
    frames = await receive_until(ws, "message.end")
    await ws.disconnect()
    assert frames[0]["model"] == "openai:gpt-other"
    assert upstream.requests[-1].body["model"] == "gpt-other"


@pytest.mark.parametrize(
    "frame, code",
    [
        ({"type": "edit", "content": "x"}, "bad_frame"),
        ({"type": "edit", "message": "1", "content": "x"}, "bad_frame"),
        ({"type": "edit", "message": 1, "content": "   "}, "bad_frame"),
        ({"type": "edit", "message": 1, "content": "x" * 100_001}, "too_long"),
    ],
)
async def test_bad_edit_frames_are_refused(alice, frame, code, settings):
    settings.MAX_MESSAGE_CHARS = 100_000
    ws = await connect(alice)
    await ws.send_json_to(frame)
    reply = await ws.receive_json_from(timeout=10)
    await ws.disconnect()
    assert (reply["type"], reply["code"]) == ("error", code)


async def test_edits_that_cannot_apply_store_nothing(alice, bob, upstream):
    ws, _conversation, (q1, q2, q3) = await three_turns(alice, upstream)
    answer = await sync_to_async(lambda: Message.objects.get(reply_to_id=q1).pk)()
    before = await sync_to_async(lambda: list(Message.objects.values_list("pk", "active")))()
    # An answer is not a user message; someone else's message is no one's to edit.
    await ws.send_json_to({"type": "edit", "message": answer, "content": "x"})
    assert (await ws.receive_json_from(timeout=10))["code"] == "not_found"
    other = await connect(bob)
    await other.send_json_to({"type": "edit", "message": q1, "content": "x"})
    assert (await other.receive_json_from(timeout=10))["code"] == "not_found"
    await other.disconnect()
    # A model not offered.
    await ws.send_json_to({"type": "edit", "message": q1, "content": "x", "model": "openai:nope"})
    assert (await ws.receive_json_from(timeout=10))["code"] == "bad_model"
    after = await sync_to_async(lambda: list(Message.objects.values_list("pk", "active")))()
    assert after == before
    # A message of the branch not shown.
    upstream.enqueue(Script(text="B2."))
    await ws.send_json_to({"type": "edit", "message": q2, "content": "Q2 edited"})
    await ws.receive_json_from(timeout=10)
    await receive_until(ws, "message.end")
    before = await sync_to_async(lambda: list(Message.objects.values_list("pk", "active")))()
    await ws.send_json_to({"type": "edit", "message": q3, "content": "x"})
    refused = await ws.receive_json_from(timeout=10)
    await ws.disconnect()
    assert refused["type"] == "error"
    assert "branch" in refused["detail"]
    after = await sync_to_async(lambda: list(Message.objects.values_list("pk", "active")))()
    assert after == before


async def test_an_edit_refused_for_its_size_leaves_the_branch_as_it_was(alice, upstream, settings):
    ws, _conversation, (_q1, _q2, q3) = await three_turns(alice, upstream)
    before = await sync_to_async(lambda: list(Message.objects.values_list("pk", "active")))()
    settings.MODEL_CONTEXT_LENGTHS = {MODEL: 300}
    await ws.send_json_to({"type": "edit", "message": q3, "content": "word " * 2000})
    refused = await ws.receive_json_from(timeout=10)
    await ws.disconnect()
    assert refused["type"] == "error"
    assert "too long" in refused["detail"]
    after = await sync_to_async(lambda: list(Message.objects.values_list("pk", "active")))()
    assert after == before


async def test_edit_over_http_streams_the_branch_then_the_answer(alice, upstream):
    ws, conversation, (_q1, q2, _q3) = await three_turns(alice, upstream)
    await ws.disconnect()
    _, token = await sync_to_async(api_tokens.create)(alice, "script")
    upstream.enqueue(Script(text="By HTTP."))
    client = AsyncClient()
    response = await client.post(
        f"/api/messages/{q2}/edit",
        {"content": "Q2 by HTTP"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    body = b"".join([chunk async for chunk in response.streaming_content]).decode()
    events = [block.split("\n") for block in body.strip().split("\n\n")]
    kinds = [lines[0].removeprefix("event: ") for lines in events]
    assert kinds[0] == "branch"
    assert kinds[1] == "message.start"
    assert kinds[-1] == "message.end"
    texts = [text for _, text in await sync_to_async(shown)(conversation)]
    assert texts == ["Q1", "A1.", "Q2 by HTTP", "By HTTP."]

    refused = await client.post(
        f"/api/messages/{q2}/edit",
        {"content": ""},
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert refused.status_code == 400


async def test_fork_copies_the_branch_shown_up_to_a_message(alice, bob, upstream):
    ws, conversation, (_q1, q2, q3) = await three_turns(alice, upstream)
    await ws.disconnect()
    source = await Conversation.objects.aget(pk=conversation)
    source.system_prompt, source.temperature = "Be brief.", 0.5
    await source.asave()
    a2 = await sync_to_async(lambda: Message.objects.get(reply_to_id=q2).pk)()
    client = AsyncClient()
    await sync_to_async(client.force_login)(alice)
    response = await client.post(f"/api/messages/{a2}/fork")
    assert response.status_code == 201
    made = response.json()
    assert made["url"] == f"/c/{made['conversation']}/"
    assert made["draft"] == ""
    forked = await Conversation.objects.aget(pk=made["conversation"])
    assert (forked.system_prompt, forked.temperature, forked.model) == ("Be brief.", 0.5, MODEL)
    texts = [text for _, text in await sync_to_async(shown)(forked.pk)]
    assert texts == ["Q1", "A1.", "Q2", "A2."]
    # The copy is a conversation of its own: its messages reply to its own.
    rows = await sync_to_async(list)(forked.messages.order_by("seq"))
    assert rows[1].reply_to_id == rows[0].pk
    assert rows[2].parent_id == rows[0].pk

    # From a user message: the messages before it, and its text to send again.
    response = await client.post(f"/api/messages/{q3}/fork")
    made = response.json()
    assert made["draft"] == "Q3"
    texts = [text for _, text in await sync_to_async(shown)(made["conversation"])]
    assert texts == ["Q1", "A1.", "Q2", "A2."]

    other = AsyncClient()
    await sync_to_async(other.force_login)(bob)
    assert (await other.post(f"/api/messages/{a2}/fork")).status_code == 404
    # The next message of a fork goes on from the copied messages.
    upstream.enqueue(Script(text="Forked on."))
    ws = await connect(alice)
    await ws.send_json_to(send("Q3 in the fork", forked.pk))
    await receive_until(ws, "message.end")
    await ws.disconnect()
    assert [text for _, text in sent_texts(upstream.requests[-1])] == [
        "Be brief.",
        "Q1",
        "A1.",
        "Q2",
        "A2.",
        "Q3 in the fork",
    ]


async def test_a_summary_of_messages_no_longer_shown_is_dropped(alice, upstream):
    ws, conversation, (_q1, q2, _q3) = await three_turns(alice, upstream)
    stored = await Conversation.objects.aget(pk=conversation)
    q2_seq = (await Message.objects.aget(pk=q2)).seq
    stored.summary, stored.summary_through_seq = "They said Q1 and Q2.", q2_seq + 1
    await stored.asave()
    upstream.enqueue(Script(text="B2."))
    await ws.send_json_to({"type": "edit", "message": q2, "content": "Q2 edited"})
    await ws.receive_json_from(timeout=10)
    await receive_until(ws, "message.end")
    await ws.disconnect()
    await stored.arefresh_from_db()
    assert (stored.summary, stored.summary_through_seq) == ("", 0)
    assert all("They said" not in m["content"] for m in upstream.requests[-1].body["messages"])


async def test_an_edit_stops_the_answer_being_written_on_the_branch_it_leaves(alice, upstream):
    upstream.enqueue(Script(word_count=2000, tokens_per_second=50), Script(text="The new answer."))
    ws = await connect(alice)
    await ws.send_json_to(send("Tell me a long story"))
    start = await ws.receive_json_from(timeout=10)
    question, old = start["reply_to"], start["message"]
    await ws.send_json_to({"type": "edit", "message": question, "content": "A short one"})
    frames = []
    ends = {}
    while len(ends) < 2:
        frame = await ws.receive_json_from(timeout=20)
        frames.append(frame)
        if frame["type"] == "message.end":
            ends[frame["message"]] = frame
    await ws.disconnect()
    new = next(f["message"] for f in frames if f["type"] == "message.start")
    assert ends[old]["status"] == "stopped"
    assert ends[new]["status"] == "complete"
    assert assemble(frames, new) == "The new answer."
    stored = await Message.objects.aget(pk=old)
    assert (stored.status, stored.active) == ("stopped", False)
