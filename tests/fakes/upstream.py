"""A loopback fake of the OpenAI (Chat Completions and Responses), Anthropic and Gemini
streaming APIs.

In-process (tests)::

    with FakeUpstream() as fake:
        fake.enqueue(Script(text="Hi there", tokens_per_second=50), Script(fault=Fault.drop(3)))
        ... point an SDK at fake.openai_base_url / fake.anthropic_base_url / fake.gemini_base_url
        fake.requests[0].disconnected_at

As a separate process (benchmarks, multi-process tests)::

    python -m tests.fakes.upstream --port 8765 [--default-script '{"word_count": 200}']

then script it with ``RemoteFakeUpstream(url)`` (the JSON control endpoints under ``/_fake/``),
or per request by putting ``fake:{"word_count": 200, "tokens_per_second": 40}`` in the last
user message. Which script answers a request: the message's ``fake:{...}``, else the next queued
one, else the default.

Timestamps are ``time.monotonic()``, which on Linux is one clock for every process on the
machine, so another process can compare them with its own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.fakes.script import Fault, Script
from tests.fakes.wire import FORMATS, TAIL, TOKEN, TOOL, HttpError, WireFormat

_GEMINI_PATH = re.compile(r"/(v1|v1beta)/models/([^/:]+):streamGenerateContent")
_DIRECTIVE = "fake:{"


@dataclass
class RequestRecord:
    """What the fake saw of one request, and what became of its response."""

    index: int
    format: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    received_at: float
    api_key: str = ""
    client_port: int = 0  # the same port for two requests: the client reused its connection
    status: int = 0
    outcome: str = "open"
    tokens_written: int = 0
    first_token_at: float | None = None
    finished_at: float | None = None
    disconnected_at: float | None = None

    @property
    def retry_count(self) -> int:
        return int(self.headers.get("x-stainless-retry-count", "0"))


def _directive(text: str) -> Script | None:
    start = text.find(_DIRECTIVE)
    if start < 0:
        return None
    data, _ = json.JSONDecoder().raw_decode(text, start + len(_DIRECTIVE) - 1)
    return Script.from_dict(data)


def _api_key(fmt: str, headers: dict[str, str], query: str) -> str:
    bearer = headers.get("authorization", "")
    bearer = bearer[7:] if bearer.lower().startswith("bearer ") else ""
    if fmt == "anthropic":
        # anthropic 0.x sends x-api-key, 2.x sends a bearer token; the real API takes both.
        return headers.get("x-api-key", "") or bearer
    if fmt == "gemini":
        match = re.search(r"(?:^|&)key=([^&]+)", query)
        return headers.get("x-goog-api-key", "") or (match.group(1) if match else "")
    return bearer


class FakeUpstream:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        default: Script | None = None,
        api_key: str | None = None,
        max_records: int = 10_000,
    ) -> None:
        self.default = self._initial_default = default or Script()
        self.api_key = api_key  # None: any non-empty key is accepted
        self.requests: deque[RequestRecord] = deque(maxlen=max_records)
        self._queue: deque[Script] = deque()
        self._count = 0
        self._changed = threading.Condition()
        self.stopping = threading.Event()
        self.httpd = _Server((host, port), _Handler)
        self.httpd.fake = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def openai_base_url(self) -> str:
        return self.url + "/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.url

    @property
    def gemini_base_url(self) -> str:
        return self.url

    def start(self) -> FakeUpstream:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> FakeUpstream:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def enqueue(self, *scripts: Script) -> None:
        with self._changed:
            self._queue.extend(scripts)

    def set_default(self, script: Script) -> None:
        self.default = script

    def reset(self) -> None:
        with self._changed:
            self._queue.clear()
            self.requests.clear()
            self.default = self._initial_default

    def script_for(self, last_user_text: str) -> Script:
        script = _directive(last_user_text)
        if script is not None:
            return script
        with self._changed:
            return self._queue.popleft() if self._queue else self.default

    def begin(self, **values: Any) -> RequestRecord:
        with self._changed:
            record = RequestRecord(index=self._count, received_at=time.monotonic(), **values)
            self._count += 1
            self.requests.append(record)
            self._changed.notify_all()
            return record

    def notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[], object], timeout: float = 5.0) -> bool:
        """Block until ``predicate()`` is true (re-checked whenever a request changes)."""
        with self._changed:
            return bool(self._changed.wait_for(predicate, timeout))

    async def await_for(self, predicate: Callable[[], object], within: float = 5.0) -> bool:
        """``wait_for`` for async tests: polls so the event loop keeps running meanwhile."""
        deadline = time.monotonic() + within
        while not predicate():
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.005)
        return True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 drops connections when a benchmark opens a hundred streams at
    # once; the client's SYN retry then adds a second to their time to first token.
    request_queue_size = 1024


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60  # idle keep-alive connections end eventually instead of pinning a thread

    @property
    def fake(self) -> FakeUpstream:
        return self.server.fake  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        path, _, query = self.path.partition("?")
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return self._json(400, {"error": {"message": "request body is not JSON"}})
        if path.startswith("/_fake/"):
            return self._control(path, body)
        fmt, model = self._route(path, body)
        if fmt is None:
            return self._json(404, {"error": {"message": f"no such endpoint: {path}"}})
        if fmt == "gemini" and "alt=sse" not in query:
            return self._json(400, {"error": {"code": 400, "message": "only alt=sse is faked"}})
        headers = {name.lower(): value for name, value in self.headers.items()}
        record = self.fake.begin(
            format=fmt,
            path=path,
            query=query,
            headers=headers,
            body=body,
            api_key=_api_key(fmt, headers, query),
            client_port=self.client_address[1],
        )
        wire_format = FORMATS[fmt]
        expected = self.fake.api_key
        if record.api_key and (expected is None or record.api_key == expected):
            # Refused as the API would, before any script is used up.
            refusal = wire_format.refuse(body, model)
            if refusal is not None:
                return self._http_error(record, refusal)
        try:
            script = self.fake.script_for(wire_format.last_user_text(body))
        except (TypeError, ValueError) as exc:  # a fake:{...} that is not a valid Script
            return self._http_error(record, HttpError(400, {"error": {"message": str(exc)}}, {}))
        wire = wire_format(script, body, model)
        if not record.api_key or (expected is not None and record.api_key != expected):
            return self._http_error(record, wire.http_error(Fault.invalid_key()))
        if script.fault is not None and not script.fault.mid_stream:
            return self._http_error(record, wire.http_error(script.fault))
        self._stream(record, wire, script)

    @staticmethod
    def _route(path: str, body: dict[str, Any]) -> tuple[str | None, str]:
        if path in ("/v1/chat/completions", "/chat/completions"):
            return "openai", body.get("model", "")
        if path in ("/v1/responses", "/responses"):
            return "openai_responses", body.get("model", "")
        if path == "/v1/messages":
            return "anthropic", body.get("model", "")
        match = _GEMINI_PATH.fullmatch(path)
        if match:
            return "gemini", match.group(2)
        return None, ""

    def _control(self, path: str, body: dict[str, Any]) -> None:
        fake = self.fake
        if path == "/_fake/health":
            return self._json(200, {"ok": True})
        if path == "/_fake/requests":
            return self._json(200, {"requests": [asdict(r) for r in list(fake.requests)]})
        try:
            if path == "/_fake/enqueue":
                fake.enqueue(*(Script.from_dict(s) for s in body.get("scripts", [])))
            elif path == "/_fake/default":
                fake.set_default(Script.from_dict(body.get("script", {})))
            elif path == "/_fake/reset":
                fake.reset()
            else:
                return self._json(404, {"error": {"message": f"no such control: {path}"}})
        except (TypeError, ValueError) as exc:
            return self._json(400, {"error": {"message": str(exc)}})
        self._json(200, {"ok": True})

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(data)

    def _http_error(self, record: RequestRecord, error: HttpError) -> None:
        # Recorded before answering: a test may look at the record the moment it has the answer.
        record.status = error.status
        record.outcome = "http_error"
        record.finished_at = time.monotonic()
        self.fake.notify()
        self._json(error.status, error.body, error.headers)

    def _stream(self, record: RequestRecord, wire: WireFormat, script: Script) -> None:
        self.send_response(200)
        self.send_header("Content-Type", wire.content_type)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        record.status = 200
        interval = 1.0 / script.tokens_per_second if script.tokens_per_second > 0 else 0.0
        # Tokens are due on a fixed schedule, so the rate holds however long each write takes.
        due = time.monotonic() + script.first_token_delay
        fault = script.fault
        for frame in wire.frames():
            if fault is not None and (
                frame.kind == TAIL or (frame.kind == TOKEN and record.tokens_written >= fault.after)
            ):
                if not self._inject(record, wire, fault):
                    return
                fault = None
            if frame.kind == TOKEN:
                delay = due - time.monotonic()
                if delay > 0 and not self._wait_alive(record, wire, script, delay):
                    return
                due = max(due, time.monotonic()) + interval
            if not self._write(record, frame.data):
                return
            if frame.kind in (TOKEN, TOOL) and record.first_token_at is None:
                record.first_token_at = time.monotonic()
            if frame.kind == TOKEN:
                record.tokens_written += 1
        record.outcome = "complete"  # unless ending the body fails
        self._end_body(record)
        self.fake.notify()

    def _inject(self, record: RequestRecord, wire: WireFormat, fault: Fault) -> bool:
        """Apply a mid-stream fault; False when the response is over."""
        record.outcome = fault.kind
        self.fake.notify()
        if fault.kind == "drop":
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            record.finished_at = time.monotonic()
            self.fake.notify()
            return False
        if fault.kind == "stall":
            return self._wait(record, fault.seconds)
        if fault.kind == "malformed":
            return self._write(record, wire.malformed())
        if fault.kind == "error_event":
            if self._write(record, wire.error_event(fault)):
                self._end_body(record)
            self.fake.notify()
            return False
        raise ValueError(f"unknown mid-stream fault {fault.kind!r}")

    def _write(self, record: RequestRecord, data: bytes) -> bool:
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        except OSError:
            self._disconnected(record)
            return False
        return True

    def _end_body(self, record: RequestRecord) -> None:
        record.finished_at = time.monotonic()
        self._write(record, b"")

    def _wait_alive(
        self, record: RequestRecord, wire: WireFormat, script: Script, seconds: float
    ) -> bool:
        """``_wait``, sending the format's keep-alive every ``keepalive_interval`` meanwhile."""
        interval, keepalive = script.keepalive_interval, wire.keepalive()
        if interval <= 0 or not keepalive or record.first_token_at is not None:
            return self._wait(record, seconds)
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            if not self._wait(record, min(interval, remaining)):
                return False
            if deadline - time.monotonic() > 0 and not self._write(record, keepalive):
                return False
        return True

    def _wait(self, record: RequestRecord, seconds: float) -> bool:
        """Sleep, but notice at once when the client goes away; False if it did."""
        deadline = time.monotonic() + seconds
        sock = self.connection
        while (remaining := deadline - time.monotonic()) > 0:
            if self.fake.stopping.is_set():
                self.close_connection = True
                return False
            readable, _, _ = select.select([sock], [], [], min(remaining, 0.25))
            if not readable:
                continue
            # A client sends nothing while it reads a response, so readable means closed.
            try:
                data = sock.recv(1, socket.MSG_PEEK)
            except OSError:
                data = b""
            if not data:
                self._disconnected(record)
                return False
            time.sleep(min(remaining, 0.01))
        return True

    def _disconnected(self, record: RequestRecord) -> None:
        self.close_connection = True
        if record.disconnected_at is None:
            record.disconnected_at = time.monotonic()
            record.outcome = "disconnected"
        self.fake.notify()


class RemoteFakeUpstream:
    """Scripts a fake upstream running in another process through its control endpoints."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.openai_base_url = self.url + "/v1"
        self.anthropic_base_url = self.gemini_base_url = self.url

    def _call(self, path: str, payload: dict[str, Any] | None = None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(
            self.url + path, data=data, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def enqueue(self, *scripts: Script) -> None:
        self._call("/_fake/enqueue", {"scripts": [s.to_dict() for s in scripts]})

    def set_default(self, script: Script) -> None:
        self._call("/_fake/default", {"script": script.to_dict()})

    def reset(self) -> None:
        self._call("/_fake/reset", {})

    def requests(self) -> list[dict[str, Any]]:
        return self._call("/_fake/requests")["requests"]

    def healthy(self) -> bool:
        try:
            return bool(self._call("/_fake/health")["ok"])
        except OSError:
            return False


@contextlib.contextmanager
def fake_upstream_process(
    port: int = 0, default: Script | None = None, api_key: str | None = None
) -> Iterator[RemoteFakeUpstream]:
    """Run the fake as a child process (``python -m tests.fakes.upstream``) for as long as the
    ``with`` block lasts."""
    command = [sys.executable, "-m", "tests.fakes.upstream", "--port", str(port)]
    if default is not None:
        command += ["--default-script", json.dumps(default.to_dict())]
    if api_key is not None:
        command += ["--api-key", api_key]
    # ``-m tests.fakes.upstream`` resolves from the working directory: the repository root.
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=root)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"listening on (http://\S+)", line)
        if not match:
            raise RuntimeError(f"fake upstream did not start: {line!r}")
        yield RemoteFakeUpstream(match.group(1))
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--default-script", default="", help="a Script as JSON")
    parser.add_argument("--api-key", default=None, help="accept only this key (default: any)")
    args = parser.parse_args(argv)
    default = Script.from_dict(json.loads(args.default_script)) if args.default_script else None
    fake = FakeUpstream(args.host, args.port, default=default, api_key=args.api_key)
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    fake.start()
    print(f"fake upstream listening on {fake.url}", flush=True)
    stopped.wait()
    fake.stop()


if __name__ == "__main__":
    main()
