"""Sign-out and deactivation close sockets on every process: two Daphne processes on
PostgreSQL and Redis, the sign-out posted to one, the deactivation saved by a third process
(`manage.py shell`), and each socket, wherever it is, told and closed with 4401."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
import websockets

from tests.fakes.upstream import FakeUpstream
from tests.processes.clients import Tab
from tests.processes.servers import Server, manage, running, server_env, sign_in

pytestmark = pytest.mark.services

DEACTIVATE = """
from django.contrib.auth import get_user_model
user = get_user_model().objects.get(username="bob")
user.is_active = False
user.save()
"""


async def closed_signed_out(tab: Tab) -> None:
    frame = await tab.receive(timeout=20)
    assert frame["type"] == "error" and frame["code"] == "signed_out"
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await tab.receive(timeout=20)
    assert closed.value.rcvd.code == 4401


async def sign_out(server: Server, session: str) -> None:
    cookies = {"sessionid": session}
    async with httpx.AsyncClient(base_url=server.http, cookies=cookies) as client:
        page = await client.get("/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        response = await client.post(
            "/logout/", data={"csrfmiddlewaretoken": token}, headers={"Origin": server.http}
        )
        assert response.status_code == 302


async def test_signing_out_and_deactivating_close_sockets_on_every_process(
    tmp_path,
    shared_services,
):
    database_url, redis_url = shared_services
    with FakeUpstream() as fake:
        env = server_env(
            tmp_path, fake.openai_base_url, DATABASE_URL=database_url, REDIS_URL=redis_url
        )
        manage(env, "migrate", "--noinput")
        alice, _ = sign_in(env, "alice")
        bob, _ = sign_in(env, "bob")
        a, b = Server(env, tmp_path / "a.log"), Server(env, tmp_path / "b.log")
        with running(a, b):
            hers = [await Tab.open(a.ws, alice), await Tab.open(b.ws, alice)]
            his = [await Tab.open(a.ws, bob), await Tab.open(b.ws, bob)]

            await sign_out(a, alice)
            for tab in hers:
                await closed_signed_out(tab)

            await asyncio.to_thread(manage, env, "shell", "-c", DEACTIVATE)
            for tab in his:
                await closed_signed_out(tab)
        for log in ("a.log", "b.log"):
            assert "Traceback" not in (tmp_path / log).read_text()
