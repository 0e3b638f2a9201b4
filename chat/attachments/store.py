"""Keeping a user's files: once per owner and content, within the owner's quota, in the
``attachments`` storage (the filesystem under ``VAR_DIR`` by default, any Django storage
backend in production); and forgetting them once nothing refers to them."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import transaction
from django.db.models import Q
from django.db.models.signals import post_delete
from django.utils import timezone

from chat.attachments.content import FileRefused, checked_name, examine
from chat.models import Attachment


def _megabytes(size: int) -> str:
    return f"{size / 2**20:.1f} MB"


def stored_bytes(owner_id: int) -> int:
    """What the owner's files take in storage: each distinct content once."""
    sizes = Attachment.objects.filter(owner_id=owner_id).values_list("digest", "size")
    return sum(dict(sizes).values())


def keep(owner_id: int, name: str, data: bytes) -> Attachment:
    """The upload ``data`` named ``name``, examined and stored for ``owner_id``; raises
    ``FileRefused`` (and stores nothing) for a bad name, a file too large, a type not taken,
    or a quota exceeded."""
    name = checked_name(name)
    if len(data) > settings.MAX_UPLOAD_BYTES:
        raise FileRefused(
            "file_too_large",
            413,
            f"{name} is {_megabytes(len(data))}: files may be at most "
            f"{_megabytes(settings.MAX_UPLOAD_BYTES)}",
        )
    examined = examine(name, data)
    digest = hashlib.sha256(examined.data).hexdigest()
    held = Attachment.objects.filter(owner_id=owner_id, digest=digest).exists()
    if not held and stored_bytes(owner_id) + len(examined.data) > settings.ATTACHMENT_QUOTA_BYTES:
        raise FileRefused(
            "quota_exceeded",
            413,
            f"Your files would take more than {_megabytes(settings.ATTACHMENT_QUOTA_BYTES)}: "
            "delete conversations with files you no longer need",
        )
    attachment = Attachment(
        owner_id=owner_id,
        name=name,
        kind=examined.kind,
        content_type=examined.content_type,
        size=len(examined.data),
        digest=digest,
        width=examined.width,
        height=examined.height,
        pages=examined.pages,
        text=examined.text,
    )
    storage = storages["attachments"]
    if not storage.exists(attachment.path):
        storage.save(attachment.path, ContentFile(examined.data))
    attachment.save()
    return attachment


def forget_unreferenced() -> int:
    """Delete the files no message refers to any more (their conversations were deleted or
    truncated), and uploads never sent within ``ATTACHMENT_ABANDON_HOURS``; their bytes go
    with the last file that shares them. The number of files deleted."""
    cutoff = timezone.now() - timedelta(hours=settings.ATTACHMENT_ABANDON_HOURS)
    unreferenced = Q(sent=True, messages__isnull=True)
    abandoned = Q(sent=False, created_at__lt=cutoff)
    doomed = Attachment.objects.filter(unreferenced | abandoned).distinct()
    deleted, _ = Attachment.objects.filter(pk__in=doomed.values("pk")).delete()
    return deleted


def connect_signals() -> None:
    post_delete.connect(_delete_bytes, sender=Attachment, dispatch_uid="attachment-bytes")


def _delete_bytes(sender: type[Attachment], instance: Attachment, **kwargs: object) -> None:
    """Once the transaction commits, remove the bytes of a deleted file that no other file of
    its owner shares (deleting a user deletes their files, and so their bytes)."""

    def delete() -> None:
        shared = Attachment.objects.filter(owner_id=instance.owner_id, digest=instance.digest)
        if not shared.exists():
            storages["attachments"].delete(instance.path)

    transaction.on_commit(delete)
