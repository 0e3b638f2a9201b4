"""Every configured key is redacted, however short, and so are its URL- and base64-encoded
forms: a 7-character key used to reach error_detail, the admin transcript and the export."""

from __future__ import annotations

import base64
import io
import logging
from urllib.parse import quote

import pytest
from django.test import Client

from chat.models import Message
from chat.redaction import RedactSecrets, redact
from tests.conftest import connect, receive_until
from tests.fakes.script import Fault, Script

pytestmark = pytest.mark.django_db(transaction=True)

KEY = "k+y/7=&"  # seven characters, each encoding differs from the key itself


def forms(key: str) -> list[str]:
    b64 = base64.b64encode(key.encode()).decode()
    url_b64 = base64.urlsafe_b64encode(key.encode()).decode()
    return [key, quote(key, safe=""), b64, b64.rstrip("="), url_b64, url_b64.rstrip("=")]


def test_redact_replaces_a_short_key_and_each_encoded_form():
    text = " | ".join(forms(KEY))
    cleaned = redact(text, [KEY])
    for form in forms(KEY):
        assert form not in cleaned
    assert cleaned.count("[redacted]") == len(forms(KEY))


def test_an_empty_key_redacts_nothing():
    assert redact("nothing to hide", [""]) == "nothing to hide"


async def test_a_short_key_quoted_back_is_stored_nowhere(alice, upstream, settings, root):
    settings.OPENAI_API_KEY = KEY
    settings.PROVIDER_RETRIES = 0
    quoted = " ".join(forms(KEY))
    upstream.enqueue(Script(text="Hi.", fault=Fault.http(500, message=f"bad key: {quoted}")))
    ws = await connect(alice)
    await ws.send_json_to(
        {"type": "send", "conversation": None, "content": "hi", "model": "openai:gpt-test"}
    )
    frames = await receive_until(ws, "message.end")
    await ws.disconnect()
    assert frames[-1]["status"] == "failed"
    answer = await Message.objects.aget(role="assistant")
    assert "[redacted]" in answer.error_detail
    for form in forms(KEY):
        assert form not in answer.error_detail, form

    from asgiref.sync import sync_to_async

    def admin_pages() -> list[str]:
        client = Client()
        client.force_login(root)
        page = client.get(f"/admin/chat/conversation/{answer.conversation_id}/change/")
        export = client.post(
            "/admin/chat/conversation/",
            {"action": "export_json", "_selected_action": [answer.conversation_id]},
        )
        return [page.content.decode(), b"".join(export.streaming_content).decode()]

    for page in await sync_to_async(admin_pages)():
        assert "[redacted]" in page
        for form in forms(KEY)[1:]:  # the key itself is too short to look for in a whole page
            assert form not in page, form


def test_the_log_filter_redacts_a_short_key_and_its_forms(settings):
    settings.OPENAI_API_KEY = KEY
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets())
    logger = logging.getLogger("tests.security.short_keys")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("upstream said %s", " ".join(forms(KEY)))
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    for form in forms(KEY):
        assert form not in stream.getvalue()
