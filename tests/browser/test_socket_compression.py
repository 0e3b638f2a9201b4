"""The browser's WebSocket is compressed: Chromium offers permessage-deflate and the server, as
`make run` serves it, takes the offer (tests/processes/test_socket_compression.py checks the
frames; every other browser test reads its answers through it)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.chat_page import open_chat

pytestmark = pytest.mark.browser

# A socket of the page's own, opened as the chat's is: what the server agreed to.
EXTENSIONS = """() => new Promise((resolve) => {
    const socket = new WebSocket(location.origin.replace(/^http/, 'ws') + '/ws/chat/');
    socket.onopen = () => { resolve(socket.extensions); socket.close(); };
    socket.onerror = () => resolve('error');
})"""


def test_it_compresses_the_browsers_socket(page: Page, live_app):
    chat = open_chat(page, live_app)
    extensions = chat.page.evaluate(EXTENSIONS)
    assert extensions.split(";")[0] == "permessage-deflate"
    assert "client_max_window_bits=10" in extensions
