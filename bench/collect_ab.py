"""Back-to-back A/B of bench/collect.py's measured child between source trees.

On a machine shared with other work, figures move 20-40% from minute to minute;
comparing two versions of the code means running them alternately, on the same
project, minutes apart. This sets up one bench/collect.py project of ``--size``
planned requests (kept in ``--project``, reused by later calls) and runs the
measured child (import of the four output files into an empty cache, then the
build) alternately for each source tree given (``git archive REV | tar -x -C DIR``
makes one), ``--rounds`` times. Each line: end-to-end responses/s, the stages,
CPU seconds of the child and its workers, peak RSS, sha256 prefixes of
out/dataset.jsonl and out/rejects.jsonl (the same on both sides, or the change
altered the output), and the load average before and after.

    .venv/bin/python bench/collect_ab.py --size 10000 --project /tmp/ab10k DIR_A DIR_B
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c
import collect as bench


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def measure(tree: Path, toml: str, root: Path, build_only: bool) -> str:
    """One measured child with ``tree``/src on PYTHONPATH; a summary line."""
    if not build_only:
        bench.reset(root)
    payload = {"toml": toml} | ({"mode": "build"} if build_only else {})
    env = dict(os.environ, PYTHONPATH=str(tree / "src"))
    before, load0 = resource.getrusage(resource.RUSAGE_CHILDREN), _load()
    proc = subprocess.run(
        [sys.executable, str(tree / "bench" / "collect.py"), "--child", "measure"],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        env=env,
        cwd=tree,
        check=False,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"{tree}: the measured child exited {proc.returncode}")
    mark = [ln for ln in proc.stdout.splitlines() if ln.startswith(c.RESULT_MARK)][-1]
    r = json.loads(mark[len(c.RESULT_MARK) :])
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    imported = r["import_seed_s"] + r["import_para_s"]
    rate = r["cached"] / (imported + r["build_s"]) if r["cached"] else 0.0
    digest = {
        name: hashlib.sha256((root / "out" / name).read_bytes()).hexdigest()[:12]
        for name in ("dataset.jsonl", "rejects.jsonl")
    }
    return (
        f"{tree.name}: {rate:,.0f} responses/s ({r['cached']:,} responses); import "
        f"{imported:.2f} s, build {r['build_s']:.2f} s (seeds {r['seeds_s']:.2f}, paraphrases "
        f"{r['para_s']:.2f}, judge {r['judge_s']:.2f}, merge+write {r['merge_write_s']:.2f}, "
        f"report {r['report_s']:.2f}); CPU {cpu:.1f} s; peak RSS {max(r['peaks'].values()):.0f} "
        f"MB; kept {r['kept']:,}; dataset {digest['dataset.jsonl']} rejects "
        f"{digest['rejects.jsonl']}; load {load0} -> {_load()}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trees", nargs="+", type=Path, help="source trees (each with src/, bench/)")
    ap.add_argument("--size", type=int, default=10_000, help="planned requests (seeds = N/2)")
    ap.add_argument("--project", type=Path, required=True, help="where the project is kept")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--build-only", action="store_true", help="the build alone, on a filled cache")
    args = ap.parse_args()
    info_file = args.project / "ab-info.json"
    if not info_file.exists():  # made once by the code this script runs with
        info = bench.setup(args.project, args.size)
        info_file.write_text(json.dumps({"toml": info["toml"]}))
    toml = json.loads(info_file.read_text())["toml"]
    for _ in range(args.rounds):
        for tree in args.trees:
            print(measure(tree.resolve(), toml, args.project, args.build_only), flush=True)


if __name__ == "__main__":
    main()
