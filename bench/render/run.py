"""Benchmark the streaming markdown renderer in headless Chromium.

    .venv/bin/python -m bench.render.run [--full] [--cpu-throttle 4] [--out PATH]

Replays markdown answers of 10, 50 and 100 KB (and one that is mostly a single 50 KB code
block) in fixed steps of --step characters. Each step is one frame's worth of work: ours
(frozen blocks + live tail, static/js/markdown.js) and, in the same page and run, a naive
whole-document re-render + innerHTML. It records p50/p95/max per step (render + layout) and the
long tasks (>= 50 ms, PerformanceObserver 'longtask') over each whole stream.

The quick profile (default) times every step of ours and every Nth step of the naive renderer
(N chosen so it samples about 100 steps; its figures are per sampled step and its long-task
count covers the sampled steps only); --full times every step of both. Prints a table, writes
the figures to --out, and prints them as one JSON line last.
"""

from __future__ import annotations

import argparse
import http.server
import json
import math
import platform
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import sync_playwright

from bench.render.corpus import answer, code_answer

ROOT = Path(__file__).resolve().parents[2]
STATIC_DIR = ROOT / "static"
HARNESS_DIR = Path(__file__).resolve().parent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:"
# The frame Mermaid draws in has a policy of its own (DIAGRAM_FRAME_CONTENT_SECURITY_POLICY in
# chat/settings.py).
DIAGRAM_FRAME_PATH = "/static/js/markdown/diagram-frame.html"
DIAGRAM_FRAME_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src data:; "
    "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)
KB = 1024
NAIVE_SAMPLES = 100
LONG_TASK_MS = 50


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".css": "text/css",
        ".map": "application/json",
    }

    def translate_path(self, path: str) -> str:
        route = urlsplit(path).path
        for prefix, base in (("/static/", STATIC_DIR), ("/bench/", HARNESS_DIR)):
            if route.startswith(prefix):
                target = (base / route[len(prefix) :]).resolve()
                if target.is_relative_to(base):
                    return str(target)
        return str(HARNESS_DIR / "missing")

    def end_headers(self) -> None:
        path = urlsplit(self.path).path
        if path == DIAGRAM_FRAME_PATH:
            self.send_header("Content-Security-Policy", DIAGRAM_FRAME_CSP)
        elif path.endswith(".html"):
            self.send_header("Content-Security-Policy", CSP)
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def summarize(run: dict[str, Any]) -> dict[str, Any]:
    samples = run["samples"]
    summary = {
        "steps_timed": len(samples),
        "p50_ms": round(percentile(samples, 50), 2),
        "p95_ms": round(percentile(samples, 95), 2),
        "max_ms": round(max(samples), 2),
        "total_ms": round(sum(samples), 1),
        "steps_over_50ms": sum(1 for sample in samples if sample >= LONG_TASK_MS),
        "long_tasks": run["longTasks"]["count"],
        "longest_task_ms": round(run["longTasks"]["maxMs"], 1),
    }
    if "finishMs" in run:
        summary["finish_ms"] = round(run["finishMs"], 2)
    return summary


def corpora(full: bool) -> list[tuple[str, str]]:
    cases = [(f"answer-{size}k", answer(size * KB, seed=size)) for size in (10, 50, 100)]
    cases.append(("one-code-block-50k", code_answer(50 * KB)))
    return cases


def run(*, full: bool, step: int, cpu_throttle: float, chromium: str) -> dict[str, Any]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    results = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium, headless=True, args=CHROMIUM_ARGS
            )
            try:
                page = browser.new_page(viewport={"width": 1000, "height": 800})
                errors: list[str] = []
                page.on("pageerror", lambda error: errors.append(str(error)))
                if cpu_throttle != 1:
                    cdp = page.context.new_cdp_session(page)
                    cdp.send("Emulation.setCPUThrottlingRate", {"rate": cpu_throttle})
                page.goto(f"{origin}/bench/harness.html")
                page.wait_for_selector("body[data-ready=yes]", state="attached")
                # Warm-up, not recorded: the first corpus should not pay for JIT compilation.
                page.evaluate(
                    "([text]) => bench.run(text, { naiveStride: 4 })", [answer(5 * KB, seed=0)]
                )
                for name, text in corpora(full):
                    steps = math.ceil(len(text) / step)
                    stride = 1 if full else max(1, math.ceil(steps / NAIVE_SAMPLES))
                    started = time.monotonic()
                    raw = page.evaluate(
                        "([text, options]) => bench.run(text, options)",
                        [text, {"step": step, "naiveStride": stride}],
                    )
                    if errors:
                        raise RuntimeError(f"the page failed: {errors}")
                    results.append(
                        {
                            "corpus": name,
                            "chars": len(text),
                            "steps": steps,
                            "naive_stride": stride,
                            "ours": summarize(raw["ours"]),
                            "naive": summarize(raw["naive"]),
                            "seconds": round(time.monotonic() - started, 1),
                        }
                    )
                version = browser.version
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()
    return {
        "profile": "full" if full else "quick",
        "step_chars": step,
        "cpu_throttle": cpu_throttle,
        "chromium": version,
        "machine": platform.machine(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "results": results,
    }


def table(figures: dict[str, Any]) -> str:
    lines = [
        f"Markdown renderer, {figures['step_chars']} chars per step, Chromium "
        f"{figures['chromium']}, CPU throttle {figures['cpu_throttle']}x, "
        f"{figures['profile']} profile (ms per step: render + layout)",
        "",
        f"{'corpus':<20} {'steps':>6} | {'ours p50':>8} {'p95':>6} {'max':>7} {'long':>5}"
        f" {'finish':>7} | {'naive p50':>9} {'p95':>7} {'max':>7} {'long':>5} {'1/N':>4}",
    ]
    for row in figures["results"]:
        ours, naive = row["ours"], row["naive"]
        lines.append(
            f"{row['corpus']:<20} {row['steps']:>6} | {ours['p50_ms']:>8.2f} {ours['p95_ms']:>6.2f}"
            f" {ours['max_ms']:>7.2f} {ours['long_tasks']:>5} {ours['finish_ms']:>7.2f} |"
            f" {naive['p50_ms']:>9.2f} {naive['p95_ms']:>7.2f} {naive['max_ms']:>7.2f}"
            f" {naive['long_tasks']:>5} {row['naive_stride']:>4}"
        )
    lines.append("")
    lines.append(
        "long = long tasks (>= 50 ms) over the whole stream; naive times every Nth step (1/N),"
        " so its long-task count covers those steps only."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="time every step of both renderers")
    parser.add_argument("--step", type=int, default=64, help="characters added per step")
    parser.add_argument("--cpu-throttle", type=float, default=1, help="DevTools CPU slowdown")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="Chromium executable")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "render.json", help="JSON path"
    )
    args = parser.parse_args(argv)
    if not (STATIC_DIR / "vendor" / "markdown-it.js").exists():
        print("static/vendor/ is missing: run `npm ci && npm run vendor` first", file=sys.stderr)
        return 2
    figures = run(
        full=args.full, step=args.step, cpu_throttle=args.cpu_throttle, chromium=args.chromium
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print(table(figures))
    print(f"written to {args.out}")
    print(json.dumps(figures, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
