"""An unreachable base URL: each retry is one line on stderr, and the error names the URL.

Issue 13, item 10: ``submit`` against an unreachable URL was silent for two
minutes (eight attempts with backoff) and then failed without saying where it
had tried. The backoff is shortened here; everything else is the real client
against a real closed port on loopback.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
import tenacity
from click.testing import CliRunner

from forge_batch import engine as engine_mod
from forge_batch.cli import cli
from forge_batch.engine import Engine, make_client
from forge_batch.errors import EngineError


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_each_retry_is_said_and_the_error_names_the_url() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    heard: list[str] = []
    engine = Engine(make_client(url, "k"), attempts=3, wait_min=0.01, on_retry=heard.append)
    with pytest.raises(EngineError) as info:
        engine.retrieve("batch_1")
    assert len(heard) == 2
    for n, line in enumerate(heard, 1):
        assert line.startswith(f"checking batch batch_1: cannot reach {url} ("), line
        assert re.search(rf"; attempt {n}/3, retrying in [0-9.]+ s$", line), line
    message = str(info.value)
    assert f"failed after 3 attempts: cannot reach {url}" in message
    assert "base_url" in message


def test_credentials_in_the_url_are_not_shown() -> None:
    port = _closed_port()
    engine = Engine(make_client(f"http://user:pw@127.0.0.1:{port}/v1", "k"), attempts=1)
    with pytest.raises(EngineError) as info:
        engine.retrieve("batch_1")
    assert f"cannot reach http://127.0.0.1:{port}/v1" in str(info.value)
    assert "pw" not in str(info.value)


def test_a_query_string_in_the_url_is_not_shown() -> None:
    """A base URL may carry a key in its query (?api-key=...); messages show it without."""
    engine = Engine(make_client("http://127.0.0.1:9/v1?token=sk-q-secret", "k"), attempts=1)
    assert engine.base_url == "http://127.0.0.1:9/v1"


def test_submit_to_an_unreachable_url_says_so_on_every_attempt(
    make_project: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    cfg = make_project(seeds=2, paraphrases_per_seed=0, engine={"kind": "openai", "base_url": url})
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-key")
    monkeypatch.setattr(engine_mod, "wait_exponential", lambda **_: tenacity.wait_fixed(0.01))
    runner = CliRunner()
    assert runner.invoke(cli, ["-c", str(cfg), "prepare"]).exit_code == 0
    result = runner.invoke(cli, ["-c", str(cfg), "submit"])
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    retries = [line for line in lines if "retrying in" in line]
    # every retry line is timestamped like the progress lines, then says what failed
    assert all(re.match(r"\[\d\d:\d\d:\d\d UTC\] ", line) for line in retries), retries
    retries = [line.split("] ", 1)[1] for line in retries]
    # the upload fails once; before resending it looks for the upload it may have made
    # (listing files), which fails 8 times in turn: every wait is said, with the URL
    assert retries[0].startswith("uploading seed-0001"), result.stderr
    assert [line.split(": ", 1)[0] for line in retries[1:]] == ["listing files"] * 7
    assert all(f"cannot reach {url} (" in line for line in retries)
    assert [re.search(r"attempt (\d)/8", line)[1] for line in retries[1:]] == list("1234567")  # type: ignore[index]
    assert lines[-1].startswith("Error: ") and f"cannot reach {url}" in lines[-1], lines[-1]
    assert len(lines) == len(retries) + 1


def test_status_after_a_failed_upload_says_nothing_is_in_flight(
    make_project: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13, item 11: it said `in flight 200` and `uploading` with nothing running."""
    from forge_batch.ledger import project_lock

    url = f"http://127.0.0.1:{_closed_port()}/v1"
    cfg = make_project(seeds=6, paraphrases_per_seed=0, engine={"kind": "openai", "base_url": url})
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-key")
    monkeypatch.setattr(engine_mod, "wait_exponential", lambda **_: tenacity.wait_fixed(0))
    runner = CliRunner()
    assert runner.invoke(cli, ["-c", str(cfg), "prepare"]).exit_code == 0
    assert runner.invoke(cli, ["-c", str(cfg), "submit"]).exit_code == 1
    report = runner.invoke(cli, ["-c", str(cfg), "status", "--json"])
    seed = json.loads(report.output)["stages"]["seed"]
    assert seed["in_flight"] == 0 and seed["pending"] == 6, seed
    text = runner.invoke(cli, ["-c", str(cfg), "status"]).output
    row = next(line for line in text.splitlines() if line.startswith("seed"))
    assert row.split()[1:6] == ["6", "0", "6", "0", "0"], text  # planned cached pending in-flight
    assert "the upload failed or was cut short; not in flight (6 requests wait)" in text, text
    assert "run `forge-batch submit`" in text and "uploading/" not in text
    with project_lock(cfg.parent / "batches"):  # a submit working right now
        text = runner.invoke(cli, ["-c", str(cfg), "status"]).output
    assert "seed-0001.jsonl: uploading now (6 requests)" in text, text
    # prepare still keeps those requests out of new shards: the next submit sends them
    assert runner.invoke(cli, ["-c", str(cfg), "prepare"]).exit_code == 0
    assert sorted(p.name for p in (cfg.parent / "batches").glob("seed-*.jsonl")) == [
        "seed-0001.jsonl"
    ]
