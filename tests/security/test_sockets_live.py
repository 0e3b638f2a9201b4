"""The origin check and the socket caps in a real Daphne process, served as `make run` serves
it, with real WebSocket clients: what a browser would see."""

from __future__ import annotations

import asyncio

import pytest
import websockets

from tests.fakes.upstream import FakeUpstream
from tests.processes.servers import Server, manage, server_env, sign_in


@pytest.fixture
def live(tmp_path):
    with FakeUpstream() as fake:
        env = server_env(
            tmp_path, fake.openai_base_url, MAX_SOCKETS_PER_USER="5", MAX_SOCKETS_PER_ADDRESS="8"
        )
        manage(env, "migrate", "--noinput")
        alice, _ = sign_in(env, "alice")
        bob, _ = sign_in(env, "bob")
        server = Server(env, tmp_path / "server.log").start()
        try:
            yield server, alice, bob
        finally:
            server.stop()
        assert "Traceback" not in (tmp_path / "server.log").read_text()


async def open_socket(server: Server, session: str, origin: str | None = None):
    return await websockets.connect(
        server.ws,
        additional_headers={"Cookie": f"sessionid={session}", "Origin": origin or server.http},
    )


async def answers(socket) -> bool:
    await socket.send('{"type": "resume", "message": 999999, "offset": 0}')
    return '"not_found"' in await asyncio.wait_for(socket.recv(), 10)


async def closed_with(socket) -> int:
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(socket.recv(), 10)
    return closed.value.rcvd.code


async def test_a_page_on_another_port_cannot_open_a_socket(live):
    server, alice, _ = live
    other_port = f"http://127.0.0.1:{server.port + 1}"
    with pytest.raises(websockets.InvalidStatus) as refused:
        await open_socket(server, alice, origin=other_port)
    assert refused.value.response.status_code == 403
    with pytest.raises(websockets.InvalidStatus):
        await open_socket(server, alice, origin=f"https://127.0.0.1:{server.port}")

    own = await open_socket(server, alice)
    assert await answers(own)
    await own.close()


async def test_sockets_over_the_caps_are_closed_with_4429(live):
    server, alice, bob = live
    hers = [await open_socket(server, alice) for _ in range(5)]
    sixth = await open_socket(server, alice)  # accepted, then closed: the code reaches it
    assert await closed_with(sixth) == 4429

    his = [await open_socket(server, bob) for _ in range(3)]  # 8 from 127.0.0.1 now
    fourth = await open_socket(server, bob)
    assert await closed_with(fourth) == 4429

    for socket in hers + his:
        assert await answers(socket)
    await hers.pop().close()
    again = await open_socket(server, bob)  # the place given back
    assert await answers(again)
    for socket in [*hers, *his, again]:
        await socket.close()
