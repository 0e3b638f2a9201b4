"""Measurements 1 to 4: added time to first token, capacity, CPU per 1,000 tokens and bytes on
the wire, for the floor (the fake read directly), the baseline and ours, in the same run; then
the same figures for a burst (100 answers asked for within 10 ms) and for reasoning streams.

Targets are interleaved at every step, so a noisy neighbour hurts them alike.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from bench.harness import (
    BURST,
    BURST_RAMP_S,
    GAP_TARGET_S,
    LONG,
    REASONING,
    SHORT,
    Run,
    Target,
    load,
    spread,
)
from bench.servers import Fake

ORDER = ("floor", "baseline", "ours")
# Ours again with one setting changed (persistent database connections), at 100 streams only:
# the evidence for a recommendation, not a figure of the default configuration.
VARIANTS = ("kept",)


def passes(run: Run) -> bool:
    """Carried: every answer complete, every text exact, p99 gap between frames under target.

    The baseline's texts are judged without their newlines, which its framing always loses
    (that failure is reported on its own); otherwise it could never pass at all."""
    exact = run.exact_but_newlines if run.target == "baseline" else run.exact
    gap = run.gap_p99_ms
    return (
        run.complete == run.streams
        and exact == run.streams
        and gap is not None
        and gap < GAP_TARGET_S * 1000
    )


class Shape(NamedTuple):
    script: dict[str, Any]
    ramp_s: float
    streams: int = 100
    extra: dict[str, Any] = {}  # more of the load generator's spec


# The shapes of load measured beside the usual one, by name. ``mid_burst``: 50 long answers
# streaming, and 3 s in, 100 more asked for within 10 ms; its gaps are those of the 50.
SHAPES = {
    "burst": Shape(BURST, BURST_RAMP_S),
    "reasoning": Shape(REASONING, 1.0),
    "mid_burst": Shape(
        LONG, 1.0, 150, {"streaming_first": 50, "burst_at_s": 3.0, "burst_ramp_s": BURST_RAMP_S}
    ),
}


def measure(targets: dict[str, Target], fake: Fake, profile: dict[str, Any], log) -> dict:
    runs: list[Run] = []
    shaped: dict[str, list[Run]] = {shape: [] for shape in SHAPES}

    def step(
        name: str,
        streams: int,
        script: dict[str, Any],
        ramp_s: float,
        into: list[Run] = runs,
        extra: dict[str, Any] | None = None,
    ) -> Run:
        # At 500 streams the first tokens are what is measured; answers still running at
        # the deadline count as not carried.
        deadline = profile["deadline_500_s"] if streams >= 500 else 45
        run = load(
            targets[name], fake, streams, script, ramp_s=ramp_s, deadline_s=deadline, extra=extra
        )
        into.append(run)
        s = run.summary()
        log(
            f"  {name:8} {streams:4} streams: ttft+ p50 {fmt(s['added_ttft_ms']['p50'])} "
            f"p99 {fmt(s['added_ttft_ms']['p99'])} ms, gap p99 {fmt(run.gap_p99_ms)} ms, "
            f"exact {run.exact}/{streams}, cpu {run.server_cpu_s:.1f} s, "
            f"loadgen cpu {s['loadgen_cpu_s']:.1f} s, fake cpu {run.fake_cpu_s:.1f} s"
            + (f", errors {s['errors']}" if s["errors"] else "")
        )
        return run

    single = profile["single_streams"]
    for repeat in range(profile["repeats"]):
        log(f"single streams, run {repeat + 1}")
        for name in ORDER:
            step(name, single, SHORT, ramp_s=0.4 * single)
    levels = sorted(set(profile["levels"]) | {100, 500})
    for level in levels:
        repeats = profile["repeats"] if level in (100,) else profile["level_repeats"]
        for repeat in range(repeats):
            log(f"{level} concurrent streams, run {repeat + 1}")
            names = ORDER if level in (100, 500) else ORDER[1:]
            if level == 100 and repeat < profile["variant_repeats"]:
                names = (*names, *(v for v in VARIANTS if v in targets))
            if name_floor_done(runs, level, profile):
                names = tuple(n for n in names if n != "floor")
            for name in names:
                if name not in ("floor", *VARIANTS) and skip(runs, name, level):
                    continue
                step(name, level, LONG, ramp_s=max(1.0, level / 250))
    for name_of_shape, shape in SHAPES.items():
        for repeat in range(profile["repeats"]):
            log(f"{shape.streams} concurrent streams, {name_of_shape}, run {repeat + 1}")
            for name in ORDER:
                into = shaped[name_of_shape]
                step(name, shape.streams, shape.script, shape.ramp_s, into, shape.extra)
    out = summarize(runs, profile)
    for shape, group in shaped.items():
        out[shape] = {
            name: figures([r for r in group if r.target == name])
            for name in ORDER
            if any(r.target == name for r in group)
        }
    return out


def skip(runs: list[Run], name: str, level: int) -> bool:
    """Past a failed level more load tells nothing new about capacity (a level is carried
    only if every level below it was); 500 is always measured, for the first-token figure."""
    if level == 500:
        return False
    return any(r.target == name and 1 < r.streams < level and not passes(r) for r in runs)


def name_floor_done(runs: list[Run], level: int, profile: dict[str, Any]) -> bool:
    done = sum(1 for r in runs if r.target == "floor" and r.streams == level)
    return done >= profile["floor_repeats"]


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def summarize(runs: list[Run], profile: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"runs": [r.summary() for r in runs], "by_target": {}}
    for name in (*ORDER, *VARIANTS):
        mine = [r for r in runs if r.target == name]
        by_level: dict[int, list[Run]] = {}
        for r in mine:
            by_level.setdefault(r.streams, []).append(r)
        levels = {level: figures(group) for level, group in sorted(by_level.items())}
        tested = sorted(level for level in by_level if level in profile["levels"])
        capacity, failed_at = 0, None
        for level in tested:
            if all(passes(r) for r in by_level[level]):
                if failed_at is None:
                    capacity = level
            elif failed_at is None:
                failed_at = level
        out["by_target"][name] = {
            "levels": levels,
            "capacity": capacity,
            "first_failed_level": failed_at,
            "levels_tested": tested,
        }
    return out


def figures(group: list[Run]) -> dict[str, Any]:
    """The figures of repeated runs of one target under one load."""
    return {
        "ttft_p50_ms": spread([r.ttft(0.5) for r in group]),
        "ttft_p99_ms": spread([r.ttft(0.99) for r in group]),
        "gap_p99_ms": spread([r.gap_p99_ms for r in group]),
        "cpu_per_1k_tokens": spread([r.cpu_per_1k_tokens() for r in group]),
        "bytes_per_char": spread([r.bytes_per_char() for r in group]),
        "bytes_per_char_with_handshake": spread([r.bytes_per_char(True) for r in group]),
        "frames_per_stream": spread([r.summary()["frames_per_stream"] for r in group]),
        "loadgen_cpu_per_1k_tokens": spread(
            [r.result["loadgen_cpu_s"] / r.tokens * 1000 if r.tokens else None for r in group]
        ),
        "fake_cpu_per_1k_tokens": spread(
            [r.fake_cpu_s / r.tokens * 1000 if r.tokens else None for r in group]
        ),
        "exact": [r.exact for r in group],
        "exact_but_newlines": [r.exact_but_newlines for r in group],
        "complete": [r.complete for r in group],
        "passes": [passes(r) for r in group],
        "streams": group[0].streams if group else None,
    }
