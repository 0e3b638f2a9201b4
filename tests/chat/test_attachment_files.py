"""Uploading files and reading them back: the type is decided by the bytes, images are
re-encoded, every bad upload gets a clear 4xx and stores nothing, and a file is served only to
its owner (and to staff who review conversations), in a form that cannot run in the page."""

import io
import struct
import zlib
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone
from PIL import Image
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from chat import attachments
from chat.models import Attachment, Conversation, Message
from chat.web import api_tokens

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

UPLOAD = "/api/attachments"


def png(width=40, height=30, color=(200, 30, 30), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG", **save)
    return out.getvalue()


def jpeg_with_exif(width=64, height=48) -> bytes:
    image = Image.new("RGB", (width, height), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    exif[0x0112] = 6  # Orientation: rotated 90°
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes(), comment=b"secret comment")
    return out.getvalue()


def pdf(text_pages=("Hello from page one",), password="") -> bytes:
    """A small real PDF; pypdf writes blank pages, so each page's text is drawn with a content
    stream of its own."""
    writer = PdfWriter()
    for text in text_pages:
        page = writer.add_blank_page(width=300, height=200)
        font = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
        stream = DecodedStreamObject()
        stream.set_data(f"BT /F1 12 Tf 20 100 Td ({text}) Tj ET".encode())
        page.replace_contents(stream)
    if password:
        writer.encrypt(password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims huge dimensions: an image bomb, refused before decoding."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def multipart(name: str, data: bytes, field: str = "file") -> tuple[bytes, str]:
    """A multipart body with the file name exactly as given (the test client would clean it)."""
    boundary = "----streamchat-test"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.fixture
def client(alice) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def post(client: Client, name: str, data: bytes, **headers):
    body, content_type = multipart(name, data)
    return client.post(UPLOAD, body, content_type=content_type, **headers)


def stored_files(location) -> list:
    return sorted(p for p in location.rglob("*") if p.is_file())


def nothing_stored(location) -> bool:
    return Attachment.objects.count() == 0 and stored_files(location) == []


def test_an_image_is_re_encoded_without_its_metadata_and_served_inline(client, alice):
    response = post(client, "holiday.jpg", jpeg_with_exif())
    assert response.status_code == 201
    data = response.json()
    # Turned upright as the camera meant it: 64x48 rotated is 48x64.
    assert (data["name"], data["type"], data["kind"]) == ("holiday.jpg", "image/jpeg", "image")
    assert (data["width"], data["height"]) == (48, 64)
    attachment = Attachment.objects.get(pk=data["id"])
    assert data["url"] == f"/attachments/{attachment.pk}/"
    stored = attachment.read()
    assert b"SpyCam" not in stored and b"secret comment" not in stored
    assert not Image.open(io.BytesIO(stored)).getexif()
    served = client.get(data["url"])
    assert served.status_code == 200
    assert served["Content-Type"] == "image/jpeg"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert served["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert served["Content-Disposition"].startswith("inline")
    assert b"".join(served.streaming_content) == stored


def test_images_are_kept_in_their_format_a_gif_as_its_first_frame_and_capped_in_size(
    client, settings
):
    settings.IMAGE_MAX_SIDE = 100
    frames = [Image.new("P", (300, 150), i) for i in (1, 2)]
    gif = io.BytesIO()
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:])
    webp = io.BytesIO()
    Image.new("RGBA", (50, 20), (0, 0, 0, 0)).save(webp, format="WEBP")
    answers = {
        "anim.gif": post(client, "anim.gif", gif.getvalue()).json(),
        "clear.webp": post(client, "clear.webp", webp.getvalue()).json(),
        "wide.png": post(client, "wide.png", png(400, 100)).json(),
    }
    assert {n: (a["type"], a["width"], a["height"]) for n, a in answers.items()} == {
        "anim.gif": ("image/png", 100, 50),
        "clear.webp": ("image/webp", 50, 20),
        "wide.png": ("image/png", 100, 25),
    }


def test_a_pdf_keeps_its_pages_and_text_and_is_served_as_a_download(client):
    response = post(client, "report.pdf", pdf(["First page text", "Second page text"]))
    assert response.status_code == 201
    data = response.json()
    assert (data["kind"], data["type"], data["pages"]) == ("pdf", "application/pdf", 2)
    attachment = Attachment.objects.get(pk=data["id"])
    assert "First page text" in attachment.text and "Second page text" in attachment.text
    served = client.get(data["url"])
    assert served["Content-Type"] == "application/pdf"
    assert served["Content-Disposition"] == 'attachment; filename="report.pdf"'


def test_text_and_code_files_are_kept_as_utf8_text_and_served_as_plain_text(client):
    source = "def greet(name):\n    return f'héllo {name}'\n"
    data = post(client, "greet.py", ("\ufeff" + source).encode()).json()
    attachment = Attachment.objects.get(pk=data["id"])
    assert (attachment.kind, attachment.text) == ("text", source)
    # Even an HTML file is only ever text: it is downloaded, never rendered.
    page = post(client, "page.html", b"<script>alert(1)</script>").json()
    served = client.get(page["url"])
    assert served["Content-Type"] == "text/plain; charset=utf-8"
    assert served["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize(
    ("name", "data", "status", "code"),
    [
        ("page.png", b"<html><script>alert(1)</script></html>", 415, "bad_image"),
        (
            "drawing.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            415,
            "unsupported_type",
        ),
        ("drawing.txt", b'<?xml version="1.0"?><svg onload="alert(1)"/>', 415, "unsupported_type"),
        ("bomb.png", png_claiming(100_000, 100_000), 415, "bad_image"),
        ("broken.png", png()[:60], 415, "bad_image"),
        ("broken.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\n%%EOF", 415, "bad_pdf"),
        ("secret.pdf", pdf(password="hunter2"), 415, "bad_pdf"),
        ("notes.pdf", b"just some text", 415, "bad_pdf"),
        ("program.bin", b"\x7fELF\x02\x01\x01\x00\x00\x00\xff\xfe", 415, "unsupported_type"),
        ("empty.txt", b"", 400, "no_file"),
        ("../../etc/passwd", b"root:x:0:0", 400, "bad_name"),
        ("..\\boot.ini", b"[boot]", 400, "bad_name"),
        ("evil\u202egnp.txt", b"text", 400, "bad_name"),
        ("bell\x07.txt", b"text", 400, "bad_name"),
    ],
)
def test_a_bad_upload_gets_a_clear_error_and_stores_nothing(
    client, attachment_storage, name, data, status, code
):
    response = post(client, name, data)
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert response.json()["detail"]
    assert nothing_stored(attachment_storage)


def test_a_file_over_the_limit_is_refused_without_being_read_whole(
    client, settings, attachment_storage
):
    settings.MAX_UPLOAD_BYTES = 10_000
    response = post(client, "big.txt", b"a" * 10_001)
    assert (response.status_code, response.json()["code"]) == (413, "file_too_large")
    assert "MB" in response.json()["detail"]
    assert nothing_stored(attachment_storage)
    assert post(client, "fits.txt", b"a" * 10_000).status_code == 201


def test_no_file_field_and_several_files_are_refused(client, attachment_storage):
    body, content_type = multipart("a.txt", b"a", field="document")
    response = client.post(UPLOAD, body, content_type=content_type)
    assert (response.status_code, response.json()["code"]) == (400, "no_file")
    two = client.post(UPLOAD, {"file": [io.BytesIO(b"a"), io.BytesIO(b"b")]})
    assert (two.status_code, two.json()["code"]) == (400, "too_many_files")
    assert nothing_stored(attachment_storage)


def test_the_same_bytes_are_stored_once_and_count_once_towards_the_quota(
    client, settings, attachment_storage
):
    image = png()
    settings.ATTACHMENT_QUOTA_BYTES = 3 * len(image)
    first = post(client, "a.png", image).json()
    second = post(client, "b.png", image).json()
    assert first["id"] != second["id"]
    assert len(stored_files(attachment_storage)) == 1
    settings.ATTACHMENT_QUOTA_BYTES = first["size"] + 10
    response = post(client, "other.txt", b"x" * 20)
    assert (response.status_code, response.json()["code"]) == (413, "quota_exceeded")
    assert Attachment.objects.count() == 2
    assert post(client, "again.png", image).status_code == 201  # already held: no more bytes


def test_a_file_is_served_to_its_owner_and_reviewing_staff_only(alice, bob, django_user_model):
    owner = Client()
    owner.force_login(alice)
    url = post(owner, "notes.txt", b"private").json()["url"]
    stranger = Client()
    stranger.force_login(bob)
    assert stranger.get(url).status_code == 404
    assert Client().get(url).status_code == 404
    staff = django_user_model.objects.create_user("staff", password="x", is_staff=True)
    reviewer = Client()
    reviewer.force_login(staff)
    assert reviewer.get(url).status_code == 404  # staff without the right to view conversations
    staff.user_permissions.add(Permission.objects.get(codename="view_conversation"))
    assert reviewer.get(url).status_code == 200
    assert Client().get("/attachments/999999/").status_code == 404


def test_scripts_upload_with_a_token_and_a_session_needs_its_csrf_token(alice):
    _, token = api_tokens.create(alice, "script")
    body, content_type = multipart("a.txt", b"from a script")
    response = Client().post(
        UPLOAD, body, content_type=content_type, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 201
    assert Client().post(UPLOAD, body, content_type=content_type).status_code == 401
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    assert strict.post(UPLOAD, body, content_type=content_type).status_code == 401
    assert Attachment.objects.count() == 1


def _sent_in_conversation(owner, attachment_id: int) -> Conversation:
    """A conversation whose question carries the file, and its answer."""
    conversation = Conversation.objects.create(owner=owner, model="local:smollm2")
    message = conversation.add_user_message("see attached")
    message.attach([attachment_id])
    conversation.messages.create(
        role=Message.Role.ASSISTANT,
        seq=conversation.next_seq(),
        text="Seen.",
        status=Message.Status.COMPLETE,
        reply_to=message,
    )
    return conversation


def test_files_go_when_nothing_refers_to_them_and_their_bytes_with_the_last_one(
    client, alice, attachment_storage, django_capture_on_commit_callbacks
):
    image = png()
    kept = post(client, "kept.png", image).json()["id"]
    gone = post(client, "gone.txt", b"only here").json()["id"]
    shared = post(client, "shared.png", image).json()["id"]  # the same bytes as kept.png
    keeping = _sent_in_conversation(alice, kept)
    deleted = _sent_in_conversation(alice, gone)
    Message.objects.filter(conversation=deleted, role="user").get().attachments.add(shared)
    Attachment.objects.filter(pk=shared).update(sent=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/c/{deleted.pk}/delete/")
    assert response.status_code in (200, 302)
    assert list(Attachment.objects.values_list("pk", flat=True)) == [kept]
    assert len(stored_files(attachment_storage)) == 1  # kept.png's bytes, shared no more
    keeping.fork(keeping.current_messages().last())
    keeping.delete()
    with django_capture_on_commit_callbacks(execute=True):
        attachments.forget_unreferenced()
    assert list(Attachment.objects.values_list("pk", flat=True)) == [kept]  # the fork has it


def test_abandoned_uploads_are_forgotten_after_a_day(
    client, attachment_storage, django_capture_on_commit_callbacks
):
    old = post(client, "old.txt", b"never sent").json()["id"]
    new = post(client, "new.txt", b"just uploaded").json()["id"]
    Attachment.objects.filter(pk=old).update(created_at=timezone.now() - timedelta(hours=25))
    with django_capture_on_commit_callbacks(execute=True):
        assert attachments.forget_unreferenced() == 1
    assert list(Attachment.objects.values_list("pk", flat=True)) == [new]
    assert len(stored_files(attachment_storage)) == 1


def test_deleting_a_user_deletes_their_files(
    client, alice, attachment_storage, django_capture_on_commit_callbacks
):
    post(client, "mine.txt", b"mine")
    with django_capture_on_commit_callbacks(execute=True):
        alice.delete()
    assert nothing_stored(attachment_storage)
