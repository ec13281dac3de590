"""Prompt caching: how much of each prompt repeats the previous request's prefix.

A realistic job: tests/data/mcp-filesystem.tools.json, 2,000 seeds, the default
scenario weights, paraphrases_per_seed = 3 (the config default), model
gpt-4o-mini. The product's own path makes every request: prepare -> FakeModel
answers every seed (clean answers, none damaged) -> collect.import_file ->
prepare renders the paraphrase requests of the accepted seeds -> answers ->
import -> build (counts the accepted samples, after the synthetic cap).

In shard order (seed shards, then paraphrase shards, each line in file order), the
prompt of a request is its messages' text concatenated in order. Figures:

* prefix share: characters that sit in a prefix shared with the previous request,
  over all prompt characters (target >= 70%);
* cache-eligible share: the same with OpenAI's rules applied to an estimate of 4
  characters a token (a prefix counts from 1,024 tokens, in 128-token steps);
* both again with the response format's JSON schema in front of the messages: OpenAI
  documents that "the structured output schema serves as a prefix to the system
  message", so that is the prompt its cache sees;
* prompt characters per accepted sample (all prompts of both stages / samples kept).

    .venv/bin/python bench/tokens.py [--quick]
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c

TOOLS = c.TESTS / "data" / "mcp-filesystem.tools.json"
CHARS_PER_TOKEN = 4


def common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    lo, hi = 0, n  # binary search on slices: C-speed comparisons
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def eligible(prefix_chars: int) -> int:
    """Characters OpenAI would serve from its prompt cache for this shared prefix."""
    tokens = prefix_chars // CHARS_PER_TOKEN
    if tokens < 1024:
        return 0
    return (tokens // 128) * 128 * CHARS_PER_TOKEN


def job(root: Path, seeds: int) -> dict[str, Any]:
    import orjson

    from forge_batch import build
    from forge_batch import config as cfgmod
    from forge_batch.collect import import_file
    from forge_batch.prepare import prepare

    toml = c.make_project(root, TOOLS, seeds=seeds, paraphrases_per_seed=3)
    config = cfgmod.load(toml)
    prepare(config)
    c.mark_collected(config)
    c.fabricate(c.iter_requests(c.shard_paths(config, "seed")), root / "seed_out.jsonl")
    import_file(config, root / "seed_out.jsonl")
    prepare(config)
    c.mark_collected(config)
    c.fabricate(c.iter_requests(c.shard_paths(config, "paraphrase")), root / "para_out.jsonl")
    import_file(config, root / "para_out.jsonl")
    result = build.build(config)
    per_stage: dict[str, dict[str, int]] = {}
    prev = prev_s = ""
    for path in c.shard_paths(config):
        stage = path.name.split("-", 1)[0]
        acc = per_stage.setdefault(
            stage,
            dict.fromkeys(
                ("requests", "chars", "shared", "eligible", "s_chars", "s_shared", "s_eligible"), 0
            ),
        )
        for _, body in c.iter_requests([path]):
            text = "".join(m.get("content") or "" for m in body["messages"])
            shared = common_prefix(prev, text)
            acc["requests"] += 1
            acc["chars"] += len(text)
            acc["shared"] += shared
            acc["eligible"] += eligible(shared)
            prev = text
            # OpenAI: "the structured output schema serves as a prefix to the system message"
            schema = orjson.dumps(body["response_format"]["json_schema"]).decode()
            s_text = schema + text
            s_shared = common_prefix(prev_s, s_text)
            acc["s_chars"] += len(s_text)
            acc["s_shared"] += s_shared
            acc["s_eligible"] += eligible(s_shared)
            prev_s = s_text
    return {
        "stages": per_stage,
        "kept": result.total,
        "kept_by": result.kept,
        "candidates": result.stats.stages["seed"].accepted
        + result.stats.stages["paraphrase"].samples,
    }


def main() -> None:
    args = c.parser(__doc__.splitlines()[0]).parse_args()
    started = time.perf_counter()
    report = c.Report("tokens", machine=c.machine())
    seeds = 200 if args.quick else 2_000
    tmp = c.tmpdir("tokens")
    try:
        r = job(tmp / "p", seeds)
        st = r["stages"]
        chars = sum(s["chars"] for s in st.values())
        shared = sum(s["shared"] for s in st.values())
        elig = sum(s["eligible"] for s in st.values())
        requests = sum(s["requests"] for s in st.values())
        parts = "; ".join(
            f"{k}: {v['requests']:,} requests, {v['chars'] / v['requests']:,.0f} chars each, "
            f"{100 * v['shared'] / v['chars']:.1f}% shared"
            for k, v in st.items()
        )
        report.add(
            f"prefix share of prompt characters ({requests:,} requests)",
            100 * shared / chars,
            "%",
            ">= 70%",
            note=parts,
            ok=shared / chars >= 0.70,
        )
        report.add(
            "cache-eligible share (OpenAI: >= 1,024 tokens, 128-token steps, ~4 chars/token)",
            100 * elig / chars,
            "%",
            "-",
            note="; ".join(f"{k}: {100 * v['eligible'] / v['chars']:.1f}%" for k, v in st.items()),
        )
        s_chars = sum(s["s_chars"] for s in st.values())
        report.add(
            "prefix share with the response schema first (OpenAI's order)",
            100 * sum(s["s_shared"] for s in st.values()) / s_chars,
            "%",
            "-",
            note="; ".join(
                f"{k}: {v['s_chars'] / v['requests']:,.0f} chars each, "
                f"{100 * v['s_shared'] / v['s_chars']:.1f}% shared, "
                f"{100 * v['s_eligible'] / v['s_chars']:.1f}% cache-eligible"
                for k, v in st.items()
            ),
        )
        report.add(
            "cache-eligible share, schema first",
            100 * sum(s["s_eligible"] for s in st.values()) / s_chars,
            "%",
            "-",
        )
        report.add(
            "prompt characters per accepted sample",
            chars / r["kept"],
            "chars",
            "-",
            note=f"{chars:,} prompt chars over {r['kept']:,} kept samples {r['kept_by']} "
            f"({chars / max(1, r['candidates']):,.0f} per sample before the synthetic cap, "
            f"{r['candidates']:,} candidates); FakeModel answers, none damaged",
        )
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    c.finish(report, args, started)


if __name__ == "__main__":
    main()
