from __future__ import annotations

import pytest

from tests.admin.factories import make_conversation, make_staff

LIST = "/admin/chat/conversation/"
DASHBOARD = "/admin/chat/conversation/dashboard/"


def page(conversation):
    return f"/admin/chat/conversation/{conversation.pk}/change/"


@pytest.fixture
def conversation(alice):
    return make_conversation(alice)


@pytest.mark.django_db
def test_it_sends_people_who_are_not_staff_to_the_login(client, alice, conversation):
    client.force_login(alice)
    for url in (LIST, page(conversation), DASHBOARD):
        r = client.get(url)
        assert r.status_code == 302
        assert r["Location"].startswith("/admin/login/")


@pytest.mark.django_db
def test_it_refuses_staff_without_the_view_permission(client, django_user_model, conversation):
    client.force_login(make_staff(django_user_model, "helpdesk"))
    for url in (LIST, page(conversation), DASHBOARD):
        assert client.get(url).status_code == 403
    assert "Conversations" not in client.get("/admin/").content.decode()


@pytest.mark.django_db
def test_it_refuses_transcripts_to_staff_who_may_only_delete(
    client, django_user_model, conversation
):
    client.force_login(make_staff(django_user_model, "janitor", "delete_conversation"))
    r = client.get(page(conversation))
    assert r.status_code == 403
    assert b"What should I pack?" not in r.content


@pytest.mark.django_db
def test_it_shows_transcripts_to_staff_with_the_view_permission(
    client, django_user_model, conversation
):
    client.force_login(make_staff(django_user_model, "reviewer", "view_conversation"))
    r = client.get(page(conversation))
    assert r.status_code == 200
    assert b"What should I pack?" in r.content
    assert client.get(LIST).status_code == 200
    assert client.get(DASHBOARD).status_code == 200
    assert DASHBOARD.encode() in client.get("/admin/").content


@pytest.mark.django_db
def test_it_shows_transcripts_to_superusers(client, django_user_model, conversation):
    client.force_login(django_user_model.objects.create_superuser("root", password="x"))
    assert b"What should I pack?" in client.get(page(conversation)).content


@pytest.mark.django_db
def test_it_lets_nobody_edit_or_add(client, django_user_model, conversation):
    client.force_login(django_user_model.objects.create_superuser("root", password="x"))
    r = client.post(page(conversation), {"title": "Rewritten"})
    assert r.status_code == 403
    conversation.refresh_from_db()
    assert conversation.title == "Trip to Oslo"
    assert client.get("/admin/chat/conversation/add/").status_code == 403


@pytest.mark.django_db
def test_it_offers_actions_by_permission(client, django_user_model, conversation):
    client.force_login(make_staff(django_user_model, "reviewer", "view_conversation"))
    page = client.get(LIST).content.decode()
    assert 'value="export_json"' in page
    assert 'value="truncate_selected"' not in page
    r = client.post(LIST, {"action": "truncate_selected", "_selected_action": [conversation.pk]})
    assert conversation.messages.count() == 2
    assert r.status_code == 302  # back to the list, with "no action selected"
