"""Measurement 8: two Daphne processes on Redis beside one on the in-memory layer.

Every answer has two readers: the socket that asked for it, and a second socket that
``resume``s it. With two processes the second socket is always on the other process, so every
frame it gets crossed Redis; with one process it is on the same one. Both on PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench import hotpath
from bench.harness import GAP_TARGET_S, LONG, Target, load


def measure(
    target: Target, fake, streams: int, log, profile_of=None, raw: Path | None = None
) -> dict[str, Any]:
    """``profile_of``: a server process to sample with py-spy meanwhile (into ``raw``)."""
    spy = hotpath.start(profile_of.pid, 12, raw, rate=100) if profile_of and raw else None
    try:
        run = load(target, fake, streams, LONG, ramp_s=2.0, deadline_s=15, extra={"kind": "pair"})
    finally:
        if spy is not None:
            spy.communicate(timeout=60)
            if raw.exists():
                hotpath.compact(raw)
    profiled = None
    if spy is not None and raw.with_name(raw.name + ".gz").exists():
        profiled = hotpath.summarize(raw.with_name(raw.name + ".gz"))
    result = run.result
    watchers = result.get("watchers", [])
    senders_exact = run.exact
    watchers_exact = sum(w["exact"] for w in watchers)
    deliveries = run.tokens * 2  # every token reached two sockets
    gap = result["gaps"]["p99"]
    watcher_gap = result["watcher_gaps"]["p99"]
    lag = result["watcher_lag"]
    summary = {
        "processes": len(target.processes),
        "streams": streams,
        "sockets": streams * 2,
        "senders_exact": senders_exact,
        "watchers_exact": watchers_exact,
        "gap_p99_ms": gap * 1000 if gap is not None else None,
        "watcher_gap_p99_ms": watcher_gap * 1000 if watcher_gap is not None else None,
        "watcher_lag_p50_ms": lag["p50"] * 1000 if lag["p50"] is not None else None,
        "watcher_lag_p99_ms": lag["p99"] * 1000 if lag["p99"] is not None else None,
        "added_ttft_p50_ms": run.ttft(0.5),
        "added_ttft_p99_ms": run.ttft(0.99),
        "server_cpu_s": run.server_cpu_s,
        "cpu_by_process": run.cpu_by_process,
        "elapsed_s": result["elapsed_s"],
        "profile": profiled,
        "cpu_per_1k_deliveries": run.server_cpu_s / deliveries * 1000 if deliveries else None,
        "loadgen_cpu_s": result["loadgen_cpu_s"],
        "fake_cpu_s": run.fake_cpu_s,
        "errors": sorted({w["error"] for w in watchers if w["error"]} | set(run.errors()))[:3],
        "carried": (
            senders_exact == streams
            and watchers_exact == streams
            and gap is not None
            and watcher_gap is not None
            and max(gap, watcher_gap) < GAP_TARGET_S
        ),
    }
    log(
        f"  {target.name}: senders exact {senders_exact}/{streams}, watchers exact "
        f"{watchers_exact}/{streams}, gap p99 {summary['gap_p99_ms'] or 0:.0f} ms / watcher "
        f"{summary['watcher_gap_p99_ms'] or 0:.0f} ms, watcher lag p50 "
        f"{summary['watcher_lag_p50_ms'] or 0:.1f} p99 {summary['watcher_lag_p99_ms'] or 0:.1f} ms,"
        f" cpu {run.server_cpu_s:.1f} s"
        + (f", errors {summary['errors']}" if summary["errors"] else "")
    )
    return summary
