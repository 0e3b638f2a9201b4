"""Stick-to-bottom: follows the stream at the bottom, never yanks a reader who scrolled up."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import wait_until
from tests.browser.corpus import long_answer

pytestmark = pytest.mark.browser

TEXT = long_answer(seed=9, min_chars=40_000)


def _state(page: Page) -> dict:
    return page.evaluate("harness.scroll.state()")


def _wheel_over_scroller(page: Page, delta_y: float) -> None:
    box = page.locator("#scroller").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, delta_y)


def _settle(page: Page) -> None:
    # Wheel scrolling may be animated: wait until the position stops changing.
    wait_until(
        page,
        """new Promise((resolve) => {
            const top = document.getElementById('scroller').scrollTop;
            setTimeout(() => resolve(document.getElementById('scroller').scrollTop === top), 150);
        })""",
    )


def _wait_for_growth(page: Page, height: int) -> None:
    wait_until(page, f"document.getElementById('scroller').scrollHeight > {height}")


def _start_stream(page: Page) -> None:
    page.evaluate("harness.scroll.attach()")
    page.evaluate("([text]) => harness.feed(text, 40)", [TEXT])
    wait_until(page, "document.getElementById('scroller').scrollHeight > 3000")


def test_it_follows_the_stream_while_at_the_bottom(harness_page: Page) -> None:
    _start_stream(harness_page)
    for _ in range(5):
        harness_page.wait_for_timeout(150)
        state = _state(harness_page)
        assert state["attached"]
        assert not state["jumpShown"]
        assert state["distance"] <= 2


def test_scrolling_up_during_a_stream_keeps_the_view_still(harness_page: Page) -> None:
    page = harness_page
    _start_stream(page)
    _wheel_over_scroller(page, -600)
    _settle(page)
    state = _state(page)
    assert not state["attached"]
    assert state["jumpShown"]
    held = state["scrollTop"]
    height = state["scrollHeight"]

    _wait_for_growth(page, height + 2000)
    for _ in range(3):
        page.wait_for_timeout(100)
        assert _state(page)["scrollTop"] == held
    assert page.evaluate("window.__feeding")


def test_a_small_scroll_up_also_lets_go(harness_page: Page) -> None:
    page = harness_page
    _start_stream(page)
    _wheel_over_scroller(page, -40)
    _settle(page)
    state = _state(page)
    assert not state["attached"]
    held = state["scrollTop"]
    page.wait_for_timeout(400)
    assert _state(page)["scrollTop"] == held


def test_scrolling_back_to_the_bottom_follows_again(harness_page: Page) -> None:
    page = harness_page
    _start_stream(page)
    _wheel_over_scroller(page, -800)
    _settle(page)
    assert not _state(page)["attached"]

    _wheel_over_scroller(page, 100_000)
    # Once back at the bottom it follows, so the position keeps moving: wait for the state.
    wait_until(page, "harness.scroll.state().attached")
    state = _state(page)
    assert state["attached"]
    assert not state["jumpShown"]
    height = state["scrollHeight"]
    _wait_for_growth(page, height + 1500)
    page.wait_for_timeout(100)
    assert _state(page)["distance"] <= 2


def test_jump_to_latest_reattaches(harness_page: Page) -> None:
    page = harness_page
    _start_stream(page)
    _wheel_over_scroller(page, -800)
    _settle(page)
    assert _state(page)["jumpShown"]

    page.evaluate("harness.scroll.jumpToLatest()")
    state = _state(page)
    assert state["attached"]
    assert not state["jumpShown"]
    height = state["scrollHeight"]
    _wait_for_growth(page, height + 1500)
    page.wait_for_timeout(100)
    assert _state(page)["distance"] <= 2


def test_a_scroll_without_the_wheel_lets_go_too(harness_page: Page) -> None:
    # A scrollbar drag or the keyboard moves the position with no wheel event at all.
    page = harness_page
    _start_stream(page)
    page.evaluate("document.getElementById('scroller').scrollTop -= 500")
    _settle(page)
    state = _state(page)
    assert not state["attached"]
    assert state["jumpShown"]
    held = state["scrollTop"]
    page.wait_for_timeout(400)
    assert _state(page)["scrollTop"] == held
