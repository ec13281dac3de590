"""submit/collect against recorded HTTP only (vcrpy, record mode "none", no server).

The cassettes were recorded by scripts/record_cassettes.py against the local
Batch server with fault injection; here the same client code replays them.
If a test fails with CannotOverwriteExistingCassetteException, the requests
changed (prompts, keys or client calls): re-record with `make cassettes`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from cassette_scenarios import CASSETTES, FAKE_KEY, SCENARIOS, run

from forge_batch.cache import ResponseCache
from forge_batch.ledger import State
from forge_batch.prepare import prepare

TOOLS = Path(__file__).parent / "data" / "mcp-memory.tools.json"


@pytest.fixture(autouse=True)
def fake_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def interactions(name: str) -> list[dict]:
    return yaml.safe_load((CASSETTES / f"{name}.yaml").read_text())["interactions"]


def calls(name: str, method: str, path_re: str) -> list[dict]:
    return [
        i
        for i in interactions(name)
        if i["request"]["method"] == method and re.search(path_re, i["request"]["uri"])
    ]


def failures(cfg) -> dict[str, str]:
    return {f.key: f.reason for f in State(cfg.paths.batches).iter_failures()}


def cached(cfg) -> int:
    with ResponseCache(cfg.paths.cache) as cache:
        return len(cache)


def test_clean_run(tmp_path: Path) -> None:
    cfg, out = run("clean", tmp_path / "p", TOOLS, "none")
    (batch,) = out["collected"].batches
    assert (batch.status, batch.cached, batch.failed) == ("completed", 6, 0)
    assert cached(cfg) == 6 and failures(cfg) == {}
    (rec,) = State(cfg.paths.batches).ledger.values()
    assert rec.state == "collected" and rec.request_counts == {
        "completed": 6,
        "failed": 0,
        "total": 6,
    }
    assert prepare(cfg).written == 0  # everything is cached now


def test_failed_lines_are_recorded_and_only_retryable_ones_resent(tmp_path: Path) -> None:
    cfg, out = run("failed_lines", tmp_path / "p", TOOLS, "none")
    (batch,) = out["collected"].batches
    reasons = failures(cfg)
    assert set(reasons.values()) == {"http_500", "http_400"}
    assert batch.cached + batch.failed == 6 and batch.cached == cached(cfg)
    again = prepare(cfg)
    assert again.stages["seed"].written == sum(r == "http_500" for r in reasons.values())
    assert again.stages["seed"].given_up == sum(r == "http_400" for r in reasons.values())


def test_expired_batch_keeps_partial_output(tmp_path: Path) -> None:
    cfg, out = run("expired", tmp_path / "p", TOOLS, "none")
    (batch,) = out["collected"].batches
    assert batch.status == "expired" and batch.cached == 2
    assert list(failures(cfg).values()) == ["batch_expired"] * 4
    assert prepare(cfg).written == 4


def test_validation_failure_resends_everything(tmp_path: Path) -> None:
    cfg, out = run("validation_failed", tmp_path / "p", TOOLS, "none")
    (batch,) = out["collected"].batches
    assert batch.status == "failed" and batch.cached == 0
    (rec,) = State(cfg.paths.batches).ledger.values()
    assert rec.errors and rec.errors[0]["line"] == 1
    assert set(failures(cfg).values()) == {"validation_failed"}
    assert prepare(cfg).written == 6


def test_cancelled_batch_brings_back_what_finished(tmp_path: Path) -> None:
    cfg, out = run("cancelled", tmp_path / "p", TOOLS, "none")
    (batch,) = out["collected"].batches
    assert batch.status == "cancelled" and 2 <= batch.cached < 6
    assert set(failures(cfg).values()) == {"batch_cancelled"}
    assert prepare(cfg).written == 6 - batch.cached


def test_retries_after_429_and_500(tmp_path: Path) -> None:
    statuses = [i["response"]["status"]["code"] for i in interactions("retry_429_500")]
    assert 429 in statuses and 500 in statuses  # the recording really hit both
    _cfg, out = run("retry_429_500", tmp_path / "p", TOOLS, "none")
    (batch,) = out["collected"].batches
    assert (batch.status, batch.cached) == ("completed", 6)
    assert len(calls("retry_429_500", "POST", r"/v1/batches$")) >= 1
    created = [
        i
        for i in calls("retry_429_500", "POST", r"/v1/batches$")
        if i["response"]["status"]["code"] == 200
    ]
    assert len(created) == 1  # retries never made a second batch


def test_crash_between_upload_and_create_recovers_without_duplicate(tmp_path: Path) -> None:
    _cfg, out = run("crash_before_create", tmp_path / "p", TOOLS, "none")
    (rec,) = out["after_crash"].values()
    assert rec.state == "uploaded" and rec.file_id and rec.batch_id is None
    assert len(calls("crash_before_create", "POST", r"/v1/files$")) == 1
    assert len(calls("crash_before_create", "POST", r"/v1/batches$")) == 1
    assert out["collected"].batches[0].cached == 6


def test_crash_after_create_adopts_the_existing_batch(tmp_path: Path) -> None:
    cfg, out = run("crash_after_create", tmp_path / "p", TOOLS, "none")
    assert len(calls("crash_after_create", "POST", r"/v1/batches$")) == 1
    (rec,) = State(cfg.paths.batches).ledger.values()
    created = calls("crash_after_create", "POST", r"/v1/batches$")[0]
    assert rec.batch_id in created["response"]["body"]["string"]
    assert out["collected"].batches[0].cached == 6


def test_collected_inputs_are_deleted_from_storage(tmp_path: Path) -> None:
    cfg, _ = run("clean", tmp_path / "p", TOOLS, "none")
    (rec,) = State(cfg.paths.batches).ledger.values()
    (deleted,) = calls("clean", "DELETE", r"/v1/files/")
    assert deleted["request"]["uri"].endswith(f"/v1/files/{rec.file_id}")
    assert rec.deleted == [rec.file_id]  # the output file is kept (keep_outputs = true)


def test_queued_shards_are_submitted_as_room_frees(tmp_path: Path) -> None:
    cfg, out = run("queued", tmp_path / "p", TOOLS, "none")
    ledger = State(cfg.paths.batches).ledger.values()
    assert len(ledger) == 3 and all(r.state == "collected" and not r.refused for r in ledger)
    assert sum(b.cached for b in out["collected"].batches) == 6
    created = calls("queued", "POST", r"/v1/batches$")
    assert len(created) == 3 and "token_limit_exceeded" not in str(interactions("queued"))
    assert len(calls("queued", "DELETE", r"/v1/files/")) == 3


def test_refused_batches_are_resubmitted_not_failed(tmp_path: Path) -> None:
    cfg, _ = run("refused", tmp_path / "p", TOOLS, "none")
    ledger = list(State(cfg.paths.batches).ledger.values())
    refused = [b for r in ledger for b in r.refused]
    assert refused and all(r.state == "collected" for r in ledger)
    assert failures(cfg) == {} and cached(cfg) == 6
    assert prepare(cfg).written == 0
    created = calls("refused", "POST", r"/v1/batches$")
    assert len(created) == 3 + len(refused)


def test_every_scenario_has_a_cassette() -> None:
    assert {p.stem for p in CASSETTES.glob("*.yaml")} >= set(SCENARIOS)


def test_no_secret_in_any_cassette() -> None:
    key_like = re.compile(r"sk-[A-Za-z0-9_\-]{8,}|Bearer\s+\S+", re.I)
    for path in CASSETTES.glob("*.yaml"):
        text = path.read_text()
        assert FAKE_KEY not in text, path
        assert not key_like.search(text), (path, key_like.search(text))
        for interaction in yaml.safe_load(text)["interactions"]:
            headers = {h.lower() for h in interaction["request"]["headers"]}
            assert not headers & {"authorization", "api-key"}, path
