"""Soak: many concurrent paced streams through one Daphne process for minutes, on loopback.

    .venv/bin/python -m bench.soak            # 500 streams for about 3 minutes
    .venv/bin/python -m bench.soak --short    # 100 streams for about 20 seconds

Each client is a signed-in user with one WebSocket who asks for answers one after another; the
fake upstream streams each answer at a fixed pace. It checks that every client received exactly
the upstream's text, that the database holds exactly that text, that the server logged no error,
and that the server's memory after the soak is back at the level it had after a warm-up round
of the same concurrency (Python keeps freed memory for reuse, so the level after an equal load,
not the idle level before any load, is the fair baseline for a leak).

Everything runs on 127.0.0.1 and stops by itself: the streams, the rounds and the whole run are
bounded in count and time. Exits non-zero when a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import websockets

from tests.fakes.script import Script
from tests.fakes.upstream import FakeUpstream
from tests.processes.servers import Server, manage, server_env

MAKE_SESSIONS = """
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
User = get_user_model()
for n in range({count}):
    user, _ = User.objects.get_or_create(username=f"soak{{n}}")
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    print(session.session_key)
"""


@dataclass
class Tally:
    answers: int = 0
    wrong: list[str] = field(default_factory=list)
    expected: dict[int, str] = field(default_factory=dict)  # message id -> upstream text


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def client(
    n: int, server: Server, session: str, words: int, pace: float, until: float, tally: Tally
) -> None:
    origin = server.http
    async with websockets.connect(
        server.ws,
        additional_headers={"Cookie": f"sessionid={session}", "Origin": origin},
        max_size=None,
        open_timeout=60,
    ) as socket:
        round_ = 0
        while time.monotonic() < until:
            script = Script(word_count=words + (n + round_) % 17, tokens_per_second=pace)
            directive = json.dumps({"word_count": script.word_count, "tokens_per_second": pace})
            await socket.send(
                json.dumps(
                    {
                        "type": "send",
                        "conversation": None,
                        "content": f"fake:{directive}",
                        "model": "openai:gpt-test",
                    }
                )
            )
            text, message, end = "", None, None
            while end is None:
                frame = json.loads(await asyncio.wait_for(socket.recv(), 60))
                if frame["type"] == "message.start":
                    message = frame["message"]
                elif frame["type"] == "delta":
                    if frame["offset"] > len(text):
                        tally.wrong.append(f"client {n}: a gap at {frame['offset']}")
                    text += frame["text"][len(text) - frame["offset"] :]
                elif frame["type"] == "message.end":
                    end = frame
                elif frame["type"] == "error":
                    tally.wrong.append(f"client {n}: {frame}")
                    return
            expected = script.answer_text()
            if end["status"] != "complete" or text != expected:
                tally.wrong.append(
                    f"client {n}: {end['status']}, {len(text)} of {len(expected)} characters"
                )
            assert message is not None
            tally.expected[message] = expected
            tally.answers += 1
            round_ += 1


async def phase(
    server: Server, sessions: list[str], words: int, pace: float, seconds: float
) -> Tally:
    tally = Tally()
    until = time.monotonic() + seconds
    clients = []
    for n, session in enumerate(sessions):
        clients.append(asyncio.create_task(client(n, server, session, words, pace, until, tally)))
        if n % 50 == 49:
            await asyncio.sleep(0.2)  # open sockets in waves, not one burst of hundreds
    results = await asyncio.wait_for(
        asyncio.gather(*clients, return_exceptions=True), seconds + 180
    )
    for n, result in enumerate(results):
        if isinstance(result, BaseException):
            tally.wrong.append(f"client {n}: {result!r}")
    return tally


def stored_mismatches(database: Path, expected: dict[int, str]) -> list[str]:
    wrong = []
    with sqlite3.connect(database) as conn:
        rows = dict(
            (pk, (status, text))
            for pk, status, text in conn.execute(
                "select id, status, text from chat_message where role = 'assistant'"
            )
        )
    for pk, text in expected.items():
        status, stored = rows.get(pk, ("missing", ""))
        if status != "complete" or stored != text:
            wrong.append(f"message {pk}: {status}, {len(stored)} of {len(text)} characters stored")
    return wrong


async def settle(pid: int, seconds: float = 5.0) -> float:
    """The server's RSS once it has been idle a few seconds."""
    await asyncio.sleep(seconds)
    return rss_mib(pid)


async def soak(args: argparse.Namespace) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp, FakeUpstream() as fake:
        tmp_path = Path(tmp)
        env = server_env(
            tmp_path,
            fake.openai_base_url,
            LOG_LEVEL="WARNING",
            MAX_CONCURRENT_GENERATIONS="4",
            PROVIDER_IDLE_TIMEOUT_S="60",
        )
        manage(env, "migrate", "--noinput")
        sessions = manage(env, "shell", "-c", MAKE_SESSIONS.format(count=args.streams))
        sessions = sessions.splitlines()[-args.streams :]
        log = tmp_path / "server.log"
        server = Server(env, log).start()
        try:
            print(f"soak: {args.streams} streams at {args.pace:g} tokens/s, {args.seconds:g} s")
            warm = await phase(server, sessions, args.words, args.pace, args.warmup)
            before = await settle(server.process.pid)
            started = time.monotonic()
            tally = await phase(server, sessions, args.words, args.pace, args.seconds)
            took = time.monotonic() - started
            after = await settle(server.process.pid)
            alive = server.process.poll() is None
        finally:
            server.stop()
        wrong = warm.wrong + tally.wrong
        wrong += stored_mismatches(tmp_path / "var" / "db.sqlite3", warm.expected | tally.expected)
        errors = [
            line
            for line in log.read_text(errors="replace").splitlines()
            if "Traceback" in line or "ERROR" in line or "Exception" in line
        ]
        growth = after - before
        leaked = growth > max(args.leak_mib, before * args.leak_ratio)
        print(
            f"soak: {tally.answers} answers in {took:.0f} s ({warm.answers} in the warm-up); "
            f"server memory {before:.0f} MiB after the warm-up, {after:.0f} MiB after the soak "
            f"({growth:+.0f} MiB)"
        )
        for line in wrong[:20]:
            print("  wrong:", line)
        for line in errors[:20]:
            print("  server log:", line)
        if leaked:
            print(f"  memory grew by {growth:.0f} MiB: a leak?")
        if not alive:
            print("  the server process died")
        ok = not wrong and not errors and not leaked and alive and tally.answers >= args.streams
        print("soak:", "ok" if ok else "FAILED")
        results = {
            "streams": args.streams,
            "seconds": args.seconds,
            "answers": tally.answers,
            "rss_mib_after_warmup": round(before, 1),
            "rss_mib_after_soak": round(after, 1),
            "wrong": len(wrong),
            "server_errors": len(errors),
            "ok": ok,
        }
        return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="100 streams for about 20 s")
    parser.add_argument("--streams", type=int, help="concurrent streams (default 500)")
    parser.add_argument("--seconds", type=float, help="length of the soak (default 180)")
    parser.add_argument("--pace", type=float, default=10.0, help="tokens per second per stream")
    parser.add_argument("--words", type=int, help="words per answer (default: 8 s of tokens)")
    parser.add_argument("--leak-mib", type=float, default=40.0, help="growth allowed, MiB")
    parser.add_argument("--leak-ratio", type=float, default=0.15, help="growth allowed, ratio")
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args(argv)
    args.streams = args.streams or (100 if args.short else 500)
    args.seconds = args.seconds or (20.0 if args.short else 180.0)
    args.words = args.words or int(args.pace * 8)
    args.warmup = min(args.seconds, 20.0)
    if not 1 <= args.streams <= 1000 or not 1 <= args.seconds <= 1800:
        parser.error("--streams must be 1..1000 and --seconds 1..1800")
    # Each stream is a socket here, a thread in the fake and a few descriptors in the server.
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    results = asyncio.run(soak(args))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0 if results["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
