from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chat.models import Message
from tests.admin.factories import add, make_conversation

URL = "/admin/chat/conversation/"


@pytest.fixture
def client(client, root):
    client.force_login(root)
    return client


def make_many(owners, n):
    for i in range(n):
        conversation = make_conversation(owners[i % len(owners)], title=f"Conversation {i}")
        add(
            conversation,
            "assistant",
            "Partial",
            model="anthropic:claude-sonnet-4-5",
            status=Message.Status.FAILED,
            error="The provider failed.",
        )


@pytest.mark.django_db
def test_it_lists_conversations_with_their_numbers(client, alice):
    conversation = make_conversation(alice)
    add(
        conversation,
        "assistant",
        "",
        model="gemini:gemini-2.5-flash",
        status="failed",
        input_tokens=8,
        output_tokens=0,
    )
    r = client.get(URL)
    assert r.status_code == 200
    row = r.content.decode()
    assert "Trip to Oslo" in row
    assert "alice" in row
    assert "gemini:gemini-2.5-flash<br>openai:gpt-4o" in row
    assert "20 / 30" in row  # tokens in / out
    assert '<td class="field-message_count">3</td>' in row
    assert '<span class="chat-status chat-status-complete">1 complete</span>' in row
    assert '<span class="chat-status chat-status-failed">1 failed</span>' in row


@pytest.mark.django_db
def test_it_costs_the_same_queries_for_5_or_50_conversations(
    client, alice, bob, django_assert_num_queries
):
    make_many([alice, bob], 5)
    with CaptureQueriesContext(connection) as five:
        assert client.get(URL).status_code == 200
    make_many([alice, bob], 45)
    with django_assert_num_queries(len(five)):
        r = client.get(URL)
    assert r.content.decode().count('class="field-title_"') == 50


@pytest.mark.django_db
def test_it_costs_the_same_queries_when_searching_and_filtering(
    client, alice, bob, django_assert_num_queries
):
    query = f"?q=pack&provider=openai&status=failed&owner__id__exact={alice.pk}"
    make_many([alice, bob], 5)
    with CaptureQueriesContext(connection) as five:
        assert client.get(URL + query).status_code == 200
    make_many([alice, bob], 45)
    with django_assert_num_queries(len(five)):
        r = client.get(URL + query)
    assert r.content.decode().count('class="field-title_"') == 3 + 23  # alice's


@pytest.mark.django_db
def test_it_searches_titles_and_message_text(client, alice):
    make_conversation(alice, title="Trip to Oslo")
    other = make_conversation(alice, title="Recipes")
    add(other, "user", "How long do I boil an egg?")
    assert "Recipes" not in client.get(URL + "?q=Oslo").content.decode()
    found = client.get(URL + "?q=boil").content.decode()
    assert "Recipes" in found
    assert "Trip to Oslo" not in found
    # A conversation matching in several messages is listed once.
    add(other, "assistant", "Boil it for seven minutes.")
    assert client.get(URL + "?q=boil").content.decode().count("Recipes</a>") == 1


@pytest.mark.django_db
def test_it_filters_by_owner_provider_model_and_status(client, alice, bob):
    make_conversation(alice, title="Alice on GPT")
    claude = make_conversation(bob, title="Bob on Claude", model="anthropic:claude-sonnet-4-5")
    add(claude, "assistant", "Sorry", model="anthropic:claude-sonnet-4-5", status="failed")
    compared = make_conversation(bob, title="Bob compares")
    add(compared, "assistant", "Hi", model="gemini:gemini-2.5-flash")

    def titles(query):
        page = client.get(URL + query).content.decode()
        return {t for t in ("Alice on GPT", "Bob on Claude", "Bob compares") if t in page}

    assert titles(f"?owner__id__exact={alice.pk}") == {"Alice on GPT"}
    assert titles("?provider=anthropic") == {"Bob on Claude"}
    assert titles("?provider=gemini") == {"Bob compares"}
    assert titles("?model=openai:gpt-4o") == {"Alice on GPT", "Bob compares"}
    assert titles("?status=failed") == {"Bob on Claude"}


@pytest.mark.django_db
def test_it_offers_the_providers_and_models_in_use(client, alice):
    make_conversation(alice, model="local:smollm2")
    page = client.get(URL).content.decode()
    assert "?provider=local" in page
    assert "?model=local%3Asmollm2" in page


@pytest.mark.django_db
def test_it_filters_by_date(client, alice):
    make_conversation(alice, title="Old one", days_ago=40)
    make_conversation(alice, title="New one")
    since = (timezone.now() - timedelta(days=7)).isoformat()
    page = client.get(URL, {"updated_at__gte": since}).content.decode()
    assert "New one" in page
    assert "Old one" not in page
