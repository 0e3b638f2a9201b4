from __future__ import annotations

import subprocess
import sys
from io import StringIO
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command

from chat.models import Conversation, Message
from chat.review.truncation import apply_truncation, plan_truncation
from tests.commands.history import (
    add,
    ago,
    answers_with_reasoning,
    every_reasoning,
    make_conversation,
    reasoned,
    texts,
)

ROOT = Path(__file__).resolve().parents[2]


def run(*args, **options):
    out = StringIO()
    call_command("truncate_history", *args, stdout=out, **options)
    return out.getvalue()


@pytest.mark.django_db
def test_it_keeps_the_newest_messages_of_each_conversation(alice, bob):
    mine = make_conversation(alice, "Mine", turns=5)
    theirs = make_conversation(bob, "Theirs", turns=2)
    out = run("--keep-last", "3")
    # The newest three are "answer 3, question 4, answer 4"; answer 3 keeps its question.
    assert texts(mine) == ["question 3", "answer 3", "question 4", "answer 4"]
    assert texts(theirs) == ["question 0", "answer 0", "question 1", "answer 1"]
    assert out == "Deleted 6 messages from 1 conversation, and 0 empty conversations.\n"


@pytest.mark.django_db
def test_it_deletes_messages_and_empty_conversations_older_than_days(alice):
    mixed = make_conversation(alice, "Mixed", turns=4, first_day=40)  # days 40, 39, 38, 37
    add(mixed, "user", "recent question", 1)
    old = make_conversation(alice, "Old", turns=2, first_day=50)
    never_used = Conversation.objects.create(owner=alice, title="Empty", updated_at=ago(60))
    fresh_empty = Conversation.objects.create(owner=alice, title="New and empty")

    out = run("--older-than", "38")

    assert texts(mixed) == ["question 3", "answer 3", "recent question"]
    assert not Conversation.objects.filter(pk__in=[old.pk, never_used.pk]).exists()
    assert Conversation.objects.filter(pk=fresh_empty.pk).exists()
    assert out == "Deleted 10 messages from 1 conversation, and 2 empty conversations.\n"


@pytest.mark.django_db
def test_it_deletes_only_what_both_rules_say_when_given_both(alice):
    conversation = make_conversation(alice, "Both", turns=6, first_day=40)  # days 40 … 35
    run("--keep-last", "10", "--older-than", "30")
    assert len(texts(conversation)) == 10
    run("--keep-last", "2", "--older-than", "38")
    assert texts(conversation) == [
        f"{kind} {turn}" for turn in (3, 4, 5) for kind in ("question", "answer")
    ]


@pytest.mark.django_db
def test_it_only_touches_the_named_user(alice, bob):
    mine = make_conversation(alice, "Mine", turns=3)
    theirs = make_conversation(bob, "Theirs", turns=3)
    run("--keep-last", "0", "--user", "bob")
    assert len(texts(mine)) == 6
    assert texts(theirs) == []


@pytest.mark.django_db
def test_it_only_touches_the_named_conversations(alice):
    first = make_conversation(alice, "First", turns=2)
    second = make_conversation(alice, "Second", turns=2)
    third = make_conversation(alice, "Third", turns=2)
    run("--keep-last", "0", "--conversation", str(first.pk), "--conversation", str(third.pk))
    assert [len(texts(c)) for c in (first, second, third)] == [0, 4, 0]


@pytest.mark.django_db
def test_it_changes_nothing_on_a_dry_run_and_prints_exactly_what_would_go(alice, bob):
    mine = make_conversation(alice, "Trip to Oslo", turns=4)
    old = make_conversation(bob, "Old", turns=1, first_day=90)
    before = Message.objects.count()

    dry = run("--older-than", "30", "--dry-run")

    assert Message.objects.count() == before
    assert Conversation.objects.count() == 2
    assert dry.splitlines() == [
        f'Would delete conversation {old.pk} "Old" (bob): left empty, 2 messages.',
        "Would delete 2 messages from 0 conversations, and 1 empty conversation. "
        "Dry run: nothing was changed.",
    ]
    dry = run("--keep-last", "3", "--dry-run")
    assert dry.splitlines() == [
        f'Would delete from conversation {mine.pk} "Trip to Oslo" (alice): '
        "4 messages (seq 1-4), 4 left.",
        "Would delete 4 messages from 1 conversation, and 0 empty conversations. "
        "Dry run: nothing was changed.",
    ]
    assert Message.objects.count() == before

    # The real run deletes exactly that, and says the same at --verbosity 2.
    real = run("--keep-last", "3", verbosity=2)
    assert real.splitlines()[0] == dry.splitlines()[0].replace("Would delete", "Deleted")
    assert list(mine.messages.values_list("seq", flat=True).order_by("seq")) == [5, 6, 7, 8]


@pytest.mark.django_db
def test_it_prints_a_summary_per_user_at_verbosity_2(alice, bob):
    make_conversation(alice, "A1", turns=3)
    make_conversation(alice, "A2", turns=3)
    make_conversation(bob, "B1", turns=1, first_day=90)
    out = run("--older-than", "1", "--dry-run", verbosity=2)
    assert "alice: 2 conversations truncated, 0 empty conversations deleted; would lose " in out
    assert "would lose 8 messages." in out
    assert "bob: 0 conversations truncated, 1 empty conversation deleted; would lose 2" in out


@pytest.mark.django_db
def test_it_is_quiet_at_verbosity_0(alice):
    make_conversation(alice, "Chat", turns=3)
    assert run("--keep-last", "1", verbosity=0) == ""
    assert Message.objects.count() == 2


@pytest.mark.django_db
def test_it_is_idempotent(alice, bob):
    make_conversation(alice, "Mine", turns=6, first_day=40)
    conversation = make_conversation(bob, "Tools", turns=2, first_day=50)
    call = {"id": "call_1", "name": "weather", "arguments": {}}
    add(conversation, "assistant", "", 2, tool_calls=[call])
    add(conversation, "tool", "-3 °C", 50, tool_call_id="call_1")  # an old result of a new call
    run("--keep-last", "3", "--older-than", "30")
    left = list(Message.objects.order_by("pk").values_list("pk", flat=True))
    out = run("--keep-last", "3", "--older-than", "30")
    assert out == "Deleted 0 messages from 0 conversations, and 0 empty conversations.\n"
    assert list(Message.objects.order_by("pk").values_list("pk", flat=True)) == left


@pytest.mark.django_db
def test_it_never_touches_a_message_being_written(alice):
    conversation = make_conversation(alice, "Busy", turns=3, first_day=60)
    question = conversation.messages.get(text="question 0")
    for status in (Message.Status.PENDING, Message.Status.STREAMING):
        add(conversation, "assistant", f"{status} answer", 60, reply_to=question, status=status)
    run("--keep-last", "0", "--older-than", "30")
    # The question of a live answer stays too: deleting it would delete the answer with it.
    assert texts(conversation) == ["question 0", "pending answer", "streaming answer"]
    assert Conversation.objects.filter(pk=conversation.pk).exists()


@pytest.mark.django_db
def test_it_keeps_the_system_prompt_and_the_summary(alice):
    conversation = make_conversation(
        alice,
        "Summarized",
        turns=3,
        first_day=60,
        system_prompt="Be brief.",
        summary="They talked about Oslo.",
        summary_through_seq=4,
    )
    add(conversation, "system", "Answer in French.", 60, seq=1)
    run("--keep-last", "0")
    conversation.refresh_from_db()
    assert texts(conversation) == ["Answer in French."]
    assert conversation.system_prompt == "Be brief."
    assert conversation.summary == "They talked about Oslo."
    assert conversation.summary_through_seq == 4


@pytest.mark.django_db
def test_it_keeps_the_versions_of_a_kept_answer(alice):
    conversation = make_conversation(alice, "Regenerated", turns=2, first_day=40)
    answer = conversation.messages.get(text="answer 1")
    add(
        conversation,
        "assistant",
        "answer 1, first try",
        40,
        seq=answer.seq,
        active=False,
        reply_to=answer.reply_to,
    )
    run("--keep-last", "1")
    assert texts(conversation) == ["question 1", "answer 1", "answer 1, first try"]


@pytest.mark.django_db
def test_it_deletes_the_versions_of_a_deleted_answer(alice):
    conversation = make_conversation(alice, "Regenerated", turns=2, first_day=40)
    answer = conversation.messages.get(text="answer 0")
    add(
        conversation,
        "assistant",
        "answer 0, second try",
        1,
        seq=answer.seq,
        active=False,
        reply_to=answer.reply_to,
    )
    run("--older-than", "30")
    assert texts(conversation) == []


@pytest.mark.django_db
def test_it_keeps_a_tool_call_with_its_result(alice):
    conversation = make_conversation(alice, "Tools", turns=1, first_day=40)
    call = {"id": "call_1", "name": "weather", "arguments": {"city": "Oslo"}}
    add(conversation, "assistant", "", 40, tool_calls=[call])
    add(conversation, "tool", "-3 °C", 40, tool_call_id="call_1")
    add(conversation, "assistant", "It is cold.", 40)
    run("--keep-last", "2")
    assert texts(conversation) == ["", "-3 °C", "It is cold."]


@pytest.mark.django_db
def test_it_deletes_in_batches(alice):
    make_conversation(alice, "Long", turns=30)
    out = run("--keep-last", "0", "--batch-size", "7")
    assert out.endswith("Deleted 60 messages from 1 conversation, and 0 empty conversations.\n")
    assert Message.objects.count() == 0


@pytest.mark.django_db
def test_it_uses_one_transaction_per_batch(alice, monkeypatch):
    from django.db import transaction

    from chat.review import truncation

    make_conversation(alice, "Long", turns=10)
    batches = []
    real_atomic = transaction.atomic

    def counting_atomic(*args, **kwargs):
        batches.append(Message.objects.count())
        return real_atomic(*args, **kwargs)

    monkeypatch.setattr(truncation, "transaction", SimpleNamespace(atomic=counting_atomic))
    run("--keep-last", "0", "--batch-size", "6")
    # 20 messages in batches of 6: four transactions, each starting where the last stopped.
    assert batches == [20, 14, 8, 2]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "Say what to keep: --keep-last N, --older-than DAYS, or both."),
        (("--keep-last", "-1"), "argument --keep-last: must be at least 0, not '-1'"),
        (("--keep-last", "ten"), "argument --keep-last: must be a whole number, not 'ten'"),
        (("--older-than", "0"), "argument --older-than: must be at least 1, not '0'"),
        (("--keep-last", "1", "--batch-size", "0"), "argument --batch-size: must be at least 1"),
        (("--keep-last", "1", "--user", "nobody"), "No user named 'nobody'."),
        (("--keep-last", "1", "--conversation", "999"), "No conversation with id 999."),
    ],
)
@pytest.mark.django_db
def test_it_refuses_bad_arguments(alice, args, message):
    make_conversation(alice, "Untouched", turns=2)
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run(*args)
    assert Message.objects.count() == 4


@pytest.mark.django_db
def test_it_refuses_a_conversation_of_another_user(alice, bob):
    theirs = make_conversation(bob, "Theirs", turns=1)
    with pytest.raises(CommandError, match=f"No conversation of alice with id {theirs.pk}."):
        run("--keep-last", "0", "--user", "alice", "--conversation", str(theirs.pk))
    assert len(texts(theirs)) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "Say what to keep"),
        (["--keep-last", "-3"], "argument --keep-last: must be at least 0, not '-3'"),
    ],
)
def test_it_exits_non_zero_with_a_clear_message(args, message, tmp_path):
    # Through manage.py, as an operator runs it; the database is never reached.
    result = subprocess.run(
        [sys.executable, "manage.py", "truncate_history", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "VAR_DIR": str(tmp_path), "DATABASE_URL": ""},
        timeout=60,
    )
    assert result.returncode != 0
    assert message in result.stderr
    assert result.stdout == ""


@pytest.mark.django_db
def test_it_keeps_what_changed_after_the_plan_was_made(alice):
    conversation = make_conversation(alice, "Busy", turns=3, first_day=40)
    plan = plan_truncation(Conversation.objects.all(), keep_last=0)
    # Meanwhile: an old answer is being continued, and an old question gets a new answer.
    conversation.messages.filter(text="answer 0").update(status=Message.Status.STREAMING)
    question = conversation.messages.get(text="question 1")
    add(conversation, "assistant", "a new answer", reply_to=question)

    result = apply_truncation(plan)

    assert texts(conversation) == ["question 0", "answer 0", "question 1", "a new answer"]
    assert result.messages == 3  # answer 1, question 2 and answer 2, of the 6 planned


@pytest.mark.django_db
def test_it_deletes_an_answers_reasoning_with_it_and_keeps_a_kept_ones_whole(alice):
    conversation = make_conversation(alice, "Reasoned", turns=4, reasoning=True)
    before = answers_with_reasoning(conversation)
    run("--keep-last", "3")
    # answer 2 stays for being among the newest three, and keeps its question.
    assert answers_with_reasoning(conversation) == before[2:]
    assert answers_with_reasoning(conversation)[1] == {"text": "answer 3", **reasoned(3)}
    assert every_reasoning() == ["reasoning 2", "reasoning 3"]


@pytest.mark.django_db
def test_it_keeps_or_deletes_each_versions_reasoning_with_that_version(alice):
    conversation = make_conversation(alice, "Regenerated", turns=2, first_day=40, reasoning=True)
    for turn in (0, 1):
        answer = conversation.messages.get(text=f"answer {turn}")
        add(
            conversation,
            "assistant",
            f"answer {turn}, first try",
            40,
            seq=answer.seq,
            active=False,
            reply_to=answer.reply_to,
            **{**reasoned(turn + 10), "reasoning": f"first try's reasoning {turn}"},
        )
    before = answers_with_reasoning(conversation)
    run("--keep-last", "1")
    assert answers_with_reasoning(conversation) == before[2:]
    assert every_reasoning() == ["first try's reasoning 1", "reasoning 1"]


@pytest.mark.django_db
def test_it_keeps_a_tool_calls_reasoning_state_with_the_call_and_its_result(alice):
    conversation = make_conversation(alice, "Tools", turns=1, first_day=40)
    call = {"id": "call_1", "name": "weather", "arguments": {"city": "Oslo"}}
    # The state the provider needs back in the next request of the loop (Anthropic's signed
    # thinking block, Gemini's thought signature): it lives on the answer that made the call.
    add(conversation, "assistant", "", 40, tool_calls=[call], **reasoned(7))
    add(conversation, "tool", "-3 °C", 40, tool_call_id="call_1")
    add(conversation, "assistant", "It is cold.", 40)
    run("--keep-last", "2")
    calling, after = answers_with_reasoning(conversation)  # answer 0 went, and its question
    assert calling == {"text": "", **reasoned(7)}
    assert after["text"] == "It is cold."
    run("--keep-last", "0")
    assert every_reasoning() == []
    assert not Message.objects.exclude(reasoning_state=None).exists()
