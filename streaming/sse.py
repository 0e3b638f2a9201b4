"""Server-sent events read straight from the response bytes.

The SDKs can turn every chunk into pydantic objects, but that costs about as much CPU as the
rest of the server put together (docs/benchmarks.md). So providers keep the SDK for
auth, base URL and HTTP errors, and read the event stream here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

from streaming.events import MalformedStream

DRAIN_SECONDS = 0.5


async def server_sent_events(chunks: AsyncIterable[bytes]) -> AsyncIterator[tuple[str, str]]:
    """Yield ``(event, data)`` for each event: lines end in LF, CRLF or CR, ``:`` lines are
    comments, one space after the colon is dropped, several ``data:`` lines join with LF, and a
    blank line dispatches. ``event`` is ``""`` when the server sent no ``event:`` line."""
    buffer = b""
    event = ""
    data: list[str] = []
    async for chunk in chunks:
        buffer += chunk
        held = b""
        if b"\r" in buffer:
            # A CR at the very end may be the first half of a CRLF split across two chunks.
            if buffer.endswith(b"\r"):
                buffer, held = buffer[:-1], b"\r"
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = buffer.split(b"\n")
        buffer = lines.pop() + held
        for line in lines:
            if not line:
                if data:
                    yield event, "\n".join(data)
                event, data = "", []
            elif line[0] != 0x3A:  # ":" starts a comment
                name, _, value = line.decode("utf-8", "replace").partition(":")
                if value[:1] == " ":
                    value = value[1:]
                if name == "data":
                    data.append(value)
                elif name == "event":
                    event = value
    # Be lenient with a server that ends the body without the final blank line.
    line = buffer.rstrip(b"\r")
    if line.startswith(b"data:"):
        value = line[5:].decode("utf-8", "replace")
        data.append(value[1:] if value[:1] == " " else value)
    if data:
        yield event, "\n".join(data)


async def drain(events: AsyncIterator[Any]) -> None:
    """Read what is left after the last event (the end of the chunked body), so the connection
    goes back to the pool: an HTTP client closes a connection whose response it abandoned
    before the last byte, and the next answer would pay a new TCP (and TLS) handshake. Bounded,
    in case a server keeps the body open."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(DRAIN_SECONDS):
            async for _ in events:
                pass


def parse_json(data: str, provider: str) -> Any:
    """An event's JSON payload; a line that is not JSON is the upstream's fault, not ours."""
    try:
        return json.loads(data)
    except ValueError:
        raise MalformedStream(f"{provider} sent a line that is not JSON: {data[:80]!r}") from None
