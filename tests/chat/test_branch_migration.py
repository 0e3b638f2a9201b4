"""The migration to branches: conversations stored before it become single-branch trees, with
nothing lost and what was shown still shown. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BEFORE = [("chat", "0004_presets")]
AFTER = [("chat", "0005_branches")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def old_schema():
    apps = migrate(BEFORE)
    yield apps
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_existing_conversations_become_one_branch_each(old_schema, django_user_model):
    User = old_schema.get_model("auth", "User")
    Conversation = old_schema.get_model("chat", "Conversation")
    Message = old_schema.get_model("chat", "Message")
    owner = User.objects.create(username="before")
    made = {}
    for name in ("one", "two"):
        c = Conversation.objects.create(owner=owner, title=name, model="local:m")
        q1 = Message.objects.create(conversation=c, role="user", text=f"{name} Q1", seq=1)
        Message.objects.create(
            conversation=c, role="assistant", text="first try", seq=2, reply_to=q1, active=False
        )
        a1 = Message.objects.create(
            conversation=c, role="assistant", text=f"{name} A1", seq=2, reply_to=q1
        )
        q2 = Message.objects.create(conversation=c, role="user", text=f"{name} Q2", seq=3)
        call = {"id": "c1", "name": "calculator", "arguments": {}}
        a2 = Message.objects.create(
            conversation=c, role="assistant", text="", seq=4, reply_to=q2, tool_calls=[call]
        )
        Message.objects.create(
            conversation=c, role="tool", text="2", seq=5, reply_to=a2, tool_call_id="c1"
        )
        Message.objects.create(
            conversation=c, role="assistant", text=f"{name} A2", seq=6, reply_to=q2
        )
        made[name] = (c.pk, q1.pk, a1.pk, q2.pk)
    before = sorted(Message.objects.values_list("pk", "text", "seq", "active"))

    apps = migrate(AFTER)
    Message = apps.get_model("chat", "Message")
    after = sorted(Message.objects.values_list("pk", "text", "seq", "active"))
    assert after == before  # nothing lost, nothing else shown
    for conversation, q1, _a1, q2 in made.values():
        rows = Message.objects.filter(conversation_id=conversation)
        assert rows.get(pk=q1).parent_id is None
        assert rows.get(pk=q2).parent_id == q1  # its own conversation's, not the other's
        assert sorted(rows.order_by().values_list("active", "chosen").distinct()) == [
            (False, False),
            (True, True),
        ]

    # The current models read the migrated rows as one branch, and can branch them.
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    from chat.models import Conversation as Current
    from chat.models import Message as CurrentMessage

    conversation, q1, a1, q2 = made["one"]
    current = Current.objects.get(pk=conversation)
    assert current.branch_shown() == {q1, q2}
    current.show_chosen_branch()
    assert [m.text for m in current.current_messages()] == [
        "one Q1",
        "one A1",
        "one Q2",
        "",
        "2",
        "one A2",
    ]
    edited = current.add_edit(CurrentMessage.objects.get(pk=q2), "one Q2, edited")
    assert [m.text for m in current.current_messages()] == ["one Q1", "one A1", "one Q2, edited"]
    assert edited.parent_id == q1
