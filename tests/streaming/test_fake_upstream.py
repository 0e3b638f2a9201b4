"""The fake upstream itself: framing, scripting, recording, and running as a separate process."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request

import anthropic
import openai
import pytest

from tests.fakes.script import Fault, Script, split_tokens, synthesized_tokens
from tests.fakes.upstream import FakeUpstream, fake_upstream_process

USER = [{"role": "user", "content": "hi"}]


def post(url: str, body: dict, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_it_splits_text_into_tokens_that_join_back_exactly():
    text = "  Hello,  world!\n\nSecond line "
    assert "".join(split_tokens(text)) == text
    assert len(split_tokens(text)) > 3
    words = synthesized_tokens(45)
    assert len(words) == 45 and words[0] == "lorem" and words[19].endswith(".\n")


def test_it_frames_gemini_with_crlf_and_a_spaced_data_prefix(fake_upstream: FakeUpstream):
    fake_upstream.enqueue(Script(text="Hello there"))
    status, headers, body = post(
        fake_upstream.url + "/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
        {"x-goog-api-key": "k"},
    )
    assert status == 200 and headers["Content-Type"] == "text/event-stream"
    events = body.split(b"\r\n\r\n")
    assert events[-1] == b""
    assert all(event.startswith(b"data: {") for event in events[:-1])
    first = json.loads(events[0][6:])
    assert first["candidates"][0]["content"]["parts"] == [{"text": "Hello "}]
    assert json.loads(events[-2][6:])["candidates"][0]["finishReason"] == "STOP"


def test_it_puts_error_first_in_a_gemini_error_chunk(fake_upstream: FakeUpstream):
    fake_upstream.enqueue(Script(text="a b c", fault=Fault.error_event(after=1, status=503)))
    _, _, body = post(
        fake_upstream.url + "/v1beta/models/m:streamGenerateContent?alt=sse",
        {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
        {"x-goog-api-key": "k"},
    )
    last = body.split(b"\r\n\r\n")[-2]
    assert last.startswith(b'data: {"error": {"code": 503')


def test_it_sends_an_event_line_with_every_anthropic_event(fake_upstream: FakeUpstream):
    status, _, body = post(
        fake_upstream.url + "/v1/messages",
        {"model": "m", "max_tokens": 9, "messages": USER, "stream": True},
        {"x-api-key": "k", "anthropic-version": "2023-06-01"},
    )
    assert status == 200
    for event in body.decode().strip().split("\n\n"):
        name, data = event.split("\n")
        assert name.removeprefix("event: ") == json.loads(data.removeprefix("data: "))["type"]


def test_it_refuses_a_request_without_a_key(fake_upstream: FakeUpstream):
    status, _, body = post(
        fake_upstream.url + "/v1/messages", {"model": "m", "messages": USER, "stream": True}, {}
    )
    assert status == 401
    assert json.loads(body)["error"]["type"] == "authentication_error"
    assert fake_upstream.requests[0].outcome == "http_error"


def test_it_answers_http_faults_with_retry_headers(fake_upstream: FakeUpstream):
    fake_upstream.enqueue(Script(fault=Fault.rate_limited(retry_after=3, retry_after_ms=2500)))
    status, headers, body = post(
        fake_upstream.openai_base_url + "/chat/completions",
        {"model": "m", "messages": USER, "stream": True},
        {"Authorization": "Bearer sk"},
    )
    assert status == 429
    assert headers["retry-after"] == "3" and headers["retry-after-ms"] == "2500"
    assert json.loads(body)["error"]["code"] == "rate_limit_exceeded"


def test_a_directive_in_the_last_user_message_picks_the_script(fake_upstream: FakeUpstream):
    fake_upstream.enqueue(Script(text="queued"))
    client = openai.OpenAI(base_url=fake_upstream.openai_base_url, api_key="sk", max_retries=0)
    content = 'please fake:{"tokens": ["dir", "ected"]} thanks'
    with client.chat.completions.stream(
        model="m", messages=[{"role": "user", "content": content}]
    ) as stream:
        assert stream.get_final_completion().choices[0].message.content == "directed"
    with client.chat.completions.stream(model="m", messages=USER) as stream:
        assert stream.get_final_completion().choices[0].message.content == "queued"
    client.close()


def test_it_records_when_the_client_hangs_up_mid_stream(fake_upstream: FakeUpstream):
    fake_upstream.enqueue(Script(word_count=100, tokens_per_second=50))
    client = anthropic.Anthropic(
        base_url=fake_upstream.anthropic_base_url, api_key="k", max_retries=0
    )
    with client.messages.stream(model="m", max_tokens=500, messages=USER) as stream:
        for _ in zip(range(3), stream.text_stream, strict=False):
            pass
        closed_at = time.monotonic()
    assert fake_upstream.wait_for(lambda: fake_upstream.requests[0].disconnected_at, 2)
    record = fake_upstream.requests[0]
    assert record.outcome == "disconnected"
    assert record.first_token_at is not None and record.first_token_at < closed_at
    assert 3 <= record.tokens_written < 100
    assert record.disconnected_at - closed_at < 0.5
    client.close()


def test_a_stall_sends_nothing_until_the_client_leaves(fake_upstream: FakeUpstream):
    fake_upstream.enqueue(Script(text="one two three", fault=Fault.stall(after=1)))
    client = openai.OpenAI(
        base_url=fake_upstream.openai_base_url, api_key="sk", max_retries=0, timeout=0.3
    )
    received = []
    with pytest.raises(openai.APITimeoutError):
        for chunk in client.chat.completions.create(model="m", messages=USER, stream=True):
            received.extend(choice.delta.content for choice in chunk.choices)
    assert "".join(filter(None, received)) == "one "
    assert fake_upstream.wait_for(lambda: fake_upstream.requests[0].disconnected_at, 2)
    assert fake_upstream.requests[0].tokens_written == 1
    client.close()


def test_it_runs_as_a_separate_process_scripted_over_http():
    with fake_upstream_process(default=Script(text="from the default")) as remote:
        client = openai.OpenAI(base_url=remote.url + "/v1", api_key="sk", max_retries=0)
        remote.enqueue(Script(tokens=["remote", "ly"], input_tokens=7, output_tokens=2))

        def answer() -> tuple[str, object]:
            with client.chat.completions.stream(
                model="m", messages=USER, stream_options={"include_usage": True}
            ) as stream:
                completion = stream.get_final_completion()
            return completion.choices[0].message.content, completion.usage

        text, usage = answer()
        assert text == "remotely"
        assert (usage.prompt_tokens, usage.completion_tokens) == (7, 2)
        assert answer()[0] == "from the default"
        records = remote.requests()
        assert [r["body"]["model"] for r in records] == ["m", "m"]
        assert records[0]["first_token_at"] is not None
        remote.reset()
        assert remote.requests() == []
        client.close()


def test_it_can_insist_on_one_api_key():
    with FakeUpstream(api_key="right") as fake:
        client = openai.OpenAI(base_url=fake.openai_base_url, api_key="wrong", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            client.chat.completions.create(model="m", messages=USER, stream=True)
        client.close()


def test_pacing_spaces_the_tokens_out(fake_upstream: FakeUpstream):
    fake_upstream.enqueue(Script(tokens=["a"] * 5, tokens_per_second=20, first_token_delay=0.1))
    client = openai.OpenAI(base_url=fake_upstream.openai_base_url, api_key="sk", max_retries=0)
    list(client.chat.completions.create(model="m", messages=USER, stream=True))
    record = fake_upstream.requests[0]
    # The client has read the last chunk; the server records the end just after sending it.
    assert fake_upstream.wait_for(lambda: record.finished_at is not None)
    # Lower bounds only: a busy machine can make it slower, never faster.
    assert record.first_token_at - record.received_at >= 0.1
    assert record.finished_at - record.first_token_at >= 4 / 20
    client.close()


def test_reset_forgets_scripts_and_requests_but_keeps_the_default():
    with FakeUpstream(default=Script(text="the default")) as fake:
        fake.enqueue(Script(text="never used"))
        fake.reset()
        assert fake.script_for("").text == "the default"


async def test_it_serves_a_burst_of_a_hundred_concurrent_streams(fake_upstream: FakeUpstream):
    fake_upstream.set_default(Script(word_count=10, tokens_per_second=50))
    client = openai.AsyncOpenAI(base_url=fake_upstream.openai_base_url, api_key="sk", max_retries=0)

    async def answer() -> str:
        stream = await client.chat.completions.create(model="m", messages=USER, stream=True)
        async with stream:
            return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

    answers = await asyncio.gather(*(answer() for _ in range(100)))
    assert set(answers) == {Script(word_count=10).answer_text()}
    assert len({r.client_port for r in fake_upstream.requests}) == 100
    await client.close()


@pytest.mark.parametrize(
    "directive", ['fake:{"bogus": 1}', 'fake:{"fault": {"nope": 1}}', "fake:{"]
)
def test_a_broken_directive_is_a_400_naming_the_problem(directive, fake_upstream: FakeUpstream):
    status, _, body = post(
        fake_upstream.openai_base_url + "/chat/completions",
        {"model": "m", "messages": [{"role": "user", "content": directive}], "stream": True},
        {"Authorization": "Bearer sk"},
    )
    assert status == 400 and json.loads(body)["error"]["message"]
    assert fake_upstream.requests[0].outcome == "http_error"
