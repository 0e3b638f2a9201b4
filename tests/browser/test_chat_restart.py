"""The page after its server process dies: honest about what was lost, and able to go on."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_first_chat import sign_up
from tests.fakes.script import Script
from tests.fakes.upstream import FakeUpstream
from tests.processes.servers import Server, manage, server_env, stored_answer

pytestmark = pytest.mark.browser

LOST = "The server stopped; the last part of this answer was not saved."


def words(text: str) -> str:
    return " ".join(text.split())


def test_after_a_hard_kill_the_page_shows_the_stored_text_says_the_end_was_lost_and_continues(
    page: Page, tmp_path
):
    script = Script(word_count=2000, tokens_per_second=60)
    with FakeUpstream() as upstream:
        upstream.enqueue(script, Script(tokens=[" and ", "the ", "rest."]))
        env = server_env(
            tmp_path,
            upstream.openai_base_url,
            DEFAULT_MODEL="openai:gpt-test",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            # A checkpoint a second: the page is sure to hold text the database has not.
            CHECKPOINT_INTERVAL_MS="1000",
            HEARTBEAT_INTERVAL_S="0.2",
            HEARTBEAT_STALE_AFTER_S="2",
        )
        manage(env, "migrate", "--noinput")
        server = Server(env, tmp_path / "first.log").start()
        restarted = Server(env, tmp_path / "second.log")
        restarted.port = server.port  # the page reconnects to the same address
        try:
            sign_up(page, server.http)
            page.fill("textarea[name=content]", "Tell me a long story")
            page.keyboard.press("Enter")
            answer = page.locator("[data-role=assistant]").last
            expect(answer).to_contain_text("lorem ipsum dolor")
            page.wait_for_timeout(1600)  # past the first checkpoint, not yet the second
            server.kill()
            shown = answer.locator(".body").inner_text()

            restarted.start()
            expect(answer).to_have_attribute("data-status", "interrupted", timeout=30_000)
            message = int(answer.get_attribute("data-message-id"))
            status, stored = stored_answer(env, message)
            assert status == "interrupted"
            assert stored and len(words(stored)) < len(words(shown))  # the end was lost
            # The page shows what was stored, and says the rest is gone.
            assert words(answer.locator(".body").inner_text()) == words(stored)
            expect(answer.locator(".note")).to_have_text(LOST)

            # Continue goes on from what is shown.
            answer.get_by_role("button", name="Continue answer").click()
            expect(answer).to_have_attribute("data-status", "complete", timeout=20_000)
            expect(answer.locator(".note")).to_be_hidden()
            final = answer.locator(".body").inner_text()
            assert words(final) == words(stored + " and the rest.")
            assert upstream.requests[-1].body["messages"][-1] == {
                "role": "assistant",
                "content": stored,
            }
        finally:
            server.kill()
            restarted.stop()


@pytest.mark.services
def test_with_redis_a_hard_kill_loses_nothing_the_page_showed(
    page: Page, tmp_path, shared_services
):
    """The answer journal keeps in Redis what each flush sends, before it is sent: after a
    SIGKILL the answer is stored with all of the text the tab shows, and the page says nothing
    was lost."""
    database_url, redis_url = shared_services
    script = Script(word_count=2000, tokens_per_second=60)
    with FakeUpstream() as upstream:
        upstream.enqueue(script)
        env = server_env(
            tmp_path,
            upstream.openai_base_url,
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            DEFAULT_MODEL="openai:gpt-test",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            # No checkpoint before the kill: all the page keeps comes from the journal.
            CHECKPOINT_INTERVAL_MS="60000",
            HEARTBEAT_INTERVAL_S="0.2",
            HEARTBEAT_STALE_AFTER_S="2",
        )
        manage(env, "migrate", "--noinput")
        server = Server(env, tmp_path / "first.log").start()
        restarted = Server(env, tmp_path / "second.log")
        restarted.port = server.port
        try:
            sign_up(page, server.http)
            page.fill("textarea[name=content]", "Tell me a long story")
            page.keyboard.press("Enter")
            answer = page.locator("[data-role=assistant]").last
            expect(answer).to_contain_text("lorem ipsum dolor")
            page.wait_for_timeout(1000)
            server.kill()
            shown = answer.locator(".body").inner_text()

            restarted.start()
            expect(answer).to_have_attribute("data-status", "interrupted", timeout=30_000)
            message = int(answer.get_attribute("data-message-id"))
            status, stored = stored_answer(env, message)
            assert status == "interrupted"
            assert len(words(stored)) >= len(words(shown)) > 10
            assert words(answer.locator(".body").inner_text()) == words(stored)
            expect(answer.locator(".note")).not_to_have_text(LOST)
        finally:
            server.kill()
            restarted.stop()
