"""The relay executor against a real OpenAI-compatible chat server on loopback.

The upstream is tests/doubles_upstream.py (a test double answering with
FakeModel), run as its own process so a test can kill it. The first tests
drive RelayExecutor directly; the last ones run the real CLI through the
relay, embedded (``[engine] relay``) and as ``forge-batch serve --relay``,
and check the books (tests/accounting.py) and the dataset against the
fault-free reference run (tests/faultkit.py).
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai
import orjson
import pytest
from accounting import account, without_batch_ids
from doubles import FakeModel
from doubles_server import EchoExecutor, lines_for, read_jsonl, request_line, submit, wait_for
from faultkit import (  # noqa: F401 (fixtures)
    FAKE_KEY,
    Server,
    Servers,
    audit,
    finish,
    free_port,
    make_project,
    ok,
    reference_fixture,
    servers_fixture,
    spawn,
)

from forge_batch import config as config_mod
from forge_batch.errors import ConfigError
from forge_batch.server import LocalServer, RelayExecutor, RelaySettings

TESTS = Path(__file__).resolve().parent
UPSTREAM = TESTS / "doubles_upstream.py"
SCHEMA = {"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"]}
BODY = {
    "model": "m",
    "messages": [{"role": "user", "content": "hi"}],
    "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": SCHEMA}},
}


@dataclass
class Upstream:
    """tests/doubles_upstream.py as a process on a fixed port (restartable)."""

    port: int
    args: list[str] = field(default_factory=list)
    log: Path | None = None
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> Upstream:
        cmd = [sys.executable, str(UPSTREAM), "--port", str(self.port), *self.args]
        if self.log is not None:
            cmd += ["--log", str(self.log)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(self.proc.stderr.read().decode() if self.proc.stderr else "")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return self
            time.sleep(0.05)
        raise RuntimeError("upstream did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def answered(self) -> int:
        return len(self.log.read_text().splitlines()) if self.log and self.log.exists() else 0


@pytest.fixture
def upstreams() -> Iterator[Any]:
    started: list[Upstream] = []

    def start(*args: str, log: Path | None = None) -> Upstream:
        up = Upstream(free_port(), list(args), log).start()
        started.append(up)
        return up

    yield start
    for up in started:
        up.kill()


def relay(url: str, **kw: Any) -> RelayExecutor:
    kw.setdefault("wait_min", 0.01)
    return RelayExecutor(RelaySettings(url, **kw))


# -- the executor alone ------------------------------------------------------------------


def test_answer_passes_through_unchanged(upstreams: Any) -> None:
    up = upstreams()
    status, body = relay(up.url)(dict(BODY, stream=True))
    assert (status, body) == FakeModel()(BODY)  # stream dropped, the rest as the model said


def test_429_500_and_timeout_are_retried(upstreams: Any) -> None:
    # the timeout also bounds the answers that do come: 2 s, so a busy machine's stall
    # cannot turn the 4th attempt's answer into a timeout too; the hang is far longer
    up = upstreams("--flaky", "1", "--hang", "30")
    started = time.monotonic()
    status, body = relay(up.url, timeout=2.0, attempts=4)(BODY)
    assert status == 200 and body == FakeModel()(BODY)[1]
    assert time.monotonic() - started < 10  # the hang was cut at the timeout, not waited out


def test_retries_run_out_with_the_upstream_status(upstreams: Any) -> None:
    up = upstreams("--flaky", "1", "--hang", "3")
    status, body = relay(up.url, attempts=2)(BODY)  # 429, then 500: out of attempts
    assert status == 500 and body["error"]["message"] == "upstream hiccup (test double)"
    status, body = relay(up.url, attempts=1)(dict(BODY, model="other"))
    assert status == 429 and body["error"]["code"] == "rate_limit_exceeded"


def test_400_stays_400_with_the_upstream_body(upstreams: Any) -> None:
    up = upstreams("--reject", "1")
    status, body = relay(up.url)(BODY)
    assert status == 400
    assert body == {
        "error": {
            "message": "This model's maximum context length is 8192 tokens (test double).",
            "type": "invalid_request_error",
            "param": None,
            "code": "context_length_exceeded",
        }
    }


def test_missing_usage_is_passed_on(upstreams: Any) -> None:
    up = upstreams("--no-usage")
    status, body = relay(up.url)(BODY)
    assert status == 200 and "usage" not in body and body["choices"]


def test_key_from_the_named_env_var_never_shown(
    upstreams: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    up = upstreams("--key", "sk-relay-secret-123")
    assert relay(up.url)(BODY)[0] == 401
    monkeypatch.setenv("UPSTREAM_KEY", "sk-relay-secret-123")
    ex = relay(up.url, key_env="UPSTREAM_KEY")
    assert ex(BODY)[0] == 200
    assert "sk-relay" not in repr(ex) and "sk-relay" not in repr(ex.settings)
    monkeypatch.delenv("UPSTREAM_KEY")
    with pytest.raises(ConfigError, match="UPSTREAM_KEY is not set"):
        relay(up.url, key_env="UPSTREAM_KEY")


def test_url_credentials_never_shown() -> None:
    ex = relay("http://user:sk-in-url-secret@127.0.0.1:9/v1?key=sk-q-secret")
    assert "secret" not in repr(ex) and ex.shown == "http://127.0.0.1:9/v1"


def test_unreachable_upstream_is_waited_for_then_interrupted() -> None:
    ex = relay(f"http://127.0.0.1:{free_port()}/v1")
    result: dict[str, Any] = {}

    def call() -> None:
        try:
            result["got"] = ex(BODY)
        except Exception as exc:
            result["got"] = exc

    worker = threading.Thread(target=call)
    worker.start()
    time.sleep(1.0)
    assert worker.is_alive()  # still waiting for the upstream, not failing the line
    ex.interrupt()
    worker.join(5)
    assert type(result["got"]).__name__ == "Interrupted"


@pytest.mark.parametrize(
    ("engine", "message"),
    [
        ({"kind": "openai", "relay": "http://x/v1"}, 'needs kind = "local"'),
        ({"relay": "ftp://x"}, "must start with http"),
        ({"relay": "http://x/v1", "relay_key_env": "sk-abc-123"}, "environment variable name"),
        ({"relay": "http://x/v1", "relay_concurrency": 0}, "between 1 and 1024"),
    ],
)
def test_relay_config_errors(
    tmp_path: Path, memory_tools: Path, engine: dict[str, Any], message: str
) -> None:
    lines = [f'tools = "{memory_tools}"', "[engine]"]
    lines += [f"{k} = {v!r}".replace("'", '"') for k, v in engine.items()]
    (tmp_path / "forge.toml").write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match=message):
        config_mod.load(tmp_path / "forge.toml")


# -- the real CLI through the relay ----------------------------------------------------------


def _relay_project(root: Path, up: Upstream, **engine: Any) -> Path:
    """A project on the embedded server with ``[engine] relay`` pointing at ``up``."""
    placeholder = Server(root / "unused", 0, root / "unused.log")
    eng = {"kind": "local", "relay": up.url, "relay_concurrency": 4, **engine}
    eng.pop("base_url", None)
    # the reference run's model (kind "openai" defaults to it): the same request bodies
    cfg = make_project(root, placeholder, engine=eng, model="gpt-4o-mini")
    text = cfg.read_text().replace('base_url = "http://127.0.0.1:0/v1"\n', "")
    cfg.write_text(text)
    return cfg


def _server_data(cfg: Path) -> Path:
    return config_mod.load(cfg).paths.server


def test_run_through_relay_gives_the_reference_dataset(
    upstreams: Any, tmp_path: Path, reference: Path
) -> None:
    up = upstreams()
    cfg = _relay_project(tmp_path / "p", up)
    ok(cfg, "run")
    books = account(cfg, server_data=_server_data(cfg))
    assert not books.all("pending") and not books.failures
    got = without_batch_ids(cfg.parent / "out" / "dataset.jsonl")
    assert got == without_batch_ids(reference.parent / "out" / "dataset.jsonl")


def test_serve_relay_retries_and_gives_up_400s(
    upstreams: Any, servers: Servers, tmp_path: Path, reference: Path
) -> None:
    # a flaky body: 429, then 500, then an answer held back (--hang; `serve --relay` waits
    # up to 600 s for one, so it is a slow answer here, not a timeout: 0.2 s is as good as 2)
    up = upstreams("--flaky", "0.3", "--reject", "0.15", "--hang", "0.2")
    srv = servers.start(name="relay")  # replaced below by a serve --relay on the same port
    srv.kill()
    srv.extra = ["--relay", up.url, "--relay-concurrency", "4"]
    srv.start()
    cfg = make_project(tmp_path / "p", srv)
    ok(cfg, "run")
    books = account(cfg, server_data=srv.data)
    given_up = books.all("given_up")
    assert given_up, "the 15% share of 400s should be given up"
    judged = set(books.planned["judge"])
    for key in given_up:
        assert [f["reason"] for f in books.failures[key]] == ["http_400"]
        # a given-up judge request rejects its sample as judge_failed
        assert books.reject_check[key] == ("judge_failed" if key in judged else "request_failed")
    retried = {k for k, fs in books.failures.items() if k not in given_up}
    assert not retried  # 429s, 500s and slow answers were absorbed by the relay's retries
    finish(cfg, srv, reference, restart=False, rerun=True)


def _without_usage(path: Path) -> list[dict[str, Any]]:
    """The dataset with meta.batch_id and meta.usage removed."""
    records = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    for record in records:
        record["meta"].pop("batch_id", None)
        record["meta"].pop("usage", None)
    return records


def test_upstream_without_usage_is_cached_and_accounted(
    upstreams: Any, servers: Servers, tmp_path: Path, reference: Path
) -> None:
    """An upstream that reports no ``usage`` (some OpenAI-compatible servers don't),
    through `forge-batch serve --relay` and the CLI: every answer is cached and
    accounted as usual, and the token totals say they are unknown instead of 0."""
    up = upstreams("--no-usage")
    srv = servers.start(name="relay")  # replaced below by a serve --relay on the same port
    srv.kill()
    srv.extra = ["--relay", up.url, "--relay-concurrency", "4"]
    srv.start()
    cfg = make_project(tmp_path / "p", srv)
    done = ok(cfg, "run")
    status, books = audit(cfg, srv)
    assert not books.all("pending") and not books.failures and not books.all("given_up")
    dataset = cfg.parent / "out" / "dataset.jsonl"
    assert _without_usage(dataset) == _without_usage(reference.parent / "out" / "dataset.jsonl")
    assert all(orjson.loads(line)["meta"]["usage"] is None for line in dataset.open("rb"))
    # the server's batch objects: every line completed, token totals of what was reported
    client = openai.OpenAI(base_url=srv.base_url, api_key=FAKE_KEY)
    batches = list(client.batches.list())
    assert batches and all(b.status == "completed" for b in batches)
    assert all(b.request_counts and b.request_counts.failed == 0 for b in batches)
    assert all(b.usage is not None and b.usage.total_tokens == 0 for b in batches)
    answered = sum(len(keys) for keys in books.answered.values())
    assert status["accounting"]["tokens"]["prompt"] == 0
    report = (cfg.parent / "out" / "report.md").read_text()
    assert f"{answered:,} of {answered:,} responses reported no usage" in report, report
    assert "Cost: **$0.0000**" not in report  # no usage is not a free run
    assert "Traceback" not in done.err


def test_killing_the_upstream_mid_batch_loses_nothing(
    upstreams: Any, tmp_path: Path, reference: Path
) -> None:
    log = tmp_path / "answered.log"
    up = upstreams("--delay", "0.05", log=log)
    cfg = _relay_project(tmp_path / "p", up, relay_concurrency=2)
    proc = spawn(cfg, "run")
    deadline = time.monotonic() + 60
    while up.answered() < 6 and time.monotonic() < deadline:
        time.sleep(0.02)
    up.kill()  # mid-batch: the relay waits for it, the batch stays in progress
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)  # the user gives up waiting
    proc.communicate(timeout=60)
    assert proc.returncode != 0
    up.start()
    ok(cfg, "run")
    books = account(cfg, server_data=_server_data(cfg))
    assert not books.all("pending") and not books.failures
    got = without_batch_ids(cfg.parent / "out" / "dataset.jsonl")
    assert got == without_batch_ids(reference.parent / "out" / "dataset.jsonl")
    again = ok(cfg, "run")
    assert "sent 0 request(s)" in again.out, again.out


# -- lanes: several lines at once inside the server --------------------------------------------


class SlowEcho(EchoExecutor):
    """EchoExecutor taking ``delay`` s per line, 4 lines at once; records the peak overlap."""

    concurrency = 4

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay, self.active, self.peak = delay, 0, 0
        self._gate = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._gate:
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            time.sleep(self.delay)
            return super().__call__(body)
        finally:
            with self._gate:
                self.active -= 1


def _client(srv: LocalServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=srv.base_url, api_key="k", max_retries=0)


def test_lanes_overlap_and_cancel_keeps_every_finished_line(tmp_path: Path) -> None:
    ex = SlowEcho(0.05)
    with LocalServer(tmp_path / "d", executor=ex) as srv:
        client = _client(srv)
        created = submit(client, lines_for(60))
        wait_for(client, created.id, lambda b: b.request_counts and b.request_counts.completed >= 8)
        client.batches.cancel(created.id)
        batch = wait_for(client, created.id)
        out = read_jsonl(client, batch.output_file_id)
        err = read_jsonl(client, batch.error_file_id)
    assert batch.status == "cancelled" and ex.peak == 4
    ran = {b["messages"][0]["content"] for b in ex.calls}
    assert {r["response"]["body"]["choices"][0]["message"]["content"][6:] for r in out} == ran
    assert sorted(r["custom_id"] for r in out + err) == sorted(f"req-{i}" for i in range(60))


def test_stop_with_lines_in_flight_runs_each_line_once(tmp_path: Path) -> None:
    ex = SlowEcho(0.2)
    srv = LocalServer(tmp_path / "d", executor=ex).start()
    client = _client(srv)
    created = submit(client, lines_for(20))
    wait_for(client, created.id, lambda b: b.request_counts and b.request_counts.completed >= 4)
    srv.stop()  # lines in flight finish and are journaled; the batch stays in progress
    with LocalServer(tmp_path / "d", executor=ex) as again:
        batch = wait_for(_client(again), created.id)
        assert batch.status == "completed"
        assert len(read_jsonl(_client(again), batch.output_file_id)) == 20
    assert len(ex.calls) == 20  # no line ran twice


class CountingRelay(RelayExecutor):
    """The real RelayExecutor, counting the 200 answers it hands the worker per body (a spy).

    What the relay received, not what the upstream logged: an answer the upstream
    wrote to its log just before it was killed never reached the relay, which
    rightly sends that line again (logged twice upstream, answered once here).
    """

    def __init__(self, settings: RelaySettings) -> None:
        super().__init__(settings)
        self.answers: Counter[bytes] = Counter()
        self._count = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        status, answer = super().__call__(body)
        if status == 200:
            with self._count:
                self.answers[orjson.dumps(body, option=orjson.OPT_SORT_KEYS)] += 1
        return status, answer


def test_relay_stop_while_upstream_is_down_then_resume(upstreams: Any, tmp_path: Path) -> None:
    log = tmp_path / "answered.log"
    up = upstreams("--delay", "0.05", log=log)
    ex = CountingRelay(RelaySettings(up.url, concurrency=2, wait_min=0.01))
    srv = LocalServer(tmp_path / "d", executor=ex).start()
    client = _client(srv)
    lines = [request_line(f"r-{i}", f"line {i}", schema=SCHEMA) for i in range(30)]
    created = submit(client, lines)
    wait_for(client, created.id, lambda b: b.request_counts and b.request_counts.completed >= 5)
    up.kill()
    time.sleep(0.5)  # the relay is now waiting for the upstream
    started = time.monotonic()
    srv.stop()
    assert time.monotonic() - started < 5  # the wait was interrupted, not sat out
    up.start()
    with LocalServer(tmp_path / "d", executor=ex) as again:  # same executor: resume()
        batch = wait_for(_client(again), created.id)
        out = read_jsonl(_client(again), batch.output_file_id)
    assert batch.status == "completed" and len(out) == 30
    # each line answered once: a line the relay got an answer for never ran again
    assert len(ex.answers) == 30 and set(ex.answers.values()) == {1}, ex.answers.values()
    assert len(set(log.read_text().splitlines())) == 30  # the upstream answered every line
