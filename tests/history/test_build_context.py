from __future__ import annotations

import pytest

from chat.answers.context import ContextTooLong, build_context
from chat.models import Conversation, Message

MODEL = "local:smollm2"


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user("alice", password="correct horse battery")


@pytest.fixture
def conversation(owner, settings):
    # 1000 tokens of context less 200 for the answer: 800 for the rest, i.e. eight messages
    # of 100 tokens (96 stored + 4 for the role markers).
    settings.MODEL_CONTEXT_LENGTHS = {MODEL: 1000}
    settings.SUMMARIZE_DROPPED = False
    return Conversation.objects.create(owner=owner, model=MODEL)


def add(conversation, role="user", text=None, tokens=96, **fields):
    seq = conversation.next_seq()
    return Message.objects.create(
        conversation=conversation,
        role=role,
        text=f"{role} {seq}" if text is None else text,
        seq=seq,
        token_count=tokens,
        **fields,
    )


def exchange(conversation, turns):
    for _ in range(turns):
        add(conversation, "user")
        add(conversation, "assistant")


def build(conversation, **kwargs):
    kwargs.setdefault("before_seq", conversation.next_seq())
    return build_context(conversation, model=MODEL, max_output_tokens=200, **kwargs)


@pytest.mark.django_db
def test_it_sends_the_whole_transcript_when_it_fits(conversation):
    conversation.system_prompt = "Be brief."
    exchange(conversation, 2)
    context = build(conversation)
    assert [(m.role, m.content) for m in context.messages] == [
        ("system", "Be brief."),
        ("user", "user 1"),
        ("assistant", "assistant 2"),
        ("user", "user 3"),
        ("assistant", "assistant 4"),
    ]
    assert context.from_seq == 1
    assert context.dropped == 0
    assert context.budget == 800


@pytest.mark.django_db
def test_it_drops_the_oldest_messages_past_the_context_length(conversation):
    exchange(conversation, 10)
    add(conversation, "user", "the newest question")
    context = build(conversation)
    assert len(context.messages) == 7  # 8 would fit, but the window opens on a user message
    assert context.messages[0].content == "user 15"
    assert context.messages[-1].content == "the newest question"
    assert context.from_seq == 15
    assert context.dropped == 14
    assert context.tokens <= context.budget


@pytest.mark.django_db
def test_it_counts_the_system_prompt(conversation):
    conversation.system_prompt = "Be brief."
    for _ in range(9):
        add(conversation, "user")
    context = build(conversation)
    assert context.messages[0].role == "system"
    assert len(context.messages) == 1 + 7  # the prompt pushed the eighth message out
    assert context.from_seq == 3


@pytest.mark.django_db
def test_it_uses_the_stored_token_counts(conversation):
    add(conversation, "user", "short, but counted as huge by the provider", tokens=700)
    add(conversation, "assistant")
    add(conversation, "user")
    context = build(conversation)
    assert [m.content for m in context.messages] == ["user 3"]
    assert context.from_seq == 3


@pytest.mark.django_db
def test_it_falls_back_to_the_output_tokens(conversation):
    add(conversation, "user")
    add(conversation, "assistant", tokens=None, output_tokens=650)
    add(conversation, "user")
    context = build(conversation)
    assert [m.content for m in context.messages] == ["user 3"]


@pytest.mark.django_db
def test_it_counts_messages_without_stored_counts(conversation):
    add(conversation, "user", "word " * 2000, tokens=None)  # far more than 800 tokens
    add(conversation, "assistant", tokens=None, text="a short answer")
    add(conversation, "user", tokens=None, text="and a short question")
    context = build(conversation)
    assert [m.content for m in context.messages] == ["and a short question"]
    assert context.from_seq == 3


@pytest.mark.django_db
def test_it_keeps_a_tool_call_with_its_result(conversation):
    add(conversation, "user")
    call = {"id": "call_1", "name": "weather", "arguments": {"city": "Oslo"}}
    add(conversation, "assistant", text="", tokens=300, tool_calls=[call])
    add(conversation, "tool", text="-3 °C", tokens=300, tool_call_id="call_1")
    add(conversation, "assistant", text="It is cold.")
    add(conversation, "user")
    context = build(conversation)
    # The result alone would fit next to the last two messages; without its call it goes too.
    assert [m.content for m in context.messages] == ["user 5"]


@pytest.mark.django_db
def test_it_sends_tool_calls_and_results(conversation):
    add(conversation, "user")
    call = {"id": "call_1", "name": "weather", "arguments": '{"city": "Oslo"}'}
    add(conversation, "assistant", text="", tool_calls=[call])
    add(conversation, "tool", text="-3 °C", tool_call_id="call_1")
    add(conversation, "assistant", text="It is cold.")
    context = build(conversation)
    assert context.messages[1].tool_calls[0].name == "weather"
    assert context.messages[1].tool_calls[0].arguments == {"city": "Oslo"}
    assert context.messages[2].role == "tool"
    assert context.messages[2].tool_call_id == "call_1"
    assert context.messages[2].name == "weather"


@pytest.mark.django_db
def test_it_leaves_out_half_of_a_tool_call(conversation):
    add(conversation, "user")
    add(conversation, "tool", text="an orphan result", tool_call_id="gone")
    call = {"id": "call_2", "name": "weather", "arguments": {}}
    add(conversation, "assistant", text="Let me look.", tool_calls=[call])
    context = build(conversation)
    assert [m.content for m in context.messages] == ["user 1", "Let me look."]
    assert context.messages[-1].tool_calls == ()


@pytest.mark.django_db
def test_it_leaves_out_live_empty_and_inactive_messages(conversation):
    question = add(conversation, "user")
    add(conversation, "assistant", text="an earlier version", active=False, reply_to=question)
    add(conversation, "assistant", text="", status=Message.Status.FAILED, reply_to=question)
    add(conversation, "user")
    add(conversation, "assistant", text="still writing", status=Message.Status.STREAMING)
    add(conversation, "assistant", text="kept", status=Message.Status.STOPPED)
    context = build(conversation)
    assert [m.content for m in context.messages] == ["user 1", "user 4", "kept"]


@pytest.mark.django_db
def test_it_stops_before_the_answer(conversation):
    exchange(conversation, 2)
    context = build(conversation, before_seq=3)
    assert [m.content for m in context.messages] == ["user 1", "assistant 2"]


@pytest.mark.django_db
def test_it_sends_the_partial_answer_last_when_continuing(conversation):
    for _ in range(8):
        add(conversation, "user")
    assert len(build(conversation).messages) == 8
    partial = "word " * 300  # 300 tokens or more, whichever way they are counted
    context = build(conversation, prefill=partial)
    assert context.messages[-1].role == "assistant"
    assert context.messages[-1].content == partial
    assert len(context.messages) <= 1 + 5
    assert context.messages[-2].content == "user 8"
    assert context.tokens <= context.budget


@pytest.mark.django_db
def test_it_keeps_system_messages(conversation):
    add(conversation, "system", "Answer in French.")
    exchange(conversation, 6)
    context = build(conversation)
    assert context.messages[0].role == "system"
    assert context.messages[0].content == "Answer in French."


@pytest.mark.django_db
def test_it_refuses_a_message_too_long_for_the_model(conversation):
    add(conversation, "user", tokens=900)
    with pytest.raises(ContextTooLong, match="local:smollm2"):
        build(conversation)


@pytest.mark.django_db
def test_it_uses_the_context_length_override(conversation, settings):
    settings.MODEL_CONTEXT_LENGTHS = {MODEL: 100_000}
    exchange(conversation, 20)
    assert build(conversation).from_seq == 1


@pytest.mark.django_db
def test_it_sends_the_stored_summary_in_place_of_what_it_covers(conversation, settings):
    settings.SUMMARIZE_DROPPED = True
    exchange(conversation, 10)
    conversation.summary = "They talked about the weather."
    conversation.summary_through_seq = 14
    context = build(conversation)
    assert context.messages[0].role == "system"
    assert "They talked about the weather." in context.messages[0].content
    assert [m.content for m in context.messages[1:3]] == ["user 15", "assistant 16"]
    assert context.from_seq == 15
    assert context.dropped == 14
    assert context.summary_through_seq == 14


@pytest.mark.django_db
def test_it_ignores_the_summary_when_summaries_are_off(conversation):
    exchange(conversation, 10)
    conversation.summary = "They talked about the weather."
    conversation.summary_through_seq = 12
    context = build(conversation)
    assert all("weather" not in m.content for m in context.messages)
    assert context.summary_through_seq == 0


@pytest.mark.django_db
def test_it_ignores_the_summary_when_everything_fits(conversation, settings):
    settings.SUMMARIZE_DROPPED = True
    exchange(conversation, 2)
    conversation.summary = "They talked about the weather."
    conversation.summary_through_seq = 2
    context = build(conversation)
    assert context.from_seq == 1
    assert context.messages[0].content == "user 1"


@pytest.mark.django_db
def test_it_keeps_a_long_conversation_working(conversation, settings):
    settings.MODEL_CONTEXT_LENGTHS = {}  # smollm2's own 8192 tokens
    for n in range(300):
        add(conversation, "user", f"question {n} " + "lorem ipsum " * 40, tokens=None)
        add(conversation, "assistant", f"answer {n} " + "dolor sit amet " * 40, tokens=None)
    context = build_context(
        conversation, model=MODEL, max_output_tokens=1024, before_seq=conversation.next_seq()
    )
    assert context.tokens <= 8192 - 1024
    assert context.messages[-1].content.startswith("answer 299 ")
    assert context.messages[0].role == "user"
    assert context.from_seq > 500
    assert context.dropped == 600 - (len(context.messages))
