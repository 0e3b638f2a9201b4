"""What the answer journal costs (chat/answers/journal.py): one Daphne process on PostgreSQL and
the Redis channel layer with ``ANSWER_JOURNAL`` on, beside the same with it off, loaded in turn
at each level. Every flush of an answer is written to Redis before it is sent when it is on, so
the difference is the journal's: server CPU per 1,000 tokens, Redis's own CPU (``INFO cpu``;
Redis is shared, so others' commands count too), added time to first token (the first flush
waits for its entries to be written) and the p99 gap between frames.
"""

from __future__ import annotations

import subprocess
from typing import Any

from bench.harness import LONG, Run, Target, load, spread
from bench.servers import REDIS_URL

VARIANTS = (("off", "false"), ("on", "true"))


def redis_cpu_s(db: int) -> float:
    out = subprocess.run(
        ["redis-cli", "-u", f"{REDIS_URL}/{db}", "INFO", "cpu"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    return float(fields["used_cpu_sys"]) + float(fields["used_cpu_user"])


def journal_writes(db: int) -> int:
    """XADD commands Redis has run since it started (every answer's entries)."""
    out = subprocess.run(
        ["redis-cli", "-u", f"{REDIS_URL}/{db}", "INFO", "commandstats"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for line in out.splitlines():
        if line.startswith("cmdstat_xadd:"):
            return int(line.split("calls=")[1].split(",")[0])
    return 0


def measure(
    targets: dict[str, Target], fake, db: int, levels: list[int], repeats: int, log
) -> dict[str, Any]:
    runs: dict[tuple[str, int], list[tuple[Run, float, int]]] = {}
    for level in levels:
        for repeat in range(repeats):
            for name, _ in VARIANTS:
                redis_before, xadd_before = redis_cpu_s(db), journal_writes(db)
                run = load(targets[name], fake, level, LONG, ramp_s=max(1.0, level / 250))
                redis_cpu = redis_cpu_s(db) - redis_before
                xadds = journal_writes(db) - xadd_before
                runs.setdefault((name, level), []).append((run, redis_cpu, xadds))
                log(
                    f"  journal {name:3} {level:4} streams, run {repeat + 1}: "
                    f"cpu/1k {run.cpu_per_1k_tokens() or 0:.3f} s, redis cpu {redis_cpu:.2f} s, "
                    f"ttft+ p50 {run.ttft(0.5) or 0:.2f} p99 {run.ttft(0.99) or 0:.2f} ms, "
                    f"gap p99 {run.gap_p99_ms or 0:.0f} ms, exact {run.exact}/{level}, "
                    f"xadd {xadds}"
                )
    out: dict[str, Any] = {"levels": levels, "repeats": repeats, "by_variant": {}}
    for (name, level), group in runs.items():
        out["by_variant"].setdefault(name, {})[level] = {
            "cpu_per_1k_tokens": spread([r.cpu_per_1k_tokens() for r, _, _ in group]),
            "redis_cpu_per_1k_tokens": spread(
                [cpu / r.tokens * 1000 if r.tokens else None for r, cpu, _ in group]
            ),
            "ttft_p50_ms": spread([r.ttft(0.5) for r, _, _ in group]),
            "ttft_p99_ms": spread([r.ttft(0.99) for r, _, _ in group]),
            "gap_p99_ms": spread([r.gap_p99_ms for r, _, _ in group]),
            "xadd_per_answer": spread([x / max(1, r.complete) for r, _, x in group]),
            "exact": [r.exact for r, _, _ in group],
            "streams": level,
            "runs": [r.summary() for r, _, _ in group],
        }
    return out
