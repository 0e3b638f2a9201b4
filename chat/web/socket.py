"""One browser tab's WebSocket. It parses frames, calls the answer engine's door and sends
back what the engine delivers; see docs/protocol.md for the frames.

What a socket may hold (how many are open, what waits to be sent) and when it must go (its
sign-in ended) is decided in ``chat.web.sockets``; the consumer asks it."""

from __future__ import annotations

import logging
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from chat import answers
from chat.web import ratelimit, sockets, tabs
from chat.web.refusals import INTERNAL, refusal
from chat.web.requests import BadSettings, ClientFrame, parse

log = logging.getLogger(__name__)

# The frames that start an answer check first that the socket's sign-in still holds: these in
# a trip to the database of their own, ``send`` in the one that stores its message.
CHECKS_SIGN_IN_FIRST = {"edit", "regenerate", "continue"}

# The frames of an answer under way: more follow soon. After any other frame the socket's
# compressor is let go until its next frame (chat.web.compression).
MID_ANSWER = {"message.start", "delta", "message.phase", "tool.call"}

_warned_unbounded = False


class ChatConsumer(AsyncWebsocketConsumer):
    """A subscriber of every answer the tab follows."""

    open = False
    admitted = False
    grouped = False
    backlog = None
    release = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # However the socket ended (even cancelled by Daphne), it gives its place back.
            if self.admitted:
                sockets.open_sockets.release(self, self.user.pk, self.address)

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' dispatch without its trip to the database thread before every message
        (``aclose_old_connections``): every frame, every tabs' message and every connect would
        queue there behind the others' starts and checkpoints. The consumer's queries all run
        through ``database_sync_to_async``, which closes old connections itself, before and
        after."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        self.user = self.scope["user"]
        self.following: list[answers.Following] = []
        if not self.user.is_authenticated:
            await self.close()  # before the handshake: HTTP 403
            return
        self.address = ratelimit.socket_address(self.scope)
        over = sockets.open_sockets.admit(self, self.user.pk, self.address)
        if over:
            log.warning(
                "refused a socket of user %s from %s: too many sockets per %s",
                self.user.pk,
                self.address,
                over,
            )
            # Accepted, then closed, so that the client sees why (a refused handshake shows no
            # code).
            await self.accept()
            await self.close(code=sockets.TOO_MANY_SOCKETS)
            return
        self.admitted = True
        self.session = sockets.session_digest(self.scope["session"].session_key)
        self.backlog = sockets.backlog_of(self.scope)
        self.release = sockets.release_of(self.scope)
        if self.backlog is None:
            _warn_unbounded()
        try:
            # Before the socket opens: a sign-out the moment after reaches it.
            await self.channel_layer.group_add(sockets.user_group(self.user.pk), self.channel_name)
            self.grouped = True
        except Exception as exc:
            # The socket works without; a frame that starts an answer still checks the session.
            log.warning("socket of user %s joined no group: %r", self.user.pk, exc)
        await self.accept()
        self.open = True

    async def disconnect(self, code: int) -> None:
        self.open = False
        if self.grouped:
            self.grouped = False
            try:
                await self.channel_layer.group_discard(
                    sockets.user_group(self.user.pk), self.channel_name
                )
            except Exception as exc:
                log.warning("socket of user %s left no group: %r", self.user.pk, exc)
        for following in self.following:
            await following.close()

    async def deliver(self, frame: answers.Frame) -> bool:
        if not self.open:
            return False
        await self.send(text_data=frame.json)
        if self.backlog is not None and self.backlog() > settings.MAX_SOCKET_BACKLOG_BYTES:
            # The client does not read what it is sent: close before its backlog grows the
            # server's memory. It reconnects and resumes from what it holds.
            log.warning(
                "closed a socket of user %s from %s: over %d bytes wait to be sent",
                self.user.pk,
                self.address,
                settings.MAX_SOCKET_BACKLOG_BYTES,
            )
            await self.end(sockets.TOO_FAR_BEHIND)
            return False
        if self.release is not None and frame.type not in MID_ANSWER:
            self.release()
        return True

    async def end(self, code: int) -> None:
        """Close the socket with ``code``; the answers it followed go on without it."""
        if self.open:
            self.open = False
            await self.close(code=code)

    async def sign_out(self) -> None:
        await self.reply_error("signed_out", sockets.SIGNED_OUT_DETAIL)
        await self.end(sockets.SIGNED_OUT)

    async def session_ended(self, message: dict[str, Any]) -> None:
        """The group message of ``chat.web.sockets.end_sessions``."""
        if message.get("session") in (None, self.session):
            await self.sign_out()

    async def tabs_told(self, message: dict[str, Any]) -> None:
        """The group message of ``chat.web.tabs.tell``: what another of the user's tabs did."""
        if message.get("sender") != self.channel_name:
            await self.deliver(answers.Frame(**message["frame"]))

    async def tell_tabs(self, news: Any) -> None:
        """Tell the user's other tabs what this one did (the awaitable ``news``)."""
        await tabs.tell_of(self.user.pk, news, self.channel_name)

    async def reply_error(self, code: str, detail: str, field: str | None = None) -> None:
        frame = answers.error_frame(code, detail)
        if field is not None:  # a refused setting: the frame names it, as the API's 400 does
            frame = answers.Frame(**frame.data, field=field)
        await self.deliver(frame)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.open:  # closed by the server, the client not told yet
            return
        if not ratelimit.frames.allow(self.user.pk):  # before parsing: a flood costs little
            await self.reply_error("rate_limited", ratelimit.TOO_FAST)
            return
        try:
            frame = parse(text_data if text_data is not None else bytes_data)
            if frame.type in CHECKS_SIGN_IN_FIRST:
                if not await database_sync_to_async(self.signed_in)():
                    raise answers.SignedOut
            self.following += await getattr(self, "on_" + frame.type)(frame)
        except answers.SignedOut:
            await self.sign_out()
        except Exception as exc:
            refused = refusal(exc)
            if refused is None:
                # Whatever went wrong with this frame, the socket and the other answers go on.
                log.exception("a frame failed")
                await self.reply_error("internal", INTERNAL)
                return
            code, _, detail = refused
            if code == "unavailable":
                log.exception("a frame failed on the database")
            await self.reply_error(
                code, detail, exc.field if isinstance(exc, BadSettings) else None
            )

    def signed_in(self) -> bool:
        """Whether the socket's sign-in still holds (queries: call it on the database thread)."""
        return sockets.still_signed_in(self.scope)

    # Frames: each returns what the tab now follows ---------------------------------------

    async def on_send(self, frame: ClientFrame) -> list[answers.Following]:
        content, models = frame.content(), frame.models()
        conversation = frame.id("conversation", optional=True)
        change, files = frame.settings_change(), frame.attachments() or []
        sent = await answers.send(
            self.user, conversation, content, models, change, self, files, self.signed_in
        )
        await tabs.tell(self.user.pk, sent.news, self.channel_name)
        return sent.following

    async def on_edit(self, frame: ClientFrame) -> list[answers.Following]:
        content, message = frame.content(), frame.id("message")
        model = frame.text("model", optional=True) or None
        files = frame.attachments()
        following = await answers.edit(self.user, message, content, model, self, files)
        await self.tell_tabs(answers.news_of_branch(message))
        return [following]

    async def on_stop(self, frame: ClientFrame) -> list[answers.Following]:
        await answers.stop(self.user, frame.id("message"))
        return []

    async def on_resume(self, frame: ClientFrame) -> list[answers.Following]:
        offset, reasoning_offset = frame.offset(), frame.offset("reasoning_offset")
        message = frame.id("message")
        return [await answers.follow(self.user, message, offset, self, reasoning_offset)]

    async def on_regenerate(self, frame: ClientFrame) -> list[answers.Following]:
        def model(own: str) -> str:
            return frame.text("model", optional=True) or own

        return [await answers.regenerate(self.user, frame.id("message"), model, self)]

    async def on_continue(self, frame: ClientFrame) -> list[answers.Following]:
        return [await answers.continue_answer(self.user, frame.id("message"), self)]

    async def on_keep(self, frame: ClientFrame) -> list[answers.Following]:
        message = frame.id("message")
        following = await answers.keep(self.user, message, self)
        await self.tell_tabs(answers.news_of_branch(message))
        return [following]

    async def on_select_version(self, frame: ClientFrame) -> list[answers.Following]:
        message = frame.id("message")
        following = await answers.select_version(self.user, message, self)
        await self.tell_tabs(answers.news_of_branch(message))
        return [following]


def _warn_unbounded() -> None:
    global _warned_unbounded
    if not _warned_unbounded:
        _warned_unbounded = True
        log.warning(
            "this server does not tell how much waits to be sent on a socket, so a client that "
            "does not read can grow its memory: serve with `python -m chat.web.server` "
            "(docs/deploy.md)"
        )
