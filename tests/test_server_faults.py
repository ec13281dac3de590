"""Fault injection in the local Batch API server: spec parsing and each fault."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from doubles_server import EchoExecutor, lines_for, read_jsonl, submit, wait_for

from forge_batch.errors import ConfigError
from forge_batch.server import Faults, LocalServer

Factory = Callable[..., tuple[LocalServer, openai.OpenAI]]


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Factory]:
    servers: list[LocalServer] = []

    def factory(faults: str, name: str = "data") -> tuple[LocalServer, openai.OpenAI]:
        srv = LocalServer(
            tmp_path / name, executor=EchoExecutor(), faults=Faults.parse(faults)
        ).start()
        servers.append(srv)
        return srv, openai.OpenAI(base_url=srv.base_url, api_key="test-key", max_retries=0)

    yield factory
    for srv in servers:
        srv.stop()


def _content(record: dict[str, Any]) -> Any:
    return record["response"]["body"]["choices"][0]


# -- the spec ------------------------------------------------------------------


def test_parse_spec() -> None:
    faults = Faults.parse(" line_500=0.1, expire_after=5,shuffle_output=1,seed=42,line_delay=0.5")
    assert faults.line_500 == 0.1 and faults.expire_after == 5
    assert faults.shuffle_output is True and faults.seed == 42 and faults.line_delay == 0.5
    assert Faults.parse(str(faults)) == faults
    assert Faults.parse(None) == Faults.parse("") == Faults()
    assert not Faults().active and faults.active


@pytest.mark.parametrize(
    ("spec", "item"),
    [
        ("line_501=0.1", "line_501=0.1"),
        ("line_500=1.5", "line_500=1.5"),
        ("line_500", "line_500"),
        ("expire_after=-1", "expire_after=-1"),
        ("expire_after=two", "expire_after=two"),
        ("shuffle_output=yes", "shuffle_output=yes"),
        ("seed=1,seed=2", "seed=2"),
        ("slow_finalize=nan", "slow_finalize=nan"),
    ],
)
def test_bad_spec_names_the_item(spec: str, item: str) -> None:
    with pytest.raises(ConfigError) as info:
        Faults.parse(spec)
    assert repr(item) in str(info.value)


def test_line_decisions_are_seeded() -> None:
    a, b = Faults.parse("line_500=0.5,seed=1"), Faults.parse("line_500=0.5,seed=2")
    ids = [f"req-{i}" for i in range(200)]
    hits_a = [a.line_fault(1, i) for i in ids]
    assert hits_a == [a.line_fault(1, i) for i in ids]
    assert hits_a != [b.line_fault(1, i) for i in ids]
    assert 60 < hits_a.count("500") < 140
    other = [a.line_fault(2, i) for i in ids]
    assert hits_a != other  # a resend in a new batch may pass


# -- line faults ----------------------------------------------------------------


@pytest.mark.parametrize(("spec", "status"), [("line_500=1", 500), ("line_400=1", 400)])
def test_line_errors_go_to_the_error_file(start: Factory, spec: str, status: int) -> None:
    _, client = start(spec)
    batch = wait_for(client, submit(client, lines_for(4)).id)
    assert batch.status == "completed" and batch.output_file_id is None
    assert (batch.request_counts.completed, batch.request_counts.failed) == (0, 4)
    err = read_jsonl(client, batch.error_file_id)
    assert {e["response"]["status_code"] for e in err} == {status}
    assert all(set(e["response"]["body"]["error"]) >= {"message", "type"} for e in err)
    assert all(e["error"] is None for e in err)


def test_partial_line_500_matches_the_seeded_decision(start: Factory) -> None:
    spec = "line_500=0.5,seed=3"
    srv, client = start(spec)
    batch = wait_for(client, submit(client, lines_for(30)).id)
    failed = {e["custom_id"] for e in read_jsonl(client, batch.error_file_id)}
    faults = Faults.parse(spec)
    seq = json.loads((srv.data_dir / "batches" / f"{batch.id}.json").read_text())["seq"]
    assert seq == 2  # the input file was number 1
    expected = {f"req-{i}" for i in range(30) if faults.line_fault(seq, f"req-{i}")}
    assert failed == expected and 0 < len(failed) < 30
    assert len(read_jsonl(client, batch.output_file_id)) == 30 - len(failed)


def test_line_garbage(start: Factory) -> None:
    _, client = start("line_garbage=1")
    batch = wait_for(client, submit(client, lines_for(2)).id)
    for rec in read_jsonl(client, batch.output_file_id):
        assert rec["response"]["status_code"] == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(_content(rec)["message"]["content"])


def test_line_length(start: Factory) -> None:
    _, client = start("line_length=1")
    batch = wait_for(client, submit(client, lines_for(2)).id)
    for rec in read_jsonl(client, batch.output_file_id):
        choice = _content(rec)
        assert choice["finish_reason"] == "length"
        assert len(choice["message"]["content"]) < len("echo: message number 0")


def test_line_refusal(start: Factory) -> None:
    _, client = start("line_refusal=1")
    batch = wait_for(client, submit(client, lines_for(2)).id)
    for rec in read_jsonl(client, batch.output_file_id):
        message = _content(rec)["message"]
        assert message["content"] is None and message["refusal"]


# -- batch faults -----------------------------------------------------------------


def test_expire_after(start: Factory) -> None:
    _, client = start("expire_after=3")
    batch = wait_for(client, submit(client, lines_for(7)).id)
    assert batch.status == "expired" and batch.expired_at is not None
    out = read_jsonl(client, batch.output_file_id)
    err = read_jsonl(client, batch.error_file_id)
    assert [r["custom_id"] for r in out] == ["req-0", "req-1", "req-2"]
    assert [e["custom_id"] for e in err] == [f"req-{i}" for i in range(3, 7)]
    assert {e["error"]["code"] for e in err} == {"batch_expired"}
    assert (batch.request_counts.completed, batch.request_counts.failed) == (3, 4)


def test_fail_validation_hits_the_first_batches_only(start: Factory) -> None:
    _, client = start("fail_validation=1")
    first = wait_for(client, submit(client, lines_for(2)).id)
    assert first.status == "failed" and first.errors.data[0].line == 1
    second = wait_for(client, submit(client, lines_for(2)).id)
    assert second.status == "completed"


def test_slow_finalize_is_visible(start: Factory) -> None:
    _, client = start("slow_finalize=0.6")
    created = submit(client, lines_for(2))
    seen = wait_for(client, created.id, lambda b: b.status == "finalizing")
    assert seen.finalizing_at is not None and seen.completed_at is None
    assert wait_for(client, created.id).status == "completed"


def test_shuffle_output(start: Factory) -> None:
    _, client = start("shuffle_output=1,seed=5")
    batch = wait_for(client, submit(client, lines_for(20)).id)
    ids = [r["custom_id"] for r in read_jsonl(client, batch.output_file_id)]
    assert sorted(ids) == sorted(f"req-{i}" for i in range(20))
    assert ids != [f"req-{i}" for i in range(20)]


def test_duplicate_line(start: Factory) -> None:
    _, client = start("duplicate_line=2")
    batch = wait_for(client, submit(client, lines_for(10)).id)
    counts = Counter(r["custom_id"] for r in read_jsonl(client, batch.output_file_id))
    assert len(counts) == 10 and sorted(counts.values()) == [1] * 8 + [2] * 2
    assert batch.request_counts.completed == 10


def test_shuffled_and_duplicated_lines_are_reproducible(start: Factory) -> None:
    """The same spec and job give the same output order on every run (batch ids are
    random: keyed by them, each run shuffled and duplicated differently)."""

    def order(name: str) -> list[str]:
        _, client = start("shuffle_output=1,duplicate_line=3,seed=5", name=name)
        batch = wait_for(client, submit(client, lines_for(20)).id)
        return [r["custom_id"] for r in read_jsonl(client, batch.output_file_id)]

    first = order("a")
    assert first == order("b")
    assert len(first) == 23 and first != sorted(first, key=lambda c: int(c.split("-")[1]))


# -- HTTP faults ----------------------------------------------------------------------


def test_http_429(start: Factory) -> None:
    _, client = start("http_429=1")
    with pytest.raises(openai.RateLimitError) as info:
        client.files.list()
    assert info.value.response.headers["retry-after"] == "0"
    assert info.value.response.json()["error"]["code"] == "rate_limit_exceeded"


def test_http_500(start: Factory) -> None:
    _, client = start("http_500=1")
    with pytest.raises(openai.InternalServerError):
        client.batches.list()


def test_reset_drops_the_connection(start: Factory) -> None:
    srv, client = start("reset=1")
    with pytest.raises(openai.APIConnectionError):
        client.files.create(file=("in.jsonl", b"{}\n"), purpose="batch")
    assert list((srv.data_dir / "files").iterdir()) == []  # nothing was done


def test_http_faults_are_reproducible(start: Factory) -> None:
    def outcomes(client: openai.OpenAI) -> list[str]:
        seen = []
        for _ in range(16):
            try:
                client.files.list()
                seen.append("ok")
            except openai.APIConnectionError:
                seen.append("reset")
            except openai.APIStatusError as exc:
                seen.append(str(exc.status_code))
        return seen

    spec = "http_429=0.2,http_500=0.2,reset=0.2,seed=11"
    first = outcomes(start(spec, name="a")[1])
    second = outcomes(start(spec, name="b")[1])
    assert first == second
    assert {"ok", "429", "500", "reset"} <= set(first)
