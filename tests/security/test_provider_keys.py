"""A provider's key never reaches the browser, the stored errors, the logs or a page, even when
the provider's error message quotes it back."""

from __future__ import annotations

import io
import json
import logging

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from chat.models import Message
from tests.conftest import connect, receive_until
from tests.fakes.script import Fault, Script

pytestmark = pytest.mark.django_db(transaction=True)


def faults(key: str) -> dict[str, Fault]:
    return {
        "invalid key": Fault.invalid_key(),
        "invalid key, quoted back": Fault.http(401, message=f"Incorrect API key provided: {key}."),
        "server error quoting the key": Fault.http(500, message=f"upstream failed for key={key}"),
        "error event quoting the key": Fault.error_event(after=1, message=f"bad key {key}"),
        "rate limited": Fault.rate_limited(),
        "dropped": Fault.drop(after=1),
    }


def pages(message_ids: list[int], conversation_ids: list[int], admin) -> list[str]:
    client = Client()
    client.force_login(admin)
    html = [
        client.get(f"/admin/chat/conversation/{c}/change/").content.decode()
        for c in conversation_ids
    ]
    export = client.post(
        "/admin/chat/conversation/",
        {"action": "export_json", "_selected_action": conversation_ids},
    )
    html.append(b"".join(export.streaming_content).decode())
    owner = Client()
    owner.force_login(Message.objects.get(pk=message_ids[0]).conversation.owner)
    html += [owner.get(f"/c/{c}/").content.decode() for c in conversation_ids]
    return html


async def test_the_key_appears_in_no_frame_stored_error_log_or_page(
    alice, hosted, caplog, django_user_model
):
    caplog.set_level(logging.DEBUG)
    ws = await connect(alice)
    frames: list[dict] = []
    for name, fault in faults(hosted.key).items():
        hosted.fake.enqueue(Script(tokens=["Some ", "text ", "here."], fault=fault))
        await ws.send_json_to(
            {"type": "send", "conversation": None, "content": name, "model": hosted.model}
        )
        frames += await receive_until(ws, "message.end")
        assert frames[-1]["status"] == "failed", name
    await ws.disconnect()
    assert all(r.api_key == hosted.key for r in hosted.fake.requests)  # the key was used

    sent = json.dumps(frames)
    messages = [m async for m in Message.objects.filter(role="assistant")]
    stored = json.dumps([[m.text, m.error, m.error_detail] for m in messages])
    admin = await sync_to_async(django_user_model.objects.create_superuser)("root", password="x")
    html = await sync_to_async(pages)(
        [m.pk for m in messages], sorted({m.conversation_id for m in messages}), admin
    )

    assert hosted.key not in sent
    assert hosted.key not in stored
    assert hosted.key not in caplog.text
    for record in caplog.records:
        assert hosted.key not in record.getMessage()
    for page in html:
        assert hosted.key not in page
    # And the precise reasons are still there for the admin.
    assert any("401" in m.error_detail or "key" in m.error_detail.lower() for m in messages)


def test_the_log_handlers_write_a_key_that_slipped_through_as_redacted(settings):
    from chat.redaction import RedactSecrets

    key = "sk-CANARY-in-a-log-record-0123456789"
    settings.OPENAI_API_KEY = key
    configured = [
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, RedactSecrets) for f in h.filters)
    ]
    assert configured, "the console handler has no RedactSecrets filter"

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets())
    logger = logging.getLogger("tests.security.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("calling with %s", key)
        try:
            raise RuntimeError(f"refused {key}")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    written = stream.getvalue()
    assert key not in written
    assert written.count("[redacted]") == 2  # in the message, and in the traceback
