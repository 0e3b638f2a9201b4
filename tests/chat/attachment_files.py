"""Small real files for tests, and ``Attachment`` rows made of them by the upload's own code
(``chat.attachments.keep``): a Pillow-made PNG, a pypdf-made PDF (with text on its pages, or
none, as a scan has), a text file. Their bytes go to the test's own ``attachments`` storage
(``tests/conftest.py``)."""

from __future__ import annotations

import io

from PIL import Image
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from chat import attachments
from chat.models import Attachment


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


def image_file(owner, name: str = "photo.png", width: int = 64, height: int = 48) -> Attachment:
    return attachments.keep(owner.pk, name, png(width, height))


def pdf_file(owner, name: str = "report.pdf", *pages: str) -> Attachment:
    """A PDF of ``pages``: one page of text by default."""
    return attachments.keep(owner.pk, name, pdf(*(pages or ("Quarterly figures",))))


def text_file(owner, name: str = "notes.txt", text: str = "Remember the milk.\n") -> Attachment:
    return attachments.keep(owner.pk, name, text.encode())
