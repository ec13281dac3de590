"""vLLM's offline batch runner (`vllm run-batch`) reads our shards and we read its output.

vLLM is not installed here (it needs a GPU), so both directions are checked
against its source: its input model (BatchRequestInput: custom_id, method,
url, body validated as its ChatCompletionRequest) and its output shape,
recorded in tests/data/vllm-run-batch/ (see the README there).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from accounting import account
from click.testing import CliRunner
from doubles import FakeModel

from forge_batch.cache import ResponseCache
from forge_batch.cli import cli

SAMPLE = Path(__file__).parent / "data" / "vllm-run-batch" / "output.sample.jsonl"

# The fields of vLLM's ChatCompletionRequest (vllm/entrypoints/openai/chat_completion/
# protocol.py) that a forge-batch body may use; vLLM ignores unknown fields with a
# warning, so a body field outside this list would silently change nothing.
VLLM_CHAT_FIELDS = {
    "messages", "model", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs",
    "max_tokens", "max_completion_tokens", "n", "presence_penalty", "response_format",
    "seed", "stop", "stream", "stream_options", "temperature", "top_p", "tools",
    "tool_choice", "reasoning_effort", "parallel_tool_calls", "user",
}  # fmt: skip
JSON_SCHEMA_FIELDS = {"name", "description", "schema", "strict"}  # vLLM's JsonSchemaResponseFormat


def _sample() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SAMPLE.read_text().splitlines()]


def _shard_lines(cfg: Path) -> list[dict[str, Any]]:
    return [
        orjson.loads(line)
        for path in sorted((cfg.parent / "batches").glob("*-*.jsonl"))
        for line in path.read_bytes().splitlines()
    ]


def _prepared(make_project: Callable[..., Path]) -> Path:
    cfg = make_project(seeds=16, paraphrases_per_seed=1, model="Qwen/Qwen2.5-7B-Instruct")
    result = CliRunner().invoke(cli, ["-c", str(cfg), "prepare"])
    assert result.exit_code == 0, result.output
    return cfg


def _uuid(seed: str) -> str:
    import hashlib

    return hashlib.sha256(seed.encode()).hexdigest()[:32]


def vllm_line(template: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    """What run-batch writes for ``request``: the sample 200 line with FakeModel's answer."""
    status, answer = FakeModel()(request["body"])
    assert status == 200
    line = copy.deepcopy(template)
    cid = request["custom_id"]
    line["id"] = f"vllm-{_uuid('id' + cid)}"
    line["custom_id"] = cid
    line["response"]["request_id"] = f"vllm-batch-{_uuid('req' + cid)}"
    body = line["response"]["body"]
    body["id"] = f"chatcmpl-{_uuid('cmpl' + cid)}"
    body["model"] = request["body"]["model"]  # vLLM answers with the served model name
    body["choices"][0]["message"]["content"] = answer["choices"][0]["message"]["content"]
    body["choices"][0]["finish_reason"] = answer["choices"][0]["finish_reason"]
    usage = answer["usage"]
    body["usage"] = {
        "prompt_tokens": usage["prompt_tokens"],
        "total_tokens": usage["prompt_tokens"] + usage["completion_tokens"],
        "completion_tokens": usage["completion_tokens"],
        "prompt_tokens_details": None,
    }
    return line


def test_sample_has_run_batch_shape() -> None:
    ok, engine_error, exception = _sample()
    for line in (ok, engine_error, exception):
        assert set(line) == {"id", "custom_id", "response", "error"}
        assert re.fullmatch(r"vllm-[0-9a-f]{32}", line["id"])
        assert set(line["response"]) == {"status_code", "request_id", "body"}
        assert re.fullmatch(r"vllm-batch-[0-9a-f]{32}", line["response"]["request_id"])
    body = ok["response"]["body"]
    assert ok["response"]["status_code"] == 200 and ok["error"] is None
    assert re.fullmatch(r"chatcmpl-[0-9a-f]{32}", body["id"])
    assert set(body["usage"]) == {
        "prompt_tokens", "total_tokens", "completion_tokens", "prompt_tokens_details",
    }  # fmt: skip
    assert engine_error["response"]["body"] is None
    assert set(engine_error["error"]["error"]) == {"message", "type", "param", "code"}
    assert isinstance(exception["error"], str)


def test_prepared_shard_is_valid_run_batch_input(make_project: Callable[..., Path]) -> None:
    lines = _shard_lines(_prepared(make_project))
    assert lines
    ids = [line["custom_id"] for line in lines]
    assert len(set(ids)) == len(ids)  # run-batch matches outputs to inputs by custom_id
    for line in lines:
        assert set(line) == {"custom_id", "method", "url", "body"}  # BatchRequestInput
        assert isinstance(line["custom_id"], str)
        assert line["method"] == "POST" and line["url"] == "/v1/chat/completions"
        body = line["body"]
        assert set(body) <= VLLM_CHAT_FIELDS, set(body) - VLLM_CHAT_FIELDS
        assert body["model"] == "Qwen/Qwen2.5-7B-Instruct"  # must be the served model name
        assert body["messages"] and all(
            isinstance(m, dict) and m.get("role") in ("system", "developer", "user")
            for m in body["messages"]
        )
        fmt = body.get("response_format")
        if fmt is not None:
            assert fmt["type"] == "json_schema"
            assert set(fmt["json_schema"]) <= JSON_SCHEMA_FIELDS
            assert isinstance(fmt["json_schema"]["schema"], dict)
        assert not body.get("stream")  # run-batch refuses streamed requests


def test_collect_import_of_run_batch_output_caches_every_line(
    make_project: Callable[..., Path],
) -> None:
    cfg = _prepared(make_project)
    requests = _shard_lines(cfg)
    template = _sample()[0]
    out = cfg.parent / "vllm-output.jsonl"
    with open(out, "w") as fh:  # compact JSON, input order: as pydantic writes it
        for request in requests:
            fh.write(json.dumps(vllm_line(template, request), separators=(",", ":")) + "\n")
    result = CliRunner().invoke(cli, ["-c", str(cfg), "collect", "--import", str(out)])
    assert result.exit_code == 0, result.output
    assert f"{len(requests)} cached" in result.output, result.output
    keys = [r["custom_id"] for r in requests]
    with ResponseCache(cfg.parent / "cache") as cache:
        assert cache.contains_many(keys) == set(keys)
    dataset = (cfg.parent / "out" / "dataset.jsonl").read_text().splitlines()
    assert dataset  # the answers build samples


def test_run_batch_failure_lines_are_recorded_not_cached(
    make_project: Callable[..., Path],
) -> None:
    cfg = _prepared(make_project)
    requests = _shard_lines(cfg)
    ok, engine_error, exception = _sample()
    lines = [vllm_line(ok, r) for r in requests[2:]]
    for template, request in zip((engine_error, exception), requests[:2], strict=True):
        failed = copy.deepcopy(template)
        failed["custom_id"] = request["custom_id"]
        lines.append(failed)
    out = cfg.parent / "vllm-output.jsonl"
    out.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = CliRunner().invoke(cli, ["-c", str(cfg), "collect", "--import", str(out)])
    assert result.exit_code == 0, result.output
    assert f"{len(requests) - 2} cached, 2 failed" in result.output, result.output
    with ResponseCache(cfg.parent / "cache") as cache:
        cached = cache.contains_many([r["custom_id"] for r in requests])
    assert cached == {r["custom_id"] for r in requests[2:]}


def test_run_batch_round_trip_needs_no_server(
    make_project: Callable[..., Path], monkeypatch: Any
) -> None:
    """prepare -> (vllm run-batch elsewhere) -> collect --import, with nothing listening."""
    from faultkit import free_port

    dead = f"http://127.0.0.1:{free_port()}/v1"
    cfg = make_project(
        seeds=6, paraphrases_per_seed=0, model="Qwen/Qwen2.5-7B-Instruct",
        engine={"kind": "openai", "base_url": dead},
    )  # fmt: skip
    text = cfg.read_text().replace(
        f'executor = "{Path(__file__).parent}/doubles.py:FakeModel"\n', ""
    )
    cfg.write_text(text)
    monkeypatch.setenv("OPENAI_API_KEY", "unused-no-batch-is-sent")
    assert CliRunner().invoke(cli, ["-c", str(cfg), "prepare"]).exit_code == 0
    requests = _shard_lines(cfg)
    out = cfg.parent / "vllm-output.jsonl"
    out.write_text("".join(json.dumps(vllm_line(_sample()[0], r)) + "\n" for r in requests))
    result = CliRunner().invoke(cli, ["-c", str(cfg), "collect", "--import", str(out)])
    assert result.exit_code == 0, result.output
    assert f"{len(requests)} cached" in result.output


def _status(cfg: Path) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["-c", str(cfg), "status", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _failed_output(cfg: Path, requests: list[dict[str, Any]]) -> tuple[Path, list[str]]:
    """run-batch's output for ``requests``: the first three refused (400, 400, 500)."""
    ok, engine_error, exception = _sample()
    overloaded = copy.deepcopy(engine_error)  # a retriable engine error, same shape
    overloaded["response"]["status_code"] = 500
    overloaded["error"]["error"].update(message="engine overloaded", code=500)
    lines = []
    for template, request in zip((engine_error, exception, overloaded), requests, strict=False):
        line = copy.deepcopy(template)
        line["custom_id"] = request["custom_id"]
        lines.append(line)
    lines += [vllm_line(ok, r) for r in requests[3:]]
    out = cfg.parent / "vllm-output.jsonl"
    out.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return out, [r["custom_id"] for r in requests[:3]]


def test_run_batch_refusals_are_given_up_and_retriable_ones_resent(
    make_project: Callable[..., Path],
) -> None:
    """Every planned request ends accepted, rejected with a reason, or pending.

    A line vLLM refused for good (a 400) is given up after that one attempt, with
    vLLM's message as the reason, and no later prepare plans it again; a
    retriable one (a 500) is pending and goes into the next shard. Importing the
    same file twice is one attempt, not two.
    """
    cfg = make_project(seeds=8, paraphrases_per_seed=0, model="Qwen/Qwen2.5-7B-Instruct")
    assert CliRunner().invoke(cli, ["-c", str(cfg), "prepare"]).exit_code == 0
    requests = _shard_lines(cfg)
    out, (context, stream, busy) = _failed_output(cfg, requests)
    for _ in range(2):
        result = CliRunner().invoke(cli, ["-c", str(cfg), "collect", "--import", str(out)])
        assert result.exit_code == 0, result.output
        assert f"{len(requests) - 3} cached, 3 failed (2 http_400, 1 http_500)" in result.output
        assert "2 of them given up" in result.output, result.output
    seed = _status(cfg)["stages"]["seed"]
    assert seed["planned"] == len(requests)
    assert (seed["cached"], seed["failed"], seed["pending"]) == (len(requests) - 3, 2, 1)
    assert seed["retrying"] == 1 and seed["failed_reasons"] == {"http_400": 2}
    rejects = [
        json.loads(line) for line in (cfg.parent / "out" / "rejects.jsonl").read_text().splitlines()
    ]
    failed = {r["request_key"]: r for r in rejects if r["check"] == "request_failed"}
    assert set(failed) == {context, stream}
    assert "maximum context length is 8192 tokens" in failed[context]["reason"]
    assert "must not be sent in stream mode" in failed[stream]["reason"]

    account(cfg, status=_status(cfg))

    result = CliRunner().invoke(cli, ["-c", str(cfg), "prepare"])
    assert result.exit_code == 0, result.output
    assert [r["custom_id"] for r in _shard_lines(cfg)] == [busy]  # only the retriable one
    seed = _status(cfg)["stages"]["seed"]
    assert (seed["cached"], seed["failed"], seed["pending"]) == (len(requests) - 3, 2, 1)
    account(cfg, status=_status(cfg))

    # the resent shard's run-batch output fails it again: a new attempt each time,
    # given up at engine.max_attempts (3) like a batch's failures
    overloaded = json.loads(out.read_text().splitlines()[2])
    assert overloaded["custom_id"] == busy
    for attempt in (2, 3):
        overloaded["id"] = f"vllm-{_uuid(f'attempt {attempt}')}"  # another run, another file
        again = cfg.parent / f"vllm-output-{attempt}.jsonl"
        again.write_text(json.dumps(overloaded) + "\n")
        result = CliRunner().invoke(cli, ["-c", str(cfg), "collect", "--import", str(again)])
        assert result.exit_code == 0, result.output
        assert ("1 of them given up" in result.output) == (attempt == 3), result.output
    seed = _status(cfg)["stages"]["seed"]
    assert (seed["failed"], seed["pending"]) == (3, 0)
    assert seed["failed_reasons"] == {"http_400": 2, "http_500": 1}
    account(cfg, status=_status(cfg))
