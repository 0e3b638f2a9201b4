"""Starting an answer is one trip to the database thread: a message sent over a socket has its
sign-in checked, its rows stored and the news for the user's other tabs read in the same hop,
so a hundred answers started at once queue there a hundred times, not three hundred, behind
the checkpoints of the answers already streaming. Reading the news never fails the send."""

from __future__ import annotations

import asyncio
import threading

import pytest
from asgiref.sync import SyncToAsync, sync_to_async
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat.answers import context, frames, starting, storage
from chat.answers.errors import AttachmentUnsupported, TooManyAnswers
from chat.models import Conversation, Message, SettingsChange
from tests.chat.attachment_files import image_file, text_file
from tests.conftest import assemble, connect, receive_until
from tests.fakes.script import Script

pytestmark = pytest.mark.django_db(transaction=True)

MODEL = "openai:gpt-test"


def send(content: str) -> dict:
    return {"type": "send", "conversation": None, "content": content, "model": MODEL}


@pytest.fixture
def trips(monkeypatch) -> list[str]:
    """The name of each function run on a thread from async code, in order, from now on."""
    made: list[str] = []
    run = SyncToAsync.__call__

    def counted(self, *args, **kwargs):
        made.append(getattr(self.func, "__name__", repr(self.func)))
        return run(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counted)
    return made


async def test_a_message_sent_reaches_its_first_token_after_one_trip_to_the_database(
    alice, upstream, trips, monkeypatch
):
    upstream.enqueue(Script(text="One trip.", tokens_per_second=200))
    tab, other = await connect(alice), await connect(alice)
    trips.clear()
    await tab.send_json_to(send("Hello"))
    while (frame := await tab.receive_json_from(timeout=10))["type"] != "delta":
        assert frame["type"] != "error", frame
    assert trips == ["_send_at_once"]
    monkeypatch.undo()  # no more counting

    told = [await other.receive_json_from(timeout=10) for _ in range(2)]
    assert [f["type"] for f in told] == ["conversation.created", "conversation.message"]
    assert told[1]["message"]["text"] == "Hello"
    stored = await Conversation.objects.aget()
    assert told[0]["title"] == stored.title == "Hello"
    assert told[0]["updated_at"] == stored.updated_at.isoformat()
    await receive_until(tab, "message.end")
    await tab.disconnect()
    await other.disconnect()


def test_a_first_message_and_its_answers_ask_nothing_already_known(alice, upstream, settings):
    # The user's row locked, the answers being written counted, the conversation, the
    # message, an answer by each model: nothing asked that is known, not even the context,
    # which is the message just stored.
    settings.OPENAI_MODELS = ["gpt-a", "gpt-b"]
    models = ["openai:gpt-a", "openai:gpt-b"]
    with CaptureQueriesContext(connection) as done:
        ready = starting.sent_message(alice, None, "Hello", SettingsChange(), models, "a-channel")
    statements = [q["sql"].split()[0] for q in done.captured_queries]
    lock = ["SELECT"] if connection.features.has_select_for_update else []  # not on SQLite
    assert [s for s in statements if s not in ("BEGIN", "COMMIT")] == [
        *lock,
        *("SELECT", "INSERT", "INSERT"),
        *("INSERT", "INSERT"),
    ]
    conversation = Conversation.objects.get()
    question, first, second = conversation.messages.order_by("seq")
    assert (question.seq, question.parent, question.created_at) == (
        1,
        None,
        conversation.updated_at,
    )
    assert [(m.seq, m.reply_to_id, m.model) for m in (first, second)] == [
        (2, question.pk, "openai:gpt-a"),
        (3, question.pk, "openai:gpt-b"),
    ]
    assert [p.message.pk for p in ready] == [first.pk, second.pk]


def test_a_first_message_with_files_asks_what_reading_it_back_would(alice, upstream, settings):
    # Its answers' context is made from the rows in hand: the same request, files and all, as
    # one read back from the database, for each of the models compared.
    settings.OPENAI_MODELS = ["gpt-a", "gpt-b"]
    settings.MODEL_CAPABILITIES = {
        "openai:gpt-a": frozenset({"vision"}),
        "openai:gpt-b": frozenset({"vision"}),
    }
    models = ["openai:gpt-a", "openai:gpt-b"]
    files = [image_file(alice, "cat.png", 40, 30), text_file(alice, "notes.txt", "Buy milk.")]
    change = SettingsChange({"system_prompt": "Be brief."})
    ready = starting.sent_message(
        alice, None, "What is this?", change, models, "a-channel", [f.pk for f in files]
    )
    conversation = Conversation.objects.get()
    for prepared, model in zip(ready, models, strict=True):
        read = context.request_for(conversation, prepared.message.seq, model, "", 0)
        assert prepared.request == read.request
        assert prepared.message.settings == read.settings
    for prepared in ready:
        system, asked = prepared.request.messages
        assert system.content == "Be brief."
        assert [a.name for a in asked.attachments] == ["cat.png"]
        assert "What is this?" in asked.content and "Buy milk." in asked.content


def test_a_first_message_with_a_file_its_model_cannot_take_stores_nothing(alice, upstream):
    cat = image_file(alice, "cat.png")
    with pytest.raises(AttachmentUnsupported):
        starting.sent_message(alice, None, "What is it?", SettingsChange(), [MODEL], "c", [cat.pk])
    assert not Conversation.objects.exists()
    assert not Message.objects.exists()


async def test_a_compared_message_is_one_trip_too(alice, upstream, trips, settings):
    settings.OPENAI_MODELS = ["gpt-a", "gpt-b"]
    upstream.enqueue(Script(text="Left."), Script(text="Right."))
    tab = await connect(alice)
    trips.clear()
    compare = {"type": "send", "conversation": None, "content": "Which?"}
    await tab.send_json_to({**compare, "models": ["openai:gpt-a", "openai:gpt-b"]})
    starts = []
    while len(starts) < 2:
        frame = await tab.receive_json_from(timeout=10)
        assert frame["type"] != "error", frame
        starts += [frame] if frame["type"] == "message.start" else []
    assert trips == ["_send_at_once"]
    await tab.disconnect()


async def test_a_send_whose_news_cannot_be_read_still_answers(alice, upstream, monkeypatch):
    def unreadable(*args):
        raise RuntimeError("the news could not be read")

    monkeypatch.setattr(frames, "conversation_message", unreadable)
    upstream.enqueue(Script(text="Answered all the same."))
    tab, other = await connect(alice), await connect(alice)
    await tab.send_json_to(send("Hello"))
    got = await receive_until(tab, "message.end")
    assert assemble(got, got[0]["message"]) == "Answered all the same."
    assert got[-1]["status"] == "complete"
    assert await other.receive_nothing(timeout=0.3)
    await tab.disconnect()
    await other.disconnect()


async def test_a_signed_out_send_with_summaries_on_stores_nothing(alice, upstream, settings):
    settings.SUMMARIZE_DROPPED = True
    upstream.enqueue(Script(text="never"))
    tab = await connect(alice)
    await sync_to_async(Session.objects.all().delete)()
    await tab.send_json_to(send("Hello"))
    frame = await tab.receive_json_from(timeout=5)
    assert frame["code"] == "signed_out"
    assert list(upstream.requests) == []
    assert await Message.objects.acount() == 0


async def test_answers_streaming_go_on_while_a_start_holds_the_database_thread(
    alice, upstream, monkeypatch
):
    # Nothing per token waits on the database thread: while a start is held there, the answer
    # already streaming keeps sending its deltas.
    held, release = threading.Event(), threading.Event()
    store = starting.sent_message

    def slow(user, conversation_id, content, *more):
        if content == "Held":
            held.set()
            release.wait(10)
        return store(user, conversation_id, content, *more)

    monkeypatch.setattr(starting, "sent_message", slow)
    upstream.enqueue(Script(word_count=150, tokens_per_second=50), Script(text="After."))
    streaming, starter = await connect(alice), await connect(alice)
    await streaming.send_json_to(send("Long"))
    while (await streaming.receive_json_from(timeout=10))["type"] != "delta":
        pass
    await starter.send_json_to(send("Held"))
    try:
        assert await asyncio.to_thread(held.wait, 10)
        deltas = 0
        loop = asyncio.get_running_loop()
        until = loop.time() + 1.0
        while loop.time() < until:  # a frame every 30 to 75 ms while the answer streams
            deltas += (await streaming.receive_json_from(timeout=10))["type"] == "delta"
        assert not release.is_set()
        assert deltas >= 3  # some 15 at 50 tokens/s; none if frames waited on the thread
    finally:
        release.set()
    got = await receive_until(starter, "message.end")
    assert assemble(got, got[-1]["message"]) == "After."
    await receive_until(streaming, "message.end")
    await streaming.disconnect()
    await starter.disconnect()


def test_a_message_in_a_conversation_reads_the_conversation_once(alice, upstream):
    conversation = Conversation.objects.create(owner=alice, model="openai:gpt-test", title="t")
    first = conversation.add_user_message("one", first=True)
    change = SettingsChange({"temperature": 0.5})
    with CaptureQueriesContext(connection) as done:
        stored = starting.store_message(alice, conversation.pk, "two", change, "openai:gpt-test")
    reads = [q["sql"] for q in done.captured_queries if 'FROM "chat_conversation"' in q["sql"]]
    assert len(reads) == 1, reads
    # What taking the message back needs: the settings and the time before it.
    assert stored.settings == {**conversation.conversation_settings(), "temperature": None}
    assert stored.updated_at == conversation.updated_at and not stored.new_conversation
    message = stored.message
    assert (message.seq, message.parent_id, message.text) == (2, first.pk, "two")
    conversation.refresh_from_db()
    assert conversation.temperature == 0.5 and conversation.updated_at == message.created_at
    starting.unstore(stored)
    conversation.refresh_from_db()
    assert conversation.temperature is None and conversation.updated_at == stored.updated_at
    assert list(conversation.messages.values_list("text", flat=True)) == ["one"]


def test_starts_on_sqlite_hold_the_write_lock_from_their_start():
    # What stands in for the user's row lock there (``storage.check_limit``); an in-memory
    # test database cannot be written by two threads to show it.
    if connection.vendor == "sqlite":
        assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    else:
        assert connection.features.has_select_for_update


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="runs when DATABASE_URL points at PostgreSQL"
)
def test_two_starts_at_once_are_counted_one_after_the_other(alice, upstream, settings):
    # The user's limit holds across threads and processes: a start that finds room waits for
    # the one under way to commit, and counts its answer.
    settings.MAX_CONCURRENT_GENERATIONS = 1
    inside, release = threading.Event(), threading.Event()
    create = storage.create_answer
    outcome: dict[str, str] = {}

    def held(reply_to, **fields):
        made = create(reply_to, **fields)
        if fields["channel"] == "first":
            inside.set()
            release.wait(10)
        return made

    def start(name: str) -> None:
        try:
            starting.sent_message(alice, None, name, SettingsChange(), [MODEL], name)
            outcome[name] = "started"
        except TooManyAnswers:
            outcome[name] = "refused"
        finally:
            connection.close()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(storage, "create_answer", held)
        first = threading.Thread(target=start, args=("first",))
        first.start()
        assert inside.wait(10)
        second = threading.Thread(target=start, args=("second",))
        second.start()
        second.join(0.5)
        waited = second.is_alive()
        release.set()
        first.join(10)
        second.join(30)
    assert waited  # on the first's transaction
    assert outcome == {"first": "started", "second": "refused"}
    assert list(Message.objects.values_list("text", "owner_channel")) == [
        ("first", ""),
        ("", "first"),
    ]
