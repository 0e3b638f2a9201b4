"""What WebSocket compression saves and costs (chat/web/compression.py): one Daphne process with
``WEBSOCKET_COMPRESSION`` on (the default) beside the same with it off, each fresh, loaded in
turn. The clients offer permessage-deflate as browsers do, so with it on every byte counted is
one the server sent compressed: bytes on the wire per byte of text for long answers (400 tokens
at 50 tokens/s) and short ones (10 tokens), server and load-generator CPU per 1,000 tokens (the
load generator decompresses, as a browser would), and memory per idle socket, fresh and after
each socket was sent one frame (from then on a compressed socket holds its compressor).
"""

from __future__ import annotations

from typing import Any

from bench import idle
from bench.harness import LONG, SHORT, Run, Target, load, spread

VARIANTS = (("on", "true"), ("off", "false"))
# (shape, script, streams): long answers at the load of the other figures, the same at a load
# light enough that the coalescing window alone sets how many frames an answer takes (a busy
# server merges more text into each frame, and frames are what compression works on), and
# short answers.
LOADS = (("long", LONG, 100), ("long, light load", LONG, 20), ("short", SHORT, 20))


def measure(
    targets: dict[str, Target], fake, repeats: int, idle_sockets: int, log
) -> dict[str, Any]:
    out: dict[str, Any] = {"repeats": repeats, "idle_sockets": idle_sockets, "by_variant": {}}
    for name, _ in VARIANTS:  # first, while each process's heap holds nothing else
        log(f"  compression {name}:")
        out["by_variant"][name] = {"idle": idle.measure(targets[name], idle_sockets, log)}
    runs: dict[tuple[str, str], list[Run]] = {}
    for repeat in range(repeats):
        for shape, script, streams in LOADS:
            for name, _ in VARIANTS:
                run = load(targets[name], fake, streams, script, ramp_s=1.0)
                runs.setdefault((name, shape), []).append(run)
                log(
                    f"  compression {name:3} {shape:5} x{streams}, run {repeat + 1}: "
                    f"bytes/char {run.bytes_per_char() or 0:.2f}, "
                    f"cpu/1k {run.cpu_per_1k_tokens() or 0:.3f} s, "
                    f"loadgen cpu/1k {loadgen_cpu_per_1k(run) or 0:.3f} s, "
                    f"gap p99 {run.gap_p99_ms or 0:.0f} ms, exact {run.exact}/{streams}"
                )
    for (name, shape), group in runs.items():
        out["by_variant"][name][shape] = {
            "streams": group[0].streams,
            "bytes_per_char": spread([r.bytes_per_char() for r in group]),
            "frames_per_stream": spread([r.summary()["frames_per_stream"] for r in group]),
            "cpu_per_1k_tokens": spread([r.cpu_per_1k_tokens() for r in group]),
            "loadgen_cpu_per_1k_tokens": spread([loadgen_cpu_per_1k(r) for r in group]),
            "ttft_p50_ms": spread([r.ttft(0.5) for r in group]),
            "ttft_p99_ms": spread([r.ttft(0.99) for r in group]),
            "gap_p99_ms": spread([r.gap_p99_ms for r in group]),
            "exact": [r.exact for r in group],
            "runs": [r.summary() for r in group],
        }
    return out


def loadgen_cpu_per_1k(run: Run) -> float | None:
    return run.result["loadgen_cpu_s"] / run.tokens * 1000 if run.tokens else None
