from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from chat.models import Conversation, Message
from chat.review.dashboard import nice_ceiling, quantile

URL = "/admin/chat/conversation/dashboard/"


@pytest.fixture
def conversation(root):
    return Conversation.objects.create(owner=root, model="openai:gpt-4o")


def answer(conversation, model, status="complete", ttft_ms=None, tps=None, days_ago=0):
    return Message.objects.create(
        conversation=conversation,
        role="assistant",
        model=model,
        status=status,
        seq=conversation.next_seq(),
        ttft_ms=ttft_ms,
        tokens_per_second=tps,
        created_at=timezone.now() - timedelta(days=days_ago),
    )


@pytest.mark.django_db
def test_it_draws_answers_per_provider_and_status(client, root, conversation):
    for _ in range(3):
        answer(conversation, "openai:gpt-4o", ttft_ms=200, tps=50)
    answer(conversation, "anthropic:claude-sonnet-4-5", status="failed")
    answer(conversation, "openai:gpt-4o", status="failed", days_ago=20)  # too old for 7 days
    client.force_login(root)
    r = client.get(URL)
    assert r.status_code == 200
    page = r.content.decode()
    assert page.count("<svg") >= 3
    assert "<title>openai: 3 complete</title>" in page
    assert "<title>anthropic: 1 failed</title>" in page
    assert "openai: 1 failed" not in page
    assert "openai: 1 failed" in client.get(URL + "?days=30").content.decode()


@pytest.mark.django_db
def test_it_draws_time_to_first_token_and_speed_per_model(client, root, conversation):
    for ms, tps in [(100, 10), (200, 20), (300, 30), (400, 40), (500, 50)]:
        answer(conversation, "local:smollm2", ttft_ms=ms, tps=tps)
    answer(conversation, "local:smollm2", status="failed")  # no timings
    client.force_login(root)
    page = client.get(URL).content.decode()
    assert "local:smollm2: median 300 ms, 10-90%: 140 to 460 ms (5 answers)" in page
    assert "local:smollm2: median 30 tok/s, 10-90%: 14 to 46 tok/s (5 answers)" in page


@pytest.mark.django_db
def test_it_escapes_model_names_in_the_charts(client, root, conversation):
    answer(conversation, 'openai:<script>alert("x")</script>', ttft_ms=100, tps=5)
    client.force_login(root)
    page = client.get(URL).content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


@pytest.mark.django_db
def test_it_says_when_there_is_nothing_to_draw(client, root):
    client.force_login(root)
    page = client.get(URL).content.decode()
    assert "No answers in this period." in page
    assert "No timings in this period." in page


@pytest.mark.django_db
def test_it_is_linked_from_the_admin_index(client, root):
    client.force_login(root)
    assert URL.encode() in client.get("/admin/").content
    assert URL.encode() in client.get("/admin/chat/").content
    assert URL.encode() in client.get("/admin/chat/conversation/").content


def test_it_rounds_the_axis_up_to_a_readable_number():
    assert [nice_ceiling(v) for v in (0, 0.3, 1, 7, 180, 759, 1001)] == [
        1,
        0.5,
        1,
        10,
        200,
        1000,
        2000,
    ]


def test_it_interpolates_quantiles():
    assert quantile([1.0], 0.9) == 1.0
    assert quantile([0.0, 10.0], 0.5) == 5.0
    assert quantile([1.0, 2.0, 3.0, 4.0, 5.0], 0.25) == 2.0


def reasoning_answer(conversation, model, reasoning_ms=None, tokens=None, days_ago=0):
    message = answer(conversation, model, ttft_ms=100, tps=20, days_ago=days_ago)
    message.reasoning_ms, message.reasoning_tokens = reasoning_ms, tokens
    message.save()
    return message


def reasoning_rows(page):
    """The reasoning table's rows, as the cells' text."""
    table = page[page.index('<table id="reasoning-numbers">') :]
    table = table[: table.index("</table>")]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]
    return [
        [re.sub(r"\s+", " ", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
        for row in rows
    ]


@pytest.mark.django_db
def test_it_shows_reasoning_time_and_tokens_per_model(client, root, conversation):
    claude, gpt = "anthropic:claude-sonnet-4-5", "openai:o4-mini"
    for ms, tokens in [(1000, 100), (2000, None), (3000, 300), (10_000, 1000)]:
        reasoning_answer(conversation, claude, ms, tokens)
    answer(conversation, claude, ttft_ms=50, tps=60)  # did not reason
    answer(conversation, claude, status="failed")  # no timings at all
    reasoning_answer(conversation, claude, 99_000, 9999, days_ago=20)  # too old
    reasoning_answer(conversation, gpt, None, 500)  # tokens reported, reasoning not shown
    reasoning_answer(conversation, gpt, None, 0)  # reported, but no reasoning
    answer(conversation, "local:smollm2", ttft_ms=100, tps=5)  # never reasons
    client.force_login(root)
    page = client.get(URL).content.decode()

    assert (
        "anthropic:claude-sonnet-4-5: median 2.5 s, 10-90%: 1.3 to 7.9 s (4 answers)"
        in (page[page.index('id="reasoning-time"') :])
    )
    assert reasoning_rows(page) == [
        [claude, "4 of 6 (67%)", "2.5 s", "4 s", "7.9 s", "1400"],
        [gpt, "1 of 2 (50%)", "", "", "", "500"],
    ]


@pytest.mark.django_db
def test_it_reads_the_reasoning_figures_in_the_same_two_queries(
    client, root, conversation, django_assert_num_queries
):
    from chat.review.dashboard import answer_stats

    for n in range(20):
        reasoning_answer(conversation, f"anthropic:model-{n % 4}", 1000 * n, n)
    with django_assert_num_queries(2):
        stats = answer_stats(timezone.now() - timedelta(days=7))
    assert sum(r.reasoned for r in stats.reasoning.values()) == 20  # n=0: 0 ms still reasoned
    assert stats.reasoning["anthropic:model-1"].tokens == 1 + 5 + 9 + 13 + 17


@pytest.mark.django_db
def test_it_says_when_no_answer_reasoned(client, root, conversation):
    answer(conversation, "openai:gpt-4o", ttft_ms=100, tps=5)
    client.force_login(root)
    page = client.get(URL).content.decode()
    assert "No reasoning in this period." in page
    assert 'id="reasoning-numbers"' not in page
