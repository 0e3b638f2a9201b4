"""Each frame type with missing, wrongly typed or out-of-range fields gets a clear error frame
and the socket stays open. (Not JSON, not an object, unknown types, the message and frame size
limits: tests/chat/test_bad_frames.py.)"""

from __future__ import annotations

import json

import pytest

from tests.conftest import connect, receive_until
from tests.fakes.script import Script

pytestmark = pytest.mark.django_db(transaction=True)

MODEL = "openai:gpt-test"
TOO_BIG = 2**63  # past every database's integer

BAD = [
    ({"type": "send", "conversation": None, "content": "hi"}, "bad_frame"),
    ({"type": "send", "conversation": None, "content": "   ", "model": MODEL}, "bad_frame"),
    ({"type": "send", "conversation": None, "content": ["hi"], "model": MODEL}, "bad_frame"),
    ({"type": "send", "conversation": True, "content": "hi", "model": MODEL}, "bad_frame"),
    ({"type": "send", "conversation": -3, "content": "hi", "model": MODEL}, "bad_frame"),
    ({"type": "send", "conversation": 1.5, "content": "hi", "model": MODEL}, "bad_frame"),
    ({"type": "send", "conversation": TOO_BIG, "content": "hi", "model": MODEL}, "not_found"),
    ({"type": "send", "conversation": None, "content": "hi", "model": 7}, "bad_frame"),
    ({"type": "send", "conversation": None, "content": "hi", "models": MODEL}, "bad_frame"),
    ({"type": "send", "conversation": None, "content": "hi", "models": []}, "bad_frame"),
    ({"type": "send", "conversation": None, "content": "hi", "models": [MODEL] * 5}, "bad_frame"),
    ({"type": "send", "conversation": None, "content": "hi", "models": [MODEL, 1]}, "bad_frame"),
    ({"type": "send", "conversation": None, "content": "hi", "models": ["x:y"]}, "bad_model"),
    (
        {"type": "send", "conversation": None, "content": "hi", "model": MODEL, "tools": "all"},
        "bad_frame",
    ),
    (
        {"type": "send", "conversation": None, "content": "hi", "model": MODEL, "tools": ["rm"]},
        "bad_frame",
    ),
    ({"type": "stop"}, "bad_frame"),
    ({"type": "stop", "message": None}, "bad_frame"),
    ({"type": "stop", "message": 0}, "bad_frame"),
    ({"type": "stop", "message": TOO_BIG}, "not_found"),
    ({"type": "resume", "message": 1, "offset": "0"}, "bad_frame"),
    ({"type": "resume", "message": 1, "offset": False}, "bad_frame"),
    ({"type": "resume", "message": 1, "offset": 1.0}, "bad_frame"),
    ({"type": "resume", "message": TOO_BIG, "offset": TOO_BIG}, "not_found"),
    ({"type": "regenerate"}, "bad_frame"),
    ({"type": "regenerate", "message": "last"}, "bad_frame"),
    ({"type": "regenerate", "message": 999999, "model": 5}, "not_found"),
    ({"type": "regenerate", "message": TOO_BIG}, "not_found"),
    ({"type": "continue", "message": [1]}, "bad_frame"),
    ({"type": "continue", "message": TOO_BIG}, "not_found"),
    ({"type": "select_version", "message": {"id": 1}}, "bad_frame"),
    ({"type": "select_version", "message": TOO_BIG}, "not_found"),
    ({"type": None}, "unknown_type"),
    ({"type": ["send"]}, "unknown_type"),
    ({"type": "SEND"}, "unknown_type"),
    ({"type": "on_send"}, "unknown_type"),
    ({"type": "__init__"}, "unknown_type"),
]


@pytest.mark.parametrize(("frame", "code"), BAD, ids=lambda v: json.dumps(v)[:60])
async def test_it_answers_a_bad_field_with_a_clear_error(alice, upstream, frame, code):
    ws = await connect(alice)
    await ws.send_to(text_data=json.dumps(frame))
    reply = await ws.receive_json_from(timeout=5)
    assert reply["type"] == "error"
    assert reply["code"] == code
    assert reply["detail"]

    upstream.enqueue(Script(text="still here"))
    await ws.send_json_to({"type": "send", "conversation": None, "content": "hi", "model": MODEL})
    frames = await receive_until(ws, "message.end")
    await ws.disconnect()
    assert frames[-1]["status"] == "complete"


async def test_it_answers_binary_frames(alice, upstream):
    ws = await connect(alice)
    for raw in (b"\xff\xfe\x00garbage", json.dumps({"type": "stop", "message": 999999}).encode()):
        await ws.send_to(bytes_data=raw)
        reply = await ws.receive_json_from(timeout=5)
        assert reply["type"] == "error"
    await ws.disconnect()


async def test_it_counts_the_frame_size_in_bytes_not_characters(alice, upstream, settings):
    settings.MAX_FRAME_BYTES = 4096
    ws = await connect(alice)
    frame = {"type": "send", "conversation": None, "content": "🌍" * 2000, "model": MODEL}
    raw = json.dumps(frame, ensure_ascii=False)
    assert len(raw) < 4096 < len(raw.encode())
    await ws.send_to(text_data=raw)
    reply = await ws.receive_json_from(timeout=5)
    await ws.disconnect()
    assert reply["code"] == "too_long"
