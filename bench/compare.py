"""Our server in several versions side by side: checkouts (a scratch copy with a change to try)
and settings, under the same load, interleaved, in one run.

    .venv/bin/python -m bench.compare --name "batched checkpoints" \\
        --variant head=. --variant head+kept=.:DATABASE_CONN_MAX_AGE=600 \\
        --variant batched=/tmp/proto --streams 100 --repeats 3

A variant is ``label=ROOT[:NAME=VALUE,...]``. The figures are added to
``bench/results/prototypes.json`` under ``--name``, with the commit of each root when it has
one, and ``docs/benchmarks.md`` shows them at its next writing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from bench import servers
from bench.harness import LONG, Target, load
from bench.servers import HOME, Database, Fake, Ours, Stack, ours_env, prepare, workspace

PROTOTYPES = HOME / "bench" / "results" / "prototypes.json"
FIGURES = ("cpu_per_1k_tokens", "ttft_p50_ms", "ttft_p99_ms", "gap_p99_ms", "exact")


def parse_variant(text: str) -> tuple[str, Path, dict[str, str]]:
    label, _, rest = text.partition("=")
    root, _, settings = rest.partition(":")
    env = dict(pair.split("=", 1) for pair in settings.split(",") if pair)
    return label, Path(root).resolve(), env


def describe_root(root: Path) -> str:
    marker = root / ".commit"
    if marker.exists():
        return marker.read_text().strip()
    done = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True
    )
    return done.stdout.strip() or str(root)


def start(stack: Stack, fake: Fake, work: Path, label: str, root: Path, env: dict) -> Target:
    servers.ROOT = root  # where the server's code is read from
    folder = work / label.replace("/", "_")
    folder.mkdir()
    environment = ours_env(fake, folder, Database(folder, postgres=False), None)
    environment.update(env)
    keys = prepare(environment)
    process = stack.start(Ours(environment, work / f"{folder.name}.log", label))
    return Target(label, "ws", [process.port], [process], keys)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", required=True, help="what is being compared")
    parser.add_argument("--variant", action="append", required=True)
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--ramp-s", type=float, default=1.0, help="the starts spread over (0.01: a burst)"
    )
    args = parser.parse_args()
    variants = [parse_variant(v) for v in args.variant]
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label, _, _ in variants}
    with workspace() as work, Stack() as stack:
        fake = stack.start(Fake(work))
        targets = [start(stack, fake, work, *variant) for variant in variants]
        for repeat in range(args.repeats):
            for target in targets:
                s = load(target, fake, args.streams, LONG, ramp_s=args.ramp_s).summary()
                runs[target.name].append(
                    {
                        "cpu_per_1k_tokens": s["cpu_per_1k_tokens"],
                        "ttft_p50_ms": s["added_ttft_ms"]["p50"],
                        "ttft_p99_ms": s["added_ttft_ms"]["p99"],
                        "gap_p99_ms": s["gap_ms"]["p99"],
                        "exact": s["exact"],
                        "loadavg_1m": s["loadavg_1m"],
                    }
                )
                print(f"run {repeat + 1} {target.name}: {runs[target.name][-1]}", flush=True)
    entry = {
        "name": args.name,
        "measured_at": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "streams": args.streams,
        "ramp_s": args.ramp_s,
        "repeats": args.repeats,
        "variants": [
            {
                "label": label,
                "code": describe_root(root),
                "settings": env,
                "median": {k: statistics.median(r[k] for r in runs[label]) for k in FIGURES},
                "runs": runs[label],
            }
            for label, root, env in variants
        ],
    }
    found = json.loads(PROTOTYPES.read_text()) if PROTOTYPES.exists() else []
    found = [e for e in found if e["name"] != args.name] + [entry]
    PROTOTYPES.write_text(json.dumps(found, indent=1) + "\n")
    for variant in entry["variants"]:
        print(variant["label"], variant["median"])


if __name__ == "__main__":
    main()
