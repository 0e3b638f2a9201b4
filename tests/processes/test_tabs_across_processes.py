"""Two tabs of one user on two server processes sharing Redis: a message sent in the tab on
one is shown in the tab on the other, which follows its answer from the process writing it;
another user's tab on either hears nothing."""

from __future__ import annotations

import asyncio

import pytest

from tests.fakes.script import Script
from tests.fakes.upstream import FakeUpstream
from tests.processes.clients import Tab
from tests.processes.servers import Server, manage, running, server_env, sign_in

pytestmark = pytest.mark.services

SEND = {"type": "send", "conversation": None, "content": "Plan a day in Lisbon"}


async def test_a_message_sent_on_one_process_reaches_the_users_tab_on_the_other(
    tmp_path, shared_services
):
    database_url, redis_url = shared_services
    with FakeUpstream() as fake:
        fake.enqueue(Script(word_count=300, tokens_per_second=200))
        env = server_env(
            tmp_path, fake.openai_base_url, DATABASE_URL=database_url, REDIS_URL=redis_url
        )
        manage(env, "migrate", "--noinput")
        alice, _ = sign_in(env, "alice")
        bob, _ = sign_in(env, "bob")
        a, b = Server(env, tmp_path / "a.log"), Server(env, tmp_path / "b.log")
        with running(a, b):
            on_a, on_b = await Tab.open(a.ws, alice), await Tab.open(b.ws, alice)
            bobs = await Tab.open(b.ws, bob)
            await on_a.send({**SEND, "model": "openai:gpt-test"})
            start = await on_a.until("message.start")

            created = await on_b.receive()
            told = await on_b.receive()
            assert created["type"] == "conversation.created"
            assert created["conversation"] == start["conversation"]
            assert told["type"] == "conversation.message"
            assert told["message"]["text"] == SEND["content"]
            assert told["answers"] == [start["message"]]

            # The answer is written on A; the tab on B follows it from its start.
            await on_b.send({"type": "resume", "message": start["message"], "offset": 0})
            await on_a.until("message.end")
            end = await on_b.until("message.end")
            assert end["status"] == "complete"
            text = Script(word_count=300).answer_text()
            assert on_a.text[start["message"]] == on_b.text[start["message"]] == text

            # The sender heard no echo, and Bob nothing at all.
            for tab in (on_a, bobs):
                with pytest.raises(asyncio.TimeoutError):
                    await tab.receive(timeout=0.5)
            for tab in (on_a, on_b, bobs):
                await tab.close()
