"""How each provider sends the files of a message (``ChatMessage.attachments``): images and
PDFs before the text, each in its API's own shape; a message without files as before."""

from __future__ import annotations

import base64

import pytest

from streaming.events import ChatMessage, ChatRequest, Document, Image
from streaming.providers.base import ProviderConfig
from streaming.providers.openai import OpenAIProvider
from tests.chat.attachment_files import pdf, png
from tests.fakes.upstream import FakeUpstream
from tests.streaming.conftest import run

PNG = png(40, 30)
PDF = pdf("Quarterly figures")
PHOTO = Image("image/png", PNG, 40, 30, "photo.png")
REPORT = Document("report.pdf", "application/pdf", PDF)
PNG_64 = base64.b64encode(PNG).decode()
PDF_64 = base64.b64encode(PDF).decode()


def asking(*attachments, text: str = "What is this?") -> ChatRequest:
    message = ChatMessage("user", text, attachments=attachments)
    return ChatRequest(model="test-model", messages=(ChatMessage("system", "Be brief."), message))


async def sent(provider, fake: FakeUpstream, chat: ChatRequest) -> dict:
    _, error = await run(provider.stream(chat))
    assert error is None
    return fake.requests[-1].body


@pytest.fixture
async def responses(fake_upstream):
    provider = OpenAIProvider(
        ProviderConfig(api_key="test-key", base_url=fake_upstream.openai_base_url, api="responses")
    )
    yield provider
    await provider.aclose()


async def test_openai_sends_an_image_as_a_data_url_part(make_provider, fake_upstream):
    body = await sent(make_provider("openai"), fake_upstream, asking(PHOTO))
    assert body["messages"][-1] == {
        "role": "user",
        "content": [
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_64}"}},
            {"type": "text", "text": "What is this?"},
        ],
    }


async def test_openai_sends_a_pdf_as_a_file_part(make_provider, fake_upstream):
    body = await sent(make_provider("openai"), fake_upstream, asking(REPORT))
    assert body["messages"][-1]["content"] == [
        {
            "type": "file",
            "file": {
                "filename": "report.pdf",
                "file_data": f"data:application/pdf;base64,{PDF_64}",
            },
        },
        {"type": "text", "text": "What is this?"},
    ]


async def test_openai_sends_files_in_order_and_no_empty_text(make_provider, fake_upstream):
    body = await sent(make_provider("openai"), fake_upstream, asking(REPORT, PHOTO, text=""))
    assert [part["type"] for part in body["messages"][-1]["content"]] == ["file", "image_url"]


async def test_the_responses_api_gets_input_image_and_input_file(responses, fake_upstream):
    body = await sent(responses, fake_upstream, asking(PHOTO, REPORT))
    assert body["instructions"] == "Be brief."
    assert body["input"] == [
        {
            "role": "user",
            "content": [
                {
                    "type": "input_image",
                    "image_url": f"data:image/png;base64,{PNG_64}",
                    "detail": "auto",
                },
                {
                    "type": "input_file",
                    "filename": "report.pdf",
                    "file_data": f"data:application/pdf;base64,{PDF_64}",
                },
                {"type": "input_text", "text": "What is this?"},
            ],
        }
    ]


async def test_anthropic_sends_images_and_documents_before_the_text(make_provider, fake_upstream):
    body = await sent(make_provider("anthropic"), fake_upstream, asking(PHOTO, REPORT))
    assert body["messages"] == [
        {
            "role": "user",
            "content": [
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": PNG_64},
                },
                {
                    "type": "document",
                    "source": {"type": "base64", "media_type": "application/pdf", "data": PDF_64},
                    "title": "report.pdf",
                },
                {"type": "text", "text": "What is this?"},
            ],
        }
    ]


async def test_anthropic_sends_an_image_alone_as_a_block(make_provider, fake_upstream):
    body = await sent(make_provider("anthropic"), fake_upstream, asking(PHOTO, text=""))
    assert body["messages"][0]["content"] == [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_64}}
    ]


async def test_gemini_sends_files_as_inline_data_parts(make_provider, fake_upstream):
    body = await sent(make_provider("gemini"), fake_upstream, asking(PHOTO, REPORT))
    [content] = body["contents"]
    assert content["role"] == "user"
    image, document, text = content["parts"]
    assert text == {"text": "What is this?"}
    # google-genai sends the bytes URL-safe and the type in snake case; the API takes either.
    for part, (mime_type, data) in (
        (image, ("image/png", PNG)),
        (document, ("application/pdf", PDF)),
    ):
        inline = part["inlineData"]
        assert (inline.get("mimeType") or inline.get("mime_type")) == mime_type
        assert base64.urlsafe_b64decode(inline["data"]) == data


@pytest.mark.parametrize("name", ["openai", "anthropic", "gemini"])
async def test_a_message_without_files_is_sent_as_before(make_provider, fake_upstream, name):
    plain = await sent(make_provider(name), fake_upstream, asking())
    if name == "openai":
        assert plain["messages"][-1] == {"role": "user", "content": "What is this?"}
    elif name == "anthropic":
        assert plain["messages"] == [{"role": "user", "content": "What is this?"}]
    else:
        assert plain["contents"] == [{"role": "user", "parts": [{"text": "What is this?"}]}]
