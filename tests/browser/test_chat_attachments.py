"""Files in the chat page: picked, pasted and dropped into the composer, uploaded with their
progress on a chip, removed, sent with a message and shown in the transcript (after a reload
too), kept or removed by an edit; hostile files refused with the server's word and run
nothing; an image refused before it is sent to a model that cannot see it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route, WebSocketRoute, expect

from tests.browser.chat_page import live_app_with, open_chat
from tests.browser.conftest import png_image
from tests.browser.live import LiveApp
from tests.fakes.script import Script

pytestmark = pytest.mark.browser

LOCAL = "local:smollm2"
PASTE_AS_FILE_CHARS = 500
MAX_FILES = 4

# A file put in the clipboard (or plain text, when no name is given), pasted into the box.
PASTE = """
([name, type, bytes, text]) => {
  const clipboard = new DataTransfer();
  if (name) clipboard.items.add(new File([new Uint8Array(bytes)], name, { type }));
  else clipboard.setData("text/plain", text);
  const box = document.querySelector("textarea[name=content]");
  box.focus();
  const paste = { clipboardData: clipboard, bubbles: true, cancelable: true };
  box.dispatchEvent(new ClipboardEvent("paste", paste));
}
"""

# Files dragged over the page (the drop target shows), then dropped on the composer.
DRAG = """
([name, type, bytes]) => {
  const files = new DataTransfer();
  files.items.add(new File([new Uint8Array(bytes)], name, { type }));
  window.__dragged = files;
  document.querySelector("#composer").dispatchEvent(
    new DragEvent("dragenter", { dataTransfer: files, bubbles: true, cancelable: true }));
}
"""
DROP = """
() => document.querySelector("#composer").dispatchEvent(
  new DragEvent("drop", { dataTransfer: window.__dragged, bubbles: true, cancelable: true }))
"""


@pytest.fixture
def app(tmp_path: Path) -> Iterator[LiveApp]:
    """The live app with the offline model (text only) beside gpt-test (which sees images)."""
    with live_app_with(
        tmp_path,
        LOCAL_MODEL_ENABLED="true",
        MODEL_CAPABILITIES=f"openai:gpt-test=vision+pdf,{LOCAL}=text",
        PASTE_AS_FILE_CHARS=str(PASTE_AS_FILE_CHARS),
        MAX_ATTACHMENTS_PER_MESSAGE=str(MAX_FILES),
        MAX_UPLOAD_BYTES="100000",
    ) as live:
        yield live


def chips(page: Page):
    return page.locator("#attachment-tray .attachment")


def chip(page: Page, name: str):
    return chips(page).filter(has_text=name)


def pick(page: Page, *files: tuple[str, str, bytes]) -> None:
    page.locator("input[name=files]").set_input_files(
        [{"name": name, "mimeType": kind, "buffer": data} for name, kind, data in files]
    )


IDS = "(chips) => chips.map((chip) => chip.dataset.attachmentId)"


def record_frames(page: Page) -> list[dict]:
    """The frames the page will send, whole (ChatPage keeps their beginnings only)."""
    frames: list[dict] = []
    page.on(
        "websocket",
        lambda socket: socket.on("framesent", lambda payload: frames.append(json.loads(payload))),
    )
    return frames


def of_type(frames: list[dict], kind: str) -> list[dict]:
    return [frame for frame in frames if frame["type"] == kind]


def test_picked_pasted_and_dropped_files_upload_show_progress_and_can_be_removed(page: Page, app):
    frames = record_frames(page)
    chat = open_chat(page, app)
    attach = page.get_by_role("button", name="Attach files")
    expect(attach).to_be_visible()

    # Held on its way, an upload shows its progress; let go, its size.
    held: list[Route] = []

    def hold_the_first(route: Route) -> None:
        if held:
            route.continue_()
        else:
            held.append(route)

    page.route("**/api/attachments", hold_the_first)
    with page.expect_file_chooser() as chooser:
        attach.click()
    chooser.value.set_files([{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hi"}])
    notes = chip(page, "notes.txt")
    expect(notes).to_have_attribute("data-state", "uploading")
    expect(notes.locator("progress")).to_be_visible()
    expect(page.get_by_role("button", name="Send")).to_be_disabled()
    while not held:
        page.wait_for_timeout(20)
    held[0].continue_()
    expect(notes).to_have_attribute("data-state", "done")
    expect(notes.locator("progress")).to_be_hidden()
    expect(notes).to_contain_text("2 B")
    expect(page.get_by_role("button", name="Send")).to_be_enabled()

    # An image pasted from the clipboard: a thumbnail of it on its chip.
    page.evaluate(PASTE, ["screenshot.png", "image/png", list(png_image(40, 30)), ""])
    shot = chip(page, "screenshot.png")
    expect(shot).to_have_attribute("data-state", "done")
    expect(shot.locator(".attachment-preview img")).to_have_count(1)
    # A long text pasted becomes a file instead of filling the box; a short one is text.
    page.evaluate(PASTE, ["", "", [], "word " * PASTE_AS_FILE_CHARS])
    expect(chip(page, "Pasted text.txt")).to_have_attribute("data-state", "done")
    expect(chat.textarea).to_have_value("")

    # Dragged over the page, the drop target shows; dropped, the file is a chip.
    page.evaluate(DRAG, ["table.csv", "text/csv", list(b"a,b\n1,2\n")])
    expect(page.locator("#drop-target")).to_be_visible()
    page.evaluate(DROP)
    expect(page.locator("#drop-target")).to_be_hidden()
    expect(chip(page, "table.csv")).to_have_attribute("data-state", "done")
    expect(chips(page)).to_have_count(4)

    # One more than a message may carry is not taken, and the page says why.
    pick(page, ("fifth.txt", "text/plain", b"5"))
    expect(page.locator("#notice")).to_contain_text(f"at most {MAX_FILES} files")
    expect(chips(page)).to_have_count(4)

    # Removed with its button, by name; the focus stays in the tray.
    page.get_by_role("button", name="Remove notes.txt").click()
    expect(chip(page, "notes.txt")).to_have_count(0)
    expect(page.get_by_role("button", name="Remove screenshot.png")).to_be_focused()
    for name in ("screenshot.png", "Pasted text.txt", "table.csv"):
        page.get_by_role("button", name=f"Remove {name}").click()
    expect(page.locator("#attachment-tray")).to_be_hidden()
    expect(chat.textarea).to_be_focused()

    # Too large for the server's limit: refused on the chip, before any upload.
    pick(page, ("big.txt", "text/plain", b"x" * 200_000))
    big = chip(page, "big.txt")
    expect(big).to_have_attribute("data-state", "failed")
    expect(big).to_contain_text("Too large")
    chat.textarea.fill("With a failed file")
    chat.textarea.press("Enter")
    expect(page.locator("#notice")).to_contain_text("could not be uploaded")
    assert of_type(frames, "send") == []
    chat.assert_clean()


def test_sent_files_show_in_the_transcript_and_after_a_reload(page: Page, app):
    app.upstream.enqueue(Script(text="A red square.", tokens_per_second=300))
    frames = record_frames(page)
    chat = open_chat(page, app)
    pick(
        page,
        ("square.png", "image/png", png_image(60, 40)),
        ("notes.txt", "text/plain", b"Some notes\n" * 10),
    )
    expect(chips(page).and_(page.locator("[data-state=done]"))).to_have_count(2)
    ids = [int(i) for i in chips(page).evaluate_all(IDS)]
    chat.wait_for_status(chat.send("What is this?"), "complete")
    assert of_type(frames, "send")[-1]["attachments"] == ids
    expect(page.locator("#attachment-tray")).to_be_hidden()  # the chips went with the message

    def check_files() -> None:
        question = page.locator("[data-role=user]").last
        image = question.locator(".file-thumbnail img")
        expect(image).to_have_attribute("alt", "square.png")
        expect(image).to_have_attribute("loading", "lazy")
        assert image.get_attribute("width") == "60" and image.get_attribute("height") == "40"
        chat.wait_until(
            "document.querySelector('[data-role=user] .file-thumbnail img').naturalWidth === 60"
        )
        document = question.locator("a.file-chip")
        expect(document).to_contain_text("notes.txt")
        expect(document).to_contain_text("110 B")
        assert document.get_attribute("href") == f"/attachments/{ids[1]}/"

    check_files()
    page.reload()
    chat.ready()
    check_files()

    # The thumbnail opens the image full size; Escape closes it, the focus back on it.
    thumbnail = page.locator("[data-role=user] .file-thumbnail")
    thumbnail.click()
    lightbox = page.get_by_role("dialog", name="square.png")
    expect(lightbox).to_be_visible()
    expect(lightbox.locator("img")).to_have_attribute("src", f"/attachments/{ids[0]}/")
    page.keyboard.press("Escape")
    expect(lightbox).to_be_hidden()
    expect(thumbnail).to_be_focused()
    chat.assert_clean()


def test_an_edit_keeps_the_files_or_sends_those_left(page: Page, app):
    app.upstream.enqueue(
        Script(text="First.", tokens_per_second=300),
        Script(text="Second.", tokens_per_second=300),
        Script(text="Third.", tokens_per_second=300),
    )
    frames = record_frames(page)
    chat = open_chat(page, app)
    pick(
        page,
        ("square.png", "image/png", png_image(8, 8)),
        ("notes.txt", "text/plain", b"notes"),
    )
    expect(chips(page).and_(page.locator("[data-state=done]"))).to_have_count(2)
    chat.wait_for_status(chat.send("Look"), "complete")

    def edit(text: str) -> None:
        question = page.locator("[data-role=user]").last
        question.hover()
        question.get_by_role("button", name="Edit message").click()
        question.get_by_role("textbox", name="Edit your message").fill(text)

    # A new text only: the new version carries the same files (the frame leaves them out).
    edit("Look again")
    question = page.locator("[data-role=user]").last
    expect(question.locator(".edit-form .attachment")).to_have_count(2)
    question.get_by_role("button", name="Send").click()
    expect(chat.answer().locator(".body")).to_have_text("Second.")
    assert "attachments" not in of_type(frames, "edit")[-1]
    question = page.locator("[data-role=user]").last
    expect(question.locator(".file-thumbnail img")).to_have_count(1)
    expect(question.locator("a.file-chip")).to_have_count(1)

    # A file removed in the edit box: the new version has the others only.
    edit("Only the picture")
    question = page.locator("[data-role=user]").last
    question.get_by_role("button", name="Remove notes.txt").click()
    question.get_by_role("button", name="Send").click()
    expect(chat.answer().locator(".body")).to_have_text("Third.")
    assert len(of_type(frames, "edit")[-1]["attachments"]) == 1
    page.reload()
    chat.ready()
    question = page.locator("[data-role=user]").last
    expect(question.locator(".body")).to_have_text("Only the picture")
    expect(question.locator(".file-thumbnail img")).to_have_count(1)
    expect(question.locator("a.file-chip")).to_have_count(0)
    chat.assert_clean()


SVG = b"""<svg xmlns="http://www.w3.org/2000/svg" onload="window.__pwned = 1">
<script>window.__pwned = 1; alert(1)</script><rect width="10" height="10"/></svg>"""
HTML = b"<!doctype html><script>window.__pwned = 1; alert(1)</script><p>not a picture</p>"


def test_hostile_files_are_refused_with_the_servers_word_and_run_nothing(page: Page, app):
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    chat = open_chat(page, app)
    with page.expect_response("**/api/attachments") as svg_answer:
        pick(page, ("drawing.svg", "image/svg+xml", SVG))
    with page.expect_response("**/api/attachments") as html_answer:
        pick(page, ("photo.png", "image/png", HTML))
    for name, answer in (("drawing.svg", svg_answer), ("photo.png", html_answer)):
        response = answer.value
        assert response.status == 415, (name, response.status)
        detail = response.json()["detail"]
        refused = chip(page, name)
        expect(refused).to_have_attribute("data-state", "failed")
        expect(refused.locator(".attachment-status")).to_have_text(detail)
        expect(refused.get_by_role("button", name=f"Remove {name}")).to_be_visible()
        expect(refused.locator("img")).to_have_count(0)  # no thumbnail drawn of it either
    page.wait_for_timeout(200)  # time for anything that would run to run
    assert page.evaluate("window.__pwned") is None
    assert dialogs == []
    chat.assert_clean()


def test_a_model_that_cannot_see_is_not_sent_an_image(page: Page, app):
    frames = record_frames(page)
    chat = open_chat(page, app)
    page.locator("select[name=model]").select_option(LOCAL)
    pick(page, ("square.png", "image/png", png_image(8, 8)))
    expect(chip(page, "square.png")).to_have_attribute("data-state", "done")
    chat.textarea.fill("What colour is it?")
    chat.textarea.press("Enter")
    notice = page.locator("#notice")
    expect(notice).to_contain_text("images")
    expect(notice).to_contain_text("smollm2")
    # Nothing sent; the message and its file stay, to pick another model or remove the image.
    assert of_type(frames, "send") == []
    expect(chat.textarea).to_have_value("What colour is it?")
    expect(chip(page, "square.png")).to_have_attribute("data-state", "done")
    assert chat.answers.count() == 0
    chat.assert_clean()


def test_a_message_the_server_refuses_keeps_its_files_and_says_why(page: Page, app):
    """An error frame answering a send (here `not_found`: the socket changes the file's id to
    one that is not the user's on its way) is shown, and the text and the files stay."""

    def with_a_strange_id(socket: WebSocketRoute) -> None:
        server = socket.connect_to_server()

        def outgoing(message: str | bytes) -> None:
            frame = json.loads(message)
            if frame.get("attachments"):
                frame["attachments"] = [999_999]
            server.send(json.dumps(frame))

        socket.on_message(outgoing)

    page.route_web_socket(re.compile(".*"), with_a_strange_id)
    chat = open_chat(page, app)
    pick(page, ("notes.txt", "text/plain", b"notes"))
    expect(chip(page, "notes.txt")).to_have_attribute("data-state", "done")
    chat.textarea.fill("Read this")
    chat.textarea.press("Enter")
    expect(page.locator("#notice")).to_contain_text("No such attachment")
    expect(chat.textarea).to_have_value("Read this")
    expect(chip(page, "notes.txt")).to_have_attribute("data-state", "done")
    expect(page.locator("[data-role=user]")).to_have_count(0)
    assert chat.answers.count() == 0
    chat.assert_clean()
