"""What a model is sent of the files on user messages: images to a model that sees, PDFs whole
to one that reads them, text folded into the message otherwise; older images left out for a
model that cannot see them; the files' tokens counted in the window."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat.answers import files
from chat.answers.context import MESSAGE_OVERHEAD, ContextTooLong, build_context
from chat.answers.errors import AttachmentUnsupported
from chat.models import Conversation, Message
from streaming.events import Document, Image
from streaming.providers.base import PAGE_IMAGE_TOKENS
from streaming.tokens import count_tokens
from tests.chat.attachment_files import image_file, pdf_file, text_file

pytestmark = pytest.mark.django_db

OPENAI = "openai:gpt-test"
CLAUDE = "anthropic:claude-test"


@pytest.fixture(autouse=True)
def providers(settings):
    """An OpenAI-compatible server (which takes nothing but text unless told) and Claude;
    nothing is asked of them here."""
    settings.OPENAI_API_KEY = settings.ANTHROPIC_API_KEY = "test-key"
    settings.OPENAI_BASE_URL = "http://127.0.0.1:9/v1"
    settings.ANTHROPIC_BASE_URL = "http://127.0.0.1:9"
    settings.OPENAI_MODELS = ["gpt-test"]
    settings.ANTHROPIC_MODELS = ["claude-test"]
    settings.MODEL_CAPABILITIES = {}
    settings.MODEL_CONTEXT_LENGTHS = {OPENAI: 10_000, CLAUDE: 10_000}
    settings.SUMMARIZE_DROPPED = False


@pytest.fixture
def conversation(alice):
    return Conversation.objects.create(owner=alice, model=OPENAI)


def ask(conversation, text, *attached, tokens=None) -> Message:
    message = Message.objects.create(
        conversation=conversation,
        role="user",
        text=text,
        seq=conversation.next_seq(),
        token_count=tokens,
    )
    message.attachments.set(attached)
    return message


def answer(conversation, text="Seen.") -> Message:
    seq = conversation.next_seq()
    return Message.objects.create(
        conversation=conversation, role="assistant", text=text, seq=seq, token_count=10
    )


def build(conversation, model=OPENAI, max_output_tokens=1000):
    return build_context(
        conversation,
        model=model,
        max_output_tokens=max_output_tokens,
        before_seq=conversation.next_seq(),
    )


def sent(context) -> list[tuple[str, str, tuple]]:
    return [(m.role, m.content, m.attachments) for m in context.messages]


def test_a_model_that_sees_gets_the_image_with_its_bytes(conversation, alice, settings):
    settings.MODEL_CAPABILITIES = {OPENAI: frozenset({"vision"})}
    cat = image_file(alice, "cat.png", 40, 30)
    ask(conversation, "What is this?", cat)
    [message] = build(conversation).messages
    assert message.content == "What is this?"
    assert message.attachments == (Image("image/png", cat.read(), 40, 30, "cat.png"),)


def test_older_images_are_left_out_for_a_model_that_cannot_see(conversation, alice):
    ask(conversation, "What is this?", image_file(alice))
    answer(conversation)
    ask(conversation, "", image_file(alice, "alone.png"))  # images alone: nothing to say
    answer(conversation, "Another.")
    ask(conversation, "Thanks, and in words?")
    assert sent(build(conversation)) == [
        ("user", "What is this?", ()),
        ("assistant", "Seen.", ()),
        ("assistant", "Another.", ()),
        ("user", "Thanks, and in words?", ()),
    ]


def test_the_message_answered_is_refused_when_its_images_cannot_be_seen(conversation, alice):
    ask(conversation, "What is this?", image_file(alice))
    with pytest.raises(AttachmentUnsupported, match="gpt-test cannot see images"):
        build(conversation)


def test_a_text_file_is_folded_in_before_the_message_in_a_fence_it_cannot_close(
    conversation, alice
):
    notes = text_file(alice)
    code = text_file(alice, "notes.md", "Use ```python fences``` or ````four````.\n")
    ask(conversation, "Tidy this up.", notes, code)
    [message] = build(conversation).messages
    assert message.attachments == ()
    assert message.content == (
        "Attached file `notes.txt`:\n```\nRemember the milk.\n```\n\n"
        "Attached file `notes.md`:\n`````\nUse ```python fences``` or ````four````.\n`````\n\n"
        "Tidy this up."
    )


def test_a_name_with_backticks_is_quoted_whole(alice):
    assert files.fenced(text_file(alice, "`odd`.txt", "x")).startswith(
        "Attached file `` `odd`.txt ``:\n"
    )


def test_a_pdf_goes_whole_to_a_model_that_reads_pdfs_and_as_text_to_others(conversation, alice):
    report = pdf_file(alice, "report.pdf", "Quarterly figures", "Second page")
    ask(conversation, "Summarize.", report)
    [native] = build(conversation, model=CLAUDE).messages
    assert native.attachments == (Document("report.pdf", "application/pdf", report.read()),)
    assert native.content == "Summarize."
    [folded] = build(conversation).messages
    assert folded.attachments == ()
    assert folded.content == (
        "Attached file `report.pdf` (its text):\n```\nQuarterly figures\n\nSecond page\n```\n\n"
        "Summarize."
    )


def test_a_pdf_without_text_is_refused_for_a_model_that_cannot_read_it(conversation, alice):
    ask(conversation, "Read this.", pdf_file(alice, "scan.pdf", ""))
    with pytest.raises(AttachmentUnsupported, match=r"no text could be taken out of scan\.pdf"):
        build(conversation)
    [message] = build(conversation, model=CLAUDE).messages
    assert [a.name for a in message.attachments] == ["scan.pdf"]


def test_the_files_tokens_are_counted_in_the_window(conversation, alice, settings):
    settings.MODEL_CAPABILITIES = {OPENAI: frozenset({"vision", "pdf"})}
    ask(conversation, "Plain.", tokens=20)
    before = build(conversation).tokens
    big = image_file(alice, "big.png", 1024, 1024)  # 765 tokens for OpenAI
    report = pdf_file(alice, "report.pdf", "Quarterly figures", "")  # 2 pages
    ask(conversation, "With files.", big, report, tokens=20)
    # The message, its image, and its PDF read as its text and an image of each page.
    pdf_tokens = count_tokens(report.text, OPENAI) + 2 * PAGE_IMAGE_TOKENS
    assert build(conversation).tokens - before == MESSAGE_OVERHEAD + 20 + 765 + pdf_tokens


def test_an_old_image_that_does_not_fit_falls_out_of_the_window(conversation, alice, settings):
    settings.MODEL_CAPABILITIES = {OPENAI: frozenset({"vision"})}
    settings.MODEL_CONTEXT_LENGTHS = {OPENAI: 1500}  # 500 besides the answer
    ask(conversation, "Old picture.", image_file(alice, "big.png", 2048, 2048), tokens=10)  # 765
    answer(conversation)
    ask(conversation, "Newer picture.", image_file(alice, "small.png", 64, 64), tokens=10)
    context = build(conversation)
    assert [(m.content, [a.name for a in m.attachments]) for m in context.messages] == [
        ("Newer picture.", ["small.png"])
    ]
    assert context.dropped == 2


def test_an_image_that_can_never_fit_is_too_long(conversation, alice, settings):
    settings.MODEL_CAPABILITIES = {OPENAI: frozenset({"vision"})}
    settings.MODEL_CONTEXT_LENGTHS = {OPENAI: 1500}  # 500 besides the answer
    ask(conversation, "Huge.", image_file(alice, "big.png", 2048, 2048), tokens=10)  # 765
    with pytest.raises(ContextTooLong, match="The newest message with its files is too long"):
        build(conversation)


def test_files_are_fetched_in_one_query_however_many_messages_carry_them(
    conversation, alice, settings
):
    settings.MODEL_CAPABILITIES = {OPENAI: frozenset({"vision"})}

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            build(conversation)
        return len(captured)

    ask(conversation, "One.", text_file(alice), image_file(alice))
    answer(conversation)
    ask(conversation, "Two.", text_file(alice, "two.txt", "2"))
    few = queries()
    for number in range(5):
        answer(conversation)
        ask(conversation, f"More {number}.", text_file(alice, f"{number}.txt", "n"))
    assert queries() == few
