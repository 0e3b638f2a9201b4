"""Real Chromium for browser tests, and a static server for the markdown renderer's harness.

`browser` (one Chromium for the whole package) and `page` (a fresh context per test) are
generic: any browser test under tests/browser/ can use them, e.g. end-to-end tests against a live
server. Browser tests are marked `@pytest.mark.browser` and are sync (see `browser`).
"""

from __future__ import annotations

import http.server
import os
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
STATIC_DIR = ROOT / "static"
HARNESS_DIR = Path(__file__).resolve().parent / "harness"

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]

# What the chat page is meant to send; the harness page gets it too, so the renderer is tested
# under the policy it will live under (no inline script, images only from our own origin).
STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)

DIAGRAM_FRAME_PATH = "/static/js/markdown/diagram-frame.html"
DIAGRAM_FRAME_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src data:; "
    "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)


# Package scope: one Chromium for all of tests/browser/, closed as soon as the last of them is
# done. While Playwright's sync API is alive its event loop counts as running in this thread,
# and every async test run meanwhile fails ("Runner.run() cannot be called from a running event
# loop"); so tests in this package are sync, and the rest of the suite runs after it is gone.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    try:
        yield context.new_page()
    finally:
        context.close()


def png_image(width: int = 1, height: int = 1) -> bytes:
    """A red PNG of that size, made here (no image library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = (b"\x00" + b"\xff\x00\x00" * width) * height
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


class _HarnessHandler(http.server.SimpleHTTPRequestHandler):
    """/static/… from the repository, /harness/… from tests/browser/harness/.

    Documents carry the strict policy unless asked for with ?csp=off (to prove the sanitizer
    alone keeps scripts out, with no policy behind it).
    """

    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".css": "text/css",
        ".map": "application/json",
        ".html": "text/html; charset=utf-8",
    }

    def translate_path(self, path: str) -> str:
        route = urlsplit(path).path
        for prefix, base in (("/static/", STATIC_DIR), ("/harness/", HARNESS_DIR)):
            if route.startswith(prefix):
                target = (base / route[len(prefix) :]).resolve()
                if target.is_relative_to(base):
                    return str(target)
        return str(HARNESS_DIR / "missing")

    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/harness/pixel.png":
            body = png_image()
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def end_headers(self) -> None:
        parts = urlsplit(self.path)
        if parts.path == DIAGRAM_FRAME_PATH:
            # The frame Mermaid draws in has a policy of its own (chat/settings.py).
            self.send_header("Content-Security-Policy", DIAGRAM_FRAME_CSP)
        elif parts.path.endswith(".html") and "csp=off" not in parts.query:
            self.send_header("Content-Security-Policy", STRICT_CSP)
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def wait_until(page: Page, expression: str, timeout_ms: float = 10_000) -> None:
    """Polls a JS expression until it is truthy.

    Page.wait_for_function evaluates its predicate with eval() inside the page, which a
    script-src 'self' policy refuses; page.evaluate goes through the DevTools protocol instead.
    """
    deadline = time.monotonic() + timeout_ms / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout_ms} ms: {expression}")
        page.wait_for_timeout(20)


@dataclass(frozen=True)
class Harness:
    origin: str

    @property
    def url(self) -> str:
        return f"{self.origin}/harness/index.html"

    def open(self, page: Page, *, csp: bool = True) -> Page:
        page.goto(self.url if csp else f"{self.url}?csp=off")
        page.wait_for_selector("body[data-ready=yes]", state="attached")
        return page


@pytest.fixture(scope="session")
def harness() -> Iterator[Harness]:
    if not (STATIC_DIR / "vendor" / "markdown-it.js").exists():
        pytest.fail("static/vendor/ is missing: run `npm ci && npm run vendor` first")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _HarnessHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Harness(origin=f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def harness_page(page: Page, harness: Harness) -> Page:
    """A page with the renderer harness loaded (strict CSP)."""
    return harness.open(page)
