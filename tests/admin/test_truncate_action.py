from __future__ import annotations

import html
from datetime import timedelta

import pytest
from django.utils import timezone

from chat.models import Conversation, Message
from tests.admin.factories import STATE, add, add_reasoning_answer, make_conversation, make_staff

URL = "/admin/chat/conversation/"


@pytest.fixture
def moderator(django_user_model):
    return make_staff(django_user_model, "moderator", "view_conversation", "delete_conversation")


@pytest.fixture
def long_conversation(alice):
    conversation = make_conversation(alice)
    conversation.system_prompt = "Be brief."
    conversation.summary = "Packing."
    conversation.save()
    add(conversation, "system", "Answer in French.")
    for n in range(4):
        add(conversation, "user", f"question {n}")
        add(conversation, "assistant", f"answer {n}")
    return conversation


def post(client, conversation, **data):
    return client.post(
        URL, {"action": "truncate_selected", "_selected_action": [conversation.pk], **data}
    )


@pytest.mark.django_db
def test_it_asks_what_to_keep(client, moderator, long_conversation):
    client.force_login(moderator)
    r = client.post(
        URL,
        {"action": "truncate_selected", "_selected_action": [long_conversation.pk], "index": 0},
    )
    assert r.status_code == 200
    page = r.content.decode()
    assert 'name="keep_last"' in page
    assert 'name="older_than"' in page
    assert f'name="_selected_action" value="{long_conversation.pk}"' in page
    assert long_conversation.messages.count() == 11


@pytest.mark.django_db
def test_it_previews_without_changing_anything(client, moderator, long_conversation):
    client.force_login(moderator)
    r = post(client, long_conversation, keep_last=2, preview="Preview")
    assert r.status_code == 200
    page = html.unescape(r.content.decode())
    assert (
        f'Would delete from conversation {long_conversation.pk} "Trip to Oslo" (alice): '
        "8 messages (seq 1-2, 4-9), 3 left."
    ) in page
    assert "Would delete 8 messages from 1 conversation, and 0 empty conversations." in page
    assert 'name="apply"' in page
    assert long_conversation.messages.count() == 11


@pytest.mark.django_db
def test_it_truncates_with_the_commands_rules(client, moderator, long_conversation):
    client.force_login(moderator)
    r = post(client, long_conversation, keep_last=2, apply="Truncate")
    assert r.status_code == 302
    left = list(long_conversation.messages.order_by("seq").values_list("role", "text"))
    assert left == [
        ("system", "Answer in French."),
        ("user", "question 3"),
        ("assistant", "answer 3"),
    ]
    long_conversation.refresh_from_db()
    assert long_conversation.system_prompt == "Be brief."
    assert long_conversation.summary == "Packing."
    messages = [str(m) for m in client.get(URL).context["messages"]]
    assert any("Deleted 8 messages from 1 conversation" in m for m in messages)


@pytest.mark.django_db
def test_it_deletes_old_conversations_left_empty(client, moderator, alice):
    old = make_conversation(alice, days_ago=40)
    client.force_login(moderator)
    post(client, old, older_than=30, apply="Truncate")
    assert not Conversation.objects.filter(pk=old.pk).exists()


@pytest.mark.django_db
def test_it_leaves_streaming_answers_alone(client, moderator, alice):
    conversation = make_conversation(alice, days_ago=40)
    add(
        conversation,
        "assistant",
        "still writ",
        status=Message.Status.STREAMING,
        created_at=timezone.now() - timedelta(days=40),
    )
    client.force_login(moderator)
    post(client, conversation, older_than=30, apply="Truncate")
    assert list(conversation.messages.values_list("text", flat=True)) == ["still writ"]


@pytest.mark.django_db
def test_it_refuses_a_form_without_rules(client, moderator, long_conversation):
    client.force_login(moderator)
    r = post(client, long_conversation, keep_last="", older_than="", apply="Truncate")
    assert r.status_code == 200
    assert "Say what to keep" in r.content.decode()
    assert long_conversation.messages.count() == 11


@pytest.mark.django_db
def test_it_needs_the_delete_permission(client, django_user_model, long_conversation):
    client.force_login(make_staff(django_user_model, "reviewer", "view_conversation"))
    r = post(client, long_conversation, keep_last=0, apply="Truncate")
    assert r.status_code == 302
    assert long_conversation.messages.count() == 11


@pytest.mark.django_db
def test_it_takes_reasoning_with_its_answer_and_leaves_a_kept_answers_alone(
    client, moderator, alice
):
    conversation = make_conversation(alice)
    add(conversation, "user", "And shoes?")
    kept = add_reasoning_answer(conversation, "Boots.", reasoning="Snow, so boots.")
    old = conversation.messages.get(text="**Warm** clothes.")
    old.reasoning, old.reasoning_ms, old.reasoning_state = "Cold, so warm.", 900, {"sig": "x"}
    old.save()
    client.force_login(moderator)
    post(client, conversation, keep_last=2, apply="Truncate")
    left = conversation.messages.exclude(reasoning="")
    assert list(left.values_list("text", "reasoning", "reasoning_ms", "reasoning_tokens")) == [
        ("Boots.", "Snow, so boots.", 12_300, 340)
    ]
    kept.refresh_from_db()
    assert kept.reasoning_state == STATE
    assert not Message.objects.filter(reasoning="Cold, so warm.").exists()
