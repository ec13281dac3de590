"""The judge stage end to end: the real CLI, the local Batch server, the scoring double.

tests/doubles.py:FakeModel answers judge requests with a deterministic grader
(values checked against the user's words, a hash-drawn score for clean
samples), so runs see keeps and rejects both. What is pinned here is the
mechanism: one judge request per sample that passed the rules, keyed,
cached, sharded under the judge model, applied at build time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from accounting import account
from click.testing import CliRunner, Result

from forge_batch.cli import cli

JUDGE_ON = {"enabled": True}


def invoke(cfg: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["-c", str(cfg), *args], catch_exceptions=False)


def run(cfg: Path) -> int:
    """forge-batch run; the number of requests it sent."""
    result = invoke(cfg, "run")
    assert result.exit_code == 0, result.output
    found = re.search(r"sent (\d+) request\(s\)", result.output)
    assert found, result.output
    return int(found.group(1))


def shard_lines(folder: Path, stage: str) -> dict[str, dict]:
    """custom_id -> body of every line of the stage's shards."""
    out = {}
    for path in sorted(folder.glob(f"{stage}-[0-9][0-9][0-9][0-9].jsonl")):
        for line in path.read_bytes().splitlines():
            record = orjson.loads(line)
            out[record["custom_id"]] = record["body"]
    return out


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def set_judge(cfg: Path, **values: object) -> None:
    text = cfg.read_text()
    head, _, rest = text.partition("\n[judge]\n")
    table, sep, tail = rest.partition("\n[")
    settings = dict(line.split(" = ", 1) for line in table.splitlines() if " = " in line)
    settings.update({k: json.dumps(v) for k, v in values.items()})
    body = "\n".join(f"{k} = {v}" for k, v in settings.items())
    cfg.write_text(f"{head}\n[judge]\n{body}\n{sep}{tail}")


def test_judge_stage_end_to_end_and_what_a_change_resends(
    make_project: Callable[..., Path],
) -> None:
    cfg = make_project(seeds=16, paraphrases_per_seed=2, judge=JUDGE_ON)
    assert run(cfg) > 0
    out, batches = cfg.parent / "out", cfg.parent / "batches"
    judged = shard_lines(batches, "judge")
    assert judged and {b["model"] for b in judged.values()} == {"SmolLM2-135M-Instruct"}
    dataset, rejects = jsonl(out / "dataset.jsonl"), jsonl(out / "rejects.jsonl")
    assert {r["source"] for r in dataset} == {"seed", "paraphrase"}
    for record in dataset:  # every kept sample was judged, at or above the threshold
        assert record["meta"]["judge"]["score"] >= 0.8
        assert record["meta"]["judge"]["request_key"] in judged
    judge_rejects = [r for r in rejects if r["check"] == "judge"]
    assert judge_rejects and all(r["reason"].startswith("score ") for r in judge_rejects)
    status = json.loads(invoke(cfg, "status", "--json").output)
    stage = status["stages"]["judge"]
    assert status["version"] == "fb-status/2" and status["accounting"]["balanced"]
    assert stage["planned"] == stage["cached"] == len(judged) and stage["pending"] == 0
    capped = [
        r for r in rejects if r["check"] == "synthetic_cap" and "judge" in r["sample"]["meta"]
    ]
    assert capped  # every paraphrase is judged; the cap drops some the judge kept
    assert stage["accepted"] == len(dataset) + len(capped)
    assert stage["rejected"] == len(judge_rejects)
    report = (out / "report.md").read_text()
    assert "## Judge" in report and "| mean judge score |" in report
    books = account(cfg, status=status)  # three stages, from the files alone
    assert set(books.planned["judge"]) == set(judged) == books.answered["judge"]

    # a rerun sends nothing
    assert run(cfg) == 0
    # a changed threshold sends nothing; it only changes what is kept
    set_judge(cfg, threshold=0.6)
    assert run(cfg) == 0
    lower = jsonl(out / "dataset.jsonl")
    assert len(lower) > len(dataset)
    assert min(r["meta"]["judge"]["score"] for r in lower) < 0.8
    assert all(r["meta"]["judge"]["score"] >= 0.6 for r in lower)
    # a changed judge model sends judge requests only
    seeds, paras = shard_lines(batches, "seed"), shard_lines(batches, "paraphrase")
    set_judge(cfg, model="another-judge")
    assert run(cfg) > 0
    assert shard_lines(batches, "seed") == seeds
    assert shard_lines(batches, "paraphrase") == paras
    new = {k: b for k, b in shard_lines(batches, "judge").items() if k not in judged}
    assert new and {b["model"] for b in new.values()} == {"another-judge"}
    assert run(cfg) == 0


def test_scope_doubtful_keeps_undoubted_samples_unjudged(
    make_project: Callable[..., Path],
) -> None:
    off = make_project(seeds=10, paraphrases_per_seed=1)
    doubtful = make_project(seeds=10, paraphrases_per_seed=1, judge={"scope": "doubtful"})
    assert run(off) > 0 and run(doubtful) > 0
    assert not shard_lines(doubtful.parent / "batches", "judge")

    def strip(path: Path) -> list[dict]:
        rows = jsonl(path)
        for r in rows:
            r["meta"].pop("batch_id", None)
        return rows

    assert strip(doubtful.parent / "out" / "dataset.jsonl") == strip(
        off.parent / "out" / "dataset.jsonl"
    )


def _conversation(user: str, args: dict) -> dict:
    return {
        "messages": [
            {"role": "user", "content": user},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "triangle_area", "arguments": json.dumps(args)},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": '{"area": 25}'},
            {"role": "assistant", "content": "The area is 25."},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "triangle_area",
                    "description": "Area of a triangle.",
                    "parameters": {
                        "type": "object",
                        "properties": {"base": {"type": "number"}, "height": {"type": "number"}},
                        "required": ["base", "height"],
                    },
                },
            }
        ],
    }


def _real_pair(cfg: Path) -> None:
    """real.jsonl: a correct triangle call, and one with base and height swapped."""
    good = {
        "id": "good",
        **_conversation(
            "What is the area of a triangle with base 10 and height 5?", {"base": 10, "height": 5}
        ),
    }
    swapped = {  # worded apart from the first, so dedup keeps both
        "id": "swapped",
        **_conversation("My homework: base 10, height 5. Area please!", {"base": 5, "height": 10}),
    }
    (cfg.parent / "real.jsonl").write_text(json.dumps(good) + "\n" + json.dumps(swapped) + "\n")


def test_real_records_are_judged_and_swapped_values_rejected(
    make_project: Callable[..., Path],
) -> None:
    cfg = make_project(
        seeds=0, paraphrases_per_seed=0, real=["real.jsonl"], judge={"threshold": 0.5}
    )
    _real_pair(cfg)
    assert run(cfg) == 2  # both pass the rules (every value is the user's); both are judged
    (kept,) = jsonl(cfg.parent / "out" / "dataset.jsonl")
    (rejected,) = jsonl(cfg.parent / "out" / "rejects.jsonl")
    assert kept["id"] == "good" and kept["meta"]["judge"]["score"] >= 0.5
    assert rejected["id"] == "swapped" and rejected["check"] == "judge"
    assert "triangle_area.base (swapped with another argument)" in rejected["reason"]
    # unlabelled real records are judged on whether the calls fit the request
    bodies = shard_lines(cfg.parent / "batches", "judge").values()
    assert all("Meant to show" not in b["messages"][1]["content"] for b in bodies)


def test_the_rules_doubts_go_to_the_judge(make_project: Callable[..., Path]) -> None:
    """The swap is a doubt of the rules: rejected by them with the judge off, shown to
    the judge with it on; with scope "doubtful" only the doubted sample is judged."""
    off = make_project(seeds=0, paraphrases_per_seed=0, real=["real.jsonl"])
    _real_pair(off)
    assert run(off) == 0
    (rejected,) = jsonl(off.parent / "out" / "rejects.jsonl")
    assert rejected["id"] == "swapped" and rejected["check"] == "grounding"
    doubtful = make_project(
        seeds=0, paraphrases_per_seed=0, real=["real.jsonl"], judge={"scope": "doubtful"}
    )
    _real_pair(doubtful)
    assert run(doubtful) == 1
    (body,) = shard_lines(doubtful.parent / "batches", "judge").values()
    prompt = body["messages"][1]["content"]
    assert "Notes from the rule checks" in prompt and "'height' = 10" in prompt
    (kept,) = jsonl(doubtful.parent / "out" / "dataset.jsonl")
    assert kept["id"] == "good" and "judge" not in kept["meta"]  # kept unjudged
    (rejected,) = jsonl(doubtful.parent / "out" / "rejects.jsonl")
    assert rejected["id"] == "swapped" and rejected["check"] == "judge"
    status = json.loads(invoke(doubtful, "status", "--json").output)
    assert len(account(doubtful, status=status).planned["judge"]) == 1


def test_the_build_holds_judge_specs_without_their_samples(
    make_project: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Until its stage runs, the build holds each planned paraphrase and judge spec lean
    (a digest and a spool offset: no sample, no seed text; memory flat in the number of
    planned requests), the stored record's too; the record it writes is the same bytes
    as before, and a rebuild from it gives the same dataset."""
    from forge_batch import judging
    from forge_batch.stages import JUDGE, Lean

    cfg = make_project(seeds=12, paraphrases_per_seed=1, judge=JUDGE_ON)
    assert run(cfg) > 0
    out = cfg.parent / "out"
    record, dataset = (out / ".accepted.jsonl").read_bytes(), (out / "dataset.jsonl").read_bytes()
    seen: list[int] = []
    real_stage = judging.Passes.stage

    def checked(self: judging.Passes, stage: Any) -> Any:
        if stage.inputs:  # the paraphrases' and the judge's: each planned spec a Lean
            held = list(self.record.planned[stage.name])
            if self.known is not None:
                held += self.known.planned.get(stage.name, [])
            assert held and all(isinstance(spec, Lean) for _, spec in held)
            # what the request index keys them by: nothing larger than a Lean either
            assert all(type(k) is Lean for k in self.index._keys[stage.name])
            if stage is JUDGE:
                seen.append(len(held))
        return real_stage(self, stage)

    monkeypatch.setattr(judging.Passes, "stage", checked)
    result = invoke(cfg, "collect")
    assert result.exit_code == 0, result.output
    assert seen, "the build ran no judge stage"
    assert (out / ".accepted.jsonl").read_bytes() == record
    assert (out / "dataset.jsonl").read_bytes() == dataset
