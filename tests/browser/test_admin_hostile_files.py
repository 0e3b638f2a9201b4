"""Hostile files run nothing in the admin: a transcript names them as text and shows images
only as the pixels they were re-encoded to, and opening a file on its own renders nothing
that could run (images under a sandboxing policy, everything else downloaded)."""

from __future__ import annotations

import io
import json
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, expect
from pypdf import PdfWriter
from pypdf.actions import JavaScript

from tests.browser.chat_page import live_app_with, open_chat
from tests.browser.live import LiveApp
from tests.fakes.script import Script

pytestmark = pytest.mark.browser

SCRIPT = "<script>window.__ran = true; alert('ran')</script>"
HOSTILE_NAME = '<img src=x onerror="window.__ran=true">.txt'


def polyglot_png() -> bytes:
    """A real PNG carrying HTML in a text chunk and after its end: re-encoding drops both."""
    out = io.BytesIO()
    Image.new("RGB", (24, 16), (250, 200, 0)).save(out, format="PNG")
    data = out.getvalue()
    text = b"Comment\x00" + SCRIPT.encode()
    chunk = struct.pack(">I", len(text)) + b"tEXt" + text
    chunk += struct.pack(">I", zlib.crc32(b"tEXt" + text))
    return data[:33] + chunk + data[33:] + b"<html>" + SCRIPT.encode() + b"</html>"


def pdf_with_javascript() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.add_open_action(JavaScript("app.alert('ran');"))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture
def seeing_model(tmp_path: Path) -> Iterator[LiveApp]:
    with live_app_with(tmp_path, MODEL_CAPABILITIES="openai:gpt-test=vision+pdf") as app:
        yield app


def upload(page: Page, base: str, name: str, data: bytes, mime: str) -> dict:
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        f"{base}/api/attachments",
        multipart={"file": {"name": name, "mimeType": mime, "buffer": data}},
        headers={"X-CSRFToken": csrf},
    )
    assert response.status == 201, response.text()
    return response.json()


def test_hostile_files_run_nothing_in_the_admin_or_on_their_own(page: Page, seeing_model: LiveApp):
    app = seeing_model
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    open_chat(page, app)  # the first account: a superuser
    files = [
        upload(page, app.url, "picture.png", polyglot_png(), "image/png"),
        upload(page, app.url, HOSTILE_NAME, f"<html>{SCRIPT}</html>".encode(), "text/html"),
        upload(page, app.url, "form.pdf", pdf_with_javascript(), "application/pdf"),
    ]
    assert SCRIPT.encode() not in page.request.get(app.url + files[0]["url"]).body()
    app.upstream.enqueue(Script(text="Seen.", tokens_per_second=200))
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    sent = page.request.post(
        f"{app.url}/api/chat",
        data=json.dumps(
            {
                "conversation": None,
                "content": "What are these?",
                "model": "openai:gpt-test",
                "attachments": [f["id"] for f in files],
            }
        ),
        headers={"X-CSRFToken": csrf, "Content-Type": "application/json"},
    )
    assert sent.status == 200, sent.text()
    start = next(line for line in sent.text().splitlines() if '"message.start"' in line)
    conversation = json.loads(start.removeprefix("data: "))["conversation"]

    page.goto(f"{app.url}/admin/chat/conversation/{conversation}/change/")
    listed = page.locator(".chat-files li")
    expect(listed).to_have_count(3)
    expect(listed.nth(1).get_by_role("link")).to_have_text(HOSTILE_NAME)
    image = listed.nth(0).locator("img")
    expect(image).to_have_js_property("complete", True)
    assert image.evaluate("img => img.naturalWidth") == 24
    page.wait_for_timeout(200)
    assert page.evaluate("window.__ran") is None

    # On their own: the image is shown under a sandbox; the others are downloads.
    response = page.goto(app.url + files[0]["url"])
    assert response.headers["content-security-policy"] == "default-src 'none'; sandbox"
    page.goto(f"{app.url}/admin/chat/conversation/{conversation}/change/")
    for hostile in files[1:]:
        with page.expect_download() as download:
            page.evaluate("url => { location.href = url }", app.url + hostile["url"])
        assert download.value.suggested_filename
    page.wait_for_timeout(200)
    assert dialogs == []
