"""check_sample per sample: all checks, grounding's share, beside a floor.

The samples are what build.build() checks in bench/collect.py's setup (FakeModel
answers to 100 synthetic tools, ~5% damaged, seeds and paraphrases), captured once
into a JSONL file, plus the labelled grounding corpus (tests/data/grounding_corpus.jsonl).
The same file can be measured against another source tree (``--src``), so a change
to the checks is timed before and after on identical samples:

    .venv/bin/python bench/checks.py --samples /tmp/fb-check-samples.jsonl
    .venv/bin/python bench/checks.py --samples /tmp/fb-check-samples.jsonl --src /tmp/old/src

Times are CPU time (time.process_time), best of 5: the machine is shared.
Floor: orjson.loads of every call's arguments string plus one pass over the messages,
the least any set of checks that reads the arguments must pay.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


def capture(path: Path, n: int) -> None:
    """Run collect's setup and a build, recording every sample handed to the checks."""
    sys.path.insert(0, str(BENCH))
    import _common as c
    import collect

    from forge_batch import build, checks
    from forge_batch import config as cfgmod
    from forge_batch.collect import import_file

    tmp = c.tmpdir("checks")
    p = collect.setup(tmp, n)
    config = cfgmod.load(p["toml"])
    import_file(config, tmp / "seed_out.jsonl")
    import_file(config, tmp / "para_out.jsonl")
    seen: list[dict[str, Any]] = []
    real = checks.check_sample

    def recording(sample: Any, ctx: Any) -> Any:
        seen.append(sample.to_json())
        return real(sample, ctx)

    checks.check_sample = recording  # build calls checks.check_sample through the module
    build.build(config)
    corpus = ROOT / "tests" / "data" / "grounding_corpus.jsonl"
    with open(path, "w", encoding="utf-8") as out:
        for record in seen:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        for line in corpus.read_text(encoding="utf-8").splitlines():
            out.write(json.dumps(json.loads(line)["sample"], ensure_ascii=False) + "\n")
    c.shutil.rmtree(tmp, ignore_errors=True)


def measure(path: Path, src: Path) -> dict[str, Any]:
    sys.path.insert(0, str(src))
    import orjson

    from forge_batch import checks
    from forge_batch.records import Sample

    samples = [Sample.from_json(orjson.loads(line)) for line in path.read_bytes().splitlines()]

    def run(grounding: bool) -> tuple[float, Counter[str]]:
        best, verdicts = float("inf"), Counter[str]()
        for _ in range(5):
            ctx = checks.CheckContext.build(grounding=grounding)
            verdicts = Counter()
            t = time.process_time()
            for sample in samples:
                got = checks.check_sample(sample, ctx)
                verdicts[got[0] if got else "kept"] += 1
            best = min(best, time.process_time() - t)
        return best, verdicts

    def floor() -> float:
        best = float("inf")
        for _ in range(5):
            t = time.process_time()
            for sample in samples:
                for m in sample.messages:
                    for call in m.get("tool_calls") or ():
                        raw = call.get("function", {}).get("arguments")
                        if isinstance(raw, str):
                            with contextlib.suppress(orjson.JSONDecodeError):
                                orjson.loads(raw)
            best = min(best, time.process_time() - t)
        return best

    with_g, verdicts = run(True)
    without_g, _ = run(False)
    n = len(samples)
    return {
        "src": str(src),
        "samples": n,
        "check_sample_us": 1e6 * with_g / n,
        "grounding_us": 1e6 * (with_g - without_g) / n,
        "floor_us": 1e6 * floor() / n,
        "verdicts": dict(verdicts.most_common()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=Path("/tmp/fb-check-samples.jsonl"))
    parser.add_argument("--n", type=int, default=4000, help="responses in the captured build")
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="source tree to time")
    parser.add_argument("--capture", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.capture:
        capture(args.samples, args.n)
        return
    if not args.samples.exists():
        cmd = [sys.executable, __file__, "--capture", "--samples", str(args.samples)]
        subprocess.run([*cmd, "--n", str(args.n)], check=True)
    r = measure(args.samples, args.src.resolve())
    print(f"source        {r['src']}")
    print(f"samples       {r['samples']}")
    print(f"check_sample  {r['check_sample_us']:8.1f} µs/sample (all checks)")
    print(f"  grounding   {r['grounding_us']:8.1f} µs/sample (with minus without)")
    print(f"floor         {r['floor_us']:8.1f} µs/sample (orjson.loads of the arguments)")
    print(f"verdicts      {r['verdicts']}")


if __name__ == "__main__":
    main()
