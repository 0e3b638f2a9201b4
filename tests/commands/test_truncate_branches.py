"""truncate_history and branches: a branch not shown goes or stays with the place it starts
from, and no reply or branch is left without what it follows. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from django.utils import timezone

from chat.models import Conversation, Message
from chat.review.truncation import apply_truncation, plan_truncation
from tests.commands.history import ago

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def answer(conversation, question, text, days_ago, **fields):
    return Message.objects.create(
        conversation=conversation,
        role="assistant",
        text=text,
        seq=conversation.next_seq(),
        reply_to=question,
        created_at=ago(days_ago),
        **fields,
    )


def ask(conversation, text, days_ago):
    message = conversation.add_user_message(text)
    Message.objects.filter(pk=message.pk).update(created_at=ago(days_ago))
    return message


def branched(owner):
    """Q0 A0, Q1 A1, Q2 A2 (all 40 days old), then Q1 edited into P1 B1, P2 B2 (new), the
    branch shown."""
    conversation = Conversation.objects.create(owner=owner, title="Branched", model="local:m")
    Conversation.objects.filter(pk=conversation.pk).update(updated_at=ago(40))
    q0 = ask(conversation, "Q0", 40)
    answer(conversation, q0, "A0", 40)
    q1 = ask(conversation, "Q1", 40)
    answer(conversation, q1, "A1", 40)
    q2 = ask(conversation, "Q2", 40)
    answer(conversation, q2, "A2", 40)
    p1 = conversation.add_edit(q1, "P1")
    answer(conversation, p1, "B1", 0)
    p2 = ask(conversation, "P2", 0)
    answer(conversation, p2, "B2", 0)
    return conversation


def left(conversation) -> list[str]:
    return list(conversation.messages.order_by("seq", "pk").values_list("text", flat=True))


def shown(conversation) -> list[str]:
    return [m.text for m in Conversation.objects.get(pk=conversation.pk).current_messages()]


def prune(**rules):
    plan = plan_truncation(Conversation.objects.all(), **rules)
    apply_truncation(plan)
    return plan


def test_an_old_branch_stays_with_the_place_it_starts_from(alice):
    conversation = branched(alice)
    assert shown(conversation) == ["Q0", "A0", "P1", "B1", "P2", "B2"]
    # Keeping the newest four messages shown keeps P1 B1 P2 B2: the place of Q1 and P1 stays,
    # and with it the old branch that starts there, however old.
    prune(keep_last=4)
    assert left(conversation) == ["Q1", "P1", "A1", "Q2", "A2", "B1", "P2", "B2"]
    assert shown(conversation) == ["P1", "B1", "P2", "B2"]
    # A second run deletes nothing.
    assert prune(keep_last=4).messages == 0


def test_a_branch_goes_with_the_place_it_starts_from(alice):
    conversation = branched(alice)
    prune(keep_last=2)
    assert left(conversation) == ["P2", "B2"]
    assert shown(conversation) == ["P2", "B2"]


def test_older_than_dates_a_branch_by_where_it_starts(alice):
    conversation = branched(alice)
    # The old branch is older than the cutoff, but the place it starts from holds P1, which is
    # not: both versions stay, and so does the branch.
    prune(cutoff=timezone.now() - timezone.timedelta(days=30))
    assert left(conversation) == ["Q1", "P1", "A1", "Q2", "A2", "B1", "P2", "B2"]
    # Everything older than a day ago once the branch shown is old too.
    Message.objects.filter(conversation=conversation).update(created_at=ago(35))
    prune(cutoff=timezone.now() - timezone.timedelta(days=30))
    assert left(conversation) == []


def test_a_branch_being_written_keeps_its_start(alice):
    conversation = branched(alice)
    Message.objects.filter(text="A2").update(status=Message.Status.STREAMING)
    prune(keep_last=0)
    # A2 is still being written on the old branch: its question, the branch up to it and the
    # place it starts from stay; nothing is left without what it follows.
    assert left(conversation) == ["Q1", "P1", "A1", "Q2", "A2"]
    remaining = Message.objects.filter(conversation=conversation)
    ids = set(remaining.values_list("pk", flat=True))
    for message in remaining:
        assert message.reply_to_id is None or message.reply_to_id in ids
        assert message.parent_id is None or message.parent_id in ids


def test_switching_after_pruning_still_shows_a_whole_branch(alice):
    conversation = branched(alice)
    prune(keep_last=4)
    q1 = conversation.messages.get(text="Q1")
    q1.make_current()
    assert shown(conversation) == ["Q1", "A1", "Q2", "A2"]
