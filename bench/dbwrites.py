"""Measurement 5: database writes per answer, counted by PostgreSQL itself.

Our server runs on a PostgreSQL database made for the run; ``pg_stat_user_tables`` counts every
row inserted, updated and deleted. Each answer here comes with its user message (one insert) and
its conversation (one insert, one update), which are counted apart from the answer's own writes.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench.harness import LONG, SHORT, Target, load
from bench.servers import Database, Fake

TABLES = ("chat_message", "chat_conversation")
KINDS = ("ins", "upd", "del")


# PostgreSQL publishes a backend's counts when its transaction ends, but at most once a second,
# and a backend that then goes idle holds them for up to ten seconds (PGSTAT_IDLE_INTERVAL):
# counters still for less than that may yet move.
STILL_FOR_S = 11.0


def settled(database: Database, within: float = 40.0) -> dict[str, dict[str, int]]:
    """Counters once they have stopped moving."""
    deadline = time.monotonic() + within
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        now = {table: database.writes(table) for table in TABLES}
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= STILL_FOR_S:
            return now
        time.sleep(0.5)
    return last


def total(counts: dict[str, int]) -> int:
    return counts["ins"] + counts["upd"] + counts["del"]


def measure(
    target: Target, fake: Fake, database: Database, sizes: dict[str, int], log
) -> dict[str, Any]:
    out = {}
    for name, script in (("short", SHORT), ("long", LONG)):
        count = sizes[name]
        before = settled(database)
        run = load(target, fake, count, script, ramp_s=1.0, deadline_s=60)
        after = settled(database)
        message = {
            k: after["chat_message"][k] - before["chat_message"][k] for k in ("ins", "upd", "del")
        }
        conversation = total(after["chat_conversation"]) - total(before["chat_conversation"])
        answers = run.complete
        # One user message inserted per answer; everything else in chat_message is the answer's.
        answer_writes = (total(message) - count) / max(1, answers)
        streaming = statistics.median(
            s["t_last"] - s["t_first"] for s in run.result["streams"] if s["t_first"] is not None
        )
        bound = 2 + streaming / 0.5
        out[name] = {
            "answers": answers,
            "exact": run.exact,
            "tokens_per_answer": script["word_count"],
            "streaming_s": streaming,
            "message_rows": message,
            "answer_writes": answer_writes,
            "user_message_writes": count / max(1, answers),
            "conversation_writes": conversation / max(1, answers),
            "target": bound,
        }
        log(
            f"  {name}: {answers} answers of {script['word_count']} tokens streaming "
            f"{streaming:.2f} s: {answer_writes:.2f} writes to each answer's row "
            f"(target <= {bound:.1f}), plus {conversation / max(1, answers):.2f} to its "
            f"conversation and 1 for the user's message"
        )
    return out
