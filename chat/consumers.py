from __future__ import annotations

import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.db import DatabaseError, close_old_connections

from chat import catalog, control, generation, ratelimit
from chat.fanout import Frame, stored_frames
from chat.frames import BadFrame, ClientFrame, parse
from chat.models import Conversation, Message

log = logging.getLogger(__name__)


UNAVAILABLE = "The server cannot reach its database right now. Try again in a moment."


class ChatConsumer(AsyncWebsocketConsumer):
    """One browser tab. Thin: parse, authorize, call the generation module, reply."""

    async def connect(self) -> None:
        self.user = self.scope["user"]
        if not self.user.is_authenticated:
            await self.close()
            return
        self.open = True
        self.watching: dict[int, str] = {}  # message id -> owner channel on another process
        self.subscribed: dict[int, generation.Generation] = {}
        await self.accept()

    async def disconnect(self, code: int) -> None:
        self.open = False
        for answer in getattr(self, "subscribed", {}).values():
            answer.unsubscribe(self)
        for message_id, owner in getattr(self, "watching", {}).items():
            await control.send(
                owner,
                {
                    "type": "generation.unwatch",
                    "message": message_id,
                    "reply_channel": self.channel_name,
                },
            )

    async def deliver(self, frame: Frame) -> bool:
        if not self.open:
            return False
        await self.send(text_data=frame.json)
        return True

    async def reply_error(self, code: str, detail: str) -> None:
        await self.deliver(Frame(type="error", code=code, detail=detail))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not ratelimit.frames.allow(self.user.pk):  # before parsing: a flood costs little
            await self.reply_error("rate_limited", ratelimit.TOO_FAST)
            return
        try:
            frame = parse(text_data if text_data is not None else bytes_data)
            await getattr(self, "on_" + frame.type)(frame)
        except BadFrame as exc:
            await self.reply_error(exc.code, exc.detail)
        except Message.DoesNotExist:
            await self.reply_error("not_found", "No such message")
        except Conversation.DoesNotExist:
            await self.reply_error("not_found", "No such conversation")
        except catalog.UnknownModel as exc:
            await self.reply_error("bad_model", str(exc))
        except generation.TooManyGenerations as exc:
            await self.reply_error("too_many", str(exc))
        except generation.CannotAnswer as exc:
            await self.reply_error("cannot_answer", str(exc))
        except DatabaseError:
            log.exception("a frame failed on the database")
            await self.reply_error("unavailable", UNAVAILABLE)
        except Exception:
            # Whatever went wrong with this frame, the socket and the other answers go on.
            log.exception("a frame failed")
            await self.reply_error("internal", "Something went wrong. Try again in a moment.")

    # Frames --------------------------------------------------------------------------------

    async def on_send(self, frame: ClientFrame) -> None:
        content = frame.content()
        models = frame.models()
        for model in models:
            if model not in catalog.models():
                raise catalog.UnknownModel(f"{model!r} is not one of the models offered here")
        user_message = await database_sync_to_async(Conversation.add_message_for)(
            self.user, frame.id("conversation", optional=True), models[0], content, frame.tools()
        )
        for model in models:
            await self._follow(await generation.start_answer(self.user.pk, user_message, model))

    async def on_stop(self, frame: ClientFrame) -> None:
        message = await self._message(frame.id("message"))
        if not await generation.stop_answer(message):
            await self.reply_error("not_streaming", "This answer is not being written any more")

    async def on_resume(self, frame: ClientFrame) -> None:
        offset = frame.offset()
        message = await self._message(frame.id("message"))
        running = generation.running.get(message.pk)
        if running is not None:
            await self._follow(running, offset)
        elif message.is_live and message.owner_channel and not await self._stale(message):
            self.watching[message.pk] = message.owner_channel
            await control.send(
                message.owner_channel,
                {
                    "type": "generation.watch",
                    "message": message.pk,
                    "offset": offset,
                    "reply_channel": self.channel_name,
                },
            )
        else:
            await self._replay(message.pk, offset)

    async def on_regenerate(self, frame: ClientFrame) -> None:
        message = await self._message(frame.id("message"), role=Message.Role.ASSISTANT)
        if message.is_live:
            raise BadFrame("not_resumable", "Stop this answer before regenerating it")
        model = frame.text("model", optional=True) or message.model
        reply_to = await self._message(message.reply_to_id)
        await self._follow(
            await generation.start_answer(self.user.pk, reply_to, model, replaces=message)
        )

    async def on_continue(self, frame: ClientFrame) -> None:
        message = await self._message(frame.id("message"), role=Message.Role.ASSISTANT)
        if message.status not in Message.CONTINUABLE:
            raise BadFrame(
                "not_resumable", "Only a stopped, failed or interrupted answer can continue"
            )
        await self._follow(
            await generation.continue_answer(self.user.pk, message), len(message.text)
        )

    async def on_select_version(self, frame: ClientFrame) -> None:
        message = await self._message(frame.id("message"), role=Message.Role.ASSISTANT)
        await database_sync_to_async(message.make_current)()
        await self._replay(message.pk, 0)

    # Events from other processes ----------------------------------------------------------

    async def generation_frame(self, event: dict) -> None:
        await self.deliver(Frame(**event["frame"]))
        if event["frame"]["type"] == "message.end":
            self.watching.pop(event["frame"]["message"], None)

    async def generation_gone(self, event: dict) -> None:
        # The owner finished (or died) between our read and our request: the database knows.
        self.watching.pop(event["message"], None)
        await self._replay(event["message"], 0)

    # Helpers -------------------------------------------------------------------------------

    async def _follow(self, answer: generation.Generation, offset: int = 0) -> None:
        self.subscribed[answer.message_id] = answer
        await answer.subscribe(self, offset)

    async def _replay(self, message_id: int, offset: int) -> None:
        """An answer from the database: the text from ``offset``, then its end."""
        message = await self._message(message_id)
        for frame in stored_frames(message, offset):
            await self.deliver(frame)

    @database_sync_to_async
    def _message(self, message_id: int | None, role: str = "") -> Message:
        close_old_connections()
        messages = Message.objects.filter(conversation__owner=self.user)
        if role:
            messages = messages.filter(role=role)
        return messages.select_related("conversation").get(pk=message_id)

    @database_sync_to_async
    def _stale(self, message: Message) -> bool:
        if generation.mark_stale_interrupted():
            message.refresh_from_db()
        return not message.is_live
