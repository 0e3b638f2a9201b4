"""Thousands of random frames, well-formed or not, never break a socket or the server: after
each batch the same socket still answers, and afterwards a new socket chats normally."""

from __future__ import annotations

import itertools
import json
import logging

import pytest
from asgiref.sync import async_to_sync
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chat.answers import catalog
from chat.models import Conversation, Message
from chat.web.requests import TYPES
from tests.conftest import assemble, connect, receive_until
from tests.fakes.script import Script

pytestmark = pytest.mark.django_db(transaction=True)

MODEL = "openai:gpt-test"
KNOWN_IDS: list[int] = []  # alice's and bob's messages and conversations, filled in below

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
ids = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=0, max_value=50),
    st.deferred(lambda: st.sampled_from(KNOWN_IDS)),
    json_values,
)
frames = st.fixed_dictionaries(
    {"type": st.sampled_from((*TYPES, "", "dance", "on_send", "__class__")) | json_values},
    optional={
        "conversation": ids,
        "message": ids,
        "offset": ids,
        "content": st.text(max_size=60) | json_values,
        "model": st.sampled_from([MODEL, "x:y", "", "openai:"]) | json_values,
        "models": st.lists(st.sampled_from([MODEL, "x:y"]), max_size=6) | json_values,
        "tools": st.lists(st.sampled_from(["current_time", "calculator", "rm"]), max_size=3)
        | json_values,
    },
)
raw_frames = st.one_of(
    frames.map(lambda f: ("text", json.dumps(f))),
    json_values.map(lambda v: ("text", json.dumps(v))),
    st.text(max_size=100).map(lambda t: ("text", t)),
    st.binary(max_size=100).map(lambda b: ("bytes", b)),
)


@pytest.fixture
def known(alice, bob):
    for owner in (alice, bob):
        conversation = Conversation.objects.create(owner=owner, model=MODEL)
        question = conversation.add_user_message("hi")
        answer = conversation.messages.create(
            role=Message.Role.ASSISTANT, text="Finished.", seq=2, reply_to=question, model=MODEL
        )
        KNOWN_IDS.extend([conversation.pk, question.pk, answer.pk])
    yield answer
    KNOWN_IDS.clear()


@pytest.fixture
def django_settings(settings):
    return settings  # hypothesis has a `settings` of its own


sentinels = itertools.count(1_000_000)


def on_its_own_loop(work):
    """``work`` on an event loop of its own, as each async_to_sync call is: the providers' HTTP
    clients, whose connection pools belong to the loop that made them, are closed on it at the
    end (in a server there is one loop; here a client left for the next loop fails to close)."""

    async def run(*args):
        catalog.providers.cache_clear()
        try:
            return await work(*args)
        finally:
            for provider in catalog.providers().values():
                if hasattr(provider, "aclose"):
                    await provider.aclose()
            catalog.providers.cache_clear()

    return run


async def send_batch(user, batch, probe_message: int) -> None:
    ws = await connect(user)
    for kind, raw in batch:
        # As the server would hand them over; send_to() refuses empty frames.
        await ws.send_input({"type": "websocket.receive", kind: raw})
    # A resume with an offset no random frame uses: its start frame marks the end of the batch.
    marker = next(sentinels)
    await ws.send_json_to({"type": "resume", "message": probe_message, "offset": marker})
    while True:
        frame = await ws.receive_json_from(timeout=30)
        if frame["type"] == "message.start" and frame["offset"] == marker:
            break
    assert (await ws.receive_json_from(timeout=30))["type"] == "message.end"
    await ws.disconnect()


def test_it_survives_thousands_of_random_frames(alice, known, upstream, caplog, django_settings):
    django_settings.FRAME_RATE_BURST = 10**9
    django_settings.MAX_CONCURRENT_GENERATIONS = 1000
    upstream.set_default(Script(text="Fuzzed."))
    sent = []

    @settings(
        max_examples=200,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.lists(raw_frames, min_size=20, max_size=40))
    def batch_of_frames(batch):
        sent.append(len(batch))
        async_to_sync(on_its_own_loop(send_batch))(bob_or_alice(len(sent)), batch, probe(len(sent)))

    users = [alice, known.conversation.owner]

    def bob_or_alice(n: int):
        return users[n % 2]

    def probe(n: int) -> int:
        return KNOWN_IDS[2] if n % 2 == 0 else KNOWN_IDS[5]

    with caplog.at_level(logging.ERROR):
        batch_of_frames()
    assert sum(sent) >= 4000

    async def chat_normally() -> list[dict]:
        upstream.enqueue(Script(text="Still fine after the fuzz."))
        ws = await connect(alice)
        await ws.send_json_to(
            {"type": "send", "conversation": None, "content": "hi", "model": MODEL}
        )
        got = await receive_until(ws, "message.end")
        await ws.disconnect()
        return got

    got = async_to_sync(on_its_own_loop(chat_normally))()
    assert got[-1]["status"] == "complete"
    assert assemble(got, got[0]["message"]) == "Still fine after the fuzz."
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
