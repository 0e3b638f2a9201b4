"""The HTTP/1.1 transport under the SDKs: responses as they come, kept connections, and every way
a connection can fail told apart as httpx's errors (which the SDKs and providers translate)."""

from __future__ import annotations

import asyncio
import datetime
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from streaming.providers.anthropic import AnthropicProvider
from streaming.providers.base import ProviderConfig
from streaming.providers.openai import OpenAIProvider
from streaming.transport import StreamingTransport, for_sdk

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Server:
    """A raw HTTP server on a free port: ``handler`` answers each connection's requests."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[bytes] = []
        self.handling: set[asyncio.Task] = set()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self.handling.add(task)
        try:
            await self.handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client went, or the test is over
        finally:
            writer.close()

    async def stop(self) -> None:
        for task in self.handling:
            task.cancel()
        await asyncio.gather(*self.handling, return_exceptions=True)

    async def request(self, reader: asyncio.StreamReader) -> bytes:
        """Reads one request (head and a Content-Length body); returns its body."""
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        body = await reader.readexactly(length)
        self.requests.append(head.split(b"\r\n", 1)[0] + b" " + body)
        return body


@asynccontextmanager
async def serving(
    handler: Callable[[Server], Handler], tls: ssl.SSLContext | None = None
) -> AsyncIterator[tuple[Server, str]]:
    server = Server(lambda r, w: handler(server)(r, w))
    listening = await asyncio.start_server(server.serve, "127.0.0.1", 0, ssl=tls)
    port = listening.sockets[0].getsockname()[1]
    try:
        yield server, f"https://localhost:{port}" if tls else f"http://127.0.0.1:{port}"
    finally:
        listening.close()
        await server.stop()


def client(trusting: ssl.SSLContext | None = None, **timeouts: float) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(
        transport=StreamingTransport(ssl_context=trusting),
        timeout=httpx2.Timeout(5.0, **timeouts),
    )


def echoing(server: Server, keep: bool = True) -> Handler:
    """Answers each request with its body, and keeps the connection open when ``keep``."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            body = await server.request(reader)
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                + b"Content-Length: %d\r\n\r\n" % len(body)
                + body
            )
            await writer.drain()
            if not keep:
                return

    return handle


async def test_a_response_is_read_and_its_connection_kept_for_the_next_request() -> None:
    async with serving(echoing) as (server, url), client() as http:
        first = await http.post(url + "/v1/chat?x=1", content=b"one")
        second = await http.post(url + "/v1/chat", json={"n": 2})
    assert (first.status_code, first.text, first.headers["content-type"]) == (
        200,
        "one",
        "text/plain",
    )
    assert first.http_version == "HTTP/1.1"
    assert second.json() == {"n": 2}
    assert server.requests == [b"POST /v1/chat?x=1 HTTP/1.1 one", b'POST /v1/chat HTTP/1.1 {"n":2}']
    assert server.connections == 1


async def test_a_streamed_body_comes_as_the_server_sends_it() -> None:
    more = asyncio.Event()

    def chunked(server: Server) -> Handler:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await server.request(reader)
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
            )
            writer.write(b"c\r\ndata: hello\n\r\n")
            await writer.drain()
            await more.wait()  # the rest only once the client has the first part
            writer.write(b"c\r\ndata: world\n\r\n0\r\n\r\n")
            await writer.drain()
            await reader.read()

        return handle

    async with serving(chunked) as (_, url), client() as http:
        async with http.stream("POST", url, content=b"{}") as response:
            parts = []
            async for part in response.aiter_bytes():
                parts.append(part)
                more.set()
    assert parts == [b"data: hello\n", b"data: world\n"]


async def test_a_kept_connection_the_server_closed_is_replaced() -> None:
    async with serving(lambda server: echoing(server, keep=False)) as (server, url):
        async with client() as http:
            assert (await http.post(url, content=b"a")).text == "a"
            await asyncio.sleep(0.05)  # the server's close reaches the kept connection
            assert (await http.post(url, content=b"b")).text == "b"
    assert server.connections == 2


async def test_a_server_that_closes_before_answering_is_a_protocol_error() -> None:
    def closing(server: Server) -> Handler:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await server.request(reader)

        return handle

    async with serving(closing) as (_, url), client() as http:
        with pytest.raises(httpx2.RemoteProtocolError, match="without sending a response"):
            await http.post(url, content=b"{}")


async def test_a_body_cut_short_is_a_protocol_error() -> None:
    def cut(server: Server) -> Handler:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await server.request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
            await writer.drain()

        return handle

    async with serving(cut) as (_, url), client() as http:
        async with http.stream("POST", url, content=b"{}") as response:
            received = b""
            with pytest.raises(httpx2.RemoteProtocolError):
                async for part in response.aiter_bytes():
                    received += part
    assert received == b"partial"


async def test_a_silent_server_times_the_read_out_after_the_data_it_sent() -> None:
    def stalling(server: Server) -> Handler:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await server.request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            # Data more often than the timeout keeps the read going, for longer than it.
            for _ in range(8):
                writer.write(b"2\r\nok\r\n")
                await writer.drain()
                await asyncio.sleep(0.1)
            await asyncio.sleep(5)

        return handle

    async with serving(stalling) as (_, url), client(read=0.5) as http:
        async with http.stream("POST", url, content=b"{}") as response:
            received = b""
            with pytest.raises(httpx2.ReadTimeout):
                async for part in response.aiter_bytes():
                    received += part
    assert received == b"ok" * 8


async def test_no_response_head_in_time_is_a_read_timeout() -> None:
    def silent(server: Server) -> Handler:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await server.request(reader)
            await asyncio.sleep(5)

        return handle

    async with serving(silent) as (_, url), client(read=0.2) as http:
        with pytest.raises(httpx2.ReadTimeout):
            await http.post(url, content=b"{}")


async def test_a_response_left_unread_closes_its_connection() -> None:
    async with serving(echoing) as (server, url), client() as http:
        async with http.stream("POST", url, content=b"x" * 200_000) as response:
            async for _ in response.aiter_bytes():
                break  # the reader stopped the answer
        assert (await http.post(url, content=b"next")).text == "next"
    assert server.connections == 2


def certificate_for_localhost(folder: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A self-signed certificate for ``localhost``: the server's context, and a client's
    that trusts it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (folder / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return server, ssl.create_default_context(cafile=folder / "cert.pem")


async def test_https_with_a_trusted_certificate_and_not_with_another(tmp_path: Path) -> None:
    server_side, trusting = certificate_for_localhost(tmp_path)
    async with serving(echoing, tls=server_side) as (server, url):
        async with client(trusting) as http:
            assert (await http.post(url, content=b"secret")).text == "secret"
            assert (await http.post(url, content=b"again")).text == "again"
        async with client() as http:  # certifi's roots do not know it
            with pytest.raises(httpx2.ConnectError, match="certificate verify failed"):
                await http.post(url, content=b"secret")
    assert server.requests == [b"POST / HTTP/1.1 secret", b"POST / HTTP/1.1 again"]


async def test_a_refused_connection_is_a_connect_error() -> None:
    listening = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    listening.close()
    await listening.wait_closed()
    async with client() as http:
        with pytest.raises(httpx2.ConnectError):
            await http.post(f"http://127.0.0.1:{port}/", content=b"{}")


async def test_only_http_and_https() -> None:
    async with client() as http:
        with pytest.raises(httpx2.UnsupportedProtocol):
            await http.get("ftp://127.0.0.1/")


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)


def test_behind_a_proxy_the_sdks_own_client_is_used(
    no_proxy: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert isinstance(for_sdk(), StreamingTransport)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    assert for_sdk() is None


@pytest.mark.parametrize("provider", [OpenAIProvider, AnthropicProvider])
def test_the_providers_stream_over_it(provider: type, no_proxy: None) -> None:
    sdk = provider(ProviderConfig(base_url="http://127.0.0.1:9/v1")).client
    # The SDK's httpx client (private, but the one place the transport shows).
    assert isinstance(sdk._client._transport, StreamingTransport)
