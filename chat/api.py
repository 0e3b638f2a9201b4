"""The SSE API for scripts: the WebSocket's events over plain HTTP.

Each event is ``event: <type>``, ``id: <seq>:<offset>`` and ``data: <JSON>``. The id carries the
offset after the event as well as the seq: a finished answer is read back from the database,
where only offsets mean anything, so ``Last-Event-ID`` resumes exactly either way.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from chat import api_tokens, catalog, control, generation, ratelimit
from chat.fanout import Frame, stored_frames
from chat.frames import BadFrame, ClientFrame
from chat.models import Conversation, Message


class EventQueue:
    """A subscriber that hands frames to one HTTP response."""

    def __init__(self) -> None:
        self.frames: asyncio.Queue[Frame] = asyncio.Queue()
        self.open = True

    async def deliver(self, frame: Frame) -> bool:
        if self.open:
            self.frames.put_nowait(frame)
        return self.open


def sse(frame: Frame, offsets: dict[int, int]) -> bytes:
    data = frame.data
    message = data.get("message")
    if frame.type == "delta":
        offsets[message] = data["offset"] + len(data["text"])
    seq = data.get("seq", 0)
    return (
        f"event: {frame.type}\nid: {seq}:{offsets.get(message, 0)}\ndata: {frame.json}\n\n"
    ).encode()


async def event_stream(
    queue: EventQueue, answers: set[int], followed: list
) -> AsyncIterator[bytes]:
    offsets: dict[int, int] = {}
    try:
        while answers:
            frame = await queue.frames.get()
            yield sse(frame, offsets)
            message = frame.data.get("message")
            if frame.type == "message.start" and frame.data.get("follows"):
                # The model's answer after its tool calls: follow it too.
                answers.discard(("after tools", frame.data["follows"]))
                answers.add(message)
            elif frame.type == "message.end":
                answers.discard(message)
                if frame.data["finish_reason"] == "tool_calls":
                    answers.add(("after tools", message))
            elif frame.type == "error":
                answers.discard(("after tools", message))
    finally:
        queue.open = False
        for answer in followed:
            answer.unsubscribe(queue)


def streaming_response(stream: AsyncIterator[bytes]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(stream, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx must not hold events back
    return response


def error(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"type": "error", "code": code, "detail": detail}, status=status)


@sync_to_async
def authenticate(request: HttpRequest) -> Any:
    """A bearer token, or the session (then with the usual CSRF check on writes)."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return api_tokens.authenticate(header.removeprefix("Bearer ").strip()) or AnonymousUser()
    user = request.user
    if user.is_authenticated and request.method == "POST":
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
    """Authenticate the request and apply the per-user rate limit; the view gets the user."""

    @functools.wraps(view)
    async def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = await authenticate(request)
        if not user.is_authenticated:
            return unauthorized()
        if (refused := ratelimit.refuse_api_request(user)) is not None:
            return refused
        return await view(request, user, *args, **kwargs)

    return checked


@sync_to_async
def _message(user: Any, message_id: int) -> Message:
    return Message.objects.select_related("conversation").get(
        pk=message_id, conversation__owner=user
    )


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        data = json.loads(request.body or b"null")
    except ValueError:
        raise BadFrame("bad_frame", "the body must be JSON") from None
    if not isinstance(data, dict):
        raise BadFrame("bad_frame", "the body must be a JSON object")
    return data


@csrf_exempt
@require_POST
@api_view
async def chat(request: HttpRequest, user: Any) -> HttpResponse:
    try:
        frame = ClientFrame("send", _json_body(request))
        content, models = frame.content(), frame.models()
        for model in models:
            if model not in catalog.models():
                return error(400, "bad_model", f"{model!r} is not one of the models offered here")
        user_message = await sync_to_async(Conversation.add_message_for)(
            user, frame.id("conversation", optional=True), models[0], content, frame.tools()
        )
        queue, followed = EventQueue(), []
        for model in models:
            answer = await generation.start_answer(user.pk, user_message, model)
            await answer.subscribe(queue)
            followed.append(answer)
    except BadFrame as exc:
        return error(413 if exc.code == "too_long" else 400, exc.code, exc.detail)
    except Conversation.DoesNotExist:
        return error(404, "not_found", "No such conversation")
    except generation.TooManyGenerations as exc:
        return error(429, "too_many", str(exc))
    except generation.CannotAnswer as exc:
        return error(400, "cannot_answer", str(exc))
    answers = {answer.message_id for answer in followed}
    return streaming_response(event_stream(queue, answers, followed))


def _resume_offset(request: HttpRequest) -> int:
    raw = request.headers.get("Last-Event-ID", "").rpartition(":")[2] or request.GET.get(
        "offset", "0"
    )
    if not raw.isdigit():
        raise BadFrame("bad_frame", "the offset must be a whole number")
    return int(raw)


async def _replay(message: Message, offset: int) -> AsyncIterator[bytes]:
    offsets: dict[int, int] = {}
    for frame in stored_frames(message, offset):
        yield sse(frame, offsets)


@require_GET
@api_view
async def stream(request: HttpRequest, user: Any, message_id: int) -> HttpResponse:
    try:
        message = await _message(user, message_id)
        offset = _resume_offset(request)
    except Message.DoesNotExist:
        return error(404, "not_found", "No such message")
    except BadFrame as exc:
        return error(400, exc.code, exc.detail)
    answer = generation.running.get(message.pk)
    if answer is not None:
        queue = EventQueue()
        await answer.subscribe(queue, offset)
        return streaming_response(event_stream(queue, {message.pk}, [answer]))
    if message.is_live and await sync_to_async(generation.mark_stale_interrupted)():
        await sync_to_async(message.refresh_from_db)()
    if message.is_live and message.owner_channel:
        return streaming_response(_remote(message, offset))
    return streaming_response(_replay(message, offset))


async def _remote(message: Message, offset: int) -> AsyncIterator[bytes]:
    offsets: dict[int, int] = {}
    ended = False
    async for data in control.remote_frames(message.owner_channel, message.pk, offset):
        ended = data["type"] == "message.end"
        yield sse(Frame(**data), offsets)
    if not ended:  # the owner finished before it heard us: the database has the rest
        await sync_to_async(message.refresh_from_db)()
        async for event in _replay(message, offsets.get(message.pk, offset)):
            yield event


@csrf_exempt
@require_POST
@api_view
async def stop(request: HttpRequest, user: Any, message_id: int) -> HttpResponse:
    try:
        message = await _message(user, message_id)
    except Message.DoesNotExist:
        return error(404, "not_found", "No such message")
    if not await generation.stop_answer(message):
        return error(409, "not_streaming", "This answer is not being written any more")
    return JsonResponse({"type": "stopping", "message": message.pk}, status=202)
