"""The server-sent-events reader the OpenAI and Anthropic providers share."""

from __future__ import annotations

import pytest

from streaming.events import MalformedStream
from streaming.sse import parse_json, server_sent_events


async def events_of(*chunks: bytes) -> list[tuple[str, str]]:
    async def source():
        for chunk in chunks:
            yield chunk

    return [event async for event in server_sent_events(source())]


async def test_it_reads_named_and_unnamed_events():
    assert await events_of(b"event: ping\ndata: {}\n\ndata: [DONE]\n\n") == [
        ("ping", "{}"),
        ("", "[DONE]"),
    ]


async def test_it_reassembles_lines_split_anywhere_including_inside_utf8():
    raw = 'data: {"t": "héllo 👋"}\n\nevent: x\ndata: 2\n\n'.encode()
    chunks = [raw[i : i + 1] for i in range(len(raw))]
    assert await events_of(*chunks) == [("", '{"t": "héllo 👋"}'), ("x", "2")]


async def test_it_accepts_crlf_and_cr_line_ends_even_split_between_chunks():
    assert await events_of(b"event: a\r", b"\ndata: 1\r\n\r", b"\ndata: 2\r\rdata: 3\r\r") == [
        ("a", "1"),
        ("", "2"),
        ("", "3"),
    ]


async def test_it_skips_comments_and_joins_multiline_data():
    assert await events_of(b": keepalive\n\ndata:a\ndata:  b\nid: 7\n\n") == [("", "a\n b")]


async def test_it_keeps_a_last_event_without_the_closing_blank_line():
    assert await events_of(b"data: one\n\ndata: two") == [("", "one"), ("", "two")]


def test_a_line_that_is_not_json_is_a_malformed_stream():
    assert parse_json('{"a": [1]}', "X") == {"a": [1]}
    with pytest.raises(MalformedStream, match="X sent a line that is not JSON"):
        parse_json('{"a": [1', "X")
