"""The results table, for the terminal and for ``docs/benchmarks.md``."""

from __future__ import annotations

import json
from typing import Any

from bench import hotpath

NA = "n/a"


STEP_KEYS = ("p50_ms", "p95_ms", "max_ms")


def get(data: Any, *path: Any) -> Any:
    for key in path:
        if isinstance(data, dict):
            data = data.get(key, data.get(str(key)))
        else:
            return None
        if data is None:
            return None
    return data


def num(value: float | None, digits: int = 1) -> str:
    return NA if value is None else f"{value:.{digits}f}"


def med(spread: Any, digits: int = 1, scale: float = 1.0) -> str:
    """``median (min..max)`` of repeated runs; the median alone for a single run."""
    if not isinstance(spread, dict) or spread.get("median") is None:
        return NA
    m, lo, hi = (spread[k] * scale for k in ("median", "min", "max"))
    if spread.get("runs", 1) > 1:
        return f"{m:.{digits}f} ({lo:.{digits}f}..{hi:.{digits}f})"
    return f"{m:.{digits}f}"


def verdict(ok: bool | None) -> str:
    return NA if ok is None else ("met" if ok else "missed")


def exact_of(figures: dict[str, Any] | None, target: str, streams: int) -> str:
    """How many texts were exact in the worst of repeated runs (``bench/streams.py``'s figures
    of one target under one load); for the baseline, also how many but for their newlines."""
    exact = get(figures, "exact")
    if not exact:
        return NA
    text = f"{min(exact)}/{streams}"
    if target == "baseline":
        text += f" ({min(figures['exact_but_newlines'])} but newlines)"
    return text


# The loads measured at 100 streams beside the usual one (``bench/streams.py``).
SHAPE_LABELS = {
    "burst": "100 streams, burst (asked within 10 ms, 200 tokens at 40/s)",
    "reasoning": "100 streams, reasoning (200 tokens, then 200 of text)",
    "mid_burst": "50 streams while 100 more are asked within 10 ms",
}


class Figures:
    """Every figure the table and the document quote, read once from the results."""

    def __init__(self, results: dict[str, Any]) -> None:
        self.r = results
        self.streams = get(results, "streams", "by_target") or {}
        self.postgres = results.get("postgres") or {}

    def level(self, target: str, streams: int, key: str) -> Any:
        return get(self.streams, target, "levels", streams, key)

    def median(self, target: str, streams: int, key: str) -> float | None:
        return get(self.level(target, streams, key), "median")

    def exact_text(self, target: str, level: int) -> str:
        return exact_of(get(self.streams, target, "levels", level), target, level)

    def capacity(self, target: str) -> tuple[int | None, int | None, list[int]]:
        t = self.streams.get(target) or {}
        return t.get("capacity"), t.get("first_failed_level"), t.get("levels_tested") or []

    def capacity_text(self, target: str) -> str:
        capacity, failed, tested = self.capacity(target)
        if capacity is None:
            return NA
        if not tested:
            return NA
        text = f"{capacity}" if capacity else f"< {tested[0]}"
        if failed is None:
            text = f">= {capacity} (highest tested)"
        elif capacity:
            text += f" (fails at {failed})"
        return text

    # Targets ------------------------------------------------------------------------------

    def shaped(self, shape: str, target: str, key: str) -> Any:
        """A figure of the burst or reasoning runs (100 streams)."""
        return get(self.r, "streams", shape, target, key)

    def shaped_exact(self, shape: str, target: str) -> str:
        figures = get(self.r, "streams", shape, target)
        return exact_of(figures, target, get(figures, "streams") or 100)

    def burst_ttft_ok(self) -> bool | None:
        p50 = get(self.shaped("burst", "ours", "ttft_p50_ms"), "median")
        p99 = get(self.shaped("burst", "ours", "ttft_p99_ms"), "median")
        return None if p50 is None or p99 is None else p50 <= 5 and p99 <= 25

    def gap_ok(self, shape: str) -> bool | None:
        gap = get(self.shaped(shape, "ours", "gap_p99_ms"), "median")
        return None if gap is None else gap < 150

    def ttft_ok(self) -> bool | None:
        p50 = self.median("ours", 100, "ttft_p50_ms")
        p99 = self.median("ours", 100, "ttft_p99_ms")
        return None if p50 is None or p99 is None else p50 <= 5 and p99 <= 25

    def capacity_ok(self) -> bool | None:
        ours, base = self.capacity("ours")[0], self.capacity("baseline")[0]
        if ours is None or base is None:
            return None
        if base == 0:
            return ours > 0 if ours else False
        return ours >= 2 * base

    def cpu_ratio(self, shape: str = "") -> float | None:
        """Ours over the baseline, at 100 streams, of the usual load or of ``shape``."""
        if shape:
            ours = get(self.shaped(shape, "ours", "cpu_per_1k_tokens"), "median")
            base = get(self.shaped(shape, "baseline", "cpu_per_1k_tokens"), "median")
        else:
            ours = self.median("ours", 100, "cpu_per_1k_tokens")
            base = self.median("baseline", 100, "cpu_per_1k_tokens")
        return ours / base if ours and base else None

    def cpu_ok(self) -> bool | None:
        ratio = self.cpu_ratio()
        return None if ratio is None else ratio <= 0.5

    def bytes_ok(self) -> bool | None:
        value = self.median("ours", 100, "bytes_per_char")
        return None if value is None else value <= 1.5

    def writes_ok(self) -> bool | None:
        writes = get(self.postgres, "writes")
        if not writes or "short" not in writes:
            return None
        return all(w["answer_writes"] <= w["target"] for w in writes.values())

    def offline(self, path: str, key: str) -> float | None:
        return get(self.r, "offline", path, key)

    def offline_ok(self) -> bool | None:
        app_rate, raw_rate = (
            self.offline("app", "tokens_per_second"),
            self.offline("direct", "tokens_per_second"),
        )
        app_ttft, raw_ttft = self.offline("app", "ttft_ms"), self.offline("direct", "ttft_ms")
        if None in (app_rate, raw_rate, app_ttft, raw_ttft):
            return None
        return app_rate >= 0.9 * raw_rate and app_ttft - raw_ttft <= 50


def table(results: dict[str, Any]) -> str:
    f = Figures(results)
    rows: list[tuple[str, str, str, str, str, str]] = []

    def row(measure: str, floor: str, base: str, ours: str, target: str = "", ok: str = "") -> None:
        rows.append((measure, floor, base, ours, target, ok))

    single = get(results, "profile", "single_streams")
    for level in (1, 100, 500):
        label = "1 stream at a time" if level == 1 else f"{level} streams"
        lvl = single if level == 1 else level
        for q in ("p50", "p99"):
            row(
                f"1. added TTFT {q}, {label} (ms)",
                med(f.level("floor", lvl, f"ttft_{q}_ms"), 2),
                med(f.level("baseline", lvl, f"ttft_{q}_ms"), 2),
                med(f.level("ours", lvl, f"ttft_{q}_ms"), 2),
                ("<= 5" if q == "p50" else "<= 25") if level == 100 else "",
                verdict(f.ttft_ok()) if level == 100 and q == "p99" else "",
            )
    for level in (100, 500):
        row(
            f"   p99 gap between frames, {level} streams (ms)",
            med(f.level("floor", level, "gap_p99_ms"), 0),
            med(f.level("baseline", level, "gap_p99_ms"), 0),
            med(f.level("ours", level, "gap_p99_ms"), 0),
            "< 150",
        )
        row(
            f"   texts exact, {level} streams (worst run)",
            f.exact_text("floor", level),
            f.exact_text("baseline", level),
            f.exact_text("ours", level),
            f"{level}/{level}",
        )
    for shape, label in SHAPE_LABELS.items():
        for q in ("p50", "p99"):
            row(
                f"1. added TTFT {q}, {label} (ms)",
                med(f.shaped(shape, "floor", f"ttft_{q}_ms"), 2),
                med(f.shaped(shape, "baseline", f"ttft_{q}_ms"), 2),
                med(f.shaped(shape, "ours", f"ttft_{q}_ms"), 2),
                ("<= 5" if q == "p50" else "<= 25") if shape == "burst" else "",
                verdict(f.burst_ttft_ok()) if shape == "burst" and q == "p99" else "",
            )
        row(
            f"   p99 gap between frames, {label} (ms)",
            med(f.shaped(shape, "floor", "gap_p99_ms"), 0),
            med(f.shaped(shape, "baseline", "gap_p99_ms"), 0),
            med(f.shaped(shape, "ours", "gap_p99_ms"), 0),
            "< 150",
            verdict(f.gap_ok(shape)),
        )
        count = f.shaped(shape, "ours", "streams") or 100
        row(
            f"   texts exact, {label} (worst run)",
            f.shaped_exact(shape, "floor"),
            f.shaped_exact(shape, "baseline"),
            f.shaped_exact(shape, "ours"),
            f"{count}/{count}",
        )
        shaped_ratio = f.cpu_ratio(shape)
        row(
            f"   server CPU s per 1,000 tokens, {label}",
            NA,
            med(f.shaped(shape, "baseline", "cpu_per_1k_tokens"), 3),
            med(f.shaped(shape, "ours", "cpu_per_1k_tokens"), 3)
            + (f" ({shaped_ratio:.2f}x)" if shaped_ratio else ""),
            "<= 0.5x baseline",
            verdict(None if shaped_ratio is None else shaped_ratio <= 0.5),
        )
        if shape == "reasoning":
            row(
                "   bytes on the wire per byte of reasoning and text, 100 streams",
                med(f.shaped(shape, "floor", "bytes_per_char"), 2),
                med(f.shaped(shape, "baseline", "bytes_per_char"), 2),
                med(f.shaped(shape, "ours", "bytes_per_char"), 2),
            )
    row(
        "2. capacity: streams at 50 tok/s, p99 gap < 150 ms, texts exact",
        f.capacity_text("floor"),
        f.capacity_text("baseline") + "*",
        f.capacity_text("ours"),
        ">= 2x baseline",
        verdict(f.capacity_ok()),
    )
    ratio = f.cpu_ratio()
    row(
        "3. server CPU s per 1,000 tokens, 100 streams",
        NA,
        med(f.level("baseline", 100, "cpu_per_1k_tokens"), 3),
        med(f.level("ours", 100, "cpu_per_1k_tokens"), 3) + (f" ({ratio:.2f}x)" if ratio else ""),
        "<= 0.5x baseline",
        verdict(f.cpu_ok()),
    )
    row(
        "   load generator CPU s per 1,000 tokens",
        med(f.level("floor", 100, "loadgen_cpu_per_1k_tokens"), 3),
        med(f.level("baseline", 100, "loadgen_cpu_per_1k_tokens"), 3),
        med(f.level("ours", 100, "loadgen_cpu_per_1k_tokens"), 3),
    )
    row(
        "   fake upstream CPU s per 1,000 tokens",
        med(f.level("floor", 100, "fake_cpu_per_1k_tokens"), 3),
        med(f.level("baseline", 100, "fake_cpu_per_1k_tokens"), 3),
        med(f.level("ours", 100, "fake_cpu_per_1k_tokens"), 3),
    )
    short = single
    row(
        "4. bytes on the wire per byte of text, long (400 tokens)",
        med(f.level("floor", 100, "bytes_per_char"), 2),
        med(f.level("baseline", 100, "bytes_per_char"), 2),
        med(f.level("ours", 100, "bytes_per_char"), 2),
        "<= 1.5",
        verdict(f.bytes_ok()),
    )
    if short is not None:
        row(
            "   same, short answers (10 tokens)",
            med(f.level("floor", short, "bytes_per_char"), 2),
            med(f.level("baseline", short, "bytes_per_char"), 2),
            med(f.level("ours", short, "bytes_per_char"), 2),
        )
    writes = get(f.postgres, "writes") or {}
    for name in ("short", "long"):
        w = writes.get(name)
        if w:
            row(
                f"5. DB writes per answer, {name} ({w['tokens_per_answer']} tokens, "
                f"{w['streaming_s']:.1f} s)",
                NA,
                "0 (stores nothing)",
                f"{w['answer_writes']:.2f}",
                f"<= {w['target']:.1f}",
                verdict(w["answer_writes"] <= w["target"]),
            )
    idle_ = results.get("idle") or {}
    if "bytes_per_socket" in idle_:
        row(
            f"6. memory per idle WebSocket ({idle_['sockets']} open)",
            NA,
            NA,
            f"{idle_['bytes_per_socket'] / 1024:.1f} KiB",
            "<= 32 KiB",
            verdict(idle_["bytes_per_socket"] <= 32 * 1024),
        )
    if "bytes_per_socket_after_frame" in idle_:
        row(
            "   same, idle again after each was sent one frame",
            NA,
            NA,
            f"{idle_['bytes_per_socket_after_frame'] / 1024:.1f} KiB",
            "<= 32 KiB",
            verdict(idle_["bytes_per_socket_after_frame"] <= 32 * 1024),
        )
    if f.offline("app", "ttft_ms") is not None:
        row(
            "7. offline model: time to first token (ms)",
            f"{f.offline('direct', 'ttft_ms'):.0f} (llama.cpp)",
            NA,
            f"{f.offline('app', 'ttft_ms'):.0f}",
            "within 50 ms",
        )
        row(
            "   offline model: tokens per second",
            f"{f.offline('direct', 'tokens_per_second'):.1f} (llama.cpp)",
            NA,
            f"{f.offline('app', 'tokens_per_second'):.1f}",
            ">= 0.9x",
            verdict(f.offline_ok()),
        )
    scale = get(f.postgres, "scaleout") or {}
    if scale.get("one") and scale.get("two"):
        one, two = scale["one"], scale["two"]
        row(
            f"8. scale-out, {one['streams']} answers x 2 readers: exact (asker/other)",
            NA,
            f"1 proc: {one['senders_exact']}/{one['watchers_exact']}",
            f"2 procs: {two['senders_exact']}/{two['watchers_exact']}",
        )
        row(
            "   p99 gap, asker / other socket (ms)",
            NA,
            f"1 proc: {num(one['gap_p99_ms'], 0)} / {num(one['watcher_gap_p99_ms'], 0)}",
            f"2 procs: {num(two['gap_p99_ms'], 0)} / {num(two['watcher_gap_p99_ms'], 0)}",
        )
        row(
            "   other socket's lag behind the asker, p50 / p99 (ms)",
            NA,
            f"1 proc: {num(one['watcher_lag_p50_ms'])} / {num(one['watcher_lag_p99_ms'])}",
            f"2 procs: {num(two['watcher_lag_p50_ms'])} / {num(two['watcher_lag_p99_ms'])}",
        )
        row(
            "   server CPU s per 1,000 tokens delivered",
            NA,
            f"1 proc: {num(one['cpu_per_1k_deliveries'], 3)}",
            f"2 procs: {num(two['cpu_per_1k_deliveries'], 3)}",
        )
    render = results.get("render") or {}
    if render:
        for corpus in get(render, "figures", "results") or []:
            row(
                f"9. renderer, {corpus['corpus']}: ms per step p50 / p95 / max",
                NA,
                "naive: "
                + "/".join(num(corpus["naive"][k]) for k in ("p50_ms", "p95_ms", "max_ms")),
                "/".join(num(corpus["ours"][k]) for k in ("p50_ms", "p95_ms", "max_ms")),
            )
        if not render.get("measured"):
            row("9. browser renderer", NA, NA, "NOT YET MEASURED: " + render.get("reason", ""))
    if f.streams.get("kept"):
        row(
            "(ours, DATABASE_CONN_MAX_AGE=600) CPU s / 1k tokens, 100 streams",
            NA,
            NA,
            med(f.level("kept", 100, "cpu_per_1k_tokens"), 3),
        )
        row(
            "(ours, DATABASE_CONN_MAX_AGE=600) added TTFT p50 / p99, 100 streams",
            NA,
            NA,
            med(f.level("kept", 100, "ttft_p50_ms"), 2)
            + " / "
            + med(f.level("kept", 100, "ttft_p99_ms"), 2),
        )
    header = ("measure", "floor", "baseline", "ours", "target", "")
    return markdown_table(header, rows)


def markdown_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
    return "\n".join(lines)


def pct(share_list: list, name: str) -> float | None:
    for key, value in share_list or []:
        if key == name:
            return value
    return None


def document(results: dict[str, Any]) -> str:
    """``docs/benchmarks.md``: the table, then what it means, where the time goes, what would
    close each gap, how each figure is measured and what it was measured on."""
    f = Figures(results)
    m = results.get("machine") or {}
    prof = results.get("profile") or {}
    out: list[str] = []
    w = out.append
    w("# Benchmarks\n")
    w(
        "Our server (Django + Channels on one Daphne process) beside the pattern most tutorials "
        "use (a FastAPI endpoint on uvicorn yielding one Server-Sent Event per token, "
        "`bench/baselines/fastapi_sse.py`), both fed by the same loopback fake upstream speaking "
        "the OpenAI streaming format, and beside a floor: the load generator reading the fake "
        "directly, with no server in between. Every target is measured in the same run, "
        "interleaved, on the same machine, so the ratios hold on a noisy machine even when "
        "absolute figures move.\n"
    )
    code = m.get("code") or {}
    w(
        f"Latest run: `{results.get('command', 'make bench')}` ({prof.get('name', '?')} profile), "
        f"{results.get('started_at', '?')}, {results.get('elapsed_s', 0):.0f} s, on "
        f"{m.get('summary', '?')}; application commit `{str(code.get('commit', '?'))[:12]}` "
        f"({code.get('tree', '?')}). The machine's load average was "
        f"{fmt_load(m.get('loadavg_at_start'))} at the start and "
        f"{fmt_load(m.get('loadavg_at_end'))} at the end: other work shared its two cores, "
        "so absolute figures are pessimistic and their spread wide. Raw figures: "
        "[`bench/results/latest.json`](../bench/results/latest.json).\n"
    )
    w("## Run it\n")
    w(
        "```sh\n"
        "make bench           # quick profile, under 5 minutes on 2 cores: prints the table,\n"
        "                     # writes bench/results/latest.json and this page\n"
        "make bench FULL=1    # more repeats, more load levels, more idle sockets\n"
        ".venv/bin/python -m bench --only streams,hotpath   # some sections (page not rewritten)\n"
        ".venv/bin/python -m bench --report-only            # re-print and re-write from the JSON\n"
        "BENCH_APP_ROOT=/path/to/another/checkout .venv/bin/python -m bench  # measure a copy\n"
        ".venv/bin/python -m bench.compare --help           # versions side by side\n"
        ".venv/bin/python -m bench.socket_memory            # where an idle socket's memory goes\n"
        "```\n"
    )
    w(
        "Needs PostgreSQL on 127.0.0.1:5432 (user `postgres`; a database `bench_<random>` is "
        "created and dropped; override with `BENCH_POSTGRES_URL`), Redis on 127.0.0.1:6379 "
        "(database 13 is flushed; `BENCH_REDIS_URL`), and `py-spy` (the `bench` extra) for the "
        "profile. Everything listens on and talks to 127.0.0.1 only; every load is bounded in "
        "count and time; every process started is stopped when the run ends, however it ends.\n"
    )
    w("## Results\n")
    w(
        "Medians over repeated runs with their range in brackets `median (min..max)`; a figure "
        "without brackets comes from one run. *Added TTFT* is the time from the fake upstream "
        "writing an answer's first token to the client holding it. Streams run at 50 tokens/s "
        "for 400 tokens (8 s), first token after 250 ms, starts spread over 1 s (2 s for 500).\n"
    )
    w(table(results) + "\n")
    w(
        "\\* The baseline's texts are never exact: every 20th token of these answers ends in a "
        "newline, and a token holding a newline breaks its `data:` line, so the newline is lost "
        "in every answer of more than 20 tokens. Its capacity is judged on everything else (its "
        "text with newlines removed must match), which favours it.\n"
    )
    w(
        "The *burst* rows ask for 100 answers within 10 ms (connections opened before), 200 "
        "tokens each at 40 tokens/s. The *reasoning* rows stream 200 tokens of reasoning as "
        "Chat Completions `reasoning_content` deltas (as vLLM, DeepSeek and llama.cpp's server "
        "send it), then 200 of text, at 50 tokens/s; a reader's first token and its gaps count "
        "reasoning frames and text frames alike, and a text is exact only with its reasoning. "
        "The baseline shows no reasoning at all (the tutorial reads `delta.content` only): its "
        "first token there is the first of the text, and none of its texts is exact. The "
        "*50 streams while 100 more are asked* rows start 50 answers of 400 tokens at 50 "
        "tokens/s over 1 s, then, 3 s in, ask for 100 more within 10 ms: the gaps are those "
        "of the 50 already streaming (what a burst of starts does to answers under way), "
        "the first tokens and the texts those of all 150.\n"
    )
    w("## Targets\n")
    for line in targets(f, results):
        w(f"- {line}")
    w("")
    w("## What the numbers say\n")
    for paragraph in reading(f, results):
        w(paragraph + "\n")
    w("## Where the time goes\n")
    w(profile_section(results))
    w("## What would close the gaps\n")
    for paragraph in remedies(f, results):
        w(paragraph + "\n")
    w(prototypes_section())
    w(journal_section(results))
    w(compression_section(results))
    w(renderer_additions_section())
    w("## How each figure is measured\n")
    w(METHOD)
    w("## Machine\n")
    w(machine_section(m))
    return "\n".join(out).rstrip() + "\n"


def journal_section(results: dict[str, Any]) -> str:
    """What the answer journal costs, on and off at each level (``bench/journal.py``)."""
    j = results.get("journal") or {}
    variants = j.get("by_variant") or {}
    if not variants.get("on") or not variants.get("off"):
        return ""
    rows = []
    for level in j.get("levels", []):
        off, on = get(variants, "off", level) or {}, get(variants, "on", level) or {}
        for key, label, digits in (
            ("cpu_per_1k_tokens", "server CPU s per 1,000 tokens", 3),
            ("redis_cpu_per_1k_tokens", "Redis CPU s per 1,000 tokens", 3),
            ("ttft_p50_ms", "added TTFT p50 (ms)", 2),
            ("ttft_p99_ms", "added TTFT p99 (ms)", 2),
            ("gap_p99_ms", "p99 gap between frames (ms)", 0),
            ("xadd_per_answer", "journal entries (XADD) per answer", 0),
        ):
            a, b = get(off, key, "median"), get(on, key, "median")
            change = f"{b - a:+.{digits}f}" if a is not None and b is not None else NA
            rows.append((f"{level} streams: {label}", med(off.get(key), digits),
                         med(on.get(key), digits), change))  # fmt: skip
        exact = f"{min(off.get('exact') or [0])} / {min(on.get('exact') or [0])} of {level}"
        rows.append((f"{level} streams: texts exact (worst run), off / on", "", exact, ""))
    header = ("measure", "journal off", "journal on", "on - off")
    first = (j.get("levels") or [None])[0]
    off, on = get(variants, "off", first) or {}, get(variants, "on", first) or {}
    cpu_off, cpu_on = (
        get(off, "cpu_per_1k_tokens", "median"),
        get(on, "cpu_per_1k_tokens", "median"),
    )
    ttft_off, ttft_on = get(off, "ttft_p50_ms", "median"), get(on, "ttft_p50_ms", "median")
    reading = ""
    if None not in (cpu_off, cpu_on, ttft_off, ttft_on):
        reading = (
            f"\n\nAt {first} streams the journal cost {cpu_on - cpu_off:+.3f} CPU s per 1,000 "
            f"tokens ({(cpu_on / cpu_off - 1) * 100:+.0f}%) and {ttft_on - ttft_off:+.0f} ms on "
            "the median first token. The CPU is small: one pipelined round trip carries the "
            "entries of every answer that flushed meanwhile. The latency is not: every flush "
            "waits for its batch (and for the one in flight before it), and on a busy event "
            "loop each round trip waits its turn like everything else, so the added time grows "
            "with the loop's lag (see the same figures with the journal off). What it buys: "
            "after a SIGKILL the answer keeps exactly the text its clients were shown, instead "
            "of losing up to one checkpoint interval (500 ms) of it."
        )
    return (
        "## What the answer journal costs\n\n"
        "With `REDIS_URL` set, `ANSWER_JOURNAL` (on by default) writes every flush of every "
        "answer to a Redis stream before it is sent, so that a process killed outright loses "
        "none of the text its clients were shown (docs/deploy.md). Here one process on "
        "PostgreSQL and the Redis channel layer with the journal on is loaded beside the same "
        "with it off, in turn at each level, with the streams of the results above (400 "
        "tokens at 50 tokens/s). Redis's CPU is its own `INFO cpu`: Redis is shared, so "
        "others' commands count too. Measured with "
        f"`{j.get('command', '.venv/bin/python -m bench --only journal')}`, "
        f"{j.get('started_at', '?')}, load average {fmt_load(j.get('loadavg_at_end'))} at "
        "the end." + reading + "\n\n" + markdown_table(header, rows) + "\n"
    )


def compression_section(results: dict[str, Any]) -> str:
    """What WebSocket compression saves and costs, on and off (``bench/compression.py``)."""
    c = results.get("compression") or {}
    on, off = get(c, "by_variant", "on") or {}, get(c, "by_variant", "off") or {}
    if not on.get("long") or not off.get("long"):
        return ""
    rows = []
    for shape in ("long", "long, light load", "short"):
        a, b = off.get(shape) or {}, on.get(shape) or {}
        if not a or not b:
            continue
        what = f"{shape}, {a.get('streams')} streams"
        for key, label, digits in (
            ("bytes_per_char", "bytes on the wire per byte of text", 2),
            ("frames_per_stream", "text frames per answer", 0),
            ("cpu_per_1k_tokens", "server CPU s per 1,000 tokens", 3),
            ("loadgen_cpu_per_1k_tokens", "client CPU s per 1,000 tokens", 3),
            ("ttft_p50_ms", "added TTFT p50 (ms)", 2),
            ("ttft_p99_ms", "added TTFT p99 (ms)", 2),
            ("gap_p99_ms", "p99 gap between frames (ms)", 0),
        ):
            x, y = get(a, key, "median"), get(b, key, "median")
            change = f"{y - x:+.{digits}f}" if x is not None and y is not None else NA
            rows.append((f"{what}: {label}", med(a.get(key), digits), med(b.get(key), digits),
                         change))  # fmt: skip
        exact = f"{min(a.get('exact') or [0])} / {min(b.get('exact') or [0])} of {a.get('streams')}"
        rows.append((f"{what}: texts exact (worst run), off / on", "", exact, ""))
    for key, label in (
        ("bytes_per_socket", "memory per idle socket (KiB)"),
        ("bytes_per_socket_after_frame", "same, after each was sent one frame (KiB)"),
    ):
        x, y = get(off, "idle", key), get(on, "idle", key)
        sockets = get(on, "idle", "sockets")
        if x is not None and y is not None:
            rows.append((f"{sockets} sockets: {label}", f"{x / 1024:.1f}", f"{y / 1024:.1f}",
                         f"{(y - x) / 1024:+.1f}"))  # fmt: skip
    header = ("measure", "compression off", "compression on", "on - off")
    long_off, long_on = off["long"], on["long"]
    bytes_off = get(long_off, "bytes_per_char", "median")
    bytes_on = get(long_on, "bytes_per_char", "median")
    cpu_off = get(long_off, "cpu_per_1k_tokens", "median")
    cpu_on = get(long_on, "cpu_per_1k_tokens", "median")
    reading = ""
    if None not in (bytes_off, bytes_on, cpu_off, cpu_on):
        reading = (
            f"\n\nCompressed, a long answer took {bytes_on:.2f} bytes on the wire per byte of "
            f"text instead of {bytes_off:.2f} ({bytes_on / bytes_off:.0%} of the bytes)"
            + light_load(on, off)
            + ", for "
            f"{cpu_on - cpu_off:+.3f} server CPU s per 1,000 tokens "
            f"({(cpu_on / cpu_off - 1) * 100:+.0f}%): each socket compresses every frame it is "
            "sent, so the cost grows with sockets, not with answers. A socket's compressor is "
            "made at the first frame of an answer and kept while the answer streams (context "
            "takeover is what makes small frames compress) and let go once none streams to "
            "the socket; a decompressor only while a client's message is read. "
            "The server's window and memory level are "
            "bounded (`chat/web/compression.py`): a compressor at zlib's defaults (window 15, "
            "memory level 8) grows a process by about 90 KiB once it has compressed a frame, "
            "ours by about 19 KiB, for frames 2% larger."
        )
    return (
        "## What WebSocket compression costs\n\n"
        "Our clients offer permessage-deflate as browsers do; one process with "
        "`WEBSOCKET_COMPRESSION` on (the default) is loaded beside the same with it off, "
        "each fresh, idle sockets first, then answers in turn "
        f"({c.get('repeats')} runs of each). Measured with `{c.get('command')}`, "
        f"{c.get('started_at', '?')}, load average {fmt_load(c.get('loadavg_at_end'))} at the "
        f"end.{reading}\n\n" + markdown_table(header, rows) + "\n"
    )


def light_load(on: dict[str, Any], off: dict[str, Any]) -> str:
    """The bytes of long answers under a light load, when more frames carry less text each."""
    shape = "long, light load"
    x = get(off, shape, "bytes_per_char", "median")
    y = get(on, shape, "bytes_per_char", "median")
    if x is None or y is None:
        return ""
    frames = get(on, shape, "frames_per_stream", "median")
    return (
        f"; under a light load, when the coalescing window alone sets the frames "
        f"({num(frames, 0)} for 400 tokens), {y:.2f} instead of {x:.2f}"
    )


def fmt_load(load: Any) -> str:
    if not load:
        return "?"
    return " / ".join(f"{x:.1f}" for x in load) + " (1 / 5 / 15 min)"


def targets(f: Figures, results: dict[str, Any]) -> list[str]:
    lines = []
    p50, p99 = f.median("ours", 100, "ttft_p50_ms"), f.median("ours", 100, "ttft_p99_ms")
    lines.append(
        f"**Added time to first token at 100 streams, p50 <= 5 ms and p99 <= 25 ms: "
        f"{verdict(f.ttft_ok())}** (p50 {num(p50, 2)} ms, p99 {num(p99, 1)} ms; the baseline "
        f"{num(f.median('baseline', 100, 'ttft_p50_ms'), 2)} / "
        f"{num(f.median('baseline', 100, 'ttft_p99_ms'), 1)} ms, the floor "
        f"{num(f.median('floor', 100, 'ttft_p50_ms'), 2)} / "
        f"{num(f.median('floor', 100, 'ttft_p99_ms'), 1)} ms)."
    )
    lines.append(
        f"**Capacity at least 2x the baseline's, every text exact: {verdict(f.capacity_ok())}** "
        f"(ours {f.capacity_text('ours')}, the baseline {f.capacity_text('baseline')}, the "
        f"floor {f.capacity_text('floor')})."
    )
    ratio = f.cpu_ratio()
    lines.append(
        f"**CPU per 1,000 tokens at most half the baseline's: {verdict(f.cpu_ok())}** "
        f"({num(f.median('ours', 100, 'cpu_per_1k_tokens'), 3)} s against "
        f"{num(f.median('baseline', 100, 'cpu_per_1k_tokens'), 3)} s, "
        f"{num(ratio, 2)}x)."
    )
    lines.append(
        f"**Bytes on the wire at most 1.5x the text, long answers: {verdict(f.bytes_ok())}** "
        f"({num(f.median('ours', 100, 'bytes_per_char'), 2)}x; the baseline "
        f"{num(f.median('baseline', 100, 'bytes_per_char'), 2)}x)."
    )
    writes = get(f.postgres, "writes") or {}
    if writes:
        lines.append(
            f"**Database writes per answer at most 2 + one per 500 ms of streaming: "
            f"{verdict(f.writes_ok())}** ("
            + "; ".join(
                f"{name}: {w['answer_writes']:.2f}, bound {w['target']:.1f}"
                for name, w in writes.items()
            )
            + ")."
        )
    off = results.get("offline") or {}
    if "app" in off:
        lines.append(
            f"**Offline model at least 0.9x llama.cpp's tokens per second, first token within "
            f"50 ms of it: {verdict(f.offline_ok())}** (through the app "
            f"{off['app']['tokens_per_second']:.1f} tokens/s and {off['app']['ttft_ms']:.0f} ms; "
            f"llama.cpp {off['direct']['tokens_per_second']:.1f} tokens/s and "
            f"{off['direct']['ttft_ms']:.0f} ms)."
        )
    return lines


def reading(f: Figures, results: dict[str, Any]) -> list[str]:
    """The plain-language reading, written from the figures of this run."""
    out = []
    o1, b1 = f.median("ours", get(results, "profile", "single_streams"), "ttft_p50_ms"), None
    b1 = f.median("baseline", get(results, "profile", "single_streams"), "ttft_p50_ms")
    o100, b100 = f.median("ours", 100, "ttft_p50_ms"), f.median("baseline", 100, "ttft_p50_ms")
    o99, b99 = f.median("ours", 100, "ttft_p99_ms"), f.median("baseline", 100, "ttft_p99_ms")
    fl99 = f.median("floor", 100, "ttft_p99_ms")
    out.append(
        f"**First token.** With one answer at a time, both servers pass the first token on in "
        f"about a millisecond (ours {num(o1, 2)} ms, the baseline {num(b1, 2)} ms): the path "
        f"itself is short. With 100 answers streaming at once the median grows to "
        f"{num(o100, 1)} ms for ours and {num(b100, 1)} ms for the baseline, and the slowest "
        f"1% to {num(o99, 0)} and {num(b99, 0)} ms, while the floor (no server) stays at "
        f"{num(fl99, 1)} ms. That added time is queueing, not work: a first token that arrives "
        f"while the server's one event loop is busy with the other 99 answers waits its turn. "
        f"It shrinks only as the work per token shrinks, which is the CPU figure below."
    )
    ratio = f.cpu_ratio()
    kept = f.median("kept", 100, "cpu_per_1k_tokens")
    ours_cpu = f.median("ours", 100, "cpu_per_1k_tokens")
    text = (
        f"**CPU.** Per 1,000 tokens delivered, ours costs "
        f"{num(ours_cpu, 3)} CPU seconds and the baseline "
        f"{num(f.median('baseline', 100, 'cpu_per_1k_tokens'), 3)}: "
        f"{num(ratio, 2)}x, not the 0.5x we aimed for. Ours does more per answer than the "
        f"baseline: it authenticates a WebSocket, creates a conversation, two messages and a "
        f"checkpoint every half second in the database, and keeps the text in memory for "
        f"resume; the baseline stores nothing. The profile below shows where it goes."
    )
    if kept and ours_cpu:
        text += (
            f" Keeping the database connection open between queries "
            f"(`DATABASE_CONN_MAX_AGE=600`, a setting, measured in the same run) brings it "
            f"to {num(kept, 3)} s ({kept / ours_cpu:.2f}x of the default)."
        )
    out.append(text)
    cap_o, cap_b = f.capacity_text("ours"), f.capacity_text("baseline")
    out.append(
        f"**Capacity.** Streams of 50 tokens/s one Daphne process carried with the p99 gap "
        f"between frames under 150 ms and every text exact: {cap_o}. The baseline: {cap_b} "
        f"(judged without the newlines its framing loses). The floor (no server): "
        f"{f.capacity_text('floor')}; up to there the load generator and the fake upstream "
        f"were not the limit; past it they are, and figures there describe the machine as much "
        f"as the server. On two cores shared by server, load generator and fake upstream "
        f"(and, during this run, other people's work) the server's event loop saturates "
        f"first: once it needs more than one core's worth of work per second, frames queue "
        f"and gaps grow." + exactness(f)
    )
    ob, bb = f.median("ours", 100, "bytes_per_char"), f.median("baseline", 100, "bytes_per_char")
    frames = f.median("ours", 100, "frames_per_stream")
    text = (
        f"**Bytes.** A 400-token answer took {num(ob, 2)} bytes on the wire per byte of text "
        f"from ours, compressed with permessage-deflate, and {num(bb, 2)} from the baseline. "
        f"At 50 tokens/s a token arrives every 20 ms, so the 30 ms coalescing window merges "
        f"one or two tokens per frame ({num(frames, 0)} frames for 400 tokens), and each delta "
        f"frame carries about 63 bytes of JSON (`type`, `message`, `seq`, `offset`) around 6 "
        f"to 12 characters of text. The baseline's 8 bytes of `data: ...\\n\\n` per token "
        f"are leaner, and wrong."
    )
    plain = get(results, "compression", "by_variant", "off", "long", "bytes_per_char", "median")
    if plain:
        text += (
            f" Without compression (`WEBSOCKET_COMPRESSION=false`) the same frames take "
            f"{num(plain, 2)} bytes per byte of text: with context takeover each frame's keys "
            f"and most of its values are back-references to the frame before (what it costs: "
            f"below, under *What WebSocket compression costs*)."
        )
    out.append(text)
    writes = get(f.postgres, "writes") or {}
    if writes:
        parts = [
            f"a {name} answer ({w['tokens_per_answer']} tokens over {w['streaming_s']:.1f} s) "
            f"{w['answer_writes']:.0f} writes"
            for name, w in writes.items()
        ]
        conversation = max(w.get("conversation_writes", 0) for w in writes.values())
        out.append(
            "**Database.** Counted by PostgreSQL: "
            + " and ".join(parts)
            + " to the answer's row: one insert, one checkpoint per half second of streaming, "
            "one final update. The user's message adds one insert, and its new conversation "
            f"{num(conversation, 2)} small writes (created, then touched when the answer "
            "ends). The cost of an answer grows with its duration, not its number of tokens."
        )
    idle_ = results.get("idle") or {}
    if "bytes_per_socket" in idle_:
        out.append(
            f"**Idle sockets.** An open, signed-in, idle WebSocket costs the Daphne process "
            f"about {idle_['bytes_per_socket'] / 1024:.0f} KiB ({idle_['sockets']} sockets "
            f"grew it from {idle_['rss_before'] / 2**20:.0f} to "
            f"{idle_['rss_during'] / 2**20:.0f} MiB): 10,000 idle tabs would need about "
            f"{idle_['bytes_per_socket'] * 10000 / 2**30:.1f} GiB."
            + (
                f" Once each has been sent a frame (here the one refusing a `resume` of an "
                f"answer that does not exist, all {idle_['sockets']} at once), the process "
                f"stays {idle_['bytes_per_socket_after_frame'] / 1024:.0f} KiB a socket "
                f"larger than before ({idle_['rss_after_frame'] / 2**20:.0f} MiB in all). "
                "The sockets do not hold that: a socket lets its decompressor go as its "
                "client's frame is read and its compressor once the reply is sent "
                "(`chat/web/compression.py`), and under tracemalloc "
                "(`python -m bench.socket_memory`) about 1 KB a socket is still allocated "
                "after its frame. It is the heap's high-water mark from handling every "
                "socket's frame at once, which Python's allocator and malloc keep for later "
                "use rather than give back (the compression table below has the same with "
                "compression off)."
                if "bytes_per_socket_after_frame" in idle_
                else ""
            )
        )
    off = results.get("offline") or {}
    if "app" in off:
        out.append(
            f"**Offline model.** Through the whole app (WebSocket, database, coalescing) the "
            f"offline model gave {off['app']['tokens_per_second']:.1f} tokens/s and a first "
            f"token after {off['app']['ttft_ms']:.0f} ms; llama.cpp called directly, alternating "
            f"with it, {off['direct']['tokens_per_second']:.1f} tokens/s and "
            f"{off['direct']['ttft_ms']:.0f} ms (medians of {len(off['app']['runs'])} runs; the "
            f"best runs: {fmt_best(off, 'app')} through the app, {fmt_best(off, 'direct')} "
            f"directly). llama.cpp runs two compute threads that spin "
            f"while they wait for each other; on a two-core machine any other runnable thread "
            f"(the server's event loop, the load generator, anyone else's work) stalls them, so "
            f"these figures move by several times between runs (see the spread in the JSON) "
            f"and only a quiet machine gives a fair comparison."
        )
    scale = get(f.postgres, "scaleout") or {}
    if scale.get("one") and scale.get("two"):
        one, two = scale["one"], scale["two"]
        out.append(
            f"**Scale-out.** {one['streams']} answers, each read by the socket that asked and by "
            f"a second socket that resumed it. On one process (in-memory layer) the second "
            f"socket ran {num(one['watcher_lag_p50_ms'], 1)} ms behind at the median "
            f"({num(one['watcher_lag_p99_ms'], 1)} ms p99), {one['watchers_exact']} of "
            f"{one['streams']} texts exact. On two processes over Redis, where every frame to "
            f"the second socket crosses processes, it ran {num(two['watcher_lag_p50_ms'], 0)} ms "
            f"behind ({num(two['watcher_lag_p99_ms'], 0)} ms p99) and {two['watchers_exact']} of "
            f"{two['streams']} texts were complete within the run's time limit; the askers' "
            f"own sockets were unaffected ({two['senders_exact']} exact)."
        )
    return out


def exactness(f: Figures) -> str:
    runs = [r for r in get(f.r, "streams", "runs") or [] if r["target"] == "ours"]
    inexact = [r for r in runs if r["exact"] < r["streams"]]
    if not inexact:
        return " Ours never lost text: every answer arrived exact at every level."
    late = [r for r in inexact if r["timed_out"]]
    counts = ", ".join(f"{r['exact']}/{r['streams']}" for r in late)
    loads = ", ".join(f"{r['loadavg_1m']:.0f}" for r in late)
    if late:
        text = (
            f" Ours fell short on text only where answers had not finished by the load's "
            f"deadline ({counts} exact; the machine's load average was {loads})"
        )
    else:
        text = " Some of ours' answers were not exact"
    holes = sum(r.get("holes", 0) for r in runs)
    if holes:
        return text + f"; {holes} deltas arrived past the text their client held."
    return text + "; no delta ever skipped text (every offset matched what the client held)."


def short_code(code: str) -> str:
    head, _, rest = code.partition(" ")
    if len(head) == 40 and all(c in "0123456789abcdef" for c in head):
        head = head[:12]
    return f"{head} {rest}".strip()


def prototypes_section() -> str:
    """Changes tried in scratch copies (``python -m bench.compare``), from their own runs."""
    from bench.compare import PROTOTYPES

    if not PROTOTYPES.exists():
        return ""
    lines = [
        "## Changes tried in scratch copies\n",
        "Measured with `python -m bench.compare` (our server in several versions, same load, "
        "interleaved, medians of the runs), on copies of the code outside the repository: "
        "evidence for the recommendations above, not figures of the code as it is. Raw "
        "figures: [`bench/results/prototypes.json`](../bench/results/prototypes.json).\n",
    ]
    for entry in json.loads(PROTOTYPES.read_text()):
        ramp = entry.get("ramp_s", 1.0)
        started = "started within 10 ms" if ramp <= 0.01 else f"started over {ramp:g} s"
        lines.append(
            f"**{entry['name']}** ({entry['streams']} streams of 400 tokens at 50 tokens/s, "
            f"{started}, {entry['repeats']} runs each, {entry['measured_at']}):\n"
        )
        rows = []
        for v in entry["variants"]:
            m = v["median"]
            settings = ", ".join(f"{k}={val}" for k, val in v["settings"].items()) or "defaults"
            rows.append(
                (
                    v["label"],
                    f"{short_code(str(v['code']))}; {settings}",
                    num(m["cpu_per_1k_tokens"], 3),
                    f"{num(m['ttft_p50_ms'])} / {num(m['ttft_p99_ms'])}",
                    num(m["gap_p99_ms"], 0),
                    f"{m['exact']:.0f}/{entry['streams']}",
                )
            )
        header = ("variant", "code; settings", "CPU s / 1k tokens", "added TTFT p50 / p99 (ms)",
                  "p99 gap (ms)", "exact")  # fmt: skip
        lines.append(markdown_table(header, rows) + "\n")
    return "\n".join(lines)


def renderer_additions_section() -> str:
    """Math, diagrams and task lists in the renderer: ``python -m bench.render.run`` on the code
    before and after them, same corpus, from their own runs (``bench/results/render-math.json``)."""
    from pathlib import Path

    path = Path(__file__).resolve().parent / "results" / "render-math.json"
    if not path.exists():
        return ""
    data = json.loads(path.read_text())
    lines = [
        "## Math, diagrams and task lists in the renderer\n",
        "`python -m bench.render.run` (quick profile, 64 characters per step; `--cpu-throttle 4` "
        f"for the last two runs) with {data['corpus']}, on the renderer before they were "
        "rendered (math shown as text, diagrams as code) and with KaTeX, Mermaid and task "
        "lists, one run each, one after the other. Ours only: ms per step (render + layout) "
        "p50 / p95 / max, and long tasks (>= 50 ms) over the whole stream. Raw figures: "
        "[`bench/results/render-math.json`](../bench/results/render-math.json).\n",
    ]
    corpora = [row["corpus"] for row in data["runs"][0]["results"]]
    header = ("code", *corpora)
    rows = []
    for run in data["runs"]:
        cells = []
        for row in run["results"]:
            o = row["ours"]
            cells.append(
                f"{num(o['p50_ms'])} / {num(o['p95_ms'])} / {num(o['max_ms'])}, {o['long_tasks']}"
            )
        rows.append((f"{run['label']} ({run['code']}, {run['when']})", *cells))
    lines.append(markdown_table(header, rows) + "\n")
    lines.append(
        "Display math and diagrams are drawn once their block is closed, and a formula's KaTeX "
        "output is cached, so the tail re-rendered on each frame costs a little more only "
        "for the markup KaTeX writes (sanitized and laid out again while its paragraph is "
        "open). Mermaid runs in its own frame, after the block is finished, never on a step. "
        "At 1x every step stays under the 10 ms of a 60 Hz frame left to application code at "
        "p95, with no long task; at 4x both versions show a few long tasks, in the same range "
        "(the same corpus with its diagrams turned into plain code gives as many).\n"
    )
    return "\n".join(lines)


def fmt_best(off: dict[str, Any], name: str) -> str:
    best = off.get(name) or {}
    rate, ttft = best.get("best_tokens_per_second"), best.get("best_ttft_ms")
    return f"{num(rate)} tokens/s and {num(ttft, 0)} ms"


def profile_section(results: dict[str, Any]) -> str:
    prof = results.get("hotpath") or {}
    if not prof or "error" in prof:
        return f"Not profiled in this run: {prof.get('error', 'section skipped')}.\n"
    lines = [
        "py-spy sampled each server from outside (`py-spy record --nonblocking --rate 200`, "
        "folded stacks in `bench/results/profile-*.txt.gz`) during a run of its own with 100 "
        "streams, so that sampling touched none of the figures above. Shares are of the "
        "samples in which the process was running (all its threads); each sample counts once, "
        "for the innermost component on its stack, so a JSON call made by the fan-out counts "
        "as JSON.\n"
    ]
    for name in ("ours", "baseline"):
        p = prof.get(name)
        if not p:
            continue
        threads = ", ".join(f"{k} {v:.0f}%" for k, v in p["threads"])
        lines.append(f"**{name}** ({p['samples']} samples; {threads}):\n")
        rows = [(k, f"{v:.1f}%") for k, v in p.get("components", []) if v >= 0.5]
        lines.append(markdown_table(("component", "share of samples"), rows) + "\n")
        rows = [(k, f"{v:.1f}%") for k, v in p["self_by_function"][:10]]
        lines.append(
            "Functions where the samples were (self time):\n\n"
            + markdown_table(("function (where)", "self"), rows)
            + "\n"
        )
    b = get(results, "postgres", "scaleout", "two", "profile")
    if b:
        rows = [(k, f"{v:.1f}%") for k, v in b.get("components", []) if v >= 0.5]
        lines.append(
            f"**process B of the two on Redis** ({b['samples']} samples, during the scale-out "
            f"run; it holds half the askers and the other half's second sockets):\n\n"
            + markdown_table(("component", "share of samples"), rows)
            + "\n\n"
            + markdown_table(
                ("function (where)", "self"),
                [(k, f"{v:.1f}%") for k, v in b["self_by_function"][:8]],
            )
            + "\n"
        )
    return "\n".join(lines)


def remedies(f: Figures, results: dict[str, Any]) -> list[str]:
    """For each missed target, what the profile says would close it. The changes belong to
    the files named; the benchmark only measures."""
    out = []
    ours = get(results, "hotpath", "ours") or {}
    parts = ours.get("components") or []
    details = ours.get("details") or {}
    db = pct(parts, "database (Django ORM, driver, connecting)")
    sockets = pct(parts, "socket reads and writes (transports, selectors)")
    client = pct(parts, hotpath.CLIENT)
    connect = details.get("opening database connections (get_new_connection)")
    close = details.get("closing database connections (_close)")
    checkpoints = details.get("checkpoints (save_checkpoints)")
    starting = details.get(hotpath.STARTING)
    signin = details.get("signing sockets in (sessions, auth)")
    kept = f.median("kept", 100, "cpu_per_1k_tokens")
    ours_cpu = f.median("ours", 100, "cpu_per_1k_tokens")
    base_cpu = f.median("baseline", 100, "cpu_per_1k_tokens")
    if f.cpu_ok() is False or f.ttft_ok() is False or f.capacity_ok() is False:
        ratio = f.cpu_ratio()
        burst = f.cpu_ratio("burst")
        out.append(
            "**CPU, first token, gaps and capacity.** Done for them: one checkpoint writer per "
            "process (`chat/answers/checkpoints.py`: every answer's changed text in one "
            "transaction and one database-thread hop per interval, instead of a task, a hop "
            "and a commit per answer); a message sent is one trip to the database thread (the "
            "socket's sign-in check, the message and its answers in one transaction, and the "
            "news for the user's other tabs built from the rows in hand: three trips and a "
            "three-table read before), and the socket's dispatch no longer takes Channels' trip "
            "there before every message; one idle watchdog per stream instead of a timer per "
            "upstream event (`streaming/watchdog.py`); the reactor on uvloop (`EVENT_LOOP`); "
            "a longer coalescing window once an answer is under way "
            "(`FLUSH_INTERVAL_UNDER_WAY_MS`); and the upstream streams read under the SDKs "
            "with h11 on asyncio (`streaming/transport.py`) instead of httpx's default "
            "transport, which put an anyio cancel scope and a socket check around every read "
            "(in `bench.compare`, 100 streams, 3 runs each: 0.218 CPU s per 1,000 tokens "
            "against 0.261, p99 gap 175 against 201 ms, on 2026-12-04); and each frame "
            "written to its socket as it is sent (`chat/web/server.py`, `write_now`), where "
            "Twisted had buffered it and asked the loop to say when the socket could take it, "
            "a watch added and removed and a turn of the loop per frame (in `bench.compare`, "
            "100 streams, 3 runs each, 2026-12-04: 0.119 against 0.123 CPU s per 1,000 tokens "
            "spread over 1 s, 0.119 against 0.138 started at once, added TTFT p99 11 against "
            "36 ms). The CPU per 1,000 tokens at 100 streams went "
            f"from 1.40x the baseline's (2026-11-25) to {num(ratio, 2)}x in this run "
            f"({num(burst, 2)}x in the burst). In the profile of ours the database layer is "
            f"now {num(db, 0)}% of samples (41% on 2026-11-25): checkpoints "
            f"{num(checkpoints, 0)}%, starting answers {num(starting, 0)}%, opening and "
            f"closing connections {num(connect, 0)}% + {num(close, 0)}%; socket reads and "
            f"writes {num(sockets, 0)}% and the upstream HTTP client {num(client, 0)}%."
        )
        out.append(
            "Measured and not kept: aiohttp under the OpenAI and Anthropic SDKs "
            "(`DefaultAioHttpClient`) beside their httpx, in `bench.compare` at 100 streams, "
            "3 runs each: 0.233 against 0.235 CPU s per 1,000 tokens, TTFT p99 290 against "
            "272 ms, p99 gap 245 against 241 ms: within the spread, so the SDKs keep httpx. "
            "(Installing aiohttp would also move google-genai onto it, whose errors the Gemini "
            "provider does not yet translate.) orjson for the frames measured no better "
            "either. The watchdog alone: 0.260 against 0.275 s, within the spread."
        )
        if kept and ours_cpu:
            out.append(
                f"`DATABASE_CONN_MAX_AGE=600` (measured beside the default in this run): "
                f"{num(kept, 3)} CPU s per 1,000 tokens against {num(ours_cpu, 3)} "
                f"({kept / ours_cpu:.2f}x): with the checkpoints batched, keeping connections "
                f"open no longer pays for itself."
            )
        if base_cpu and ours_cpu:
            out.append(
                f"What is left: reaching 0.5x the baseline means {0.5 * base_cpu:.3f} CPU s per "
                f"1,000 tokens, {100 * (1 - 0.5 * base_cpu / ours_cpu):.0f}% less than ours "
                f"now. The baseline stores nothing, authenticates nothing and tells no other "
                f"tab; ours pays per token what the baseline pays (the upstream stream's "
                f"bytes and their JSON: {num(client, 0)}% in the HTTP client, the SDK's "
                f"response wrappers and httpx's over our transport) and per frame the "
                f"WebSocket framing and deflate, and per answer its rows: a new "
                f"conversation's start is five statements in one transaction on PostgreSQL "
                f"(the user's row locked, the answers being written counted, the conversation, "
                f"the message, the answer) and four on SQLite, whose transactions hold the "
                f"write lock from their start, beside the socket's sign-in check and the news "
                f"for the user's other tabs. Its context is the message in hand, no longer "
                f"read back with its files (two statements per answer; in `bench.compare`, "
                f"100 streams, 2026-12-04: 0.149 against 0.152 CPU s per 1,000 tokens over "
                f"3 runs, 0.142 against 0.145 in a burst over 5, TTFT p99 68 against 87 ms "
                f"there: within the spread, and kept as one trip's less work). Next, by the "
                f"profile: the WebSocket send, where autobahn frames and compresses every "
                f"frame in Python (one frame per socket per coalescing window, each its own "
                f"send to the kernel); the socket's sign-in check on every message sent (a "
                f"session read and decoded, its user read: {num(signin, 0)}% of samples, with "
                f"the sign-in as sockets open); and one channel-layer message per process "
                f"rather than per socket."
            )
    mid = f.shaped("mid_burst", "ours", "gap_p99_ms")
    if get(mid, "median") is not None and not f.gap_ok("mid_burst"):
        base_mid = get(f.shaped("mid_burst", "baseline", "gap_p99_ms"), "median")
        out.append(
            "**A burst of starts while answers stream.** When 100 answers are asked for within "
            "10 ms while 50 stream, the 50's p99 gap is "
            f"{num(get(mid, 'median'), 0)} ms (the baseline's {num(base_mid, 0)} ms, with no "
            "database at all). Nothing of theirs waits on the database thread (a test holds a "
            "start there and counts the deltas that still go out): what delays them is CPU. "
            "py-spy over the 2 s of the burst (2026-12-03, before the news was built from the "
            "rows in hand) found the database thread busy two thirds of the time, about 6.6 ms "
            "of CPU per start: the sign-in check 16%, storing the message 30%, the answer and "
            "its context 35%, the news 9%, the limit 6%; the event loop meanwhile builds and "
            "sends 100 upstream requests through the SDK and their start frames. With the "
            "fake upstream and the load generator on the same two cores, the answers under way "
            "wait for a core, as the baseline's do. A shorter GIL switch interval (0.2 ms "
            "instead of 5) changed nothing, so it is not the GIL's hand-over. Next: the start's "
            "statements (above); on more cores and PostgreSQL, starts on a pool of database "
            "threads of their own would overlap their waits on the server (not their ORM CPU, "
            "which holds the GIL)."
        )
    idle_ = results.get("idle") or {}
    if idle_.get("bytes_per_socket", 0) > 32 * 1024:
        out.append(
            f"**Memory per idle socket.** {idle_['bytes_per_socket'] / 1024:.1f} KiB against "
            "32. Where it goes, by `python -m bench.socket_memory --sockets 300` (tracemalloc "
            "over 300 idle sockets, 2026-12-03): 27.4 KB per socket traced, down from 42.5 "
            "before the socket was made lean (an `Inbox` for Daphne's input queue and the "
            "in-memory layer's channels, the handshake's HTTP channel let go, autobahn's "
            "options on its protocol's class, one copy of the scope with the session and the "
            "user). What is left is spread thin: autobahn's and Daphne's protocol state "
            "(attributes, header copies, send queue) about 6 KB, Twisted's transport about "
            "3 KB, the application's tasks and futures about 3 KB, the scope copies 1.6 KB, "
            "the session read 0.5 KB. Next: the connection's tasks (Channels waits on each "
            "socket's two inputs with a task each, and Daphne and our graceful stop hold a "
            "task and a shield per connection)."
        )
    if f.bytes_ok() is False:
        out.append(
            f"**Bytes.** A long answer takes "
            f"{num(f.median('ours', 100, 'bytes_per_char'), 2)} bytes per byte of text. Next: "
            f"`chat/answers/frames.py`: a compact delta frame "
            f'(`{{"d":[message, offset, text]}}`) leaves less for deflate to refer back to.'
        )
    scale = get(f.postgres, "scaleout", "two") or {}
    if scale and not scale.get("carried"):
        b = scale.get("profile") or {}
        layer = get(b, "details", "channel layer (channels/layers.py, channels_redis)")
        cpu = scale.get("cpu_by_process") or []
        out.append(
            f"**Scale-out.** A socket reading an answer from another process is reached "
            f"through the channel layer, and channels_redis hands all of a process's messages "
            f"out through one receive loop that takes a lock, pops one message and wakes one "
            f"waiter at a time (process B: {num(layer, 0)}% of samples in the channel layer"
            + (f"; CPU seconds of A and B: {', '.join(f'{c:.1f}' for c in cpu)}" if cpu else "")
            + "). `chat/answers/audience.py` (`RemoteWatcher`) therefore sends a remote watcher "
            "the text it lacks at most every `REMOTE_FLUSH_INTERVAL_MS` (100 ms) as one catch-up "
            "delta "
            "(a timer keeps text before a pause from being held back, and the text is caught up "
            "before any end frame); before that, one message per delta left the other process "
            "seconds behind at 50 streams. Next: send once per *process* and fan out there, "
            "when several sockets on one process watch the same answer."
        )
    off = results.get("offline") or {}
    if f.offline_ok() is False:
        out.append(
            "**Offline model.** `streaming/providers/local.py` loads llama.cpp with "
            "`n_threads=2` on a two-core machine, so its spinning compute threads compete "
            "with the event loop that delivers their tokens. Measure `n_threads = cores - 1` "
            "on a quiet machine before changing it: the figures of this run "
            f"(app {off['app']['tokens_per_second']:.1f}, llama.cpp "
            f"{off['direct']['tokens_per_second']:.1f} tokens/s) move with other processes' "
            "load."
        )
    if not out:
        out.append("Every target was met in this run.")
    return out


METHOD = """\
- **Processes.** The fake upstream (`python -m tests.fakes.upstream`), our server (`python -m
  chat.web.server -b 127.0.0.1 -p PORT chat.asgi:application`, Daphne as `make run` serves it,
  with `OPENAI_BASE_URL` pointing at the fake, a temporary `VAR_DIR` and database, and
  configured as deployed: `DEBUG=false`, with plain HTTP allowed on 127.0.0.1
  (`SECURE_SSL_REDIRECT=false`, `SECURE_COOKIES=false`), `LOG_LEVEL=WARNING`; runs before
  2026-12-03 13:00 had `DEBUG=true`, whose SQL log costs CPU on every query), the baseline (`uvicorn
  bench.baselines.fastapi_sse:app`, uvicorn's defaults as installed: asyncio loop, h11) and the
  load generator (`python -m bench.loadgen`, one asyncio process, a new one per load) are
  separate processes. 200 users are created and signed in in the server's database before it
  starts (`bench/accounts.py`), and the sockets take their sessions in turn (before 2026-12-03
  13:00, 20 users: every message sent was told to some seven other sockets of its user's);
  WebSockets send their `sessionid` cookie and an `Origin` header.
- **Loads.** Each answer is asked for with `fake:{"word_count": 400, "tokens_per_second": 50,
  "first_token_delay": 0.25}` in the user's message (a tag in the message links it to the fake's
  record). Our clients send `send` on an open WebSocket and read `message.start`, the deltas
  (checking each `offset`) and `message.end`; baseline clients `POST /chat` and read
  `data:` events as a browser's EventSource would; floor clients `POST` the fake's
  `/v1/chat/completions` directly. Sockets are opened first; the answers then start spread
  over 1 s (2 s for 500 streams). Every load has a fixed count and a deadline: 45 s; 25 s at
  500 streams in the quick profile, where the first tokens are the figure; 15 s for
  scale-out.
- **Added time to first token.** The fake records when it wrote each answer's first token with
  `time.monotonic()`; the load generator records when the client held it, on the same clock (one
  clock for all processes on Linux). Single-stream figures come from answers of 10 tokens started
  0.4 s apart.
- **Gap between frames.** Time between consecutive text-bearing frames of one answer, pooled over
  all answers of a load; the p99 of that pool.
- **Capacity.** Load levels are tried in order; a level is carried when every answer completes,
  every text is exact and the p99 gap is under 150 ms in every run of that level. Capacity is the
  highest level carried with every lower level carried too. After a failed level a target is
  not loaded further (500 streams is always measured, for the first-token figure). Levels:
  50, 100, 200 and 500 streams in the quick profile; more, and three runs each, in the full one.
- **CPU.** `utime + stime` of the server process from `/proc/<pid>/stat` before and after a load
  (connection set-up and database work included), over the tokens the fake wrote for that load.
  The load generator's and the fake's CPU are shown too: the three share two cores.
- **Bytes.** Bytes the client read from its socket for the answer (WebSocket frames from
  `message.start` to `message.end`; for the SSE targets the whole HTTP response, headers and
  chunked framing included), over the answer's characters. Our clients offer permessage-deflate
  as browsers do (`permessage-deflate; client_max_window_bits`, the websockets library's
  default offer), so what is counted is what the server sent compressed; *ours, compression
  off* is the same server with `WEBSOCKET_COMPRESSION=false`, loaded in turn with it. The
  WebSocket handshake, paid once per connection rather than per answer, is counted apart in
  the JSON.
- **Database writes.** Our server on a PostgreSQL database made for the run;
  `pg_stat_user_tables` (`n_tup_ins + n_tup_upd + n_tup_del`) for `chat_message` and
  `chat_conversation`, read once the counters stop moving, before and after a batch of answers.
  The bound is `2 + streaming time / 500 ms` with the median streaming time the clients saw.
- **Idle sockets.** Resident memory (`VmRSS`) of a fresh Daphne process before and after opening
  that many signed-in WebSockets, after a warm-up of 20; measured first, before any load. Then
  again once each socket has been sent one frame (the error refusing a `resume` of an answer
  that does not exist), all at once, and sits idle again.
- **Offline model.** `local:smollm2` through a WebSocket, against the same GGUF file loaded by the
  provider's own loading code in a separate process and driven with
  `Llama.create_completion(stream=True)`, the same chat-formatted prompt and `max_tokens`. Both
  are warmed up once; runs alternate. Tokens per second is (tokens - 1) over the time from the
  first to the last text.
- **Scale-out.** On PostgreSQL. One process with the in-memory layer, then two with
  `REDIS_URL` (channels_redis). For each answer, the socket that asked and a second socket (same
  user) that sends `resume` at offset 0 as soon as `message.start` names the answer: on the other
  process when there are two. Lag is, for each delta the asker received, how much later the
  second socket held the same text.
- **Profile.** py-spy from outside, on a separate load, so sampling does not touch the figures.
"""


def machine_section(m: dict[str, Any]) -> str:
    rows = [
        ("cores (`nproc`)", str(m.get("nproc", "?"))),
        ("CPU", str(m.get("cpu", "?"))),
        ("memory", f"{(m.get('memory_bytes') or 0) / 2**30:.0f} GiB"),
        ("kernel", str(m.get("kernel", "?"))),
        ("Python", str(m.get("python", "?"))),
        ("PostgreSQL", str(m.get("postgres", "?"))),
        ("Redis", str(m.get("redis", "?"))),
        ("load average at start / end", f"{fmt_load(m.get('loadavg_at_start'))} / "
                                        f"{fmt_load(m.get('loadavg_at_end'))}"),
    ]  # fmt: skip
    rows += [(name, version) for name, version in (m.get("packages") or {}).items()]
    return markdown_table(("", ""), rows) + "\n"
