"""What a model is sent of the files on a user's message.

Images go as images to a model that sees (``vision``), PDFs whole to one that reads them
(``pdf``). The text of text files, and of PDFs for a model that cannot read them, is folded
into the message's text: each file a fenced block under its name, all of them before what the
user wrote, so that the question comes after the material (as the providers advise for long
documents). Of older messages, what the model cannot take is left out without a word; the
message being answered is refused instead (``check``), before anything is stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from chat.answers import catalog
from chat.answers.errors import AttachmentUnsupported
from chat.models import Attachment
from streaming.events import Document, Image
from streaming.providers.base import PDF, VISION
from streaming.tokens import count_tokens

# How many of the models that could take a file a refusal names.
NAMED_MODELS = 5


@dataclass(frozen=True, slots=True)
class Shown:
    """What a model is sent of one message's files: the text blocks folded into the
    message, and the files sent as they are (their bytes are read only for the messages that
    fit the window: ``parts``)."""

    blocks: tuple[str, ...] = ()
    native: tuple[Attachment, ...] = ()

    def folded(self, text: str) -> str:
        """The message's text with the blocks before it."""
        return "\n\n".join(block for block in (*self.blocks, text) if block)


NOTHING = Shown()


def shown(files: Iterable[Attachment], capabilities: frozenset[str]) -> Shown:
    """What a model with ``capabilities`` is sent of ``files``."""
    blocks, native = [], []
    for file in files:
        if file.kind == Attachment.Kind.IMAGE:
            if VISION in capabilities:
                native.append(file)
        elif file.kind == Attachment.Kind.PDF and PDF in capabilities:
            native.append(file)
        elif file.text:
            blocks.append(fenced(file))
    return Shown(tuple(blocks), tuple(native))


def _longest_backticks(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)


def fenced(file: Attachment) -> str:
    """A file's text as a fenced block under its name; the fence is longer than any run of
    backticks in the text, so that nothing in the file can close it."""
    fence = "`" * max(3, _longest_backticks(file.text) + 1)
    ticks = "`" * (_longest_backticks(file.name) + 1)
    pad = " " if file.name.startswith("`") or file.name.endswith("`") else ""
    what = " (its text)" if file.kind == Attachment.Kind.PDF else ""
    text = file.text.removesuffix("\n")
    return f"Attached file {ticks}{pad}{file.name}{pad}{ticks}{what}:\n{fence}\n{text}\n{fence}"


def tokens(native: Sequence[Attachment], model: str) -> int:
    """About what the files sent as they are take of ``model``'s context, by its provider's
    estimates (``Provider.image_tokens``, ``Provider.document_tokens``)."""
    if not native:
        return 0
    provider, _ = catalog.resolve(model)
    total = 0
    for file in native:
        if file.kind == Attachment.Kind.IMAGE:
            total += provider.image_tokens(file.width or 1, file.height or 1)
        else:
            total += provider.document_tokens(file.pages or 1, count_tokens(file.text, model))
    return total


def parts(native: Sequence[Attachment]) -> tuple[Image | Document, ...]:
    """The files sent as they are, with their bytes, for ``ChatMessage.attachments``."""
    return tuple(
        Image(file.content_type, file.read(), file.width or 0, file.height or 0, file.name)
        if file.kind == Attachment.Kind.IMAGE
        else Document(file.name, file.content_type, file.read())
        for file in native
    )


def check(files: Sequence[Attachment], model: str) -> None:
    """Refuse the message being answered when ``model`` cannot take one of its files: images
    without ``vision``, a PDF whose text could not be extracted without ``pdf``."""
    capabilities = catalog.capabilities(model)
    name = model.partition(":")[2] or model
    images = [file for file in files if file.kind == Attachment.Kind.IMAGE]
    if images and VISION not in capabilities:
        them = "the image" if len(images) == 1 else "the images"
        raise AttachmentUnsupported(
            f"{name} cannot see images. {_instead(f'Remove {them}', VISION, 'can')}"
        )
    if PDF in capabilities:
        return
    for file in files:
        if file.kind == Attachment.Kind.PDF and not file.text.strip():
            raise AttachmentUnsupported(
                f"{name} cannot read PDFs, and no text could be taken out of {file.name} "
                f"(a scan?). {_instead('Remove it', PDF, 'reads PDFs')}"
            )


def _instead(remove: str, capability: str, able: str) -> str:
    """What to do instead: remove the file, or pick a model that takes it (by name)."""
    names = [name for name in catalog.models() if capability in catalog.capabilities(name)]
    bare = list(dict.fromkeys(name.partition(":")[2] for name in names))
    if not bare:
        return f"{remove}: no model here {able}."
    listed = ", ".join(bare[:NAMED_MODELS]) + (", …" if len(bare) > NAMED_MODELS else "")
    return f"{remove} or pick a model that {able}: {listed}."
