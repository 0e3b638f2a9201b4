"""``python -m bench`` (``make bench``): every measurement of the benchmark issue, in one run.

Quick profile (the default) in under five minutes on two cores; ``--full`` repeats more, at more
load levels. Prints the table, keeps the raw figures in ``bench/results/latest.json`` and
writes ``docs/benchmarks.md``. ``--only streams,db`` runs some sections (for development; the
document is then not rewritten unless ``--docs`` is given).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from bench import (
    compression,
    dbwrites,
    hotpath,
    idle,
    journal,
    machine,
    offline,
    renderer,
    report,
    scaleout,
    streams,
)
from bench.harness import LONG, Target, load
from bench.servers import (
    HOME,
    USERS,
    Baseline,
    Database,
    Fake,
    Ours,
    Stack,
    ours_env,
    prepare,
    redis_flush,
    workspace,
)

PROFILED = {**LONG, "word_count": 50 * 6}  # six seconds of the usual load
SECTIONS = (
    "idle",
    "streams",
    "hotpath",
    "offline",
    "db",
    "scaleout",
    "journal",
    "compression",
    "render",
)
QUICK = {
    "name": "quick",
    "repeats": 2,  # single streams and 100 streams, every target
    "level_repeats": 1,
    "variant_repeats": 1,  # ours with one setting changed, at 100 streams
    "floor_repeats": 1,  # the floor barely moves between runs
    "deadline_500_s": 25,
    "single_streams": 6,
    "levels": [50, 100, 150, 200, 300, 400, 500],
    "idle_sockets": 300,
    "offline_runs": 3,
    "offline_max_tokens": 32,
    "db_answers": {"short": 20, "long": 10},
    "scaleout_streams": 50,
    "journal_levels": [100, 200],
    "journal_repeats": 2,
    "compression_repeats": 3,
    "profile_s": 6,
}
FULL = {
    **QUICK,
    "name": "full",
    "repeats": 5,
    "level_repeats": 3,
    "variant_repeats": 3,
    "floor_repeats": 3,
    "deadline_500_s": 45,
    "single_streams": 20,
    "levels": [25, 50, 75, 100, 150, 200, 300, 400, 500, 600, 800],
    "idle_sockets": 1000,
    "offline_runs": 5,
    "offline_max_tokens": 128,
    "db_answers": {"short": 50, "long": 20},
    "scaleout_streams": 100,
    "journal_levels": [100, 200, 400],
    "journal_repeats": 3,
    "compression_repeats": 5,
    "profile_s": 8,
}
REDIS_DB = 13
JOURNAL_REDIS_DB = 12
# BENCH_RESULTS sends a trial's figures elsewhere (say, a scratch copy measured with
# BENCH_APP_ROOT), so that they never mix with the committed ones.
RESULTS = Path(os.environ.get("BENCH_RESULTS") or HOME / "bench" / "results" / "latest.json")
DOCUMENT = HOME / "docs" / "benchmarks.md"


def command(full: bool) -> str:
    """How this run was started, as someone would type it again."""
    if os.environ.get("BENCH_APP_ROOT"):
        root = os.environ["BENCH_APP_ROOT"]
        return f"BENCH_APP_ROOT={root} .venv/bin/python -m bench" + (" --full" if full else "")
    return "make bench" + (" FULL=1" if full else "")


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class Sections:
    """Runs each section, keeping its figures or the error that stopped it."""

    def __init__(self, only: set[str]) -> None:
        self.only = only
        self.results: dict[str, Any] = {}

    def wanted(self, *names: str) -> bool:
        return any(name in self.only for name in names)

    def run(self, name: str, fn, *args: Any, when: tuple[str, ...] = ()) -> None:
        if not self.wanted(*(when or (name,))):
            return
        log(f"== {name}")
        started = time.monotonic()
        try:
            self.results[name] = fn(*args)
        except Exception as exc:
            traceback.print_exc()
            self.results[name] = {"error": f"{type(exc).__name__}: {exc}"}
        log(f"   ({time.monotonic() - started:.0f} s)")


def profile_hot_path(targets: dict[str, Target], fake: Fake, work: Path, seconds: float) -> dict:
    """py-spy on ours and on the baseline while each carries 100 streams (runs of their own,
    so that sampling never touches the figures above)."""
    out = {}
    for name in ("ours", "baseline"):
        target = targets[name]
        raw = RESULTS.parent / f"profile-{name}.txt"  # kept: py-spy's collapsed stacks
        spy = hotpath.start(target.processes[0].pid, seconds, raw)
        if spy is None:
            return {"error": "py-spy is not installed"}
        try:
            run = load(target, fake, 100, PROFILED, ramp_s=1.0)
        finally:
            _, err = spy.communicate(timeout=seconds + 30)
        if not raw.exists():
            return {"error": f"py-spy wrote nothing: {err.strip()[-300:]}"}
        hotpath.compact(raw)
        out[name] = hotpath.summarize(raw.with_name(raw.name + ".gz"))
        out[name]["server_cpu_s"] = run.server_cpu_s
        out[name]["tokens"] = run.tokens
        log(f"  {name}: {out[name]['samples']} samples")
        for place, share in out[name]["self_by_place"][:6]:
            log(f"    {share:5.1f}%  {place}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="the longer profile")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument("--docs", action="store_true", help="write docs/benchmarks.md anyway")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="measure nothing: print the table and rewrite the document from the last results",
    )
    args = parser.parse_args(argv)
    if args.report_only:
        results = json.loads(RESULTS.read_text())
        print(report.table(results))
        DOCUMENT.write_text(report.document(results))
        return 0
    profile = FULL if args.full else QUICK
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = only - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {sorted(unknown)}; choose from {SECTIONS}")
    sections = Sections(only)
    started = time.monotonic()
    results: dict[str, Any] = {
        "profile": profile,
        "machine": machine.describe(),
        "started_at": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "command": command(args.full),
    }
    log(f"benchmark, {profile['name']} profile, on {results['machine']['summary']}")
    with workspace() as work:
        with Stack() as stack:
            fake = stack.start(Fake(work))
            if sections.wanted("idle", "streams", "hotpath", "offline"):
                sqlite_dir = work / "sqlite"
                sqlite_dir.mkdir()
                env = ours_env(fake, sqlite_dir, Database(sqlite_dir, postgres=False), None)
                env["MAX_OUTPUT_TOKENS"] = str(profile["offline_max_tokens"])
                keys = prepare(env, USERS)
                ours = stack.start(Ours(env, work / "ours.log"))
                # The same server with its database connection kept open between queries
                # (DATABASE_CONN_MAX_AGE): a setting, measured beside the default.
                kept = stack.start(
                    Ours(dict(env, DATABASE_CONN_MAX_AGE="600"), work / "kept.log", "kept")
                )
                baseline = stack.start(Baseline(fake, work / "baseline.log"))
                targets = {
                    "floor": Target("floor", "upstream", [fake.port], []),
                    "baseline": Target("baseline", "sse", [baseline.port], [baseline]),
                    "ours": Target("ours", "ws", [ours.port], [ours], keys),
                    "kept": Target("kept", "ws", [kept.port], [kept], keys),
                }
                # First, while the server's heap holds nothing else: later loads leave free
                # memory behind that idle sockets would reuse unseen.
                sections.run("idle", idle.measure, targets["ours"], profile["idle_sockets"], log)
                sections.run("streams", streams.measure, targets, fake, profile, log)
                sections.run("hotpath", profile_hot_path, targets, fake, work, profile["profile_s"])
                kept.stop()
                sections.run(
                    "offline",
                    offline.measure,
                    targets["ours"],
                    profile["offline_max_tokens"],
                    profile["offline_runs"],
                    log,
                )
                ours.stop()
                baseline.stop()
            if sections.wanted("db", "scaleout"):
                sections.run(
                    "postgres",
                    run_postgres,
                    stack,
                    fake,
                    work,
                    profile,
                    sections,
                    when=("db", "scaleout"),
                )
            sections.run("journal", run_journal, stack, fake, work, profile)
            sections.run("compression", run_compression, stack, fake, work, profile)
        sections.run("render", renderer.measure, profile, log)
    if only != set(SECTIONS) and RESULTS.exists():
        # A partial run updates the figures it measured and keeps the others.
        # The run's header (when, where, how long) stays the full run's.
        kept = json.loads(RESULTS.read_text())
        header = ("profile", "command", "started_at", "machine", "elapsed_s")
        kept.update({k: v for k, v in results.items() if k not in header})
        results = kept
    results.update(sections.results)
    if only == set(SECTIONS):
        results["elapsed_s"] = time.monotonic() - started
        results["machine"]["loadavg_at_end"] = os.getloadavg()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1, default=str) + "\n")
    results = json.loads(RESULTS.read_text())  # the document reads what a later reader would
    print(report.table(results))
    if only == set(SECTIONS) or args.docs:
        DOCUMENT.write_text(report.document(results))
        log("wrote docs/benchmarks.md and bench/results/latest.json")
    log(f"done in {time.monotonic() - started:.0f} s")
    return 0


def run_postgres(stack: Stack, fake: Fake, work: Path, profile: dict, sections: Sections) -> dict:
    """Measurements 5 and 8, on one PostgreSQL database made for this run and dropped after."""
    pg_dir = work / "pg"
    pg_dir.mkdir()
    database = Database(pg_dir, postgres=True)
    stack.callback(database.drop)
    env = ours_env(fake, pg_dir, database, None)
    keys = prepare(env, USERS)
    single = stack.start(Ours(env, work / "ours-pg.log", name="one process, in-memory layer"))
    target = Target(single.name, "ws", [single.port], [single], keys)
    out = {}
    if sections.wanted("db"):
        out["writes"] = dbwrites.measure(target, fake, database, profile["db_answers"], log)
    if sections.wanted("scaleout"):
        count = profile["scaleout_streams"]
        out["scaleout"] = {"one": scaleout.measure(target, fake, count, log)}
        single.stop()
        redis_flush(REDIS_DB)
        stack.callback(redis_flush, REDIS_DB)
        env = ours_env(fake, pg_dir, database, REDIS_DB)
        a = stack.start(Ours(env, work / "ours-a.log", name="A"))
        b = stack.start(Ours(env, work / "ours-b.log", name="B"))
        pair = Target("two processes, Redis layer", "ws", [a.port, b.port], [a, b], keys)
        out["scaleout"]["two"] = scaleout.measure(
            pair, fake, count, log, profile_of=b, raw=RESULTS.parent / "profile-scaleout-b.txt"
        )
    return out


def run_journal(stack: Stack, fake: Fake, work: Path, profile: dict) -> dict:
    """What the answer journal costs: one process on PostgreSQL and Redis with ANSWER_JOURNAL
    on, beside the same with it off."""
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    journal_dir = work / "journal"
    journal_dir.mkdir()
    database = Database(journal_dir, postgres=True)
    stack.callback(database.drop)
    redis_flush(JOURNAL_REDIS_DB)
    stack.callback(redis_flush, JOURNAL_REDIS_DB)
    env = ours_env(fake, journal_dir, database, JOURNAL_REDIS_DB)
    keys = prepare(env, USERS)
    targets = {}
    for name, value in journal.VARIANTS:
        server = stack.start(
            Ours(dict(env, ANSWER_JOURNAL=value), work / f"journal-{name}.log", f"journal {name}")
        )
        targets[name] = Target(f"journal {name}", "ws", [server.port], [server], keys)
    out = journal.measure(
        targets, fake, JOURNAL_REDIS_DB, profile["journal_levels"], profile["journal_repeats"], log
    )
    out.update(started_at=started, loadavg_at_end=os.getloadavg(), command=command_for("journal"))
    for target in targets.values():
        target.processes[0].stop()
    return out


def run_compression(stack: Stack, fake: Fake, work: Path, profile: dict) -> dict:
    """What WebSocket compression saves and costs: one process with WEBSOCKET_COMPRESSION on,
    beside the same with it off, each fresh."""
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    folder = work / "compression"
    folder.mkdir()
    env = ours_env(fake, folder, Database(folder, postgres=False), None)
    keys = prepare(env, USERS)
    targets = {}
    for name, value in compression.VARIANTS:
        server = stack.start(
            Ours(
                dict(env, WEBSOCKET_COMPRESSION=value),
                work / f"compression-{name}.log",
                f"compression {name}",
            )
        )
        targets[name] = Target(f"compression {name}", "ws", [server.port], [server], keys)
    out = compression.measure(
        targets, fake, profile["compression_repeats"], profile["idle_sockets"], log
    )
    out.update(
        started_at=started, loadavg_at_end=os.getloadavg(), command=command_for("compression")
    )
    for target in targets.values():
        target.processes[0].stop()
    return out


def command_for(section: str) -> str:
    root = os.environ.get("BENCH_APP_ROOT")
    prefix = f"BENCH_APP_ROOT={root} " if root else ""
    return f"{prefix}.venv/bin/python -m bench --only {section}"


if __name__ == "__main__":
    sys.exit(main())
