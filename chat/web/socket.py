"""One browser tab's WebSocket. It parses frames, calls the answer engine's door and sends
back what the engine delivers; see docs/protocol.md for the frames."""

from __future__ import annotations

import logging

from channels.generic.websocket import AsyncWebsocketConsumer

from chat import answers
from chat.web import ratelimit
from chat.web.refusals import INTERNAL, refusal
from chat.web.requests import ClientFrame, parse

log = logging.getLogger(__name__)


class ChatConsumer(AsyncWebsocketConsumer):
    """A subscriber of every answer the tab follows."""

    async def connect(self) -> None:
        self.user = self.scope["user"]
        if not self.user.is_authenticated:
            await self.close()
            return
        self.open = True
        self.following: list[answers.Following] = []
        await self.accept()

    async def disconnect(self, code: int) -> None:
        self.open = False
        for following in getattr(self, "following", []):
            await following.close()

    async def deliver(self, frame: answers.Frame) -> bool:
        if not self.open:
            return False
        await self.send(text_data=frame.json)
        return True

    async def reply_error(self, code: str, detail: str) -> None:
        await self.deliver(answers.error_frame(code, detail))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not ratelimit.frames.allow(self.user.pk):  # before parsing: a flood costs little
            await self.reply_error("rate_limited", ratelimit.TOO_FAST)
            return
        try:
            frame = parse(text_data if text_data is not None else bytes_data)
            self.following += await getattr(self, "on_" + frame.type)(frame)
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
            await self.reply_error(code, detail)

    # Frames: each returns what the tab now follows ---------------------------------------

    async def on_send(self, frame: ClientFrame) -> list[answers.Following]:
        content, models = frame.content(), frame.models()
        conversation = frame.id("conversation", optional=True)
        return await answers.send(self.user, conversation, content, models, frame.tools(), self)

    async def on_stop(self, frame: ClientFrame) -> list[answers.Following]:
        await answers.stop(self.user, frame.id("message"))
        return []

    async def on_resume(self, frame: ClientFrame) -> list[answers.Following]:
        offset = frame.offset()
        return [await answers.follow(self.user, frame.id("message"), offset, self)]

    async def on_regenerate(self, frame: ClientFrame) -> list[answers.Following]:
        def model(own: str) -> str:
            return frame.text("model", optional=True) or own

        return [await answers.regenerate(self.user, frame.id("message"), model, self)]

    async def on_continue(self, frame: ClientFrame) -> list[answers.Following]:
        return [await answers.continue_answer(self.user, frame.id("message"), self)]

    async def on_select_version(self, frame: ClientFrame) -> list[answers.Following]:
        return [await answers.select_version(self.user, frame.id("message"), self)]
