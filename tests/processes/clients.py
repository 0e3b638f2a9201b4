"""Clients speaking to real server processes: a WebSocket tab and an SSE reader."""

from __future__ import annotations

import asyncio
import json

import httpx
import websockets


class Tab:
    def __init__(self, socket: websockets.ClientConnection) -> None:
        self.socket = socket
        self.text: dict[int, str] = {}

    @classmethod
    async def open(cls, url: str, session: str) -> Tab:
        origin = url.replace("ws://", "http://").split("/ws/")[0]
        socket = await websockets.connect(
            url, additional_headers={"Cookie": f"sessionid={session}", "Origin": origin}
        )
        return cls(socket)

    async def send(self, frame: dict) -> None:
        await self.socket.send(json.dumps(frame))

    async def receive(self, timeout: float = 20) -> dict:
        frame = json.loads(await asyncio.wait_for(self.socket.recv(), timeout))
        if frame["type"] == "delta":
            held = self.text.get(frame["message"], "")
            assert frame["offset"] <= len(held), f"gap: {frame['offset']} > {len(held)}"
            self.text[frame["message"]] = held + frame["text"][len(held) - frame["offset"] :]
        return frame

    async def until(self, frame_type: str, timeout: float = 20) -> dict:
        while (frame := await self.receive(timeout))["type"] != frame_type:
            pass
        return frame

    async def close(self) -> None:
        await self.socket.close()


async def sse_events(client: httpx.AsyncClient, method: str, url: str, **kwargs):
    """Yield (event, id, data) from an SSE response."""
    async with client.stream(method, url, timeout=30, **kwargs) as response:
        assert response.status_code == 200, await response.aread()
        fields: dict[str, str] = {}
        async for line in response.aiter_lines():
            if line:
                name, _, value = line.partition(": ")
                fields[name] = value
            elif fields:
                yield fields["event"], fields["id"], json.loads(fields["data"])
                fields = {}
