from __future__ import annotations

import json

import pytest

from tests.admin.factories import add, add_reasoning_answer, make_conversation, make_staff

URL = "/admin/chat/conversation/"


@pytest.fixture
def reviewer(django_user_model):
    return make_staff(django_user_model, "reviewer", "view_conversation")


def export(client, *conversations):
    r = client.post(
        URL, {"action": "export_json", "_selected_action": [c.pk for c in conversations]}
    )
    assert r.status_code == 200
    assert r["Content-Type"] == "application/json"
    assert r["Content-Disposition"].startswith('attachment; filename="conversations-')
    return json.loads(b"".join(r.streaming_content))


@pytest.mark.django_db
def test_it_exports_the_selected_conversations_as_json(client, alice, reviewer):
    oslo = make_conversation(alice)
    oslo.system_prompt = "Be brief."
    oslo.summary = "Packing for Oslo."
    oslo.summary_through_seq = 1
    oslo.save()
    call = {"id": "call_1", "name": "weather", "arguments": {"city": "Oslo"}}
    add(oslo, "assistant", "", tool_calls=[call])
    add(oslo, "tool", "-3 °C", tool_call_id="call_1")
    make_conversation(alice, title="Not selected")
    client.force_login(reviewer)

    data = export(client, oslo)

    assert "exported_at" in data
    [conversation] = data["conversations"]
    assert conversation["id"] == oslo.pk
    assert conversation["owner"] == "alice"
    assert conversation["title"] == "Trip to Oslo"
    assert conversation["system_prompt"] == "Be brief."
    assert conversation["summary"] == "Packing for Oslo."
    assert conversation["summary_through_seq"] == 1
    messages = conversation["messages"]
    assert [m["seq"] for m in messages] == [1, 2, 3, 4]
    assert messages[0]["role"] == "user"
    assert messages[0]["text"] == "What should I pack?"
    answer = messages[1]
    assert answer["reply_to_id"] == messages[0]["id"]
    assert answer["model"] == "openai:gpt-4o"
    assert answer["status"] == "complete"
    assert (answer["input_tokens"], answer["output_tokens"]) == (12, 30)
    assert (answer["ttft_ms"], answer["tokens_per_second"]) == (250, 42.5)
    assert messages[2]["tool_calls"] == [call]
    assert messages[3]["tool_call_id"] == "call_1"
    assert messages[3]["text"] == "-3 °C"


@pytest.mark.django_db
def test_it_exports_several_conversations(client, alice, reviewer):
    first = make_conversation(alice, title="First")
    second = make_conversation(alice, title="Second")
    client.force_login(reviewer)
    data = export(client, first, second)
    assert [c["title"] for c in data["conversations"]] == ["First", "Second"]


@pytest.mark.django_db
def test_it_exports_for_staff_with_the_view_permission_only(client, alice, django_user_model):
    conversation = make_conversation(alice)
    client.force_login(make_staff(django_user_model, "helpdesk"))
    r = client.post(URL, {"action": "export_json", "_selected_action": [conversation.pk]})
    assert r.status_code == 403


@pytest.mark.django_db
def test_it_exports_the_reasoning_as_shown_and_not_the_providers_state(client, alice, reviewer):
    conversation = make_conversation(alice)
    conversation.reasoning_effort = "medium"
    conversation.save()
    add_reasoning_answer(conversation, reasoning="Cold, so <b>wool</b>.", reasoning_redacted=True)
    add_reasoning_answer(
        conversation, reasoning="", reasoning_ms=None, reasoning_tokens=None, reasoning_state=None
    )
    client.force_login(reviewer)

    r = client.post(URL, {"action": "export_json", "_selected_action": [conversation.pk]})
    raw = b"".join(r.streaming_content).decode()
    [exported] = json.loads(raw)["conversations"]

    assert exported["reasoning_effort"] == "medium"
    question, plain, reasoned, unreasoned = exported["messages"]
    assert reasoned["reasoning"] == "Cold, so <b>wool</b>."
    assert reasoned["reasoning_redacted"] is True
    assert (reasoned["reasoning_ms"], reasoned["reasoning_tokens"]) == (12_300, 340)
    assert reasoned["reasoning_state_stored"] is True
    for message in (question, plain, unreasoned):
        assert message["reasoning"] == ""
        assert message["reasoning_redacted"] is False
        assert (message["reasoning_ms"], message["reasoning_tokens"]) == (None, None)
        assert message["reasoning_state_stored"] is False
    assert all("reasoning_state" not in message for message in exported["messages"])
    assert "sig-EuYBCkQYAiJA" not in raw


@pytest.mark.django_db
def test_it_exports_every_branch_with_what_says_which_is_shown(client, alice, reviewer):
    oslo = make_conversation(alice)
    question = oslo.messages.get(role="user")
    edited = oslo.add_edit(question, "What should I pack for Bergen?")
    add(oslo, "assistant", "A raincoat.", reply_to=edited)
    client.force_login(reviewer)
    messages = export(client, oslo)["conversations"][0]["messages"]
    shown = [(m["text"], m["active"], m["chosen"]) for m in messages if m["role"] == "user"]
    assert shown == [("What should I pack?", False, False), (edited.text, True, True)]
    old, new = (m for m in messages if m["role"] == "user")
    assert old["seq"] == new["seq"]
    assert old["parent_id"] is None and new["parent_id"] is None
    answers = {m["text"]: m for m in messages if m["role"] == "assistant"}
    assert answers["A raincoat."]["active"] is True
    assert answers["A raincoat."]["reply_to_id"] == new["id"]
    assert all(not m["active"] for t, m in answers.items() if t != "A raincoat.")
