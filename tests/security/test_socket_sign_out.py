"""A socket does not outlive its sign-in: signing out closes that session's sockets,
deactivating the account or changing its password closes all of them (through the channel
layer's group, so on every process), and a frame that starts an answer first checks that the
session is still a valid sign-in. Each ends with a ``signed_out`` error frame, then 4401."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client

from chat.asgi import application
from chat.models import Message
from chat.web import sockets
from tests.conftest import connect
from tests.fakes.script import Script

pytestmark = pytest.mark.django_db(transaction=True)

SEND = {"type": "send", "conversation": None, "content": "hi", "model": "openai:gpt-test"}


def signed_in_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


async def socket_of(client: Client) -> WebsocketCommunicator:
    cookie = f"sessionid={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()
    ws = WebsocketCommunicator(
        application,
        "/ws/chat/",
        headers=[(b"origin", b"http://localhost"), (b"host", b"localhost"), (b"cookie", cookie)],
    )
    connected, _ = await ws.connect()
    assert connected
    return ws


async def assert_signed_out(ws: WebsocketCommunicator) -> None:
    frame = await ws.receive_json_from(timeout=5)
    assert frame == {"type": "error", "code": "signed_out", "detail": sockets.SIGNED_OUT_DETAIL}
    closed = await ws.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": sockets.SIGNED_OUT}


async def assert_still_open(ws: WebsocketCommunicator) -> None:
    await ws.send_json_to({"type": "resume", "message": 999_999, "offset": 0})
    assert (await ws.receive_json_from(timeout=5))["code"] == "not_found"


async def test_signing_out_closes_that_sessions_sockets(alice):
    laptop = await sync_to_async(signed_in_client)(alice)
    phone = await sync_to_async(signed_in_client)(alice)
    tabs = [await socket_of(laptop), await socket_of(laptop)]
    on_phone = await socket_of(phone)

    response = await sync_to_async(laptop.post)("/logout/")
    assert response.status_code == 302

    for tab in tabs:
        await assert_signed_out(tab)
    # Another session of the same user is still signed in; its socket stays.
    await assert_still_open(on_phone)
    await on_phone.disconnect()


async def test_deactivating_the_account_closes_all_its_sockets(alice, bob):
    tabs = [await connect(alice), await connect(alice)]
    bystander = await connect(bob)

    alice.is_active = False
    await sync_to_async(alice.save)()

    for tab in tabs:
        await assert_signed_out(tab)
    await assert_still_open(bystander)
    await bystander.disconnect()


async def test_changing_the_password_closes_all_its_sockets(alice, django_user_model):
    tab = await connect(alice)

    def change_password():
        user = django_user_model.objects.get(pk=alice.pk)  # loaded afresh, as a form does
        user.set_password("a new and different one")
        user.save()

    await sync_to_async(change_password)()
    await assert_signed_out(tab)


async def test_saving_the_user_otherwise_leaves_its_sockets_open(alice):
    tab = await connect(alice)
    alice.first_name = "Alice"
    await sync_to_async(alice.save)()
    await assert_still_open(tab)
    await tab.disconnect()


async def test_a_frame_that_starts_an_answer_checks_the_session_first(alice, upstream):
    # Deleted in the database: no signal tells the socket, the frame's check does.
    upstream.enqueue(Script(text="never"))
    tab = await connect(alice)
    await sync_to_async(Session.objects.all().delete)()

    await tab.send_json_to(SEND)
    await assert_signed_out(tab)
    assert list(upstream.requests) == []
    assert await Message.objects.acount() == 0


async def test_a_deactivation_that_no_signal_tells_is_caught_by_the_check(
    alice, upstream, django_user_model
):
    tab = await connect(alice)
    await django_user_model.objects.filter(pk=alice.pk).aupdate(is_active=False)
    await tab.send_json_to(SEND)
    await assert_signed_out(tab)
    assert list(upstream.requests) == []


async def test_a_password_changed_without_a_signal_is_caught_by_the_check(
    alice, upstream, django_user_model
):
    from django.contrib.auth.hashers import make_password

    tab = await connect(alice)
    new_hash = await sync_to_async(make_password)("another password entirely")
    await django_user_model.objects.filter(pk=alice.pk).aupdate(password=new_hash)
    await tab.send_json_to({"type": "regenerate", "message": 1})
    await assert_signed_out(tab)
    assert list(upstream.requests) == []


async def test_a_valid_session_passes_the_check(alice, upstream):
    upstream.enqueue(Script(text="Still signed in."))
    tab = await connect(alice)
    await tab.send_json_to(SEND)
    while (frame := await tab.receive_json_from(timeout=10))["type"] != "message.end":
        assert frame["type"] != "error", frame
    assert frame["status"] == "complete"
    await tab.disconnect()


async def test_a_sign_in_from_before_a_secret_key_rotation_still_passes(alice, upstream, settings):
    # As for a page: the old key, kept in SECRET_KEY_FALLBACKS, still verifies the session;
    # and the check changes nothing (a socket could not hand the browser a new cookie).
    upstream.enqueue(Script(text="Rotated."))
    tab = await connect(alice)
    keys = await sync_to_async(lambda: sorted(Session.objects.values_list("pk", flat=True)))()
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a new secret key " * 4
    await tab.send_json_to(SEND)
    while (frame := await tab.receive_json_from(timeout=10))["type"] != "message.end":
        assert frame["type"] != "error", frame
    await tab.disconnect()
    assert (
        await sync_to_async(lambda: sorted(Session.objects.values_list("pk", flat=True)))() == keys
    )
