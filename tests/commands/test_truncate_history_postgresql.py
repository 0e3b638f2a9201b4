"""truncate_history on PostgreSQL, with real commits.

The ordinary tests run inside one transaction that is rolled back, so PostgreSQL never checks
its deferred foreign keys and never shows another session what a batch deleted. These run
with commits, when the suite runs with DATABASE_URL pointing at PostgreSQL (as CI does).
"""

from __future__ import annotations

import pytest
from django.db import connection, connections

from chat.models import Conversation, Message
from chat.review.truncation import apply_truncation, plan_truncation
from tests.commands.history import add, make_conversation, texts
from tests.commands.test_truncate_history_large import CONVERSATIONS, build, run

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="runs when DATABASE_URL points at PostgreSQL"
    ),
    pytest.mark.django_db(transaction=True),
]


def count_from_another_session() -> int:
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM chat_message")
            return cursor.fetchone()[0]
    finally:
        other.close()


def test_it_commits_each_batch_on_its_own(alice):
    make_conversation(alice, "Long", turns=15)
    plan = plan_truncation(Conversation.objects.all(), keep_last=0)
    seen = []
    apply_truncation(
        plan, batch_size=10, progress=lambda _: seen.append(count_from_another_session())
    )
    # Another session sees each batch gone as soon as it is done: no lock held for the run.
    assert seen == [20, 10, 0]


def test_it_satisfies_the_foreign_keys_whatever_the_batches(alice):
    conversations = [make_conversation(alice, f"Chat {n}", turns=6, first_day=40) for n in range(3)]
    for conversation in conversations:
        answer = conversation.messages.get(text="answer 1")
        add(
            conversation,
            "assistant",
            "retry",
            40,
            seq=answer.seq,
            active=False,
            reply_to=answer.reply_to,
        )
        call = {"id": f"call_{conversation.pk}", "name": "weather", "arguments": {}}
        add(conversation, "assistant", "", 40, tool_calls=[call])
        add(conversation, "tool", "-3 °C", 40, tool_call_id=call["id"])
    for batch_size in ("1", "3", "1000"):
        run("--keep-last", "6", "--older-than", "38", "--batch-size", batch_size)
    for conversation in conversations:
        assert texts(conversation)[:2] == ["question 3", "answer 3"]
    assert run("--keep-last", "6", "--older-than", "38").startswith("Deleted 0 messages")


def test_it_prunes_100000_messages_with_real_commits(django_user_model):
    owner = django_user_model.objects.create_user("alice", password="correct horse battery")
    build(owner)
    out = run("--keep-last", "10", "--batch-size", "5000")
    assert out == "Deleted 89,998 messages from 1,000 conversations, and 0 empty conversations.\n"
    assert count_from_another_session() == 10 * CONVERSATIONS + 2
    assert Message.objects.filter(status="streaming").count() == 1
