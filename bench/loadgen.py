"""The load generator: its own process, one asyncio loop, many sockets, loopback only.

It reads one JSON spec on standard input and writes one JSON result on standard output::

    echo '{"kind": "sse", "port": 8001, "streams": 10, ...}' | python -m bench.loadgen

Kinds:

- ``ws``: our WebSocket (``send`` a message, read ``message.start``, deltas, ``message.end``);
- ``sse``: the baseline's ``POST /chat`` (one ``data:`` event per token, then ``[DONE]``);
- ``upstream``: the fake upstream's OpenAI endpoint read directly (the floor);
- ``pair``: for every stream a sender socket and a watcher socket that ``resume``s the sender's
  answer on another (or the same) server process;
- ``idle``: open sockets and hold them until a line arrives on standard input; a line
  ``frame`` first has each socket ask for an answer that does not exist and read the one frame
  that refuses it (a socket that has been sent a frame holds its compressor), then hold them
  again.

Every request asks the fake upstream for its answer with ``fake:{...}`` and carries a tag, so
the driver can find the time the fake wrote each answer's first token (``time.monotonic()``,
one clock for all processes on Linux). Every run is bounded by ``deadline_s``; every stream
is bounded in count by ``streams``.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
import uuid
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from tests.fakes.script import Script

LOOPBACK = "127.0.0.1"


class CountingConnection(ClientConnection):
    """A WebSocket client that counts the bytes it receives off the socket: what went over the
    wire, compressed when the server took the client's permessage-deflate offer."""

    bytes_in = 0

    def data_received(self, data: bytes) -> None:
        self.bytes_in += len(data)
        super().data_received(data)


class Stream:
    """What one client saw of one answer."""

    def __init__(self, tag: str, expected: str, expected_reasoning: str = "") -> None:
        self.tag = tag
        self.expected = expected
        self.expected_reasoning = expected_reasoning
        self.parts: list[str] = []
        self.held = 0
        self.reasoning_parts: list[str] = []
        self.reasoning_held = 0
        self.t_sent = 0.0
        self.t_first: float | None = None
        self.t_end: float | None = None
        self.last: float | None = None
        self.gaps: list[float] = []
        self.frames = 0
        self.holes = 0  # deltas that started past what we held: text the server never sent
        self.bytes_in = 0
        self.handshake_bytes = 0
        self.status = ""
        self.error = ""
        self.message_id: int | None = None
        self.marks: list[tuple[int, float]] = []  # (offset held, when) after each delta
        self.output_tokens: int | None = None

    def text_arrived(self, text: str, now: float, offset: int | None = None) -> None:
        text = self._unseen(text, offset, self.held)
        if text:
            self.parts.append(text)
            self.held += len(text)
            self.frame_arrived(now)
            self.marks.append((self.held, now))

    def reasoning_arrived(self, text: str, now: float, offset: int | None = None) -> None:
        """Reasoning, which has offsets of its own; its frames count in the gaps like text's:
        a reader watches one answer stream, whichever part it is in."""
        text = self._unseen(text, offset, self.reasoning_held)
        if text:
            self.reasoning_parts.append(text)
            self.reasoning_held += len(text)
            self.frame_arrived(now)

    def _unseen(self, text: str, offset: int | None, held: int) -> str:
        if not text or offset is None:
            return text
        if offset + len(text) <= held:
            return ""  # a duplicate
        if offset > held:
            self.holes += 1
            return ""
        return text[held - offset :]

    def frame_arrived(self, now: float) -> None:
        self.frames += 1
        if self.t_first is None:
            self.t_first = now
        else:
            self.gaps.append(now - self.last)
        self.last = now

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def summary(self) -> dict[str, Any]:
        text = self.text
        reasoning = "".join(self.reasoning_parts)
        return {
            "tag": self.tag,
            "t_sent": self.t_sent,
            "t_first": self.t_first,
            "t_end": self.t_end,
            "t_last": self.last,
            "output_tokens": self.output_tokens,
            "chars": len(text),
            "expected_chars": len(self.expected),
            "exact": text == self.expected and reasoning == self.expected_reasoning,
            "exact_but_newlines": text.replace("\n", "") == self.expected.replace("\n", "")
            and reasoning == self.expected_reasoning,
            "reasoning_chars": len(reasoning),
            "expected_reasoning_chars": len(self.expected_reasoning),
            "frames": self.frames,
            "holes": self.holes,
            "bytes_in": self.bytes_in,
            "handshake_bytes": self.handshake_bytes,
            "max_gap": max(self.gaps, default=0.0),
            "status": self.status,
            "error": self.error,
        }


def content_for(tag: str, script: dict[str, Any]) -> str:
    return f"bench-{tag} fake:{json.dumps(script, separators=(',', ':'))}"


# SSE over raw asyncio streams -------------------------------------------------------------------


class Chunked:
    """An incremental decoder for ``Transfer-Encoding: chunked`` bodies."""

    def __init__(self) -> None:
        self.buffer = b""
        self.remaining = 0
        self.state = "size"
        self.done = False

    def feed(self, data: bytes) -> bytes:
        self.buffer += data
        out = []
        while not self.done:
            if self.state == "size":
                end = self.buffer.find(b"\r\n")
                if end < 0:
                    break
                size = int(self.buffer[:end].split(b";")[0], 16)
                self.buffer = self.buffer[end + 2 :]
                if size == 0:
                    self.done = True
                    break
                self.remaining, self.state = size, "data"
            if self.state == "data":
                piece = self.buffer[: self.remaining]
                out.append(piece)
                self.remaining -= len(piece)
                self.buffer = self.buffer[len(piece) :]
                if self.remaining:
                    break
                self.state = "crlf"
            if self.state == "crlf":
                if len(self.buffer) < 2:
                    break
                self.buffer = self.buffer[2:]
                self.state = "size"
        return b"".join(out)


class EventSource:
    """Server-sent events as a browser's EventSource reads them (LF line ends here)."""

    def __init__(self) -> None:
        self.buffer = b""
        self.data: list[str] = []

    def feed(self, body: bytes) -> list[str]:
        self.buffer += body
        *lines, self.buffer = self.buffer.split(b"\n")
        events = []
        for raw in lines:
            line = raw.decode()
            if not line:
                if self.data:
                    events.append("\n".join(self.data))
                self.data = []
            elif line.startswith("data:"):
                value = line[5:]
                self.data.append(value[1:] if value[:1] == " " else value)
        return events


async def sse_stream(
    stream: Stream, port: int, path: str, body: dict[str, Any], upstream: bool
) -> None:
    reader, writer = await asyncio.open_connection(LOOPBACK, port)
    try:
        payload = json.dumps(body).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {LOOPBACK}:{port}\r\n"
            "Content-Type: application/json\r\nAccept: text/event-stream\r\n"
            "Authorization: Bearer bench\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        ).encode()
        stream.t_sent = time.monotonic()
        writer.write(head + payload)
        raw = b""
        while b"\r\n\r\n" not in raw:
            data = await reader.read(65536)
            if not data:
                raise ConnectionError("closed before the response headers")
            raw += data
        stream.bytes_in += len(raw)
        head_bytes, _, rest = raw.partition(b"\r\n\r\n")
        status = head_bytes.split(b"\r\n", 1)[0]
        if b" 200 " not in status + b" ":
            raise ConnectionError(status.decode())
        chunked = b"chunked" in head_bytes.lower()
        decoder, events = Chunked(), EventSource()
        data = rest
        while True:
            now = time.monotonic()
            body_bytes = decoder.feed(data) if chunked else data
            for event in events.feed(body_bytes):
                if event == "[DONE]":
                    stream.status = "complete"
                    stream.t_end = now
                    return
                if upstream:
                    chunk = json.loads(event)
                    for choice in chunk.get("choices") or ():
                        delta = choice.get("delta") or {}
                        stream.reasoning_arrived(delta.get("reasoning_content") or "", now)
                        stream.text_arrived(delta.get("content") or "", now)
                else:
                    stream.text_arrived(event, now)
            if decoder.done:
                stream.status = "ended without [DONE]"
                return
            data = await reader.read(65536)
            if not data:
                stream.status = "closed"
                return
            stream.bytes_in += len(data)
    finally:
        writer.close()


# WebSockets -------------------------------------------------------------------------------------


async def open_socket(spec: dict[str, Any], port: int, index: int) -> CountingConnection:
    cookies = spec["cookies"]
    return await connect(
        f"ws://{LOOPBACK}:{port}/ws/chat/",
        origin=f"http://{LOOPBACK}:{port}",
        additional_headers={"Cookie": f"sessionid={cookies[index % len(cookies)]}"},
        # websockets offers what browsers do: "permessage-deflate; client_max_window_bits".
        compression="deflate",
        max_size=None,
        ping_interval=None,
        proxy=None,
        open_timeout=60,
        create_connection=CountingConnection,
    )


async def read_answer(socket: CountingConnection, stream: Stream, started: asyncio.Future) -> None:
    async for raw in socket:
        now = time.monotonic()
        frame = json.loads(raw)
        kind = frame["type"]
        if kind == "delta" and frame.get("part") == "reasoning":
            stream.reasoning_arrived(frame["text"], now, frame["offset"])
        elif kind == "delta":
            stream.text_arrived(frame["text"], now, frame["offset"])
        elif kind == "message.start":
            stream.message_id = frame["message"]
            if not started.done():
                started.set_result(frame["message"])
        elif kind == "message.end":
            stream.status = frame["status"]
            stream.error = frame.get("error") or ""
            stream.output_tokens = (frame.get("usage") or {}).get("output_tokens")
            stream.t_end = now
            break
        elif kind == "error":
            stream.error = f"{frame['code']}: {frame['detail']}"
            break
    if not started.done():
        started.set_exception(ConnectionError(stream.error or "no answer started"))


async def refused_resume(socket: CountingConnection) -> bool:
    await socket.send(json.dumps({"type": "resume", "message": 2**31 - 1, "offset": 0}))
    return json.loads(await socket.recv())["type"] == "error"


# Runs -------------------------------------------------------------------------------------------


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p99": None, "max": None, "n": 0}
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"p50": at(0.50), "p99": at(0.99), "max": ordered[-1], "n": len(ordered)}


async def loop_lag(samples: list[float], stop: asyncio.Event) -> None:
    """How late this process's own event loop wakes up: when it is busy, so are its clocks."""
    while not stop.is_set():
        before = time.monotonic()
        await asyncio.sleep(0.01)
        samples.append(time.monotonic() - before - 0.01)


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    kind = spec["kind"]
    count = int(spec.get("streams", 1))
    ramp = float(spec.get("ramp_s", 0.0))
    script = spec.get("script", {})
    parsed = Script.from_dict(script)
    expected = (parsed.answer_text(), parsed.reasoning)
    run_id = uuid.uuid4().hex[:8]
    streams = [Stream(f"{run_id}x{i}", *expected) for i in range(count)]
    watchers = [Stream(f"{run_id}w{i}", *expected) for i in range(count)] if kind == "pair" else []
    ports = spec.get("ports") or [spec["port"]]
    connecting = asyncio.Semaphore(int(spec.get("connect_concurrency", 50)))
    sockets: dict[tuple[str, int], CountingConnection] = {}

    async def connect_one(role: str, index: int, port: int) -> None:
        async with connecting:
            socket = await open_socket(spec, port, index)
        socket.bytes_in_at_open = socket.bytes_in
        sockets[role, index] = socket

    lag: list[float] = []
    stop_lag = asyncio.Event()
    lag_task = asyncio.create_task(loop_lag(lag, stop_lag))
    usage_before = resource.getrusage(resource.RUSAGE_SELF)
    connect_errors = 0
    first_error = ""
    t_connecting = t_connected = time.monotonic()
    if kind in ("ws", "pair", "idle"):
        jobs = [connect_one("s", i, ports[i % len(ports)]) for i in range(count)]
        if kind == "pair":
            jobs += [connect_one("w", i, ports[(i + 1) % len(ports)]) for i in range(count)]
        results = await asyncio.gather(*jobs, return_exceptions=True)
        connect_errors = sum(isinstance(r, BaseException) for r in results)
        first_error = next((repr(r) for r in results if isinstance(r, BaseException)), "")
        t_connected = time.monotonic()
        if kind == "idle":
            opened = {"opened": len(sockets), "errors": connect_errors, "first_error": first_error}
            print(json.dumps(opened), flush=True)
            read_line = asyncio.get_running_loop().run_in_executor
            while (await read_line(None, sys.stdin.readline)).strip() == "frame":
                framed = await asyncio.gather(
                    *(refused_resume(s) for s in sockets.values()), return_exceptions=True
                )
                print(json.dumps({"framed": sum(f is True for f in framed)}), flush=True)
            await asyncio.gather(*(s.close() for s in sockets.values()), return_exceptions=True)
            stop_lag.set()
            await lag_task
            return {"opened": len(sockets), "errors": connect_errors, "first_error": first_error}
        await asyncio.sleep(float(spec.get("settle_s", 0.5)))
    start = time.monotonic()
    # With ``streaming_first``, only that many start over ``ramp_s``; the others all start
    # within ``burst_ramp_s`` at ``burst_at_s``, while the first are streaming, and the gaps
    # reported are those of the first: what a burst of starts does to answers under way.
    first = int(spec.get("streaming_first", count))
    burst_at, burst_ramp = float(spec.get("burst_at_s", 0.0)), float(spec.get("burst_ramp_s", 0))

    def start_at(index: int) -> float:
        if index < first:
            return ramp * index / max(1, first)
        return burst_at + burst_ramp * (index - first) / max(1, count - first)

    async def one(index: int) -> None:
        stream = streams[index]
        await asyncio.sleep(start + start_at(index) - time.monotonic())
        content = spec.get("prompt") or content_for(stream.tag, script)
        model = spec.get("model", "")
        try:
            if kind == "sse":
                await sse_stream(stream, ports[0], "/chat", {"message": content}, upstream=False)
            elif kind == "upstream":
                body = {
                    "model": model or "bench",
                    "messages": [{"role": "user", "content": content}],
                    "stream": True,
                }
                await sse_stream(stream, ports[0], "/v1/chat/completions", body, upstream=True)
            else:
                socket = sockets.get(("s", index))
                if socket is None:
                    stream.error = "not connected"
                    return
                started = asyncio.get_running_loop().create_future()
                send = {"type": "send", "conversation": None, "content": content, "model": model}
                stream.t_sent = time.monotonic()
                await socket.send(json.dumps(send))
                reading = asyncio.create_task(read_answer(socket, stream, started))
                if kind == "pair":
                    await watch(index, started)
                await reading
                stream.bytes_in = socket.bytes_in - socket.bytes_in_at_open
                stream.handshake_bytes = socket.bytes_in_at_open
        except Exception as exc:
            stream.error = stream.error or repr(exc)

    async def watch(index: int, started: asyncio.Future) -> None:
        watcher = watchers[index]
        socket = sockets.get(("w", index))
        message_id = await started
        if socket is None:
            watcher.error = "not connected"
            return
        never = asyncio.get_running_loop().create_future()
        watcher.t_sent = time.monotonic()
        await socket.send(json.dumps({"type": "resume", "message": message_id, "offset": 0}))
        asyncio.create_task(read_answer(socket, watcher, never)).add_done_callback(lambda _: None)

    timed_out = False
    try:
        async with asyncio.timeout(float(spec.get("deadline_s", 120))):
            await asyncio.gather(*(one(i) for i in range(count)))
            if watchers:
                # Polled: a watcher may never hear its end (that is what is being measured).
                while any(w.t_end is None and not w.error for w in watchers):  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
    except TimeoutError:
        timed_out = True
    elapsed = time.monotonic() - start
    await asyncio.gather(*(s.close() for s in sockets.values()), return_exceptions=True)
    stop_lag.set()
    await lag_task
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (usage.ru_utime + usage.ru_stime) - (usage_before.ru_utime + usage_before.ru_stime)
    result: dict[str, Any] = {
        "kind": kind,
        "streams": [s.summary() for s in streams],
        "gaps": percentiles([g for s in streams[:first] for g in s.gaps]),
        "connect_errors": connect_errors,
        "first_connect_error": first_error,
        "connect_s": t_connected - t_connecting,
        "elapsed_s": elapsed,
        "timed_out": timed_out,
        "loadgen_cpu_s": cpu,
        "loadgen_loop_lag": percentiles(lag),
        "start": start,
    }
    if watchers:
        result["watchers"] = [w.summary() for w in watchers]
        result["watcher_gaps"] = percentiles([g for w in watchers for g in w.gaps])
        result["watcher_lag"] = percentiles(
            [lag for s, w in zip(streams, watchers, strict=True) for lag in delivery_lag(s, w)]
        )
    return result


def delivery_lag(sender: Stream, watcher: Stream) -> list[float]:
    """For each live delta the sender got, how much later the watcher held the same text."""
    if watcher.t_first is None:
        return []
    lags, j = [], 0
    for held, when in sender.marks:
        if when < watcher.t_first:
            continue
        while j < len(watcher.marks) and watcher.marks[j][0] < held:
            j += 1
        if j == len(watcher.marks):
            break
        lags.append(watcher.marks[j][1] - when)
    return lags


def main() -> None:
    spec = json.loads(sys.stdin.readline())
    result = asyncio.run(run(spec))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
