"""Load: N requests through prepare -> the local Batch server -> collect, time and memory.

Not a test (too slow for CI). For each size N (default 10,000, 30,000 and
100,000 seeds of tests/data/mcp-filesystem.tools.json, no paraphrases) a fresh
project is made with ``[engine] kind = "local"`` and the FakeModel executor
(tests/doubles.py: instant, deterministic answers, so what is measured is
forge-batch and its server, not a model) and ``[limits] max_lines = 10000``
(several shards). Each stage runs in its own child process, so its peak RSS
(``ru_maxrss``) is its own:

  prepare   render every request, hash, write the shards
  submit    upload + create every batch, and the in-process local server runs
            every line (FakeModel) until all batches are done
  ingest    download output files, match by custom_id, fill the cache
            (``collect_batches``)
  build     parse, check, dedup, merge, write out/dataset.jsonl (``build.build``)

The submit stage also says where the server's time goes: wall time inside the
executor, the journal appends, the journal fsyncs, the batch checkpoints and
the finalize step (writing the output files), by wrapping those functions.
Finally the dedup index alone is measured with tracemalloc over N accepted
user texts: its bytes per sample.

    .venv/bin/python bench/load.py                       # 10k, 30k, 100k
    .venv/bin/python bench/load.py --sizes 2000 --keep   # quick look, keep the projects
    .venv/bin/python bench/load.py --paraphrases 1       # with the paraphrase stage
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
TOOLS = ROOT / "tests" / "data" / "mcp-filesystem.tools.json"
EXECUTOR = f"{ROOT / 'tests' / 'doubles.py'}:FakeModel"
STAGES = ("prepare", "submit", "ingest", "build")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def rss_parts_mb() -> dict[str, float]:
    """Resident memory now, split into anonymous (heap) and file-backed (mapped files,
    e.g. SQLite's mmap of the cache) pages, from /proc/self/status (Linux)."""
    out = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("RssAnon", "RssFile"):
                out[name.lower() + "_mb"] = round(int(value.split()[0]) / 1024, 1)
    except OSError:
        pass
    return out


def make_project(root: Path, seeds: int, paraphrases: int, max_lines: int) -> Path:
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    shutil.copy(TOOLS, root / "tools.json")
    (root / "forge.toml").write_text(
        f'tools = "tools.json"\nseeds = {seeds}\nparaphrases_per_seed = {paraphrases}\n'
        "random_seed = 7\n\n"
        f'[engine]\nkind = "local"\nexecutor = "{EXECUTOR}"\npoll_interval = 0.5\n\n'
        f"[limits]\nmax_lines = {max_lines}\n\n"
        "[judge]\nenabled = false\n"  # the load of the seed (and paraphrase) rounds
    )
    return root / "forge.toml"


# -- the stages, each run in a child process ---------------------------------------------


class Timers:
    """Wall time spent inside wrapped functions, per name (thread-safe)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def wrap(self, owner: Any, attr: str, name: str) -> None:
        original = getattr(owner, attr)
        timers = self

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                with timers._lock:
                    timers.seconds[name] += time.perf_counter() - start
                    timers.calls[name] += 1

        setattr(owner, attr, timed)

    def wrap_executor(self, make: Callable[..., Any]) -> Callable[..., Any]:
        timers = self

        def load(*args: Any, **kwargs: Any) -> Any:
            executor = make(*args, **kwargs)

            def run(body: Any) -> Any:
                start = time.perf_counter()
                try:
                    return executor(body)
                finally:
                    with timers._lock:
                        timers.seconds["executor (FakeModel)"] += time.perf_counter() - start
                        timers.calls["executor (FakeModel)"] += 1

            return run

        return load


def run_stage(stage: str, cfg_path: Path) -> dict[str, Any]:
    from forge_batch import config as config_mod

    config = config_mod.load(cfg_path)
    extra: dict[str, Any] = {}
    start = time.perf_counter()
    if stage == "prepare":
        from forge_batch.prepare import prepare

        result = prepare(config)
        extra = {"written": result.written, "shards": len(result.shards)}
    elif stage == "submit":
        from forge_batch import server
        from forge_batch.engine import open_engine
        from forge_batch.server import journal, store, worker
        from forge_batch.submit import submit

        timers = Timers()
        server.load_executor = timers.wrap_executor(server.load_executor)
        timers.wrap(journal.Journal, "append", "journal append (write+flush)")
        timers.wrap(journal.Journal, "sync", "journal fsync")
        timers.wrap(store.Store, "update_batch", "batch progress update")
        timers.wrap(store.Store, "_persist", "batch record write (fsync)")
        timers.wrap(worker.Worker, "_run_line", "line total (incl. executor)")
        timers.wrap(worker.Worker, "_finish", "finalize (output files)")
        timers.wrap(worker.Worker, "_validate", "validate input")
        with open_engine(config) as engine:
            result = submit(config, engine, wait_for=True, poll_interval=0.5)
        extra = {
            "batches": len(result.submitted),
            "server": {
                k: {"seconds": round(v, 3), "calls": timers.calls[k]}
                for k, v in sorted(timers.seconds.items())
            },
        }
    elif stage == "ingest":
        from forge_batch.collect import collect_batches
        from forge_batch.engine import open_engine

        with open_engine(config) as engine:
            result = collect_batches(config, engine)
        extra = {
            "cached": sum(b.cached for b in result.batches),
            "failed": sum(b.failed for b in result.batches),
        }
    elif stage == "build":
        from forge_batch import build

        built = build.build(config)
        extra = {"samples": built.total, "rejects": sum(built.stats.rejects.values())}
    else:
        raise SystemExit(f"unknown stage {stage}")
    return {
        "stage": stage,
        "seconds": round(time.perf_counter() - start, 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        **rss_parts_mb(),  # at the end of the stage
        **extra,
    }


def run_index(cfg_path: Path) -> dict[str, Any]:
    """Bytes the dedup index holds per indexed sample (tracemalloc, numpy included)."""
    import tracemalloc

    import orjson

    from forge_batch import config as config_mod
    from forge_batch import dedup

    config = config_mod.load(cfg_path)
    texts = []
    with open(config.paths.out / "dataset.jsonl", "rb") as fh:
        for line in fh:
            record = orjson.loads(line)
            texts.append(
                "\n".join(m.get("content") or "" for m in record["messages"] if m["role"] == "user")
            )
    d = config.dedup
    tracemalloc.start()
    deduper = dedup.Deduper(threshold=d.threshold, shingles=d.shingles, num_perm=d.num_perm)
    base = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    dups = sum(deduper.check_and_add(str(i), t) is not None for i, t in enumerate(texts))
    seconds = time.perf_counter() - start
    held = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    indexed = len(texts) - dups
    return {
        "stage": "dedup index",
        "indexed": indexed,
        "bytes_per_sample": round(held / max(indexed, 1)),
        "us_per_sample": round(seconds / max(len(texts), 1) * 1e6, 1),
    }


def child(stage: str, cfg: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--stage", stage, "--config", str(cfg)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "FORGE_BATCH_PROGRESS": "0"},
    )
    if proc.returncode != 0:
        raise SystemExit(f"stage {stage} failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,30000,100000")
    parser.add_argument("--paraphrases", type=int, default=0)
    parser.add_argument("--max-lines", type=int, default=10_000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the projects")
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    if args.stage:
        index = args.stage == "index"
        out = run_index(args.config) if index else run_stage(args.stage, args.config)
        print(json.dumps(out))
        return
    work = args.workdir or Path(tempfile.mkdtemp(prefix="forge-load-"))
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    try:
        for n in sizes:
            cfg = make_project(work / f"n{n}", n, args.paraphrases, args.max_lines)
            for stage in STAGES:
                row = child(stage, cfg)
                row["n"] = n
                rows.append(row)
                print(json.dumps(row), flush=True)
            if args.paraphrases:  # the paraphrase round: prepare, submit, ingest, build again
                for stage in STAGES:
                    row = child(stage, cfg)
                    row["n"], row["stage"] = n, f"{row['stage']} (paraphrases)"
                    rows.append(row)
                    print(json.dumps(row), flush=True)
            row = child("index", cfg)
            row["n"] = n
            rows.append(row)
            print(json.dumps(row), flush=True)
            if not args.keep:
                shutil.rmtree(cfg.parent, ignore_errors=True)
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print(
        f"{'N':>8}  {'stage':<26} {'seconds':>8} {'req/s':>8} {'peak RSS MB':>12} "
        f"{'end: anon MB':>13} {'file MB':>8}"
    )
    for r in rows:
        if "seconds" in r:
            rate = r["n"] / r["seconds"] if r["seconds"] else 0
            print(
                f"{r['n']:>8}  {r['stage']:<26} {r['seconds']:>8.1f} {rate:>8.0f} "
                f"{r['peak_rss_mb']:>12.1f} {r.get('rssanon_mb', 0):>13.1f} "
                f"{r.get('rssfile_mb', 0):>8.1f}"
            )
        else:
            print(
                f"{r['n']:>8}  {r['stage']:<26} {r['bytes_per_sample']:>5} B/sample over "
                f"{r['indexed']} indexed, {r['us_per_sample']} us/sample"
            )
    for r in rows:
        if r["stage"] == "submit" and "server" in r:
            print(f"\nserver time at N={r['n']} (submit wall {r['seconds']} s):")
            for name, v in r["server"].items():
                print(f"  {name:<32} {v['seconds']:>8.2f} s  {v['calls']:>8} calls")


if __name__ == "__main__":
    main()
