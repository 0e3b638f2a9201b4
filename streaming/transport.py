"""The HTTP/1.1 connections the providers' SDKs stream answers over: h11 on asyncio's streams.

The SDKs keep building the requests (URLs, auth, headers, retries, errors); only the bytes
under them take this shorter path. httpx's default transport reads a stream through httpcore
and anyio, with a cancel scope and a socket check around every read; here a read is one await
on the connection's buffer, and its timeout is one timer per connection that is pushed back
lazily rather than armed and cancelled per read.

    client = openai.DefaultAsyncHttpxClient(transport=StreamingTransport())

Connections are kept for reuse for ``keepalive_expiry`` seconds once a response has been read
to its end (at most ``max_idle`` for each host). A request on a kept connection that the server
had closed is sent once more on a new one. Behind an HTTP proxy (the ``*_PROXY`` variables),
``for_sdk`` gives None so that the SDK's own client, which honours them, is used.
"""

from __future__ import annotations

import asyncio
import ssl
import time
import urllib.request
from collections.abc import AsyncIterator

import h11
import httpx2

DEFAULT_PORTS = {b"http": 80, b"https": 443}
READ_SIZE = 65_536


def for_sdk() -> StreamingTransport | None:
    """A transport for an SDK's client, or None where a proxy is configured."""
    if any(urllib.request.getproxies().get(s) for s in ("http", "https", "all")):
        return None
    return StreamingTransport()


class StreamingTransport(httpx2.AsyncBaseTransport):
    def __init__(
        self,
        keepalive_expiry: float = 5.0,
        max_idle: int = 100,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """``ssl_context``: whom to trust; by default what httpx trusts (certifi's roots, or
        ``SSL_CERT_FILE``)."""
        self.keepalive_expiry = keepalive_expiry
        self.max_idle = max_idle
        self._idle: dict[tuple[bytes, bytes, int], list[tuple[float, _Connection]]] = {}
        self._ssl = ssl_context

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        url = request.url
        if url.raw_scheme not in DEFAULT_PORTS:
            raise httpx2.UnsupportedProtocol(f"Unsupported URL scheme: {url.scheme!r}")
        key = (url.raw_scheme, url.raw_host, url.port or DEFAULT_PORTS[url.raw_scheme])
        timeouts = request.extensions.get("timeout") or {}
        body = await request.aread()
        kept = self._kept(key)
        if kept is not None:
            try:
                return await kept.send(request, body, timeouts)
            except _ClosedBeforeAnswering:
                pass  # the server had closed it while it was kept: a new one
        connection = await self._connect(key, timeouts.get("connect"))
        try:
            return await connection.send(request, body, timeouts)
        except _ClosedBeforeAnswering as closed:
            raise httpx2.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from closed

    async def aclose(self) -> None:
        idle, self._idle = self._idle, {}
        loop = asyncio.get_running_loop()
        for connections in idle.values():
            for _, connection in connections:
                if connection.loop is loop:
                    connection.close()

    # Connections ------------------------------------------------------------------------------

    def _kept(self, key: tuple[bytes, bytes, int]) -> _Connection | None:
        connections = self._idle.get(key)
        now = time.monotonic()
        loop = asyncio.get_running_loop()
        while connections:
            since, connection = connections.pop()
            if connection.loop is not loop:
                continue  # another event loop's (a test's that ended): not ours to touch
            if now - since < self.keepalive_expiry and connection.reusable():
                return connection
            connection.close()
        return None

    def keep(self, connection: _Connection) -> None:
        """``connection`` has read a response to its end; it waits here for the next request."""
        connections = self._idle.setdefault(connection.key, [])
        if len(connections) >= self.max_idle:
            connection.close()
            return
        connections.append((time.monotonic(), connection))

    async def _connect(self, key: tuple[bytes, bytes, int], timeout: float | None) -> _Connection:
        scheme, host, port = key
        context = None
        if scheme == b"https":
            if self._ssl is None:
                self._ssl = httpx2.create_ssl_context()
            context = self._ssl
        name = host.decode("ascii")
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    name, port, ssl=context, server_hostname=name if context else None
                )
        except TimeoutError as error:
            raise httpx2.ConnectTimeout(f"Timed out connecting to {name}:{port}") from error
        except (OSError, ssl.SSLError) as error:
            raise httpx2.ConnectError(f"Could not connect to {name}:{port}: {error}") from error
        return _Connection(self, key, reader, writer)


class _ClosedBeforeAnswering(Exception):
    """The connection closed before a byte of the response came."""


class _Connection:
    """One HTTP/1.1 connection: a request at a time, its response read through ``_Body``."""

    def __init__(
        self,
        pool: StreamingTransport,
        key: tuple[bytes, bytes, int],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.pool = pool
        self.key = key
        self.reader = reader
        self.writer = writer
        self.loop = asyncio.get_running_loop()
        self.h11 = h11.Connection(h11.CLIENT)
        self.closed = False
        # The read timeout: one timer while a response is read, due when the read waiting now
        # began plus the timeout, and pushed back when it comes early.
        self.read_timeout: float | None = None
        self.waiting_since = 0.0
        self.reading = False
        self.timer: asyncio.TimerHandle | None = None
        self.timed_out = False

    def reusable(self) -> bool:
        return (
            not self.closed
            and not self.writer.is_closing()
            and not self.reader.at_eof()
            and self.h11.our_state is h11.IDLE
        )

    def close(self) -> None:
        self._stop_timer()
        if not self.closed:
            self.closed = True
            self.writer.close()

    async def send(
        self, request: httpx2.Request, body: bytes, timeouts: dict[str, float | None]
    ) -> httpx2.Response:
        """Writes ``request`` and reads its response's head; the body is read as it is used."""
        self.read_timeout = timeouts.get("read")
        try:
            self._write(request, body)
            async with asyncio.timeout(timeouts.get("write")):
                await self.writer.drain()
        except TimeoutError as error:
            self.close()
            raise httpx2.WriteTimeout("Timed out sending the request", request=request) from error
        except (OSError, RuntimeError) as error:
            self.close()
            raise _ClosedBeforeAnswering from error
        head = await self._head(request)
        return httpx2.Response(
            status_code=head.status_code,
            headers=head.headers,
            stream=_Body(self, request),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": head.reason},
        )

    def _write(self, request: httpx2.Request, body: bytes) -> None:
        headers = [
            (name, value)
            for name, value in request.headers.raw
            if name.lower() not in (b"content-length", b"transfer-encoding")
        ]
        headers.append((b"content-length", str(len(body)).encode()))
        try:
            data = self.h11.send(
                h11.Request(method=request.method, target=request.url.raw_path, headers=headers)
            )
            if body:
                data += self.h11.send(h11.Data(data=body))
            data += self.h11.send(h11.EndOfMessage())
        except h11.LocalProtocolError as error:
            self.close()
            raise httpx2.LocalProtocolError(str(error), request=request) from error
        self.writer.write(data)

    async def _head(self, request: httpx2.Request) -> h11.Response:
        received = False
        while True:
            event = await self.next_event(request, received)
            received = True
            if isinstance(event, h11.Response):
                return event
            # An informational (1xx) response: the real one follows.

    async def next_event(self, request: httpx2.Request, received: bool = True) -> h11.Event:
        """The response's next event, reading more as h11 needs it. ``received``: some of the
        response had come (so a close now is the server's error, not a stale connection)."""
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as error:
                self.close()
                raise httpx2.RemoteProtocolError(str(error), request=request) from error
            if event is not h11.NEED_DATA:
                return event
            answering = received or self.h11.their_state is not h11.SEND_RESPONSE
            try:
                data = await self._read(request)
            except httpx2.ReadError as error:
                if answering:
                    raise
                raise _ClosedBeforeAnswering from error
            if not data and not answering:
                self.close()
                raise _ClosedBeforeAnswering
            received = received or bool(data)
            self.h11.receive_data(data)

    async def _read(self, request: httpx2.Request) -> bytes:
        self.waiting_since = time.monotonic()
        if self.read_timeout is not None and self.timer is None:
            self.timer = self.loop.call_later(self.read_timeout, self._due)
        self.reading = True
        try:
            data = await self.reader.read(READ_SIZE)
        except (OSError, ssl.SSLError) as error:
            self.close()
            if self.timed_out:
                raise _timed_out(request) from error
            raise httpx2.ReadError(str(error) or type(error).__name__, request=request) from error
        finally:
            self.reading = False
        if self.timed_out:
            raise _timed_out(request)
        return data

    def _stop_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _due(self) -> None:
        """The read timer: times out a read that has waited ``read_timeout``, or comes back
        when that will be (a read begun since, or none waiting)."""
        self.timer = None
        if self.closed or self.read_timeout is None:
            return
        left = self.waiting_since + self.read_timeout - time.monotonic()
        if left > 0 or not self.reading:
            self.timer = self.loop.call_later(left if left > 0 else self.read_timeout, self._due)
            return
        self.timed_out = True
        self.closed = True
        self.writer.transport.abort()
        self.reader.feed_eof()  # wakes the read that waits

    def finished(self) -> None:
        """The response was read to its end: keep the connection if both sides can go on."""
        self._stop_timer()
        if self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE:
            self.h11.start_next_cycle()
            self.pool.keep(self)
        else:
            self.close()


def _timed_out(request: httpx2.Request) -> httpx2.ReadTimeout:
    return httpx2.ReadTimeout("Timed out reading the response", request=request)


class _Body(httpx2.AsyncByteStream):
    def __init__(self, connection: _Connection, request: httpx2.Request) -> None:
        self.connection = connection
        self.request = request
        self.done = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        connection = self.connection
        while not self.done:
            event = await connection.next_event(self.request)
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self.done = True
                connection.finished()
            elif isinstance(event, h11.ConnectionClosed):
                connection.close()
                raise httpx2.RemoteProtocolError(
                    "Server disconnected before the response was complete.", request=self.request
                )

    async def aclose(self) -> None:
        if not self.done:
            # Not read to its end (the answer was stopped): the connection cannot be reused.
            self.done = True
            self.connection.close()
