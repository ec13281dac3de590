"""Reruns: how many requests prepare re-sends after an edit, next to the minimum.

A job of 10k seed requests (100 synthetic tools, paraphrases_per_seed = 1) is
collected once with the product's own path: prepare -> FakeModel answers every
request (~5% damaged) -> collect.import_file -> build; then prepare renders the
paraphrase requests of the accepted seeds -> answers -> import. The shards are
recorded as submitted and collected in the ledger. From a copy of that state:

  (a)  nothing changed                      -> prepare must write 0 requests
  (b1) 1% of tools: a sentence appended to the description
  (b2) 1% of tools: the first sentence of the description reworded (it is also
       what the tool catalog of no_tool/ambiguous requests shows)
  (c)  paraphrases_per_seed raised by one
  (d)  seeds raised by 10%

The minimum is computed from request keys, not from prepare: the keys the job
plans after the change (forge_batch.stages.seed_requests, and
judging.judge_until for the accepted seeds) minus every key already sent.
A "one fingerprint per run" tool would re-send 100% of the job in (b).
Targets: (a) 0; (b), (c), (d) exactly the minimum.

    .venv/bin/python bench/rerun.py [--quick]
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c

N_TOOLS = 100


def keys_of(toml: Path) -> tuple[set[str], set[str]]:
    """(seed keys, paraphrase keys) the project plans now, from the keys alone."""
    from forge_batch import config as cfgmod
    from forge_batch.cache import ResponseCache
    from forge_batch.index import RequestIndex
    from forge_batch.judging import judge_until
    from forge_batch.stages import PARAPHRASE, SEED
    from forge_batch.tools import project_tools

    config = cfgmod.load(toml)
    index = RequestIndex(config, project_tools(config))
    seeds = {key for key, _ in index.entries(SEED)}
    with ResponseCache(config.paths.cache) as cache:
        record = judge_until(PARAPHRASE, index, cache, {})
    paras = {index.key(PARAPHRASE, spec) for _, spec in record.planned[PARAPHRASE.name]}
    return seeds, paras


def collect_once(toml: Path) -> dict[str, Any]:
    """prepare -> answer -> import -> build, then the paraphrase round."""
    from forge_batch import build
    from forge_batch import config as cfgmod
    from forge_batch.collect import import_file
    from forge_batch.prepare import prepare

    config = cfgmod.load(toml)
    root = toml.parent
    first = prepare(config)
    c.mark_collected(config)
    c.fabricate(c.iter_requests(c.shard_paths(config, "seed")), root / "seed_out.jsonl",
                c.invalid_seed(0.05), seed=21)  # fmt: skip
    import_file(config, root / "seed_out.jsonl")
    built = build.build(config)
    second = prepare(config)
    c.mark_collected(config)
    c.fabricate(c.iter_requests(c.shard_paths(config, "paraphrase")), root / "para_out.jsonl",
                c.paraphrase_mix(0.05, 0.10), seed=22)  # fmt: skip
    import_file(config, root / "para_out.jsonl")
    return {
        "seed_written": first.written,
        "para_written": second.written,
        "accepted_seeds": built.kept.get("seed", 0),
    }


def edit_tools(toml: Path, how: str) -> list[str]:
    path = toml.parent / "tools.json"
    data = json.loads(path.read_text())
    tools = data["tools"]
    chosen = tools[:: max(1, len(tools) // max(1, len(tools) // 100))][: max(1, len(tools) // 100)]
    for tool in chosen:
        desc = tool["description"]
        if how == "append":
            tool["description"] = desc + " Requires the account's write scope."
        else:
            tool["description"] = "Quickly " + desc[0].lower() + desc[1:]
    path.write_text(json.dumps(data))
    return [t["name"] for t in chosen]


def one_tool_edit(root: Path, n_tools: int, seeds: int) -> dict[str, Any]:
    """Share of a seed job whose key changes when one tool's first sentence is reworded
    (it is what no_tool/ambiguous catalogues show), beside the requests that show it."""
    from forge_batch import config as cfgmod
    from forge_batch.stages import seed_requests
    from forge_batch.tools import project_tools

    toml = c.make_project(root, c.synth_tools(n_tools), seeds=seeds, paraphrases_per_seed=0)
    config = cfgmod.load(toml)
    before = {spec: r.key for spec, r in seed_requests(config, project_tools(config))}
    path = toml.parent / "tools.json"
    data = json.loads(path.read_text())
    tool = data["tools"][n_tools // 2]
    tool["description"] = "Quickly " + tool["description"][0].lower() + tool["description"][1:]
    path.write_text(json.dumps(data))
    config = cfgmod.load(toml)
    after = {spec: r.key for spec, r in seed_requests(config, project_tools(config))}
    name = tool["name"]
    changed = sum(after[s] != before.get(s) for s in after)
    shows = sum(name in s.targets or name in s.shown for s in after)
    catalogue = sum(bool(s.shown) for s in after)
    return {"job": len(after), "changed": changed, "shows": shows, "catalogue": catalogue}


def set_setting(toml: Path, key: str, value: int) -> None:
    lines = toml.read_text().splitlines()
    lines = [f"{key} = {value}" if ln.startswith(f"{key} =") else ln for ln in lines]
    toml.write_text("\n".join(lines) + "\n")


def run_case(
    base: Path, work: Path, name: str, change: Any, before: tuple[set[str], set[str]]
) -> dict[str, Any]:
    from forge_batch import config as cfgmod
    from forge_batch.prepare import prepare

    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(base, work)
    toml = work / "forge.toml"
    old_seed, old_para = before  # == every key the job sent (all collected)
    what = change(toml)
    new_seed, new_para = keys_of(toml)
    sent = old_seed | old_para
    t = c.Timer()
    result = prepare(cfgmod.load(toml))
    secs = t()
    floor = lookup_floor(toml, sorted(new_seed | new_para))
    return {
        "case": name,
        "what": what,
        "written": result.written,
        "written_by": {s: v.written for s, v in result.stages.items()},
        "min_seed": len(new_seed - sent),
        "min_para": len(new_para - sent),
        "job": len(old_seed) + len(old_para),
        "seconds": secs,
        "floor": floor,
    }


def lookup_floor(toml: Path, keys: list[str]) -> float:
    """Seconds to ask the cache about every planned key (best of 3): what any prepare
    must do to know that nothing is pending, with the keys already in hand."""
    from forge_batch import config as cfgmod
    from forge_batch.cache import ResponseCache

    config = cfgmod.load(toml)
    times = []
    with ResponseCache(config.paths.cache) as cache:
        for _ in range(3):
            t = c.Timer()
            found = cache.contains_many(keys)
            times.append(t())
    assert found <= set(keys)  # after an edit some planned keys are (rightly) not cached
    return min(times)


def main() -> None:
    args = c.parser(__doc__.splitlines()[0]).parse_args()
    started = time.perf_counter()
    report = c.Report("rerun", machine=c.machine())
    seeds = 300 if args.quick else 10_000
    tmp = c.tmpdir("rerun")
    try:
        base = tmp / "base"
        toml = c.make_project(base, c.synth_tools(N_TOOLS), seeds=seeds, paraphrases_per_seed=1)
        t = c.Timer()
        job = collect_once(toml)
        print(f"job collected in {t():.0f} s: {job}", flush=True)
        before = keys_of(toml)
        cases = [
            ("a", "nothing changed", lambda p: "-"),
            ("b1", "1% of tools: description sentence appended",
             lambda p: edit_tools(p, "append")),
            ("b2", "1% of tools: first sentence reworded (catalog too)",
             lambda p: edit_tools(p, "reword")),
            ("c", "paraphrases_per_seed 1 -> 2",
             lambda p: set_setting(p, "paraphrases_per_seed", 2)),
            ("d", "seeds +10%", lambda p: set_setting(p, "seeds", seeds + seeds // 10)),
        ]  # fmt: skip
        for tag, label, change in cases:
            r = run_case(base, tmp / f"case-{tag}", label, change, before)
            if tag == "a":
                print(
                    f"(a) no-op prepare: {r['seconds']:.2f} s for {r['job']:,} requests; "
                    f"floor (cache lookup of every key) {r['floor']:.2f} s",
                    flush=True,
                )
                report.add(
                    f"(a) no-op prepare, {r['job']:,} requests",
                    r["seconds"],
                    "s",
                    "< 1 s",
                    r["floor"],
                    "cache lookup of every planned key (contains_many)",
                    r["seconds"] / r["floor"] if r["floor"] else None,
                    r["seconds"] < 1.0,
                    note="keys from the stored request index, paraphrases from the accepted "
                    "record: nothing rendered, nothing judged",
                )
            minimum = r["min_seed"] + r["min_para"]
            share = r["written"] / r["job"]
            print(
                f"({tag}) {label}: written {r['written']:,} {r['written_by']} of a "
                f"{r['job']:,}-request job; minimum {minimum:,} "
                f"(seed {r['min_seed']:,}, paraphrase {r['min_para']:,}); "
                f"prepare {r['seconds']:.2f} s",
                flush=True,
            )
            shutil.rmtree(tmp / f"case-{tag}", ignore_errors=True)
            report.add(
                f"({tag}) {label}: re-sent share of the job",
                100 * share,
                "%",
                "0" if tag == "a" else "= minimum",
                100 * minimum / r["job"],
                "minimum share (changed keys)",
                (r["written"] / minimum)
                if minimum
                else (1.0 if r["written"] == 0 else float("inf")),
                r["written"] == minimum,
                note=f"written {r['written']:,} ({r['written_by']}) vs minimum {minimum:,} "
                f"(seed {r['min_seed']:,} + paraphrase {r['min_para']:,}) of {r['job']:,}; "
                f"a one-fingerprint-per-run tool: {r['job']:,} (100%)"
                + (f"; edited {r['what']}" if isinstance(r["what"], list) else ""),
            )
        for n_tools in (100, 1000):
            e = one_tool_edit(tmp / f"edit-{n_tools}", n_tools, 10 * n_tools)
            print(f"one-tool edit at {n_tools} tools: {e}", flush=True)
            report.add(
                f"one tool's first sentence reworded, {n_tools} tools, {e['job']:,} seeds: "
                "re-sent share",
                100 * e["changed"] / e["job"],
                "%",
                "= requests showing the tool",
                100 * e["shows"] / e["job"],
                "requests that list or call the tool",
                e["changed"] / e["shows"] if e["shows"] else float("inf"),
                e["changed"] == e["shows"],
                note=f"{e['changed']:,} keys changed, {e['shows']:,} requests show the tool; "
                f"with every tool in every catalogue it was >= {e['catalogue']:,} "
                "(every no_tool/ambiguous request); from request keys, seed stage",
            )
        report.notes.append(
            "(c) and (d) re-send only what their change creates: a paraphrase request's key "
            "includes the count it asks for, so raising it renews every paraphrase request; "
            "seeds keep their keys."
        )
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    c.finish(report, args, started)


if __name__ == "__main__":
    main()
