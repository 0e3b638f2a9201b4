"""The files of a message reach each provider's model over its real SDK: the image and the
PDF as the API takes them, before the text, and a text file folded into the text. An older
image goes on being sent with later turns."""

import base64

import pytest
from asgiref.sync import sync_to_async

from tests.chat.attachment_files import image_file, pdf_file, text_file
from tests.conftest import connect, receive_until
from tests.fakes.script import Script

pytestmark = pytest.mark.django_db(transaction=True)

QUESTION = "Attached file `notes.txt`:\n```\nRemember the milk.\n```\n\nWhat is in these?"


def user_turn(fake, model: str, turn: int = -1) -> tuple[list[str], list[bytes], str]:
    """The kinds of file parts of a user turn the upstream was sent, their bytes, and the
    turn's text."""
    body = fake.requests[-1].body
    provider = model.partition(":")[0]
    if provider == "openai":
        parts = [m for m in body["messages"] if m["role"] == "user"][turn]["content"]
        files = [p for p in parts if p["type"] != "text"]
        kinds = [p["type"] for p in files]
        urls = [
            p["image_url"]["url"] if "image_url" in p else p["file"]["file_data"] for p in files
        ]
        data = [base64.b64decode(url.partition(",")[2]) for url in urls]
        text = "".join(p.get("text", "") for p in parts)
    elif provider == "anthropic":
        parts = [m for m in body["messages"] if m["role"] == "user"][turn]["content"]
        kinds = [p["type"] for p in parts if p["type"] != "text"]
        data = [base64.b64decode(p["source"]["data"]) for p in parts if "source" in p]
        text = "".join(p.get("text", "") for p in parts)
    else:
        parts = [c for c in body["contents"] if c["role"] == "user"][turn]["parts"]
        inline = [p["inlineData"] for p in parts if "inlineData" in p]
        kinds = [i.get("mimeType") or i.get("mime_type") for i in inline]
        data = [base64.urlsafe_b64decode(i["data"]) for i in inline]
        text = "".join(p.get("text", "") for p in parts)
    return kinds, data, text


KINDS = {
    "openai": ["image_url", "file"],
    "anthropic": ["image", "document"],
    "gemini": ["image/png", "application/pdf"],
}


async def test_each_provider_is_sent_the_image_and_pdf_and_the_text_file_folded_in(
    alice, provider, settings
):
    fake, model = provider
    # A compatible server's models take nothing but text unless its operator says otherwise.
    settings.MODEL_CAPABILITIES = {"openai:gpt-test": frozenset({"vision", "pdf"})}
    photo = await sync_to_async(image_file)(alice, "photo.png", 40, 30)
    report = await sync_to_async(pdf_file)(alice, "report.pdf", "Quarterly figures")
    notes = await sync_to_async(text_file)(alice)
    fake.enqueue(Script(text="A photo, a report and a note."), Script(text="Still a photo."))
    ws = await connect(alice)
    files = [photo.pk, report.pk, notes.pk]
    frame = {"type": "send", "conversation": None, "content": "What is in these?"}
    await ws.send_json_to({**frame, "model": model, "attachments": files})
    first = await receive_until(ws, "message.end")
    assert first[-1]["status"] == "complete", first[-1]
    assert user_turn(fake, model) == (
        KINDS[model.partition(":")[0]],
        [photo.read(), report.read()],
        QUESTION,
    )

    conversation = first[0]["conversation"]
    await ws.send_json_to(
        {**frame, "conversation": conversation, "content": "And now?", "model": model}
    )
    await receive_until(ws, "message.end")
    await ws.disconnect()
    assert user_turn(fake, model, turn=0)[1] == [photo.read(), report.read()]


async def test_a_model_that_cannot_read_pdfs_is_sent_their_text(alice, upstream, settings):
    settings.MODEL_CAPABILITIES = {}
    report = await sync_to_async(pdf_file)(alice, "report.pdf", "Quarterly figures")
    upstream.enqueue(Script(text="Figures."))
    ws = await connect(alice)
    await ws.send_json_to(
        {
            "type": "send",
            "conversation": None,
            "content": "Summarize.",
            "model": "openai:gpt-test",
            "attachments": [report.pk],
        }
    )
    assert (await receive_until(ws, "message.end"))[-1]["status"] == "complete"
    await ws.disconnect()
    assert upstream.requests[-1].body["messages"][-1] == {
        "role": "user",
        "content": (
            "Attached file `report.pdf` (its text):\n```\nQuarterly figures\n```\n\nSummarize."
        ),
    }
