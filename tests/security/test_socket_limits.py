"""Open sockets are capped per user and per client address; the rest are accepted and closed
at once with 4429, so the client sees why. (A real Daphne process: test_socket_limits_live.py.)"""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from chat.asgi import application
from chat.web import sockets
from tests.conftest import session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

SEND = {"type": "send", "conversation": None, "content": "hi", "model": "openai:gpt-test"}


async def open_socket(user, address: str = "198.51.100.7") -> tuple[WebsocketCommunicator, int]:
    """A socket as Daphne makes it; and the code it was closed with at once, or 0."""
    cookie = await sync_to_async(session_cookie)(user)
    ws = WebsocketCommunicator(
        application,
        "/ws/chat/",
        headers=[(b"origin", b"http://localhost"), (b"host", b"localhost"), (b"cookie", cookie)],
    )
    ws.scope["client"] = [address, 50000]
    connected, _ = await ws.connect()
    assert connected, "the handshake was refused"
    if await ws.receive_nothing(timeout=0.05):
        return ws, 0
    closed = await ws.receive_output()
    assert closed["type"] == "websocket.close"
    return ws, closed["code"]


async def test_a_user_gets_twenty_sockets_and_the_rest_are_closed_with_4429(alice, bob):
    open_ones = [await open_socket(alice) for _ in range(20)]
    assert [code for _, code in open_ones] == [0] * 20
    for _ in range(3):
        _, code = await open_socket(alice)
        assert code == sockets.TOO_MANY_SOCKETS

    # Nobody else is locked out, and the capped user's open sockets still work.
    bystander, code = await open_socket(bob, address="203.0.113.9")
    assert code == 0
    await bystander.send_json_to({"type": "resume", "message": 999_999, "offset": 0})
    assert (await bystander.receive_json_from())["code"] == "not_found"
    ws, _ = open_ones[0]
    await ws.send_json_to({"type": "resume", "message": 999_999, "offset": 0})
    assert (await ws.receive_json_from())["code"] == "not_found"

    # A closed socket gives its place back.
    await ws.disconnect()
    again, code = await open_socket(alice)
    assert code == 0
    for other, _ in open_ones[1:]:
        await other.disconnect()
    assert sockets.open_sockets.count(alice.pk) == 1
    await again.disconnect()


async def test_an_address_is_capped_across_users(alice, bob, settings):
    settings.MAX_SOCKETS_PER_ADDRESS = 5
    theirs = [await open_socket(alice) for _ in range(3)]
    his = [await open_socket(bob) for _ in range(3)]
    assert [code for _, code in theirs + his] == [0, 0, 0, 0, 0, sockets.TOO_MANY_SOCKETS]
    elsewhere, code = await open_socket(bob, address="203.0.113.9")
    assert code == 0
    assert sockets.open_sockets.count(address="198.51.100.7") == 5
    for ws, _ in [*theirs, *his[:2], (elsewhere, 0)]:
        await ws.disconnect()


async def test_a_cancelled_socket_gives_its_place_back(alice, settings):
    settings.MAX_SOCKETS_PER_USER = 1
    ws, code = await open_socket(alice)
    assert code == 0
    # As Daphne does with an application that outlives its connection.
    ws.future.cancel()
    await ws.wait()
    assert ws.future.cancelled()
    assert sockets.open_sockets.count(alice.pk) == 0
    _, code = await open_socket(alice)
    assert code == 0
