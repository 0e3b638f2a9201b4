import json

import pytest

from tests.conftest import connect, receive_until
from tests.fakes.script import Script

pytestmark = pytest.mark.django_db(transaction=True)

BAD = [
    ("not json", "bad_frame"),
    ("[1, 2]", "bad_frame"),
    ('"send"', "bad_frame"),
    ('{"type": "dance"}', "unknown_type"),
    ('{"content": "no type"}', "unknown_type"),
    ('{"type": "send", "conversation": null, "model": "openai:gpt-test"}', "bad_frame"),
    (
        '{"type": "send", "conversation": null, "content": 5, "model": "openai:gpt-test"}',
        "bad_frame",
    ),
    (
        '{"type": "send", "conversation": "x", "content": "hi", "model": "openai:gpt-test"}',
        "bad_frame",
    ),
    (
        '{"type": "send", "conversation": null, "content": "hi", "model": "nope:nothing"}',
        "bad_model",
    ),
    ('{"type": "stop", "message": "1"}', "bad_frame"),
    ('{"type": "stop", "message": 999999}', "not_found"),
    ('{"type": "resume", "message": 999999, "offset": -1}', "bad_frame"),
    ('{"type": "resume", "message": 999999, "offset": 0}', "not_found"),
]


@pytest.mark.parametrize(("raw", "code"), BAD)
async def test_it_answers_a_bad_frame_with_an_error_and_keeps_the_socket(
    alice, upstream, raw, code
):
    ws = await connect(alice)
    await ws.send_to(text_data=raw)
    reply = await ws.receive_json_from(timeout=5)
    assert reply["type"] == "error"
    assert reply["code"] == code
    assert reply["detail"]

    upstream.enqueue(Script(text="still here"))
    await ws.send_json_to(
        {"type": "send", "conversation": None, "content": "hi", "model": "openai:gpt-test"}
    )
    frames = await receive_until(ws, "message.end")
    await ws.disconnect()
    assert frames[-1]["status"] == "complete"


async def test_it_refuses_a_message_over_the_maximum_length(alice, upstream, settings):
    settings.MAX_MESSAGE_CHARS = 10
    ws = await connect(alice)
    await ws.send_json_to(
        {"type": "send", "conversation": None, "content": "x" * 11, "model": "openai:gpt-test"}
    )
    reply = await ws.receive_json_from(timeout=5)
    await ws.disconnect()
    assert reply["code"] == "too_long"


async def test_it_refuses_a_frame_over_the_maximum_size(alice, upstream, settings):
    settings.MAX_FRAME_BYTES = 1024
    ws = await connect(alice)
    frame = {
        "type": "send",
        "conversation": None,
        "content": "x" * 2000,
        "model": "openai:gpt-test",
    }
    await ws.send_to(text_data=json.dumps(frame))
    reply = await ws.receive_json_from(timeout=5)
    await ws.disconnect()
    assert reply["code"] == "too_long"
