"""Summarize a py-spy "raw" (collapsed stacks) profile: inclusive and self share
per function. Used to write down what bounds a benchmark that misses its target.

    py-spy record -f raw -o prof.txt -- .venv/bin/python ...
    .venv/bin/python bench/_collapsed.py prof.txt [--top 25] [--under FUNC]
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def short(frame: str) -> str:
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m["file"]
    for mark in ("site-packages/", "src/", "lib/python3.11/"):
        if mark in path:
            path = path.split(mark, 1)[1]
            break
    return f"{path}:{m['func']}"


def summarize(path: Path, top: int, under: str | None) -> str:
    incl: Counter[str] = Counter()
    self_: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = [short(f) for f in stack.split(";")]
        if under:
            idx = next((i for i, f in enumerate(frames) if f.endswith(under)), None)
            if idx is None:
                continue
            frames = frames[idx:]
        total += n
        for f in set(frames):
            incl[f] += n
        self_[frames[-1]] += n
    out = [f"{total} samples" + (f" under {under}" if under else "")]
    out.append("inclusive:")
    out += [f"  {100 * v / total:5.1f}%  {k}" for k, v in incl.most_common(top)]
    out.append("self:")
    out += [f"  {100 * v / total:5.1f}%  {k}" for k, v in self_.most_common(top)]
    return "\n".join(out)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("profile", type=Path)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--under", default=None)
    a = ap.parse_args()
    print(summarize(a.profile, a.top, a.under))
