"""Accounting from the files alone: nothing lost, nothing paid twice.

``account(cfg)`` reads what forge-batch wrote (batches/manifest.json,
batches/ledger.json, the shard files, batches/failures/*.jsonl, the cache,
out/dataset.jsonl, out/rejects.jsonl), optionally the local server's data
folder (what was really run, i.e. paid for) and ``forge-batch status --json``,
and checks the rules of docs/reliability.md. Every violation is collected and
reported together (``AccountingError``), so one failing test names them all.

Planned requests (the definition used here, and by status):

* seed: every request of ``forge_batch.stages.seed_requests(config, tools)``;
* paraphrase: one request per *accepted* seed, i.e. per ``source == "seed"``
  record of out/dataset.jsonl, rendered with ``stages.paraphrase_request``
  from that record (first user text + the argument values it states). A seed
  that is pending or rejected has no paraphrase request yet.

Each planned key is in exactly one place:

* answered: its response is cached and every sample it yielded is in exactly
  one of out/dataset.jsonl (``meta.request_key``) and out/rejects.jsonl
  (``request_key`` + ``check``); a response that yields no sample is one
  reject (check ``parse`` / ``truncated`` / ``refusal`` / ...);
* given up: exactly one reject with check ``request_failed``, nothing cached;
* pending: nowhere in out/, not cached, counted by status as pending.

Paid at most once (ledger + shards + failures): a key may be in several
submitted shards only if every earlier batch is collected and recorded it as
failed (failures/<batch id>.jsonl), i.e. no earlier batch answered it with a
200 (or a file ``collect --import`` took, failures/import-<digest>.jsonl for its
failed lines); and with the server's data folder: no custom_id has a 200 line in the
output of two batches, every 200 the server produced is in the cache, and
every batch the server created is in the ledger (as a shard's batch, or in its
``refused`` list: failed token_limit_exceeded, nothing run).
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from forge_batch import checks, parse
from forge_batch import config as config_mod
from forge_batch.cache import ResponseCache
from forge_batch.real import real_records
from forge_batch.records import Sample
from forge_batch.shards import read_keys, shard_number
from forge_batch.stages import JUDGE, paraphrase_request, seed_requests
from forge_batch.stages import judge as judge_stage
from forge_batch.tools import load_tools

TEMP_MARKS = (".tmp-", ".spool-", ".download-")
# collect --import: answers cached with batch id "import:<file name>", failures recorded
# as the attempt "import-<digest>" (an attempt with no batch in the ledger)
IMPORTED_ANSWERS, IMPORTED_FAILURES = "import:", "import-"


class AccountingError(AssertionError):
    pass


@dataclass
class Submission:
    file: str
    number: int
    batch_id: str | None
    state: str
    failed: dict[str, str] = field(default_factory=dict)  # key -> reason (from failures/)

    def answered(self, key: str) -> bool:
        return self.state == "collected" and key not in self.failed


@dataclass
class Books:
    """What the accounting found (for tests to assert more on)."""

    planned: dict[str, list[str]]  # stage -> keys, plan order
    answered: dict[str, set[str]]
    given_up: dict[str, set[str]]
    pending: dict[str, set[str]]
    dataset: list[dict[str, Any]]
    rejects: list[dict[str, Any]]
    submissions: dict[str, list[Submission]]  # key -> submissions holding it, in order
    failures: dict[str, list[dict[str, Any]]]  # key -> failure records, in batch order
    server_ok: dict[str, list[str]] = field(default_factory=dict)  # key -> batches with a 200
    unplanned: set[str] = field(default_factory=set)  # submitted, not planned (any more)
    reject_check: dict[str, str] = field(default_factory=dict)  # key -> check of its reject

    def sent(self, key: str) -> int:
        """How many submitted batches held this key."""
        return sum(1 for s in self.submissions.get(key, []) if s.batch_id)

    def all(self, what: str) -> set[str]:
        return set().union(*getattr(self, what).values())


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def without_batch_ids(path: Path) -> bytes:
    """The dataset with meta.batch_id removed (the only field a resend may change)."""
    out = []
    for line in path.read_bytes().splitlines():
        record = orjson.loads(line)
        record["meta"].pop("batch_id", None)
        out.append(orjson.dumps(record))
    return b"\n".join(out) + b"\n"


def account(
    cfg_path: Path,
    *,
    status: dict[str, Any] | None = None,
    server_data: Path | None = None,
    repaid: set[str] = frozenset(),  # type: ignore[assignment]
    allow_temps: bool = False,
) -> Books:
    """Check every rule; raise AccountingError listing all violations."""
    problems: list[str] = []
    cfg = config_mod.load(cfg_path)
    toolset = load_tools(cfg.paths.tools)
    dataset = read_jsonl(cfg.paths.out / "dataset.jsonl")
    rejects = read_jsonl(cfg.paths.out / "rejects.jsonl")

    # -- sample ids: each sample in exactly one place ------------------------------
    ids = Counter([r["id"] for r in dataset] + [r["id"] for r in rejects])
    problems += [
        f"sample id {i} appears {n} times in dataset+rejects" for i, n in ids.items() if n > 1
    ]

    # -- planned keys ----------------------------------------------------------------
    with ResponseCache(cfg.paths.cache) as cache:
        plan = _plan(cfg, toolset, dataset, rejects, cache, problems)
    planned, awaiting = plan.planned, plan.awaiting
    for stage, keys in planned.items():
        if len(set(keys)) != len(keys):
            problems.append(f"{stage}: planned keys are not unique")
    stage_of = {k: s for s, keys in planned.items() for k in keys}

    # -- where each key is -----------------------------------------------------------
    in_dataset: dict[str, list[str]] = defaultdict(list)
    in_rejects: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in dataset:
        if r["source"] == "real":
            continue
        key = r["meta"].get("request_key")
        in_dataset[key].append(r["id"])
        if stage_of.get(key) != r["source"]:
            problems.append(
                f"dataset sample {r['id']}: request_key {key} "
                f"is not a planned {r['source']} request"
            )
    for r in rejects:
        if r["source"] == "real":
            continue
        key = r.get("request_key")
        in_rejects[key].append(r)
        if stage_of.get(key) != r["source"]:
            problems.append(
                f"reject {r['id']} ({r['check']}): request_key {key} "
                f"is not a planned {r['source']} request"
            )

    with ResponseCache(cfg.paths.cache) as cache:
        cached = cache.contains_many([k for keys in planned.values() for k in keys])

    answered: dict[str, set[str]] = {s: set() for s in planned}
    given_up: dict[str, set[str]] = {s: set() for s in planned}
    pending: dict[str, set[str]] = {s: set() for s in planned}
    reject_check: dict[str, str] = {}
    for stage in ("seed", "paraphrase"):
        for key in planned[stage]:
            samples, rejs = in_dataset.get(key, []), in_rejects.get(key, [])
            failed = [r for r in rejs if r["check"] == "request_failed"]
            if rejs:
                reject_check[key] = rejs[0]["check"]
            if failed:
                given_up[stage].add(key)
                if len(failed) != 1 or samples or len(rejs) != 1:
                    problems.append(
                        f"{stage} {key}: given up but also elsewhere "
                        f"({len(samples)} samples, {len(rejs)} rejects)"
                    )
                if key in cached:
                    problems.append(f"{stage} {key}: given up yet cached")
            elif samples or rejs or key in awaiting:
                answered[stage].add(key)
                waits = awaiting.get(key, 0)
                if stage == "seed" and len(samples) + len(rejs) + waits != 1:
                    problems.append(
                        f"seed {key}: {len(samples)} samples + {len(rejs)} rejects "
                        f"+ {waits} awaiting the judge (expected one)"
                    )
                if key not in cached:
                    problems.append(f"{stage} {key}: has samples but no cached response")
            else:
                pending[stage].add(key)
                if key in cached:
                    problems.append(f"{stage} {key}: cached but in neither dataset nor rejects")
    # the judge: a verdict is cached (the sample kept, or rejected as judge/judge_failed,
    # or kept and then over the cap), given up (judge_failed, nothing cached) or pending
    # (the sample is nowhere yet)
    for key in planned["judge"]:
        sid = plan.judged[key]
        kept = plan.records.get(sid)
        rej = plan.rejects.get(sid)
        if rej is not None:
            reject_check[key] = rej["check"]
        decided = (
            kept is not None and (kept["meta"].get("judge") or {}).get("request_key") == key
        ) or (
            rej is not None
            and (
                rej["check"] in ("judge", "judge_failed")
                or (rej["check"] == "synthetic_cap" and (rej["sample"]["meta"].get("judge") or {}))
            )
        )
        if key in cached:
            answered["judge"].add(key)
            if not decided:
                problems.append(f"judge {key} of {sid}: verdict cached, sample undecided")
        elif rej is not None and rej["check"] == "judge_failed":
            given_up["judge"].add(key)
        elif kept is None and rej is None:
            pending["judge"].add(key)
        else:
            problems.append(f"judge {key} of {sid}: no verdict, yet the sample is decided")

    # -- failures and submissions ------------------------------------------------------
    folder = cfg.paths.batches
    failures: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_batch: dict[str, dict[str, str]] = defaultdict(dict)
    for path in (
        sorted((folder / "failures").glob("*.jsonl")) if (folder / "failures").is_dir() else []
    ):
        for f in read_jsonl(path):
            failures[f["key"]].append(f)
            by_batch[f["batch_id"]][f["key"]] = f["reason"]
            if f["batch_id"] != path.stem:
                problems.append(f"{path.name}: failure of batch {f['batch_id']}")
    manifest = (
        json.loads((folder / "manifest.json").read_text())
        if (folder / "manifest.json").exists()
        else {"shards": []}
    )
    ledger = (
        json.loads((folder / "ledger.json").read_text())
        if (folder / "ledger.json").exists()
        else {"shards": {}}
    )
    records = list(ledger["shards"].values())
    batch_ids = [r["batch_id"] for r in records if r.get("batch_id")]
    problems += [
        f"batch {b} is in the ledger {n} times" for b, n in Counter(batch_ids).items() if n > 1
    ]
    files = Counter(r["file"] for r in records)
    problems += [f"shard {f} is in the ledger {n} times" for f, n in files.items() if n > 1]
    listed = {(s["file"], s["sha256"]) for s in manifest["shards"]}
    submissions: dict[str, list[Submission]] = defaultdict(list)
    for rec in sorted(records, key=lambda r: (r["stage"], shard_number(r["file"])[1])):
        if (rec["file"], rec["sha256"]) not in listed:
            problems.append(f"ledger shard {rec['file']} is not in the manifest")
        path = folder / rec["file"]
        if not path.exists():
            problems.append(f"ledger shard {rec['file']} is missing")
            continue
        sub = Submission(
            rec["file"],
            shard_number(rec["file"])[1],
            rec.get("batch_id"),
            rec["state"],
            by_batch.get(rec.get("batch_id") or "", {}),
        )
        if rec["state"] == "collected" and rec.get("collected"):
            c = rec["collected"]
            if c["cached"] + c["failed"] != rec["lines"]:
                problems.append(
                    f"{rec['file']}: collected {c} does not add up to {rec['lines']} lines"
                )
        for key in read_keys(path):
            submissions[key].append(sub)
    order = {s.batch_id: s.number for subs in submissions.values() for s in subs}
    for fs in failures.values():  # in the order the batches were sent
        fs.sort(key=lambda f: order.get(f["batch_id"], 0))
    max_attempts = cfg.engine.max_attempts
    unplanned: set[str] = set()
    for key, subs in submissions.items():
        sent = [s for s in subs if s.batch_id]
        if key not in stage_of:  # e.g. the paraphrase of a seed whose entry was dropped
            unplanned.add(key)
        if sum(s.answered(key) for s in sent) > 1 and key not in repaid:
            problems.append(
                f"{key}: answered by {[s.batch_id for s in sent if s.answered(key)]} (paid twice)"
            )
        for earlier in sent[:-1] if key not in repaid else ():
            if earlier.state != "collected" or key not in earlier.failed:
                problems.append(
                    f"{key}: resent in a later shard although {earlier.file} "
                    f"({earlier.batch_id}, {earlier.state}) did not fail it"
                )
        if len(sent) > max_attempts:
            problems.append(f"{key}: sent {len(sent)} times, over max_attempts {max_attempts}")
    # failure rule: given up == failed max_attempts times, or once for good
    expect_given_up = set()
    for key, fs in failures.items():
        if len(fs) >= max_attempts or any(not f["retryable"] for f in fs):
            expect_given_up.add(key)
        imported = sum(1 for f in fs if f["batch_id"].startswith(IMPORTED_FAILURES))
        if len(fs) > imported + len([s for s in submissions.get(key, []) if s.batch_id]):
            problems.append(f"{key}: {len(fs)} failures but fewer submissions")
    expect_given_up &= set(stage_of)
    got = set().union(*given_up.values())
    if got != expect_given_up:
        problems.append(f"given up {sorted(got)} != failures say {sorted(expect_given_up)}")
    unsent = [
        key
        for key in sorted(set().union(*answered.values()))
        if not any(s.answered(key) for s in submissions.get(key, []) if s.batch_id)
    ]
    with ResponseCache(cfg.paths.cache) as cache:
        for key in unsent:
            entry = cache.get(key)
            if entry is None or not (entry.batch_id or "").startswith(IMPORTED_ANSWERS):
                problems.append(f"{key}: answered, but no collected batch answered it")

    # -- the server: what was really run (paid) ------------------------------------------
    server_ok: dict[str, list[str]] = defaultdict(list)
    if server_data is not None:
        server_batches = {}
        for path in sorted((server_data / "batches").glob("*.json")):
            batch = json.loads(path.read_text())["batch"]
            server_batches[batch["id"]] = batch
            fid = batch.get("output_file_id")
            if fid:
                seen = set()
                for line in read_jsonl(server_data / "files" / f"{fid}.data"):
                    resp = line.get("response") or {}
                    if resp.get("status_code") == 200 and line["custom_id"] not in seen:
                        seen.add(line["custom_id"])
                        server_ok[line["custom_id"]].append(batch["id"])
        # refused for the enqueued-token cap: failed validation, ran nothing, cost nothing
        refused = {b for r in records for b in r.get("refused", [])}
        for b in sorted(refused):
            batch = server_batches.get(b) or {}
            codes = [e.get("code") for e in ((batch.get("errors") or {}).get("data") or [])]
            done = (batch.get("request_counts") or {}).get("completed", 0)
            if batch.get("status") != "failed" or "token_limit_exceeded" not in codes or done:
                problems.append(f"refused batch {b} is not a token_limit_exceeded failure")
        unknown = set(server_batches) - set(batch_ids) - refused
        problems += [
            f"server batch {b} is not in the ledger (an orphan someone pays for)"
            for b in sorted(unknown)
        ]
        per_input = Counter(
            b["input_file_id"] for b in server_batches.values() if b["id"] not in refused
        )
        problems += [f"input file {f} has {n} batches" for f, n in per_input.items() if n > 1]
        with ResponseCache(cfg.paths.cache) as cache:
            have = cache.contains_many(list(server_ok))
        for key, batches in server_ok.items():
            if len(batches) > 1 and key not in repaid:
                problems.append(
                    f"{key}: the server answered it with a 200 in {batches} (paid twice)"
                )
            if key not in have and key not in repaid:
                problems.append(f"{key}: paid for (200 in {batches}) but not in the cache (lost)")

    # -- status --json agrees -------------------------------------------------------------
    if status is not None:
        for stage in planned:
            st = status["stages"][stage]
            want = {
                "planned": len(planned[stage]),
                "cached": len(answered[stage]),
                "pending": len(pending[stage]),
                "failed": len(given_up[stage]),
                "accepted": sum(1 for r in dataset if r["source"] == stage),
                "rejected": sum(1 for r in rejects if r["source"] == stage),
            }
            if stage == "judge":  # samples the judge kept (the cap may drop some after)
                want["accepted"] = sum(1 for r in dataset if r["meta"].get("judge")) + sum(
                    1
                    for r in rejects
                    if r["check"] == "synthetic_cap" and r["sample"]["meta"].get("judge")
                )
                want["rejected"] = sum(1 for r in rejects if r["check"] in JUDGE_CHECKS)
            for name, value in want.items():
                if st[name] != value:
                    problems.append(f"status {stage}.{name} = {st[name]}, files say {value}")
        if status["dataset"]["samples"] != len(dataset):
            problems.append(
                f"status dataset.samples {status['dataset']['samples']} != {len(dataset)}"
            )
        by_check = dict(Counter(r["check"] for r in rejects))
        if status["dataset"]["rejects_by_check"] != by_check:
            problems.append(
                f"status rejects_by_check {status['dataset']['rejects_by_check']} != {by_check}"
            )
        acc = status["accounting"]
        if not acc["balanced"] or acc["planned"] != sum(len(k) for k in planned.values()):
            problems.append(f"status accounting {acc}")

    # -- nothing half-written left behind -------------------------------------------------
    if not allow_temps:
        root = cfg_path.parent
        for path in root.rglob("*"):
            if path.is_file() and any(m in path.name for m in TEMP_MARKS):
                problems.append(f"temporary file left behind: {path.relative_to(root)}")

    if problems:
        raise AccountingError("accounting failed:\n  " + "\n  ".join(problems))
    return Books(
        planned,
        answered,
        given_up,
        pending,
        dataset,
        rejects,
        dict(submissions),
        dict(failures),
        server_ok=dict(server_ok),
        reject_check=reject_check,
        unplanned=unplanned,
    )


JUDGE_CHECKS = ("judge", "judge_failed")


@dataclass
class Plan:
    """The requests the job plans now, derived from the files (and the cache)."""

    planned: dict[str, list[str]]
    awaiting: dict[str, int]  # seed/paraphrase key -> its samples awaiting their verdict
    judged: dict[str, str]  # judge key -> id of the sample it grades
    records: dict[str, dict[str, Any]]  # dataset records by id
    rejects: dict[str, dict[str, Any]]  # rejects (with a sample) by sample id


def judge_key(
    cfg: config_mod.Config,
    toolset: Any,
    sample: dict[str, Any],
    seed: dict[str, Any] | None,
    labelled: bool = True,
) -> str | None:
    """The judge request the build plans for ``sample`` (``seed``: a paraphrase's seed),
    or None when none is (scope "doubtful" and the rules doubt nothing)."""
    bare = Sample.from_json(
        {**sample, "meta": {k: v for k, v in sample["meta"].items() if k != "judge"}}
    )
    ctx = checks.CheckContext.build(
        grounding=cfg.checks.grounding, min_text_chars=cfg.checks.min_text_chars, judge=True
    )
    doubts = checks.assess(bare, ctx).doubts
    if not judge_stage.wanted(cfg, doubts):
        return None
    seed_sample = Sample.from_json(seed) if seed else None
    spec = judge_stage.spec_of(bare, doubts, seed_sample, labelled)
    return JUDGE.render(spec, cfg, toolset).key


def _plan(
    cfg: config_mod.Config,
    toolset: Any,
    dataset: list[dict[str, Any]],
    rejects: list[dict[str, Any]],
    cache: ResponseCache,
    problems: list[str],
) -> Plan:
    """Seed keys from the plan; paraphrase keys, one per seed the rules accepted (in
    the dataset, rejected by the judge, or awaiting its verdict); judge keys, one per
    sample that reached the judge: decided ones from out/, waiting ones from the cache.
    """
    judging = cfg.judge.enabled
    records = {r["id"]: r for r in dataset}
    by_id = {r["id"]: r for r in rejects if r.get("sample")}
    labelled = {s.id: lab for s, lab in real_records(cfg.real)}
    seed_specs = list(seed_requests(cfg, toolset))
    judged: dict[str, str] = {}
    awaiting: dict[str, int] = {}

    waiting: dict[str, dict[str, Any]] = {}  # seeds awaiting their verdict, by id

    def sample_of(sid: str) -> dict[str, Any] | None:
        if sid in records:
            return records[sid]
        return by_id[sid]["sample"] if sid in by_id else waiting.get(sid)

    def plan_judge(sample: dict[str, Any]) -> str | None:
        if not judging:
            return None
        seed = None
        if sample["source"] == "paraphrase":
            seed = sample_of(sample["meta"].get("parent"))
            if seed is None:
                problems.append(f"paraphrase {sample['id']}: its seed is nowhere")
                return None
        key = judge_key(cfg, toolset, sample, seed, labelled.get(sample["id"], True))
        if key is not None:
            judged[key] = sample["id"]
        return key

    # decided samples that reached the judge
    for r in dataset:
        if r["meta"].get("judge"):
            key = plan_judge(r)
            if key is not None and key != r["meta"]["judge"]["request_key"]:
                problems.append(f"dataset {r['id']}: meta.judge.request_key is not its judge key")
    for r in rejects:
        if r["check"] in JUDGE_CHECKS or (
            r["check"] == "synthetic_cap" and r["sample"]["meta"].get("judge")
        ):
            plan_judge(r["sample"])
    # seeds whose sample awaits its verdict: cached, parsed, nowhere in out/
    placed = {r["meta"].get("request_key") for r in dataset} | {
        r.get("request_key") for r in rejects
    }
    seeds = [r for r in dataset if r["source"] == "seed"]
    seeds += [r["sample"] for r in rejects if r["check"] in JUDGE_CHECKS and r["source"] == "seed"]
    for spec, req in seed_specs:
        if req.key in placed:
            continue
        entry = cache.get(req.key)
        if entry is None:
            continue
        sample, _, failure = parse.parse_seed(spec, req.key, entry, toolset, cfg, "seed")
        if sample is not None and failure is None and plan_judge(sample.to_json()) is not None:
            awaiting[req.key] = 1
            seeds.append(sample.to_json())
            waiting[sample.id] = sample.to_json()
    for s, _ in real_records(cfg.real):
        if s.id not in records and s.id not in by_id:
            plan_judge(s.to_json())
    # paraphrases: one request per seed the rules accepted; their samples awaiting a verdict
    para_keys: list[str] = []
    if cfg.paraphrases_per_seed > 0:
        for seed_json in seeds:
            seed = Sample.from_json(seed_json)
            user = seed.user_texts()[0] if seed.user_texts() else ""
            key = paraphrase_request(user, parse.argument_values(seed), cfg).key
            para_keys.append(key)
            entry = cache.get(key)
            if entry is None or not judging:
                continue
            samples, _, failure = parse.parse_paraphrases(seed, key, entry, "paraphrase")
            for p in samples if failure is None else []:
                if p.id not in records and p.id not in by_id:
                    awaiting[key] = awaiting.get(key, 0) + 1
                    plan_judge({**p.to_json(), "meta": {**p.meta, "parent": seed.id}})
    planned = {
        "seed": [req.key for _, req in seed_specs],
        "paraphrase": para_keys,
        "judge": list(judged),
    }
    return Plan(planned, awaiting, judged, records, by_id)


def status_json(text: str) -> dict[str, Any]:
    data = json.loads(text)
    assert data["version"] == "fb-status/2"
    return data


KEY_RE = re.compile(r"fb1:[0-9a-f]{8,}")


def _bodies(cfg: config_mod.Config, keys: list[str]) -> dict[str, bytes]:
    out = {}
    with ResponseCache(cfg.paths.cache) as cache:
        for key in keys:
            entry = cache.get(key)
            if entry is not None:
                out[key] = orjson.dumps(entry.body, option=orjson.OPT_SORT_KEYS)
    return out


def expected_dataset(
    reference_cfg: Path,
    cfg_path: Path,
    books: Books,
    work: Path,
    *,
    damaged: set[str] = frozenset(),
) -> bytes:
    """What a fault-free run gives once the faults that are final by design are applied.

    Starts from a copy of the fault-free reference project; every key the
    faulted project has no response for (given up, pending) is removed from
    the copy's cache, and every key whose cached body differs from the
    reference must be in ``damaged`` (a paid-for bad answer: garbage, cut off,
    refused) and gets the faulted body. The copy takes the faulted project's
    failure records, then is rebuilt in-process. With no final faults this is
    the reference dataset itself. Returns the dataset without batch ids.
    """
    import shutil

    from forge_batch import build

    ref = config_mod.load(reference_cfg)
    faulted = config_mod.load(cfg_path)
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(reference_cfg.parent, work, ignore=shutil.ignore_patterns("server*", "*.log"))
    copy_cfg = config_mod.load(work / "forge.toml")
    seeds = [req.key for _, req in seed_requests(ref, load_tools(ref.paths.tools))]
    keys = seeds + [k for k in books.planned["paraphrase"]] + books.planned["judge"]
    with ResponseCache(ref.paths.cache) as ref_cache:
        ref_plan = _plan(
            ref,
            load_tools(ref.paths.tools),
            read_jsonl(ref.paths.out / "dataset.jsonl"),
            read_jsonl(ref.paths.out / "rejects.jsonl"),
            ref_cache,
            [],
        )
    keys += [k for k in ref_plan.planned["judge"] + ref_plan.planned["paraphrase"] if k not in keys]
    ref_paras = [
        r["meta"]["request_key"]
        for r in read_jsonl(ref.paths.out / "dataset.jsonl")
        if r["source"] == "paraphrase"
    ] + [
        r["request_key"]
        for r in read_jsonl(ref.paths.out / "rejects.jsonl")
        if r["source"] == "paraphrase"
    ]
    keys += [k for k in dict.fromkeys(ref_paras) if k not in keys]
    mine, theirs = _bodies(faulted, keys), _bodies(ref, keys)
    problems = []
    with ResponseCache(copy_cfg.paths.cache) as cache:
        for key in keys:
            if key not in mine:
                cache._cache.delete(key)
            elif mine[key] != theirs.get(key):
                # a key the reference never planned (a judge request of a paraphrase the
                # cap picked from other counts, after a request was given up) is taken as is
                if key in theirs and key not in damaged:
                    problems.append(f"{key}: cached body differs from the fault-free run")
                cache.put_many([(key, orjson.loads(mine[key]), "damaged")])
    if problems:
        raise AccountingError("\n  ".join(problems))
    failures = work / "batches" / "failures"
    shutil.rmtree(failures, ignore_errors=True)
    if (faulted.paths.batches / "failures").is_dir():
        shutil.copytree(faulted.paths.batches / "failures", failures)
    # the faulted project's max_attempts decides what is given up
    text = (work / "forge.toml").read_text()
    text = re.sub(r"max_attempts = \d+\n", "", text)
    text = text.replace("[engine]\n", f"[engine]\nmax_attempts = {faulted.engine.max_attempts}\n")
    (work / "forge.toml").write_text(text)
    build.build(config_mod.load(work / "forge.toml"))
    return without_batch_ids(work / "out" / "dataset.jsonl")
