"""Measurement 7: the offline model through the whole app beside llama.cpp called directly.

Through the app: a WebSocket ``send`` to ``local:smollm2``; time to first token is from the
``send`` to the first delta, tokens per second is the answer's tokens over the time between
its first and last delta. Directly (``python -m bench.offline``, its own process): the same GGUF
file loaded the way ``streaming.providers.local`` loads it, the same chat-formatted prompt and
``max_tokens``, ``Llama.create_completion(stream=True)``, timed the same way. The two never run
at the same time: llama.cpp uses both cores.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from typing import Any

from bench.harness import Target, loadgen, spread
from bench.servers import ROOT, child_env

PROMPT = "Write a long, detailed story about a lighthouse keeper who finds a message in a bottle."
MODEL = "local:smollm2"


def rate(tokens: int | None, first: float, last: float) -> float | None:
    if not tokens or tokens < 2 or last <= first:
        return None
    return (tokens - 1) / (last - first)


def through_app(target: Target) -> dict[str, Any]:
    spec = {
        "kind": "ws",
        "ports": target.ports,
        "streams": 1,
        "cookies": target.cookies,
        "model": MODEL,
        "prompt": PROMPT,
        "deadline_s": 120,
        "settle_s": 0.2,
    }
    stream = loadgen(spec)["streams"][0]
    if stream["status"] != "complete":
        raise RuntimeError(f"the offline model did not answer: {stream['error']}")
    return {
        "ttft_ms": (stream["t_first"] - stream["t_sent"]) * 1000,
        "tokens": stream["output_tokens"],
        "tokens_per_second": rate(stream["output_tokens"], stream["t_first"], stream["t_last"]),
    }


class Direct:
    """llama.cpp in a process of its own, loaded once, answering one run per request."""

    def __init__(self, max_tokens: int) -> None:
        from streaming.events import ChatMessage, ChatRequest
        from streaming.providers.base import ProviderConfig
        from streaming.providers.local import LocalProvider

        provider = LocalProvider(ProviderConfig())
        provider._load()  # the provider's own loading code: same file, context and threads
        self.llama = provider._llama
        self.max_tokens = max_tokens
        request = ChatRequest(
            model="smollm2", messages=(ChatMessage("user", PROMPT),), max_tokens=max_tokens
        )
        self.prompt, self.stop = provider.prompt(request)
        self.prompt_tokens = len(self.llama.tokenize(self.prompt.encode(), special=True))

    def run(self) -> dict[str, Any]:
        started = time.monotonic()
        first = last = None
        chunks = self.llama.create_completion(
            self.prompt, max_tokens=self.max_tokens, stop=self.stop, stream=True
        )
        for chunk in chunks:
            if chunk["choices"][0]["text"]:
                last = time.monotonic()
                first = first or last
        tokens = self.llama.n_tokens - self.prompt_tokens
        return {
            "ttft_ms": (first - started) * 1000 if first else None,
            "tokens": tokens,
            "tokens_per_second": rate(tokens, first or 0, last or 0),
        }


def serve(max_tokens: int) -> None:
    direct = Direct(max_tokens)
    direct.run()  # warm-up, as the app gets one
    print("ready", flush=True)
    for _ in sys.stdin:
        print(json.dumps(direct.run()), flush=True)


def measure(target: Target, max_tokens: int, runs: int, log) -> dict[str, Any]:
    """Runs alternate between the app and llama.cpp, so that the machine's other work falls on
    both alike."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "bench.offline", "--max-tokens", str(max_tokens)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=child_env(),
    )
    app, raw = [], []
    try:
        if worker.stdout.readline().strip() != "ready":
            raise RuntimeError("llama.cpp could not load the model")
        through_app(target)  # warm-up: the server loads the model on its first answer
        server = target.processes[0]
        for _ in range(runs):
            app.append(through_app(target))
            # The server is idle meanwhile; its CPU says whether llama.cpp's threads in it
            # still spin, and so compete with the direct run.
            cpu, wall = server.cpu_seconds(), time.monotonic()
            worker.stdin.write("run\n")
            worker.stdin.flush()
            raw.append(json.loads(worker.stdout.readline()))
            raw[-1]["server_busy"] = (server.cpu_seconds() - cpu) / (time.monotonic() - wall)
            log(f"  app {fmt_run(app[-1])}; direct {fmt_run(raw[-1])}")
    finally:
        worker.stdin.close()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    summary: dict[str, Any] = {}
    for name, results in (("app", app), ("direct", raw)):
        summary[name] = {
            key: statistics.median([r[key] for r in results if r[key] is not None])
            for key in ("ttft_ms", "tokens", "tokens_per_second")
        }
        summary[name]["spread"] = {
            key: spread([r[key] for r in results]) for key in ("ttft_ms", "tokens_per_second")
        }
        # The best run is the least disturbed by other work on the machine.
        summary[name]["best_tokens_per_second"] = max(
            (r["tokens_per_second"] for r in results if r["tokens_per_second"]), default=None
        )
        summary[name]["best_ttft_ms"] = min(
            (r["ttft_ms"] for r in results if r["ttft_ms"] is not None), default=None
        )
        summary[name]["runs"] = results
    summary["max_tokens"] = max_tokens
    summary["prompt"] = PROMPT
    return summary


def fmt_run(run: dict[str, Any]) -> str:
    text = (
        f"ttft {run['ttft_ms']:.0f} ms, {run['tokens']} tokens at "
        f"{run['tokens_per_second'] or 0:.1f}/s"
    )
    if "server_busy" in run:
        text += f" (idle server meanwhile used {run['server_busy']:.2f} cores)"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description="llama.cpp called directly, one run per line")
    parser.add_argument("--max-tokens", type=int, default=128)
    args = parser.parse_args()
    serve(args.max_tokens)


if __name__ == "__main__":
    main()
