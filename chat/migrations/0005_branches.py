"""Messages become trees: every user message points to the one before it on its branch
(``parent``), and ``chosen`` remembers which version of each place is chosen, while ``active``
keeps meaning "shown". An existing conversation is one branch: each user message's parent is
the user message before it, and what was shown is what was chosen."""

import django.db.models.deletion
from django.db import migrations, models

BATCH = 2000


def one_branch_each(apps, schema_editor):
    Message = apps.get_model("chat", "Message")
    Message.objects.filter(active=False).update(chosen=False)
    users = (
        Message.objects.filter(role="user")
        .order_by("conversation_id", "seq", "created_at", "pk")
        .values_list("pk", "conversation_id")
    )
    conversation, previous, pending = None, None, []
    for pk, conversation_id in users.iterator(chunk_size=BATCH):
        if conversation_id != conversation:
            conversation, previous = conversation_id, None
        if previous is not None:
            pending.append(Message(pk=pk, parent_id=previous))
        previous = pk
        if len(pending) >= BATCH:
            Message.objects.bulk_update(pending, ["parent"])
            pending = []
    if pending:
        Message.objects.bulk_update(pending, ["parent"])


def flatten(apps, schema_editor):
    """Back to one list: what is shown stays; the user messages of other branches go (the
    schema before had no place for them), and with them their answers."""
    Message = apps.get_model("chat", "Message")
    Message.objects.filter(role="user", active=False).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("chat", "0004_presets"),
    ]

    operations = [
        migrations.AddField(
            model_name='message',
            name='chosen',
            field=models.BooleanField(default=True, help_text='the version chosen in its place (of an answer, of an edit)'),
        ),
        migrations.AddField(
            model_name='message',
            name='parent',
            field=models.ForeignKey(blank=True, help_text='for a user message: the user message before it on its branch; the versions of an edited message share it', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='children', to='chat.message'),
        ),
        migrations.AlterField(
            model_name='message',
            name='active',
            field=models.BooleanField(default=True, help_text='shown and sent to the model: chosen, on the branch shown'),
        ),
        migrations.RunPython(one_branch_each, flatten),
    ]
