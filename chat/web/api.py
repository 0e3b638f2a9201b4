"""The SSE API for scripts: the WebSocket's events over plain HTTP.

Each event is ``event: <type>``, ``id: <seq>:<offset>:<reasoning_offset>`` and ``data: <JSON>``.
The id carries the offsets of the text and of the reasoning after the event as well as the seq:
a finished answer is read back from the database, where only offsets mean anything, so
``Last-Event-ID`` resumes exactly either way.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from chat import answers
from chat.models import Conversation
from chat.web import api_tokens, ratelimit, tabs
from chat.web.refusals import refusal
from chat.web.requests import BadFrame, BadSettings, ClientFrame, conversation_settings, json_object

log = logging.getLogger(__name__)


class EventQueue:
    """A subscriber that hands frames to one HTTP response."""

    def __init__(self) -> None:
        self.frames: asyncio.Queue[answers.Frame] = asyncio.Queue()
        self.open = True

    async def deliver(self, frame: answers.Frame) -> bool:
        if self.open:
            self.frames.put_nowait(frame)
        return self.open


def event_id(frame: answers.Frame, offsets: dict[tuple[Any, str], int]) -> str:
    """``<seq>:<offset>:<reasoning_offset>`` after ``frame``; ``offsets`` holds what the client
    has of each message's text and reasoning once it applied the events so far."""
    data = frame.data
    message = data.get("message")
    if frame.type == "delta":
        offsets[message, data.get("part", "text")] = data["offset"] + len(data["text"])
    held = f"{offsets.get((message, 'text'), 0)}:{offsets.get((message, 'reasoning'), 0)}"
    return f"{data.get('seq', 0)}:{held}"


def sse(frame: answers.Frame, event_id: str) -> bytes:
    return f"event: {frame.type}\nid: {event_id}\ndata: {frame.json}\n\n".encode()


async def event_stream(
    queue: EventQueue, following: list[answers.Following], question: answers.Frame | None = None
) -> AsyncIterator[bytes]:
    """The events of the answers followed, and of the answers after their tool calls, until
    every one has ended; ``question`` (the user's message, with its files) right after the
    first start, with that start's id (it moves no offset)."""
    offsets: dict[tuple[Any, str], int] = {}
    awaited: set[Any] = {f.message_id for f in following}
    try:
        while awaited:
            frame = await queue.frames.get()
            held = event_id(frame, offsets)
            yield sse(frame, held)
            if question is not None and frame.type == "message.start":
                yield sse(question, held)
                question = None
            message = frame.data.get("message")
            if frame.type == "message.start" and frame.data.get("follows"):
                # The model's answer after its tool calls: follow it too.
                awaited.discard(("after tools", frame.data["follows"]))
                awaited.add(message)
            elif frame.type == "message.end":
                awaited.discard(message)
                if frame.data["finish_reason"] == "tool_calls":
                    awaited.add(("after tools", message))
            elif frame.type == "error":
                awaited.discard(("after tools", message))
    finally:
        queue.open = False
        for answer in following:
            await answer.close()


def streaming_response(stream: AsyncIterator[bytes]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(stream, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx must not hold events back
    return response


def error(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"type": "error", "code": code, "detail": detail}, status=status)


def refused(exc: Exception) -> JsonResponse:
    found = refusal(exc)
    if found is None:
        raise exc
    code, status, detail = found
    response = error(status, code, detail)
    if isinstance(exc, BadSettings):
        response = JsonResponse(
            {"type": "error", "code": code, "field": exc.field, "detail": detail}, status=status
        )
    return response


@sync_to_async
def authenticate(request: HttpRequest) -> Any:
    """A bearer token, or the session (then with the usual CSRF check on writes)."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return api_tokens.authenticate(header.removeprefix("Bearer ").strip()) or AnonymousUser()
    user = request.user
    if user.is_authenticated and request.method not in ("GET", "HEAD", "OPTIONS"):
        if CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {}) is not None:
            return AnonymousUser()
    return user


def unauthorized() -> JsonResponse:
    response = error(401, "unauthorized", "Send 'Authorization: Bearer <token>' or sign in")
    response["WWW-Authenticate"] = "Bearer"
    return response


def api_view(
    view: Callable[..., Awaitable[HttpResponse]],
) -> Callable[..., Awaitable[HttpResponse]]:
    """Authenticate the request and apply the per-user rate limit; the view gets the user.
    A refusal from the engine, a bad request or an unreachable database becomes its JSON
    error."""

    @functools.wraps(view)
    async def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            user = await authenticate(request)
        except RequestDataTooBig:  # the CSRF check of a session POST reads a form body
            return refused(BadFrame("too_long", "the body is too large"))
        if not user.is_authenticated:
            return unauthorized()
        if (refusal := ratelimit.refuse_api_request(user)) is not None:
            return refusal
        try:
            return await view(request, user, *args, **kwargs)
        except (BadFrame, answers.Refused, DatabaseError) as exc:
            if isinstance(exc, DatabaseError):
                log.exception("an API request failed on the database")
            return refused(exc)

    return checked


def json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = request.body
    except RequestDataTooBig:
        raise BadFrame(
            "too_long", f"the body may be at most {settings.MAX_FRAME_BYTES} bytes"
        ) from None
    return json_object(body or b"null", "the body")


@csrf_exempt
@require_POST
@api_view
async def chat(request: HttpRequest, user: Any) -> HttpResponse:
    frame = ClientFrame("send", json_body(request))
    content, models = frame.content(), frame.models()
    conversation = frame.id("conversation", optional=True)
    queue = EventQueue()
    change, files = frame.settings_change(), frame.attachments() or []
    sent = await answers.send(user, conversation, content, models, change, queue, files)
    await tabs.tell(user.pk, sent.news)
    question = next((f for f in sent.news if f.type == "conversation.message"), None)
    return streaming_response(event_stream(queue, sent.following, question))


@csrf_exempt
@require_POST
@api_view
async def edit(request: HttpRequest, user: Any, message_id: int) -> HttpResponse:
    """A new version of a user message, on a branch of its own: the ``branch`` event, then the
    new answer's events."""
    frame = ClientFrame("edit", json_body(request))
    content, model = frame.content(), frame.text("model", optional=True) or None
    queue, files = EventQueue(), frame.attachments()
    following = await answers.edit(user, message_id, content, model, queue, files)
    await tabs.tell_of(user.pk, answers.news_of_branch(message_id))
    return streaming_response(event_stream(queue, [following]))


@csrf_exempt
@require_POST
@api_view
async def fork(request: HttpRequest, user: Any, message_id: int) -> HttpResponse:
    """A new conversation made of the branch shown up to a message (docs/protocol.md)."""
    conversation_id, draft = await answers.fork(user, message_id)
    await tabs.tell_of(user.pk, answers.news_of_conversation(conversation_id))
    return JsonResponse(
        {
            "conversation": conversation_id,
            "url": reverse("conversation", args=[conversation_id]),
            "draft": draft,
        },
        status=201,
    )


MAX_OFFSET_DIGITS = 18


def _whole_number(raw: str) -> int:
    # ASCII digits only ('²'.isdigit() is true), and few enough for int() to take.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= MAX_OFFSET_DIGITS):
        raise BadFrame("bad_frame", "the offset must be a whole number")
    return int(raw)


def _resume_offsets(request: HttpRequest) -> tuple[int, int]:
    """Where to resume the text and the reasoning: from ``Last-Event-ID`` (``seq:offset`` or
    ``seq:offset:reasoning_offset``), else from ``?offset=`` and ``?reasoning_offset=``."""
    last = request.headers.get("Last-Event-ID", "")
    if last:
        parts = last.split(":")
        if len(parts) not in (2, 3):
            raise BadFrame("bad_frame", "Last-Event-ID must be seq:offset:reasoning_offset")
        return _whole_number(parts[1]), _whole_number(parts[2]) if len(parts) == 3 else 0
    return (
        _whole_number(request.GET.get("offset", "0")),
        _whole_number(request.GET.get("reasoning_offset", "0")),
    )


@require_GET
@api_view
async def stream(request: HttpRequest, user: Any, message_id: int) -> HttpResponse:
    offset, reasoning_offset = _resume_offsets(request)
    queue = EventQueue()
    following = await answers.follow(user, message_id, offset, queue, reasoning_offset)
    return streaming_response(event_stream(queue, [following]))


@csrf_exempt
@require_POST
@api_view
async def stop(request: HttpRequest, user: Any, message_id: int) -> HttpResponse:
    await answers.stop(user, message_id)
    return JsonResponse({"type": "stopping", "message": message_id}, status=202)


@sync_to_async
def _settings_of(user: Any, conversation_id: int, change: Any = None) -> dict[str, object]:
    """The settings of the user's conversation, after ``change`` (a ``SettingsChange``)."""
    conversation = Conversation.objects.filter(pk=conversation_id, owner=user).first()
    if conversation is None:
        raise answers.NotFound("No such conversation")
    if change is not None and (changed := change.apply(conversation)):
        conversation.save(update_fields=changed)
    return conversation.conversation_settings()


@csrf_exempt
@require_http_methods(["GET", "PUT"])
@api_view
async def conversation_settings_view(
    request: HttpRequest, user: Any, conversation_id: int
) -> HttpResponse:
    """``GET``: the conversation's settings; ``PUT``: change any of them (docs/protocol.md)."""
    change = conversation_settings(json_body(request)) if request.method == "PUT" else None
    return JsonResponse(await _settings_of(user, conversation_id, change))
