"""Reviewing files in the admin: a transcript shows each message's files, linked to the view
only reviewers may open, and the dashboard what each user's files take."""

import io
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from chat import attachments
from chat.models import Attachment
from tests.admin.factories import make_conversation, make_staff

pytestmark = pytest.mark.django_db

TINY_TEXT = b"line one\nline two\n"


def uploaded(owner, name, data=TINY_TEXT):
    return attachments.keep(owner.pk, name, data)


def test_a_transcript_lists_a_messages_files_with_links_reviewers_may_open(
    client, root, alice, django_user_model
):
    conversation = make_conversation(alice)
    question = conversation.messages.filter(role="user").first()
    notes = uploaded(alice, "notes <b>.txt")
    question.attach([notes.pk])
    client.force_login(root)
    page = client.get(f"/admin/chat/conversation/{conversation.pk}/change/").content.decode()
    assert f'href="/attachments/{notes.pk}/"' in page
    assert "notes &lt;b&gt;.txt" in page and "<b>.txt" not in page
    assert "Text, 18" in page  # kind and size
    assert client.get(f"/attachments/{notes.pk}/").status_code == 200
    viewer = make_staff(django_user_model, "viewer", "view_conversation")
    client.force_login(viewer)
    assert client.get(f"/attachments/{notes.pk}/").status_code == 200


def test_the_dashboard_shows_what_each_users_files_take(client, root, alice, bob):
    uploaded(alice, "a.txt", b"a" * 3000)
    uploaded(alice, "again.txt", b"a" * 3000)  # the same bytes: stored once
    uploaded(alice, "b.txt", b"b" * 1000)
    uploaded(bob, "c.txt", b"c" * 10)
    client.force_login(root)
    page = client.get("/admin/chat/conversation/dashboard/").content.decode()
    table = re.search(r'<table id="file-storage">.*?</table>', page, re.S).group(0)
    rows = re.findall(r"<tr><td>(\w+)</td><td>(\d+)</td><td>([^<]+)</td></tr>", table)
    assert rows == [("alice", "3", "3.9\xa0KB"), ("bob", "1", "10\xa0bytes")]


def test_truncate_history_deletes_files_nothing_refers_to_and_abandoned_uploads(
    alice, attachment_storage, django_capture_on_commit_callbacks
):
    conversation = make_conversation(alice, days_ago=100)
    question = conversation.messages.filter(role="user").first()
    old_file = uploaded(alice, "old.txt", b"in an old message")
    question.attach([old_file.pk])
    abandoned = uploaded(alice, "abandoned.txt", b"never sent")
    fresh = uploaded(alice, "fresh.txt", b"being written")
    Attachment.objects.filter(pk=abandoned.pk).update(
        created_at=timezone.now() - timedelta(hours=30)
    )
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("truncate_history", "--older-than", "30", stdout=out)
    assert list(Attachment.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert "Deleted 2 files no message refers to any more." in out.getvalue()
    assert [p.name for p in attachment_storage.rglob("*") if p.is_file()] == [fresh.digest]
