"""What an uploaded file is, decided by its bytes, never by its name: an image (decoded and
re-encoded), a PDF (its text extracted), UTF-8 text, or refused.

Re-encoding an image keeps only its pixels: metadata (EXIF locations, comments) is dropped, and
a polyglot file (an image that is also HTML or a script) comes out as a plain image. SVG is
refused: it is a document that can carry script, not an image.
"""

from __future__ import annotations

import io
import unicodedata
import warnings
from dataclasses import dataclass

from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError
from pypdf import PdfReader
from pypdf.errors import PyPdfError

from chat.models import Attachment

# Magic numbers of the images taken, and the format each is stored in (a GIF's first frame
# becomes a PNG: models take still images).
IMAGE_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
}
STORED_FORMAT = {"PNG": "PNG", "JPEG": "JPEG", "WEBP": "WEBP", "GIF": "PNG"}
MEDIA_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".jpe", ".webp", ".gif", ".bmp", ".tif", ".tiff"}
TEXT_TYPE = "text/plain; charset=utf-8"
PDF_TYPE = "application/pdf"
IMAGE_KINDS = "PNG, JPEG, WebP or GIF"


class FileRefused(Exception):
    """The upload cannot be taken; ``code`` and ``status`` say why to clients, the message to
    the user."""

    def __init__(self, code: str, status: int, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class Examined:
    """What is stored of an upload: its bytes as kept, and what is known of them."""

    kind: str
    content_type: str
    data: bytes
    width: int | None = None
    height: int | None = None
    pages: int | None = None
    text: str = ""


def checked_name(name: str) -> str:
    """``name`` if it can be shown and downloaded as it is; refuses path separators, control
    and bidirectional-override characters, and names that are empty or too long."""
    if not name or name in (".", "..") or name != name.strip():
        raise FileRefused("bad_name", 400, "The file needs a name")
    if "/" in name or "\\" in name:
        raise FileRefused("bad_name", 400, f"A file name cannot contain '/' or '\\': {name!r}")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in name):
        raise FileRefused("bad_name", 400, f"The file name has invisible characters: {name!r}")
    if len(name) > 255:
        raise FileRefused("bad_name", 400, "A file name may be at most 255 characters")
    return name


def examine(name: str, data: bytes) -> Examined:
    """What ``data`` (uploaded as ``name``) is, as it is to be stored; raises ``FileRefused``."""
    if not data:
        raise FileRefused("no_file", 400, f"{name} is empty")
    extension = name[name.rfind(".") :].lower() if "." in name else ""
    image_format = _image_format(data)
    if image_format:
        return _image(name, data)
    if extension == ".svg" or _looks_like_svg(data):
        raise FileRefused(
            "unsupported_type", 415, f"{name}: SVG is not taken; export it as PNG first"
        )
    if data.lstrip()[:5] == b"%PDF-":
        return _pdf(name, data)
    if extension in IMAGE_EXTENSIONS:
        raise FileRefused("bad_image", 415, f"{name} is not a {IMAGE_KINDS} image")
    if extension == ".pdf":
        raise FileRefused("bad_pdf", 415, f"{name} is not a PDF")
    return _text(name, data)


def _image_format(data: bytes) -> str:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return next((f for sig, f in IMAGE_SIGNATURES.items() if data.startswith(sig)), "")


def _looks_like_svg(data: bytes) -> bool:
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<svg", b"<?xml", b"<!doctype svg")) and b"<svg" in head


def _image(name: str, data: bytes) -> Examined:
    bad = FileRefused("bad_image", 415, f"{name} is not a readable {IMAGE_KINDS} image")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=list(STORED_FORMAT))
            width, height = image.size
            if width * height > settings.MAX_IMAGE_PIXELS:
                raise FileRefused(
                    "bad_image",
                    415,
                    f"{name} is {width} by {height}: images may have at most "
                    f"{settings.MAX_IMAGE_PIXELS / 1e6:g} million pixels",
                )
            source_format = image.format or ""
            image.seek(0)  # a GIF's first frame
            image.load()
            image = ImageOps.exif_transpose(image)  # upright, as the camera meant it
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
            raise bad from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise FileRefused("bad_image", 415, f"{name} is too large an image to decode") from None
    stored_format = STORED_FORMAT[source_format]
    image = _in_storable_mode(image, stored_format)
    # Only pixels go on: no EXIF, comments, ICC profiles or text chunks (a palette's
    # transparent colour is pixels).
    kept = {k: v for k, v in image.info.items() if k == "transparency"}
    image.info = kept
    side = settings.IMAGE_MAX_SIDE
    if max(image.size) > side:
        image.thumbnail((side, side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if stored_format == "PNG":
        image.save(out, format="PNG")
    else:
        image.save(out, format=stored_format, quality=90)
    return Examined(
        kind=Attachment.Kind.IMAGE,
        content_type=MEDIA_TYPES[stored_format],
        data=out.getvalue(),
        width=image.width,
        height=image.height,
    )


def _in_storable_mode(image: Image.Image, stored_format: str) -> Image.Image:
    """``image`` in a pixel mode its stored format writes: JPEG has no alpha or palette."""
    if stored_format == "JPEG":
        return image if image.mode in ("L", "RGB") else image.convert("RGB")
    if image.mode in ("1", "L", "LA", "RGB", "RGBA") or (
        image.mode == "P" and stored_format == "PNG"
    ):
        return image
    has_alpha = "A" in image.mode or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def _pdf(name: str, data: bytes) -> Examined:
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise FileRefused(
                "bad_pdf", 415, f"{name} is encrypted: save a copy without a password first"
            )
        pages = len(reader.pages)
        text = "\n\n".join((page.extract_text() or "").strip() for page in reader.pages)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError):
        raise FileRefused("bad_pdf", 415, f"{name} is not a readable PDF") from None
    if pages == 0:
        raise FileRefused("bad_pdf", 415, f"{name} has no pages")
    return Examined(
        kind=Attachment.Kind.PDF,
        content_type=PDF_TYPE,
        data=data,
        pages=pages,
        text=text.strip(),
    )


def _text(name: str, data: bytes) -> Examined:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileRefused(
            "unsupported_type",
            415,
            f"{name} is not a type taken: attach {IMAGE_KINDS} images, PDFs, or UTF-8 text",
        ) from None
    if "\x00" in text:
        raise FileRefused("unsupported_type", 415, f"{name} is binary, not text")
    return Examined(kind=Attachment.Kind.TEXT, content_type=TEXT_TYPE, data=data, text=text)
