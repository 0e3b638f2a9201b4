from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from chat.answers.context import build_context, message_tokens
from chat.answers.summaries import SUMMARY_MAX_TOKENS, summarize_dropped
from chat.models import Conversation, Message
from streaming.events import ChatRequest, UpstreamUnavailable

MODEL = "local:smollm2"
pytestmark = pytest.mark.django_db(transaction=True)


class FakeModel:
    """Stands in for the runner's call to a provider: records each request, answers in turn."""

    def __init__(self, *answers: str, error: Exception | None = None) -> None:
        self.answers = list(answers)
        self.error = error
        self.requests: list[ChatRequest] = []

    async def __call__(self, request: ChatRequest) -> str:
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        return self.answers.pop(0) if self.answers else f"summary {len(self.requests)}"


@pytest.fixture(autouse=True)
async def close_connections():
    # The ORM runs in asgiref's worker thread here; its connection would outlive the test and
    # keep PostgreSQL from dropping the test database.
    yield
    await sync_to_async(connections.close_all)()


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user("alice", password="correct horse battery")


@pytest.fixture
def conversation(owner, settings):
    # 2000 tokens of context less 200 for the answer; 512 more are kept for the summary.
    settings.MODEL_CONTEXT_LENGTHS = {MODEL: 2000}
    settings.SUMMARIZE_DROPPED = True
    return Conversation.objects.create(owner=owner, model=MODEL, system_prompt="Be brief.")


def add(conversation, role, tokens=96):
    seq = conversation.next_seq()
    return Message.objects.create(
        conversation=conversation, role=role, text=f"{role} {seq}", seq=seq, token_count=tokens
    )


def exchange(conversation, turns):
    for _ in range(turns):
        add(conversation, "user")
        add(conversation, "assistant")


async def summarize(conversation, model):
    return await summarize_dropped(
        conversation,
        model=MODEL,
        max_output_tokens=200,
        before_seq=await sync_to_async(conversation.next_seq)(),
        complete=model,
    )


async def build(conversation):
    return await sync_to_async(build_context)(
        conversation,
        model=MODEL,
        max_output_tokens=200,
        before_seq=await sync_to_async(conversation.next_seq)(),
    )


async def test_it_does_nothing_when_summaries_are_off(conversation, settings):
    settings.SUMMARIZE_DROPPED = False
    await sync_to_async(exchange)(conversation, 20)
    model = FakeModel()
    assert await summarize(conversation, model) is False
    assert model.requests == []


async def test_it_does_nothing_while_everything_fits(conversation):
    await sync_to_async(exchange)(conversation, 3)
    model = FakeModel()
    assert await summarize(conversation, model) is False
    assert model.requests == []


async def test_it_summarizes_what_falls_out_and_sends_it_instead(conversation):
    await sync_to_async(exchange)(conversation, 20)
    add_question = sync_to_async(add)
    await add_question(conversation, "user")
    model = FakeModel("They planned a trip to Oslo.")

    assert await summarize(conversation, model) is True

    stored = await Conversation.objects.aget(pk=conversation.pk)
    assert stored.summary == "They planned a trip to Oslo."
    assert stored.summary_through_seq == conversation.summary_through_seq > 0
    request = model.requests[0]
    assert request.model == MODEL
    assert request.max_tokens == SUMMARY_MAX_TOKENS
    assert "User: user 1" in request.messages[-1].content
    through = stored.summary_through_seq
    assert f"Assistant: assistant {through}" in request.messages[-1].content
    assert f"user {through + 1}" not in request.messages[-1].content

    context = await build(stored)
    assert context.messages[0].content.startswith("Be brief.")
    assert "They planned a trip to Oslo." in context.messages[0].content
    assert context.from_seq == through + 1
    assert context.messages[-1].content == "user 41"


async def test_it_leaves_headroom_so_the_next_turns_need_no_new_summary(conversation):
    await sync_to_async(exchange)(conversation, 20)
    model = FakeModel()
    assert await summarize(conversation, model) is True
    assert await summarize(conversation, model) is False  # made once, not every turn
    await sync_to_async(exchange)(conversation, 1)
    assert await summarize(conversation, model) is False
    assert len(model.requests) == 1


async def test_it_extends_the_summary_when_more_falls_out(conversation):
    await sync_to_async(exchange)(conversation, 20)
    model = FakeModel("first summary", "second summary")
    await summarize(conversation, model)
    first_through = conversation.summary_through_seq
    await sync_to_async(exchange)(conversation, 10)

    assert await summarize(conversation, model) is True

    prompt = model.requests[1].messages[-1].content
    assert "The summary so far:\nfirst summary" in prompt
    assert f"user {first_through - 1}\n" not in prompt  # already summarized
    assert f"User: user {first_through + 1}" in prompt
    assert conversation.summary == "second summary"
    assert conversation.summary_through_seq > first_through


async def test_it_summarizes_a_long_backlog_in_chunks_that_fit(conversation):
    def long_exchanges():
        for n in range(30):
            for role in ("user", "assistant"):
                Message.objects.create(
                    conversation=conversation,
                    role=role,
                    text=f"{role} {n} " + "lorem ipsum dolor " * 60,
                    seq=conversation.next_seq(),
                )

    await sync_to_async(long_exchanges)()
    model = FakeModel()
    assert await summarize(conversation, model) is True
    assert len(model.requests) > 1
    for request in model.requests:
        prompt = sum(message_tokens(m, MODEL) for m in request.messages)
        assert prompt + request.max_tokens <= 2000
    # Each chunk builds on the summary of the ones before it.
    assert "The summary so far:\nsummary 1" in model.requests[1].messages[-1].content
    assert conversation.summary == f"summary {len(model.requests)}"


async def test_it_keeps_the_old_summary_when_the_model_fails(conversation):
    await sync_to_async(exchange)(conversation, 20)
    await Conversation.objects.filter(pk=conversation.pk).aupdate(
        summary="old", summary_through_seq=2
    )
    model = FakeModel(error=UpstreamUnavailable("connection refused"))
    assert await summarize(conversation, model) is False
    stored = await Conversation.objects.aget(pk=conversation.pk)
    assert (stored.summary, stored.summary_through_seq) == ("old", 2)


async def test_it_does_not_overwrite_a_summary_stored_meanwhile(conversation):
    await sync_to_async(exchange)(conversation, 20)

    class Racing(FakeModel):
        async def __call__(self, request):
            # Another answer (compare mode) stores its summary while this one is being made.
            await Conversation.objects.filter(pk=conversation.pk).aupdate(
                summary="the other one", summary_through_seq=30
            )
            return "this one"

    assert await summarize(conversation, Racing()) is False
    stored = await Conversation.objects.aget(pk=conversation.pk)
    assert stored.summary == "the other one"
