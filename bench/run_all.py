"""Run the six benchmarks (one subprocess each) and write their table into
docs/benchmarks.md, between the "results" markers (the rest of the file is kept).

    .venv/bin/python bench/run_all.py            # full sizes, writes docs/benchmarks.md
    .venv/bin/python bench/run_all.py --quick    # smoke sizes, prints the table only
    .venv/bin/python bench/run_all.py --quick --out /tmp/b.md --only prepare,rerun

Exit status: 0 when every benchmark ran (a missed target is reported, not an
error; add --strict to exit 1 on a miss), 2 when a benchmark crashed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c

NAMES = ("prepare", "collect", "rerun", "server", "relay", "tokens")
DOC = c.ROOT / "docs" / "benchmarks.md"
START = "<!-- results:start (written by bench/run_all.py) -->"
END = "<!-- results:end -->"


def run(name: str, quick: bool, folder: Path) -> tuple[dict[str, Any] | None, float, str]:
    out = folder / f"{name}.json"
    cmd = [c.PYTHON, str(c.BENCH / f"{name}.py"), "--json", str(out)]
    if quick:
        cmd.append("--quick")
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=c.ROOT)  # its output streams through
    secs = time.perf_counter() - t
    if proc.returncode != 0 or not out.exists():
        return None, secs, f"exit {proc.returncode}"
    return json.loads(out.read_text()), secs, ""


def cell(x: float | None) -> str:
    return c.fmt(x)


def table(results: list[tuple[str, dict[str, Any] | None, float, str]], quick: bool) -> str:
    m = c.machine()
    lines = [
        f"Run of `{'bench/run_all.py --quick' if quick else 'bench/run_all.py'}` on "
        f"{m['time']}: {m['cpu']}, {m['cores']} cores, Python {m['python']}, {m['platform']}; "
        f"code: commit {m.get('commit', '?')}.",
        "",
        "| benchmark | figure | value | target | floor | ratio | result |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    loads = []
    for name, rep, secs, err in results:
        if rep is None:
            lines.append(f"| {name} | (crashed: {err}) | | | | | ERROR |")
            continue
        loads.append(f"{name} {rep['machine'].get('load', '?')} ({secs:.0f} s)")
        for r in rep["rows"]:
            value = f"{cell(r['value'])} {r['unit']}"
            floor = "-" if r["floor"] is None else f"{cell(r['floor'])} ({r['floor_what']})"
            ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
            verdict = "-" if r["ok"] is None else ("pass" if r["ok"] else "**miss**")
            lines.append(
                f"| {name} | {r['figure'].strip()} | {value} | {r['target']} | {floor} | "
                f"{ratio} | {verdict} |"
            )
    lines += ["", "Load average (1, 5, 15 min) when each benchmark started, and its wall time: "
              + "; ".join(loads) + "."]  # fmt: skip
    details = []
    for name, rep, _, _ in results:
        if rep is None:
            continue
        for r in rep["rows"]:
            if r["note"]:
                details.append(f"- {name}, {r['figure'].strip()}: {r['note']}")
        details += [f"- {name}: {n}" for n in rep["notes"]]
    if details:
        lines += ["", "<details><summary>Details of each figure</summary>", "", *details, "",
                  "</details>"]  # fmt: skip
    return "\n".join(lines)


def write_doc(path: Path, body: str) -> None:
    block = f"{START}\n{body}\n{END}"
    if path.exists():
        text = path.read_text()
        if START in text and END in text:
            head, rest = text.split(START, 1)
            tail = rest.split(END, 1)[1]
            path.write_text(head + block + tail)
            return
        path.write_text(text.rstrip() + "\n\n## Results\n\n" + block + "\n")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# Benchmarks\n\n## Results\n\n" + block + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default=None, help="comma-separated subset of " + ",".join(NAMES))
    ap.add_argument("--out", type=Path, default=None, help="markdown file to update")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = ap.parse_args()
    names = args.only.split(",") if args.only else list(NAMES)
    unknown = set(names) - set(NAMES)
    if unknown:
        ap.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    out = args.out or (None if args.quick else DOC)
    results = []
    with tempfile.TemporaryDirectory(prefix="fb-bench-all-") as tmp:
        for name in names:
            print(f"--- {name} ---", flush=True)
            rep, secs, err = run(name, args.quick, Path(tmp))
            results.append((name, rep, secs, err))
    body = table(results, args.quick)
    print("\n" + body)
    if out is not None:
        write_doc(out, body)
        print(f"\nwrote {out}")
    if any(rep is None for _, rep, _, _ in results):
        return 2
    missed = any(r["ok"] is False for _, rep, _, _ in results if rep for r in rep["rows"])
    return 1 if (missed and args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())
