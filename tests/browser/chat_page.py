"""Driving the chat page in the live app: signing in, sending, reading answers back.

`ChatPage` records what would show a broken page: uncaught errors, Content-Security-Policy
violations, and any page served without the strict policy (`ChatPage.assert_clean`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Locator, Page, Response, WebSocket, expect

from tests.browser.conftest import DIAGRAM_FRAME_CSP, DIAGRAM_FRAME_PATH, STRICT_CSP, wait_until
from tests.browser.live import LiveApp
from tests.fakes.upstream import FakeUpstream
from tests.processes.servers import Server, manage, server_env, sign_in

PASSWORD = "a long enough passphrase"

RECORD_PROBLEMS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""

# The markdown source and the rendered HTML of one answer, and a one-shot render of a text to
# compare them with, using the page's own renderer module.
ONE_SHOT = """
async (text) => {
  const { renderMarkdown } = await import("/static/js/markdown.js");
  const box = document.createElement("div");
  box.className = "body markdown";
  box.append(renderMarkdown(text));
  return box.innerHTML;
}
"""


class ChatPage:
    def __init__(self, page: Page, url: str) -> None:
        self.page = page
        self.url = url
        self.errors: list[str] = []
        self.policies: list[str | None] = []
        self.frame_policies: list[str | None] = []
        self.console: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}"))
        page.on("response", self._record_policy)
        self.frames: list[str] = []
        page.on("websocket", self._record_frames)
        page.add_init_script(RECORD_PROBLEMS)

    def _record_frames(self, socket: WebSocket) -> None:
        self.frames.append(f"open {socket.url}")
        socket.on("framesent", lambda payload: self.frames.append(f"sent {payload[:200]}"))
        socket.on("framereceived", lambda payload: self.frames.append(f"got {payload[:200]}"))
        socket.on("close", lambda _: self.frames.append("closed"))

    def _record_policy(self, response: Response) -> None:
        if response.request.resource_type == "document" and response.status < 300:
            policy = response.headers.get("content-security-policy")
            if urlsplit(response.url).path == DIAGRAM_FRAME_PATH:
                # The sandboxed frame diagrams are drawn in has a policy of its own.
                self.frame_policies.append(policy)
            else:
                self.policies.append(policy)

    # Finding things -------------------------------------------------------------------------

    @property
    def textarea(self) -> Locator:
        return self.page.locator("textarea[name=content]")

    @property
    def answers(self) -> Locator:
        return self.page.locator("[data-role=assistant]")

    def answer(self, index: int = -1) -> Locator:
        return self.answers.nth(index) if index >= 0 else self.answers.last

    def conversation_id(self) -> int:
        match = re.search(r"/c/(\d+)/$", urlsplit(self.page.url).path)
        assert match, f"not on a conversation's page: {self.page.url}"
        return int(match.group(1))

    # Doing things ---------------------------------------------------------------------------

    def goto(self, url: str) -> None:
        """Opens a page of the app and waits until its script has wired it up."""
        self.page.goto(url if url.startswith("http") else self.url + url)
        self.ready()

    def ready(self) -> None:
        self.page.wait_for_selector("#app[data-ready]", state="attached")

    def sign_up(self, username: str = "admin") -> ChatPage:
        self.page.goto(self.url)
        expect(self.page).to_have_url(re.compile(r"/signup/$"))
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password1]", PASSWORD)
        self.page.fill("input[name=password2]", PASSWORD)
        self.page.click("button[type=submit]")
        self.ready()
        return self

    def send(self, text: str) -> Locator:
        """Types a message, sends it with Enter, and returns the answer that comes for it."""
        before = self.answers.count()
        self.textarea.fill(text)
        self.textarea.press("Enter")
        try:
            expect(self.answers).to_have_count(before + 1)
        except AssertionError as error:
            raise AssertionError(
                f"no answer came; console: {self.console}; frames: {self.frames[-20:]}"
            ) from error
        return self.answer()

    def wait_for_status(self, answer: Locator, status: str, timeout: float = 20_000) -> None:
        expect(answer).to_have_attribute("data-status", status, timeout=timeout)

    def wait_for_text(self, answer: Locator, length: int) -> None:
        """Until the answer shows at least `length` characters of text."""
        handle = answer.element_handle()
        deadline = time.monotonic() + 20
        while handle.evaluate("(el) => el.querySelector('.body').textContent.length") < length:
            assert time.monotonic() < deadline, f"the answer never reached {length} characters"
            self.page.wait_for_timeout(20)

    # Reading things -------------------------------------------------------------------------

    def body_html(self, answer: Locator) -> str:
        return answer.locator(".body").evaluate("(el) => el.innerHTML")

    def wait_for_html(self, answer: Locator, expected: str, timeout_ms: float = 10_000) -> None:
        """Until the answer's rendered HTML is `expected`; fails showing the difference."""
        deadline = time.monotonic() + timeout_ms / 1000
        while (html := self.body_html(answer)) != expected and time.monotonic() < deadline:
            self.page.wait_for_timeout(50)
        if html != expected:
            same = zip(html, expected, strict=False)
            at = next((i for i, (a, b) in enumerate(same) if a != b), min(len(html), len(expected)))
            raise AssertionError(
                f"the answer differs at {at} (of {len(html)} / {len(expected)}): "
                f"shown {html[max(0, at - 80) : at + 120]!r}, "
                f"expected {expected[max(0, at - 80) : at + 120]!r}"
            )

    def one_shot_html(self, text: str) -> str:
        return self.page.evaluate(ONE_SHOT, text)

    def stored_messages(self) -> list[dict]:
        """The messages the server put in the page (reload first for the current state)."""
        return self.page.evaluate(
            "JSON.parse(document.getElementById('page-data').textContent).messages"
        )

    def wait_until(self, expression: str, timeout_ms: float = 10_000) -> None:
        wait_until(self.page, expression, timeout_ms)

    def assert_clean(self) -> None:
        assert self.errors == [], f"errors in the page: {self.errors}"
        violations = self.page.evaluate("window.__violations || []")
        assert violations == [], f"Content-Security-Policy violations: {violations}"
        # Every page was under the strict policy, so "no violations" means it works under it.
        assert self.policies, "no page was seen"
        assert set(self.policies) == {STRICT_CSP}, self.policies
        assert set(self.frame_policies) <= {DIAGRAM_FRAME_CSP}, self.frame_policies


def open_chat(page: Page, live_app, username: str = "admin") -> ChatPage:
    """The first account of a fresh install, signed up in `page`, on an empty chat."""
    return ChatPage(page, live_app.url).sign_up(username)


def sign_in_as(page: Page, live_app, username: str) -> ChatPage:
    """Another account, signed in through its session cookie (sign-up is closed by then)."""
    session, _ = sign_in(live_app.env, username)
    page.context.add_cookies([{"name": "sessionid", "value": session, "url": live_app.url}])
    chat = ChatPage(page, live_app.url)
    chat.goto("/")
    return chat


@contextmanager
def live_app_with(tmp_path: Path, *, anthropic: bool = False, **settings: str) -> Iterator[LiveApp]:
    """The live app as the `live_app` fixture makes it, with some settings of a test's own
    (more models to compare, a smaller context window); `anthropic` offers claude-test too,
    answered by the same fake."""
    with FakeUpstream() as upstream:
        if anthropic:
            settings = {
                "ANTHROPIC_API_KEY": "sk-ant-test",
                "ANTHROPIC_BASE_URL": upstream.anthropic_base_url,
                "ANTHROPIC_MODELS": "claude-test",
                **settings,
            }
        env = server_env(
            tmp_path,
            upstream.openai_base_url,
            DEFAULT_MODEL="openai:gpt-test",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            **settings,
        )
        manage(env, "migrate", "--noinput")
        server = Server(env, tmp_path / "server.log").start()
        try:
            yield LiveApp(server, upstream, env)
        finally:
            server.stop()
