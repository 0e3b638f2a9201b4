import pytest
from channels.testing import WebsocketCommunicator

from chat.asgi import application
from chat.models import Conversation
from tests.conftest import connect, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


async def test_it_refuses_an_anonymous_socket():
    ws = WebsocketCommunicator(application, "/ws/chat/", headers=[(b"origin", b"http://localhost")])
    connected, _ = await ws.connect()
    assert not connected


async def test_it_refuses_a_socket_from_a_foreign_origin(alice):
    from asgiref.sync import sync_to_async

    cookie = await sync_to_async(session_cookie)(alice)
    ws = WebsocketCommunicator(
        application,
        "/ws/chat/",
        headers=[(b"origin", b"https://evil.example"), (b"cookie", cookie)],
    )
    connected, _ = await ws.connect()
    assert not connected


async def test_it_refuses_to_write_to_another_users_conversation(alice, bob, upstream):
    theirs = await Conversation.objects.acreate(owner=alice, model="openai:gpt-test")
    ws = await connect(bob)
    await ws.send_json_to(
        {"type": "send", "conversation": theirs.pk, "content": "hi", "model": "openai:gpt-test"}
    )
    reply = await ws.receive_json_from(timeout=5)
    await ws.disconnect()
    assert reply == {"type": "error", "code": "not_found", "detail": "No such conversation"}
    assert await theirs.messages.acount() == 0
    assert list(upstream.requests) == []


async def test_a_socket_is_signed_in_by_its_session_cookie_in_one_copy_of_the_scope(alice):
    from asgiref.sync import sync_to_async
    from django.contrib.auth.models import AnonymousUser

    from chat.web.signed_in import SignedIn

    seen = []

    async def inner(scope, receive, send):
        seen.append(scope)

    cookie = await sync_to_async(session_cookie)(alice)
    for headers in ([(b"cookie", b"theme=dark; " + cookie)], [(b"cookie", b"sessionid=nope")], []):
        scope = {"type": "websocket", "headers": headers}
        await SignedIn(inner)(scope, None, None)
        assert scope == {"type": "websocket", "headers": headers}  # the caller's, untouched
    signed_in, forged, without = seen
    assert signed_in["user"].pk == alice.pk
    assert signed_in["session"].session_key == cookie.decode().split("=", 1)[1]
    assert isinstance(forged["user"], AnonymousUser) and isinstance(without["user"], AnonymousUser)
    assert without["session"].session_key is None
