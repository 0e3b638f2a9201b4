"""Uploading a file (``POST /api/attachments``) and reading it back (``GET /attachments/<id>/``).

Files are read back only by their owner, and by staff who may view conversations in the admin,
never from a public URL. What is served cannot run in the page: a stored type that browsers
show without running anything (images re-encoded, PDFs and text as downloads), ``nosniff``, and
a sandboxing Content-Security-Policy in case it is opened on its own.
"""

from __future__ import annotations

import html
import logging
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.files.storage import storages
from django.core.files.uploadhandler import SkipFile, TemporaryFileUploadHandler
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParser
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from chat.attachments import FileRefused, keep
from chat.attachments.content import checked_name
from chat.models import Attachment
from chat.web.api import api_view, authenticate, error

log = logging.getLogger(__name__)


class SizeLimit(TemporaryFileUploadHandler):
    """Stops reading a file as soon as it passes ``MAX_UPLOAD_BYTES``, whatever the request
    claimed its length was."""

    too_large = False

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > settings.MAX_UPLOAD_BYTES:
            self.too_large = True
            raise SkipFile
        return super().receive_data_chunk(raw_data, start)


class StrictNames(MultiPartParser):
    """Refuses a file name with path separators or control characters, which Django's parser
    would quietly cut away, so that the user learns the name was not taken."""

    def sanitize_file_name(self, file_name: str) -> str | None:
        # Browsers send a name's double quotes as %22 (the HTML standard's multipart form
        # encoding), which is what the user named the file.
        return checked_name(html.unescape(file_name).replace("%22", '"'))


def _parse_strictly(request: HttpRequest, meta: Any, post_data: Any) -> Any:
    return StrictNames(meta, post_data, request.upload_handlers, request.encoding).parse()


def _too_large() -> JsonResponse:
    limit = settings.MAX_UPLOAD_BYTES / 2**20
    return error(413, "file_too_large", f"Files may be at most {limit:.1f} MB")


@csrf_exempt
@require_POST
async def upload(request: HttpRequest) -> HttpResponse:
    """One file, multipart field ``file``: 201 with what it became (docs/protocol.md)."""
    limit = SizeLimit(request)
    request.upload_handlers = [limit]
    request.parse_file_upload = lambda meta, data: _parse_strictly(request, meta, data)
    try:
        await sync_to_async(lambda: request.FILES)()
    except FileRefused as refused:
        return error(refused.status, refused.code, refused.detail)
    if limit.too_large:
        return _too_large()
    return await _keep(request)


@api_view
async def _keep(request: HttpRequest, user: Any) -> HttpResponse:
    files = request.FILES.getlist("file")
    if not files:
        return error(400, "no_file", "Send the file as the multipart field 'file'")
    if len(files) > 1:
        return error(400, "too_many_files", "Send one file per request")
    upload = files[0]
    try:
        attachment = await sync_to_async(keep)(user.pk, upload.name or "", upload.read())
    except FileRefused as refused:
        return error(refused.status, refused.code, refused.detail)
    finally:
        upload.close()
    data = attachment.as_data()
    data["url"] = reverse("attachment_file", args=[attachment.pk])
    return JsonResponse(data, status=201)


def may_read(user: Any, attachment: Attachment) -> bool:
    """Its owner, and staff who may view conversations in the admin."""
    return attachment.owner_id == user.pk or (
        user.is_staff and user.has_perm("chat.view_conversation")
    )


@require_GET
async def file(request: HttpRequest, attachment_id: int) -> HttpResponse:
    user = await authenticate(request)
    if not user.is_authenticated:
        raise Http404("No such file")
    return await sync_to_async(_serve)(user, attachment_id)


def _serve(user: Any, attachment_id: int) -> HttpResponse:
    attachment = Attachment.objects.filter(pk=attachment_id).first()
    if attachment is None or not may_read(user, attachment):
        raise Http404("No such file")
    try:
        content = storages["attachments"].open(attachment.path, "rb")
    except FileNotFoundError:
        log.error("attachment %s has lost its bytes at %s", attachment.pk, attachment.path)
        raise Http404("The file's content is missing") from None
    inline = attachment.kind == Attachment.Kind.IMAGE
    response = FileResponse(
        content,
        as_attachment=not inline,
        filename=attachment.name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Cache-Control"] = "private, max-age=86400"  # content-addressed: it never changes
    return response
