"""Running one load against one target and turning what every process saw into figures."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from bench.servers import MODEL, ROOT, Fake, Process, child_env
from tests.fakes.script import synthesized_tokens

# The shape of a streamed answer in the load runs (the issue's: 50 tokens/s, 400 tokens), and
# a first token after a quarter of a second, like a real provider's, so that the request
# burst and the first tokens do not all land at the same instant.
LONG = {"word_count": 400, "tokens_per_second": 50, "first_token_delay": 0.25}
SHORT = {"word_count": 10, "tokens_per_second": 50, "first_token_delay": 0.25}
# The burst: every answer asked for at the same instant (within 10 ms), 200 tokens at 40
# tokens/s, the way a class or a script hits a server at once.
BURST = {"word_count": 200, "tokens_per_second": 40, "first_token_delay": 0.25}
BURST_RAMP_S = 0.01
# A reasoning model's answer: 200 tokens of reasoning (a Chat Completions
# ``reasoning_content`` delta, as vLLM, DeepSeek and llama.cpp's server send it), then 200 of
# text, at 50 tokens/s.
REASONING = {
    "word_count": 200,
    "reasoning": "".join(synthesized_tokens(200)).replace("\n", " "),
    "tokens_per_second": 50,
    "first_token_delay": 0.25,
}
GAP_TARGET_S = 0.150


def loadgen(spec: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
    """Run the load generator in its own process and return what it measured."""
    limit = timeout or float(spec.get("deadline_s", 120)) + 60
    done = subprocess.run(
        [sys.executable, "-m", "bench.loadgen"],
        input=json.dumps(spec) + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=child_env(),
        timeout=limit,
    )
    if done.returncode:
        raise RuntimeError(f"load generator failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


@dataclass
class Target:
    """Something to load: ``kind`` is ``ws`` (ours), ``sse`` (the baseline) or ``upstream``."""

    name: str
    kind: str
    ports: list[int]
    processes: list[Process]  # whose CPU counts as the server's
    cookies: list[str] = field(default_factory=list)


@dataclass
class Run:
    target: str
    streams: int
    result: dict[str, Any]
    server_cpu_s: float
    fake_cpu_s: float
    added_ttft_ms: list[float]
    tokens: int  # tokens the fake wrote for this run's requests
    wall_s: float
    loadavg: float = 0.0  # the machine's 1-minute load average after the run: others' work too
    cpu_by_process: list[float] = field(default_factory=list)

    @property
    def exact(self) -> int:
        return sum(s["exact"] for s in self.result["streams"])

    @property
    def exact_but_newlines(self) -> int:
        return sum(s["exact_but_newlines"] for s in self.result["streams"])

    @property
    def complete(self) -> int:
        return sum(s["status"] == "complete" for s in self.result["streams"])

    @property
    def gap_p99_ms(self) -> float | None:
        p99 = self.result["gaps"]["p99"]
        return None if p99 is None else p99 * 1000

    def errors(self) -> list[str]:
        return sorted({s["error"] for s in self.result["streams"] if s["error"]})[:3]

    def cpu_per_1k_tokens(self) -> float | None:
        return self.server_cpu_s / self.tokens * 1000 if self.tokens else None

    def bytes_per_char(self, with_handshake: bool = False) -> float | None:
        # Reasoning is text the reader is shown too.
        ratios = [
            (s["bytes_in"] + (s["handshake_bytes"] if with_handshake else 0))
            / (s["expected_chars"] + s.get("expected_reasoning_chars", 0))
            for s in self.result["streams"]
            if s["status"] == "complete" and s["expected_chars"]
        ]
        return statistics.median(ratios) if ratios else None

    def ttft(self, q: float) -> float | None:
        return quantile(self.added_ttft_ms, q)

    def summary(self) -> dict[str, Any]:
        result = self.result
        return {
            "target": self.target,
            "streams": self.streams,
            "complete": self.complete,
            "exact": self.exact,
            "exact_but_newlines": self.exact_but_newlines,
            "added_ttft_ms": {"p50": self.ttft(0.5), "p99": self.ttft(0.99)},
            "gap_ms": {
                k: v * 1000 if v is not None and k != "n" else v for k, v in result["gaps"].items()
            },
            "server_cpu_s": self.server_cpu_s,
            "fake_cpu_s": self.fake_cpu_s,
            "loadgen_cpu_s": result["loadgen_cpu_s"],
            "loadgen_loop_lag_p99_ms": (result["loadgen_loop_lag"]["p99"] or 0) * 1000,
            "tokens": self.tokens,
            "cpu_per_1k_tokens": self.cpu_per_1k_tokens(),
            "bytes_per_char": self.bytes_per_char(),
            "bytes_per_char_with_handshake": self.bytes_per_char(True),
            "frames_per_stream": quantile([s["frames"] for s in result["streams"]], 0.5),
            "elapsed_s": result["elapsed_s"],
            "wall_s": self.wall_s,
            "loadavg_1m": self.loadavg,
            "timed_out": result["timed_out"],
            "connect_errors": result["connect_errors"],
            "errors": self.errors(),
            "holes": sum(s["holes"] for s in result["streams"]),
        }


def quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def load(
    target: Target,
    fake: Fake,
    streams: int,
    script: dict[str, Any],
    *,
    ramp_s: float = 2.0,
    deadline_s: float = 90.0,
    extra: dict[str, Any] | None = None,
) -> Run:
    """``streams`` answers at once (their starts spread over ``ramp_s``) against ``target``."""
    fake.reset()
    spec = {
        "kind": target.kind,
        "ports": target.ports,
        "streams": streams,
        "ramp_s": ramp_s,
        "script": script,
        "cookies": target.cookies,
        "model": MODEL,
        "deadline_s": deadline_s,
        **(extra or {}),
    }
    started = time.monotonic()
    cpu_before = [p.cpu_seconds() for p in target.processes]
    fake_before = fake.cpu_seconds()
    result = loadgen(spec)
    cpu_by_process = [
        p.cpu_seconds() - before for p, before in zip(target.processes, cpu_before, strict=True)
    ]
    server_cpu = sum(cpu_by_process)
    fake_cpu = fake.cpu_seconds() - fake_before
    first_tokens = fake.first_tokens()
    added = [
        (s["t_first"] - first_tokens[s["tag"]]) * 1000
        for s in result["streams"]
        if s["t_first"] is not None and s["tag"] in first_tokens
    ]
    tokens = sum(
        r["tokens_written"]
        for r in fake.control("/_fake/requests")["requests"]
        if "bench-" in json.dumps(r["body"].get("messages", []))
    )
    return Run(
        target=target.name,
        streams=streams,
        result=result,
        server_cpu_s=server_cpu,
        fake_cpu_s=fake_cpu,
        added_ttft_ms=added,
        tokens=tokens,
        wall_s=time.monotonic() - started,
        loadavg=os.getloadavg()[0],
        cpu_by_process=cpu_by_process,
    )


def spread(values: list[float | None]) -> dict[str, Any]:
    """The median of repeated runs and their range."""
    present = [v for v in values if v is not None]
    if not present:
        return {"median": None, "min": None, "max": None, "runs": len(values)}
    return {
        "median": statistics.median(present),
        "min": min(present),
        "max": max(present),
        "runs": len(present),
    }
