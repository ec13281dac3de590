"""collect + build: samples/s per stage and peak RSS for 10k / 100k responses.

Setup (untimed): a project with 100 synthetic tools, seeds = N/2,
paraphrases_per_seed = 1, the judge on. prepare writes the seed shards; every
request is answered by FakeModel (tests/doubles.py, deterministic) and ~5% of the
answers are damaged (not JSON, a wrong tool name, a schema violation, cut off with
finish_reason length); the lines are shuffled into an OpenAI Batch output file.
That file is imported; prepare renders the paraphrase and judge requests of the
seeds that passed the rules (FakeModel grades them), the paraphrases answered the
same way, ~10% of them near-copies of their seed's user text and ~5% invalid, then
the judge requests of the paraphrases that passed. The shards are
recorded as submitted and collected in the ledger.

Measured, in a fresh process (peak RSS: its VmHWM), on an empty cache:
collect.import_file() of both output files (the cache write), then build.build(),
split into its stages by wrapping forge_batch.progress.track (build iterates each
pass through it) and build.write_report:

* cache write        import_file of the seed, judge and paraphrase output files
* seeds pass         parse + checks + dedup of every seed response
* paraphrase pass    parse + checks + dedup of every paraphrase response
* judge pass         cache lookup + verdict of every judged sample
* merge + write      the synthetic-cap selection and out/dataset.jsonl, rejects
* report             report.md and the chart

Cost per sample, per stage: the tokens of its requests (FakeModel's usage:
characters / 4) per request and per kept sample, in USD at gpt-4o-mini batch prices.

Floors, same run: orjson.loads of the same output lines; datasketch MinHash.bulk
(128 permutations) over the same user texts (word-bigram shingles made untimed).

Targets: >= 5,000 samples/s end to end at 100k responses (responses in / seconds
of import + build); peak RSS <= 200 MB + 1 KB per kept sample.

    .venv/bin/python bench/collect.py [--quick]
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c

SCRIPT = Path(__file__).resolve()
N_TOOLS = 100


def child_measure(p: dict[str, Any]) -> dict[str, Any]:
    from forge_batch import build, progress
    from forge_batch import config as cfgmod
    from forge_batch.collect import import_file

    config = cfgmod.load(p["toml"])
    root = Path(p["toml"]).parent
    marks: dict[str, float] = {}
    real_track = progress.track

    def track(items, label, length=None):  # type: ignore[no-untyped-def]
        marks[f"{label}:start"] = time.perf_counter()
        yield from real_track(items, label, length)
        marks[f"{label}:end"] = time.perf_counter()

    real_report = build.write_report

    def write_report(*a: Any, **k: Any) -> Any:
        marks["report:start"] = time.perf_counter()
        out = real_report(*a, **k)
        marks["report:end"] = time.perf_counter()
        return out

    progress.track = track  # build calls progress.track(...) through the module
    build.write_report = write_report
    peaks = {"start": c.hwm_reset()}
    build_only = p.get("mode") == "build"  # the cache is already filled
    t0 = time.perf_counter()
    if not build_only:
        seeds_in = import_file(config, root / "seed_out.jsonl")
        judge_in = import_file(config, root / "judge_seed_out.jsonl")
    t1 = time.perf_counter()
    if not build_only:
        peaks["import seeds"] = c.hwm_reset()
        para_in = import_file(config, root / "para_out.jsonl")
        judge_in_p = import_file(config, root / "judge_para_out.jsonl")
    t2 = time.perf_counter()
    if not build_only:
        peaks["import paraphrases"] = c.hwm_reset()
    result = build.build(config)
    t3 = time.perf_counter()
    peaks["build"] = c.hwm_reset()
    st = result.stats
    return {
        "import_seed_s": t1 - t0,
        "import_para_s": t2 - t1,
        "build_s": t3 - t2,
        "build_setup_s": marks["checking seeds:start"] - t2,
        "seeds_s": marks["checking seeds:end"] - marks["checking seeds:start"],
        "para_s": marks["checking paraphrases:end"] - marks["checking paraphrases:start"],
        "judge_s": marks["checking judges:end"] - marks["checking judges:start"],
        "merge_write_s": marks["report:start"] - marks["checking judges:end"],
        "report_s": marks["report:end"] - marks["report:start"],
        "cached": 0
        if build_only
        else seeds_in.cached + para_in.cached + judge_in.cached + judge_in_p.cached,
        "judge_planned": st.stages["judge"].planned,
        "seed_planned": st.stages["seed"].planned,
        "para_planned": st.stages["paraphrase"].planned,
        "para_samples": st.stages["paraphrase"].samples,
        "kept": result.total,
        "kept_by": result.kept,
        "rejects": st.rejects,
        "peaks": peaks,
    }


CHILDREN = {"measure": child_measure}


def setup(root: Path, n: int) -> dict[str, Any]:
    """The project and both output files (see the module docstring)."""
    from forge_batch import config as cfgmod
    from forge_batch.collect import import_file
    from forge_batch.prepare import prepare

    toml = c.make_project(
        root, c.synth_tools(N_TOOLS), seeds=n // 2, paraphrases_per_seed=1, judge={"enabled": True}
    )
    config = cfgmod.load(toml)

    def round_trip(*jobs: tuple[str, str, Any, int]) -> list[dict[str, int]]:
        """prepare -> FakeModel answers each (stage, file, damage, seed) job's new shards
        of this round -> import."""
        stages = {stage for stage, *_ in jobs}
        before = {stage: set(c.shard_paths(config, stage)) for stage in stages}
        prepare(config)
        c.mark_collected(config)
        kinds = []
        for stage, out, mutate, seed in jobs:
            new = [p for p in c.shard_paths(config, stage) if p not in before[stage]]
            kinds.append(c.fabricate(c.iter_requests(new), root / out, mutate, seed=seed))
            import_file(config, root / out)
        return kinds

    (seed_kinds,) = round_trip(("seed", "seed_out.jsonl", c.invalid_seed(0.05), 11))
    para_kinds, _ = round_trip(  # the paraphrases and verdicts of the accepted seeds
        ("paraphrase", "para_out.jsonl", c.paraphrase_mix(0.05, 0.10), 12),
        ("judge", "judge_seed_out.jsonl", None, 13),
    )
    round_trip(("judge", "judge_para_out.jsonl", None, 14))  # the paraphrases' verdicts
    costs = {
        stage: usage(root, files)
        for stage, files in (
            ("seed", ["seed_out.jsonl"]),
            ("paraphrase", ["para_out.jsonl"]),
            ("judge", ["judge_seed_out.jsonl", "judge_para_out.jsonl"]),
        )
    }
    return {
        "toml": str(toml),
        "seed_kinds": seed_kinds,
        "para_kinds": para_kinds,
        "costs": costs,
    }


def usage(root: Path, files: list[str]) -> dict[str, int]:
    """Requests and tokens (prompt, completion) answered in the given output files."""
    import orjson

    out = {"requests": 0, "prompt": 0, "completion": 0}
    for name in files:
        with open(root / name, "rb") as fh:
            for line in fh:
                body = orjson.loads(line)["response"]["body"]
                out["requests"] += 1
                out["prompt"] += body["usage"]["prompt_tokens"]
                out["completion"] += body["usage"]["completion_tokens"]
    return out


def damaged(kinds: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in kinds.items() if k not in ("clean", "lines")}


def reset(root: Path) -> None:
    """Empty cache and out/: the measured run starts from the downloaded files."""
    shutil.rmtree(root / "cache", ignore_errors=True)
    shutil.rmtree(root / "out", ignore_errors=True)


def floors(root: Path, limit_texts: int) -> dict[str, float]:
    """orjson.loads over the output lines; MinHash.bulk over the user texts."""
    import json

    import orjson
    from datasketch import MinHash

    from forge_batch.dedup import shingle

    lines: list[bytes] = []
    for name in (
        "seed_out.jsonl",
        "judge_seed_out.jsonl",
        "para_out.jsonl",
        "judge_para_out.jsonl",
    ):
        with open(root / name, "rb") as fh:
            lines.extend(fh)
    rates = []
    for _ in range(3):
        t = c.Timer()
        for line in lines:
            orjson.loads(line)
        rates.append(len(lines) / t())
    texts: list[str] = []
    for line in lines:
        rec = orjson.loads(line)
        try:
            data = json.loads(rec["response"]["body"]["choices"][0]["message"]["content"])
        except ValueError:
            continue
        if not isinstance(data, dict) or "call_decision_ok" in data:
            continue  # a verdict: no user text
        if "paraphrases" in data:
            texts.extend(x for x in data["paraphrases"] if isinstance(x, str))
        else:
            texts.append("\n".join(str(data[k]) for k in ("user", "user_1", "user_2") if k in data))
        if len(texts) >= limit_texts:
            break
    sets = [shingle(t, "word2") for t in texts[:limit_texts]]
    mh = []
    for _ in range(3):
        t = c.Timer()
        MinHash.bulk(sets, num_perm=128)
        mh.append(len(sets) / t())
    return {"loads": max(rates), "minhash": max(mh), "lines": len(lines), "texts": len(sets)}


def main() -> None:
    args = c.parser(__doc__.splitlines()[0]).parse_args()
    started = time.perf_counter()
    report = c.Report("collect+build", machine=c.machine())
    sizes = [1_000] if args.quick else [10_000, 100_000]
    target_n = sizes[-1]
    tmp = c.tmpdir("collect")
    base_rss = c.baseline_rss(
        SCRIPT, ("forge_batch.config", "forge_batch.build", "forge_batch.collect")
    )
    try:
        for n in sizes:
            root = tmp / f"p{n}"
            t = c.Timer()
            info = setup(root, n)
            setup_s = t()
            reset(root)
            res, rss = c.run_child(SCRIPT, "measure", {"toml": info["toml"]})
            fl = floors(root, 20_000)
            # The build again in a fresh process on the filled cache: its own peak, and a
            # second timing (the better one is used).
            if args.quick:
                again, build_rss = res, rss
            else:
                again, build_rss = c.run_child(
                    SCRIPT, "measure", {"toml": info["toml"], "mode": "build"}
                )
            builds = [res["build_s"], again["build_s"]]
            if again["build_s"] < res["build_s"]:
                for k in ("build_s", "build_setup_s", "seeds_s", "para_s", "merge_write_s",
                          "report_s", "judge_s"):  # fmt: skip
                    res[k] = again[k]
            responses = res["cached"]
            import_s = res["import_seed_s"] + res["import_para_s"]
            total_s = import_s + res["build_s"]
            overall = responses / total_s
            kept = res["kept"]
            label = f"{responses:,} responses"
            print(
                f"{label}: setup {setup_s:.0f} s; import {import_s:.2f} s, "
                f"build {res['build_s']:.2f} s "
                f"(setup {res['build_setup_s']:.2f}, seeds {res['seeds_s']:.2f}, "
                f"paraphrases {res['para_s']:.2f}, merge+write {res['merge_write_s']:.2f}, "
                f"report {res['report_s']:.2f}); kept {kept:,} {res['kept_by']}; rss {rss:.0f} MB",
                flush=True,
            )
            is_target = n == target_n
            report.add(
                f"end to end, {label}",
                overall,
                "responses/s",
                ">= 5,000/s" if is_target else "-",
                fl["loads"],
                "orjson.loads of the same output lines",
                overall / fl["loads"],
                (overall >= 5000) if is_target else None,
                note=f"import {import_s:.2f} s + build {res['build_s']:.2f} s (best of "
                f"{', '.join(f'{b:.1f}' for b in builds)} s); kept {kept:,} "
                f"({res['kept_by']}); rejects {res['rejects']}; damaged in: seeds "
                f"{damaged(info['seed_kinds'])}, paraphrases {damaged(info['para_kinds'])}",
            )
            report.add(
                f"  cache write (import_file), {label}",
                responses / import_s,
                "responses/s",
                "-",
                fl["loads"],
                "orjson.loads of the same lines",
                responses / import_s / fl["loads"],
            )
            report.add(
                f"  seeds pass (parse+checks+dedup), {label}",
                res["seed_planned"] / res["seeds_s"],
                "seed responses/s",
                "-",
                fl["minhash"],
                "MinHash.bulk(128) over the same user texts",
                res["seed_planned"] / res["seeds_s"] / fl["minhash"],
            )
            report.add(
                f"  paraphrase pass, {label}",
                res["para_planned"] / res["para_s"],
                "paraphrase responses/s",
                "-",
                fl["minhash"],
                "MinHash.bulk(128) over the same user texts",
                res["para_planned"] / res["para_s"] / fl["minhash"],
            )
            judged, judge_s = res["judge_planned"], res["judge_s"]
            report.add(
                f"  judge pass (lookup + verdict), {label}",
                judged / max(judge_s, 1e-9),
                "judged samples/s",
                "-",
                fl["loads"],
                "orjson.loads of the output lines",
                judged / max(judge_s, 1e-9) / fl["loads"],
                note=f"{judge_s:.2f} s for {judged:,} judged samples "
                f"({1e6 * judge_s / max(judged, 1):.0f} us each)",
            )
            report.add(
                f"  merge + write, {label}",
                kept / max(res["merge_write_s"], 1e-9),
                "kept samples/s",
                "-",
                note=f"{res['merge_write_s']:.2f} s; report {res['report_s']:.2f} s; "
                f"build setup (state, tools, cache open) {res['build_setup_s']:.2f} s",
            )
            price = c.batch_price("gpt-4o-mini")
            for stage, cost in info["costs"].items():
                reqs = max(cost["requests"], 1)
                dollars = (cost["prompt"] * price[0] + cost["completion"] * price[1]) / 1e6
                report.add(
                    f"  cost per sample, {stage} stage, {label}",
                    (cost["prompt"] + cost["completion"]) / reqs,
                    "tokens/request",
                    "-",
                    note=f"{cost['requests']:,} requests: prompt {cost['prompt'] / reqs:.0f} + "
                    f"completion {cost['completion'] / reqs:.0f} tokens each (FakeModel: chars/4); "
                    f"${1000 * dollars / reqs:.4f} per 1,000 requests, "
                    f"${1000 * dollars / max(kept, 1):.4f} per 1,000 kept samples "
                    "(gpt-4o-mini batch prices)",
                )
            limit = 200 + kept / 1024
            report.add(
                f"peak RSS, {label}",
                rss,
                "MB",
                f"<= 200 MB + 1 KB x {kept:,} kept = {limit:.0f} MB",
                base_rss,
                "python + the same imports",
                rss / base_rss,
                rss <= limit,
                note="collect --import as one process (import both files, then build); peak by "
                "stage (VmHWM, reset between stages): "
                + ", ".join(f"{k} {v:.0f} MB" for k, v in res["peaks"].items())
                + f"; build alone in a fresh process: {build_rss:.0f} MB",
            )
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    c.finish(report, args, started)


if __name__ == "__main__":
    if not c.child_main(CHILDREN):
        main()
