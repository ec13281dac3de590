"""Each defect a Batch response can have ends in rejects.jsonl with its check.

Responses are fabricated as a Batch output file (OpenAI's line format) from
the FakeModel double, then damaged one way per request, ingested with
`collect --import`, and built. Nothing is silently dropped.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from click.testing import CliRunner
from doubles import FakeModel

from forge_batch import config
from forge_batch.cli import cli
from forge_batch.prepare import prepare
from forge_batch.tools import load_tools

Mutation = Callable[[dict[str, Any]], None]


def _content(body: dict[str, Any]) -> dict[str, Any]:
    return json.loads(body["choices"][0]["message"]["content"])


def _set_content(body: dict[str, Any], data: Any) -> None:
    body["choices"][0]["message"]["content"] = json.dumps(data)


def not_json(body: dict[str, Any]) -> None:
    body["choices"][0]["message"]["content"] = '{"calls": [{"name": '


def truncated(body: dict[str, Any]) -> None:
    body["choices"][0]["finish_reason"] = "length"


def refused(body: dict[str, Any]) -> None:
    body["choices"][0]["message"].update(content=None, refusal="I can't help with that.")


def wrong_tool(body: dict[str, Any]) -> None:
    data = _content(body)
    data["calls"][0]["name"] = "no_such_tool"
    _set_content(body, data)


def schema_violation(body: dict[str, Any]) -> None:
    data = _content(body)
    args = data["calls"][0]["arguments"]
    key = next(iter(args))
    args[key] = 12345  # every memory tool takes arrays/strings, never a bare number
    _set_content(body, data)


def ungrounded(body: dict[str, Any]) -> None:
    data = _content(body)
    data["user"] = "Please just take care of it."
    _set_content(body, data)


def output_line(key: str, body: dict[str, Any]) -> bytes:
    return (
        orjson.dumps(
            {
                "id": f"batch_req_{key[4:12]}",
                "custom_id": key,
                "response": {"status_code": 200, "request_id": "r", "body": body},
                "error": None,
            }
        )
        + b"\n"
    )


def fabricate(cfg_path: Path, mutations: dict[int, Mutation], stage: str) -> tuple[Path, dict]:
    """An output file answering every written line of ``stage``, some damaged."""
    folder = cfg_path.parent / "batches"
    model = FakeModel()
    lines, damaged = [], {}
    shard_lines = [
        line
        for p in sorted(folder.glob(f"{stage}-*.jsonl"))
        for line in p.read_bytes().splitlines()
    ]
    for n, raw in enumerate(shard_lines):
        request = orjson.loads(raw)
        _, body = model(request["body"])
        if n in mutations:
            mutations[n](body)
            damaged[request["custom_id"]] = mutations[n].__name__
        lines.append(output_line(request["custom_id"], body))
    path = cfg_path.parent / f"{stage}-output.jsonl"
    path.write_bytes(b"".join(lines))
    return path, damaged


def test_every_defect_is_rejected_with_its_check(make_project: Callable[..., Path]) -> None:
    cfg_path = make_project(
        seeds=12,
        paraphrases_per_seed=3,
        scenarios={
            "standard": 1.0,
            "no_tool": 0,
            "parallel": 0,
            "error": 0,
            "ambiguous": 0,
            "edge": 0,
        },
    )
    conf = config.load(cfg_path)
    prepare(conf, load_tools(conf.paths.tools))
    mutations = {
        0: not_json,
        1: truncated,
        2: refused,
        3: wrong_tool,
        4: schema_violation,
        5: ungrounded,
    }
    out_file, damaged = fabricate(cfg_path, mutations, "seed")
    runner = CliRunner()
    result = runner.invoke(
        cli, ["-c", str(cfg_path), "collect", "--import", str(out_file)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "imported seed-output.jsonl: 12 cached" in result.output
    rejects = [
        json.loads(line)
        for line in (cfg_path.parent / "out" / "rejects.jsonl").read_text().splitlines()
    ]
    by_key = {r["request_key"]: r["check"] for r in rejects if r["source"] == "seed"}
    expected = {
        "not_json": "parse",
        "truncated": "truncated",
        "refused": "refusal",
        "wrong_tool": "tool",
        "schema_violation": "schema",
        "ungrounded": "grounding",
    }
    assert {k: by_key.get(k) for k in damaged} == {k: expected[m] for k, m in damaged.items()}
    dataset = (cfg_path.parent / "out" / "dataset.jsonl").read_text().splitlines()
    assert len(dataset) == 12 - len(damaged)


def test_near_duplicate_paraphrases_are_rejected(make_project: Callable[..., Path]) -> None:
    cfg_path = make_project(seeds=8, paraphrases_per_seed=3, synthetic_cap=0.9)
    conf = config.load(cfg_path)
    toolset = load_tools(conf.paths.tools)
    prepare(conf, toolset)
    seeds_file, _ = fabricate(cfg_path, {}, "seed")
    runner = CliRunner()
    runner.invoke(
        cli, ["-c", str(cfg_path), "collect", "--import", str(seeds_file)], catch_exceptions=False
    )
    prepare(conf, toolset)  # paraphrase requests of the accepted seeds
    seed_text = {}
    for line in (cfg_path.parent / "out" / "dataset.jsonl").read_text().splitlines():
        record = json.loads(line)
        seed_text[record["id"]] = record["messages"][0]["content"]

    def copy_seed(body: dict[str, Any]) -> None:
        """Two of the three rewrites repeat the seed almost word for word."""
        data = _content(body)
        original = body["_seed"]
        data["paraphrases"][0] = original + " Thanks!"
        data["paraphrases"][1] = original
        _set_content(body, data)

    folder = cfg_path.parent / "batches"
    model, lines, copied = FakeModel(), [], 0
    for path in sorted(folder.glob("paraphrase-*.jsonl")):
        for raw in path.read_bytes().splitlines():
            request = orjson.loads(raw)
            _, body = model(request["body"])
            prompt = request["body"]["messages"][-1]["content"]
            original = prompt.split("Message:\n", 1)[1]
            if copied < 3:
                body["_seed"] = original
                copy_seed(body)
                del body["_seed"]
                copied += 1
            lines.append(output_line(request["custom_id"], body))
    out_file = cfg_path.parent / "para-output.jsonl"
    out_file.write_bytes(b"".join(lines))
    result = runner.invoke(
        cli, ["-c", str(cfg_path), "collect", "--import", str(out_file)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    rejects = [
        json.loads(line)
        for line in (cfg_path.parent / "out" / "rejects.jsonl").read_text().splitlines()
    ]
    dups = [r for r in rejects if r["check"] == "duplicate"]
    assert len(dups) >= 2 * copied  # the exact copy and the near copy of each
    for r in dups:
        assert r["source"] == "paraphrase"
        assert r["reason"].startswith("duplicate of ")
        assert r["reason"].split()[-1] in seed_text  # it duplicates its own seed
