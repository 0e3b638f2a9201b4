"""Small real files for tests, and ``Attachment`` rows for them stored as an upload stores
them: a Pillow-made PNG, a pypdf-made PDF (with text on its pages, or none, like a scan), a
text file.

Use the ``attachment_storage`` fixture (import it into the test module) so that the bytes go
to the test's own folder."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from PIL import Image
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from chat.models import Attachment


@pytest.fixture
def attachment_storage(settings, tmp_path):
    """The ``attachments`` storage in the test's own folder."""
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "attachments"), "base_url": None},
        },
    }
    return storages["attachments"]


def png(width: int = 64, height: int = 48, color: str = "teal") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def pdf(*pages: str) -> bytes:
    """A PDF with a page for each text; an empty text makes a page with no text at all."""
    writer = PdfWriter()
    for text in pages:
        page = writer.add_blank_page(width=612, height=792)
        if not text:
            continue
        font = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
        fonts = DictionaryObject({NameObject("/F1"): font})
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts})
        content = DecodedStreamObject()
        content.set_data(f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode())
        page.replace_contents(content)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def stored(owner, name: str, kind: str, content_type: str, data: bytes, **fields) -> Attachment:
    """An ``Attachment`` of ``owner`` with ``data`` stored at its ``path``."""
    attachment = Attachment(
        owner=owner,
        name=name,
        kind=kind,
        content_type=content_type,
        size=len(data),
        digest=hashlib.sha256(data).hexdigest(),
        **fields,
    )
    files = storages["attachments"]
    if not files.exists(attachment.path):
        files.save(attachment.path, ContentFile(data))
    attachment.save()
    return attachment


def image_file(owner, name: str = "photo.png", width: int = 64, height: int = 48) -> Attachment:
    data = png(width, height)
    return stored(owner, name, Attachment.Kind.IMAGE, "image/png", data, width=width, height=height)


def pdf_file(owner, name: str = "report.pdf", *pages: str) -> Attachment:
    """A PDF of ``pages`` (one page of text by default), its text extracted as uploads do."""
    data = pdf(*(pages or ("Quarterly figures",)))
    reader = PdfReader(io.BytesIO(data))
    text = "\n\n".join(page.extract_text() for page in reader.pages).strip()
    pages_count = len(reader.pages)
    kind = Attachment.Kind.PDF
    return stored(owner, name, kind, "application/pdf", data, pages=pages_count, text=text)


def text_file(owner, name: str = "notes.txt", text: str = "Remember the milk.\n") -> Attachment:
    return stored(owner, name, Attachment.Kind.TEXT, "text/plain", text.encode(), text=text)
