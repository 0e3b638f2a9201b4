from __future__ import annotations

from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count

from chat.models import Conversation, Message
from tests.commands.history import ago

CONVERSATIONS = 1000
TURNS = 50  # 100 messages each: 100,000 in all


def build(owner):
    """100,000 messages, made with bulk_create so that building them takes seconds."""
    conversations = Conversation.objects.bulk_create(
        Conversation(owner=owner, title=f"Chat {n}", model="local:smollm2", updated_at=ago(1))
        for n in range(CONVERSATIONS)
    )
    questions = Message.objects.bulk_create(
        (
            Message(
                conversation=c,
                role="user",
                text=f"question {turn}",
                seq=2 * turn + 1,
                created_at=ago(TURNS - turn),
            )
            for c in conversations
            for turn in range(TURNS)
        ),
        batch_size=5000,
    )
    Message.objects.bulk_create(
        (
            Message(
                conversation_id=q.conversation_id,
                role="assistant",
                text=f"answer to {q.text}",
                seq=q.seq + 1,
                reply_to=q,
                created_at=q.created_at,
                # The first conversation's oldest answer is still being written.
                status="streaming"
                if (q.conversation_id, q.seq) == (conversations[0].pk, 1)
                else "complete",
            )
            for q in questions
        ),
        batch_size=5000,
    )
    return conversations


def run(*args, **options):
    out = StringIO()
    call_command("truncate_history", *args, stdout=out, **options)
    return out.getvalue()


@pytest.mark.django_db
def test_it_prunes_100000_messages(django_user_model):
    owner = django_user_model.objects.create_user("alice", password="correct horse battery")
    conversations = build(owner)
    assert Message.objects.count() == 100_000

    dry = run("--keep-last", "10", "--dry-run").splitlines()
    assert Message.objects.count() == 100_000
    assert len(dry) == CONVERSATIONS + 1
    first, second = conversations[:2]
    assert dry[0] == (
        f'Would delete from conversation {first.pk} "Chat 0" (alice): '
        "88 messages (seq 3-90), 12 left."
    )
    assert dry[1] == (
        f'Would delete from conversation {second.pk} "Chat 1" (alice): '
        "90 messages (seq 1-90), 10 left."
    )
    assert dry[-1] == (
        "Would delete 89,998 messages from 1,000 conversations, and 0 empty conversations. "
        "Dry run: nothing was changed."
    )

    out = run("--keep-last", "10", "--batch-size", "2000")

    # 90 of each 100 go, but not the streaming answer nor the question it answers.
    assert out == "Deleted 89,998 messages from 1,000 conversations, and 0 empty conversations.\n"
    assert Message.objects.count() == 10_002
    sizes = Counter(
        Message.objects.values("conversation").annotate(n=Count("id")).values_list("n", flat=True)
    )
    assert sizes == {10: CONVERSATIONS - 1, 12: 1}
    assert Message.objects.filter(status="streaming").count() == 1
    kept = Message.objects.filter(conversation=conversations[1]).order_by("seq")
    assert list(kept.values_list("seq", flat=True)) == list(range(91, 101))

    assert run("--keep-last", "10") == (
        "Deleted 0 messages from 0 conversations, and 0 empty conversations.\n"
    )
