"""The local Batch API server over real HTTP, driven by the official openai SDK."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import jsonschema
import openai
import pytest
from doubles_server import (
    EchoExecutor,
    jsonl,
    lines_for,
    read_jsonl,
    request_line,
    submit,
    wait_for,
)

from forge_batch.errors import ConfigError
from forge_batch.server import Faults, LocalServer, load_executor

Factory = Callable[..., tuple[LocalServer, openai.OpenAI]]


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Factory]:
    """Start LocalServers on tmp_path/data (stopped at teardown)."""
    servers: list[LocalServer] = []

    def factory(
        faults: str = "", executor: Any = None, **kwargs: Any
    ) -> tuple[LocalServer, openai.OpenAI]:
        kwargs.setdefault("executor", executor or EchoExecutor())
        srv = LocalServer(tmp_path / "data", faults=Faults.parse(faults), **kwargs).start()
        servers.append(srv)
        key = kwargs.get("token") or "test-key"
        return srv, openai.OpenAI(base_url=srv.base_url, api_key=key, max_retries=0)

    yield factory
    for srv in servers:
        srv.stop()


def _raw(srv: LocalServer, method: str, path: str) -> tuple[int, Any]:
    """Send a request line exactly as written (no client-side path normalisation)."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        conn.putheader("Authorization", "Bearer test-key")
        conn.endheaders()
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, json.loads(body) if body else None
    finally:
        conn.close()


# -- happy path ---------------------------------------------------------------


def test_upload_create_poll_download(start: Factory) -> None:
    srv, client = start()
    lines = lines_for(5)
    f = client.files.create(file=("in.jsonl", jsonl(lines)), purpose="batch")
    assert f.id.startswith("file-") and f.bytes == len(jsonl(lines))
    assert (f.object, f.purpose, f.status, f.filename) == ("file", "batch", "processed", "in.jsonl")
    created = client.batches.create(
        input_file_id=f.id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata={"shard": "seed-0001"},
    )
    assert created.status == "validating" and created.metadata == {"shard": "seed-0001"}
    assert created.expires_at == created.created_at + 24 * 3600
    batch = wait_for(client, created.id)
    assert batch.status == "completed" and batch.model == "echo-model"
    counts = batch.request_counts
    assert (counts.total, counts.completed, counts.failed) == (5, 5, 0)
    assert batch.created_at <= batch.in_progress_at <= batch.finalizing_at <= batch.completed_at
    assert batch.error_file_id is None and batch.errors is None
    assert batch.usage is not None and batch.usage.total_tokens > 0
    out = read_jsonl(client, batch.output_file_id)
    by_id = {rec["custom_id"]: rec for rec in out}
    assert sorted(by_id) == sorted(line["custom_id"] for line in lines)
    rec = by_id["req-3"]
    assert rec["id"].startswith("batch_req_") and rec["error"] is None
    assert rec["response"]["status_code"] == 200
    body = rec["response"]["body"]
    assert body["object"] == "chat.completion" and body["model"] == "echo-model"
    assert body["choices"][0]["message"]["content"] == "echo: message number 3"
    out_file = client.files.retrieve(batch.output_file_id)
    assert out_file.purpose == "batch_output" and out_file.filename.endswith("_output.jsonl")
    assert srv.wait_idle(5)


def test_json_schema_response_format_is_satisfied(start: Factory) -> None:
    _, client = start()
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "count": {"type": "integer"},
            "tags": {"type": "array", "items": {"enum": ["a", "b"]}},
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "ok": {"type": "boolean"},
        },
        "required": ["city", "count", "tags", "note", "ok"],
        "additionalProperties": False,
    }
    batch = wait_for(client, submit(client, [request_line("s1", schema=schema)]).id)
    content = read_jsonl(client, batch.output_file_id)[0]["response"]["body"]["choices"][0]
    jsonschema.validate(json.loads(content["message"]["content"]), schema)


def test_lists_paginate_newest_first(start: Factory) -> None:
    _, client = start()
    ids = [submit(client, lines_for(1, prefix=f"b{i}")).id for i in range(3)]
    page = client.batches.list(limit=2)
    assert [b.id for b in page.data] == ids[::-1][:2] and page.has_more
    rest = client.batches.list(limit=2, after=page.data[-1].id)
    assert [b.id for b in rest.data] == [ids[0]] and not rest.has_more
    assert [b.id for b in client.batches.list(limit=1)] == ids[::-1]  # auto-paging
    for batch_id in ids:
        wait_for(client, batch_id)
    inputs = client.files.list(purpose="batch").data
    assert len(inputs) == 3 and all(f.purpose == "batch" for f in inputs)
    assert len(client.files.list(purpose="batch_output").data) == 3


def test_delete_file(start: Factory) -> None:
    srv, client = start()
    f = client.files.create(file=("x.jsonl", b"{}\n"), purpose="batch")
    assert client.files.content(f.id).read() == b"{}\n"
    deleted = client.files.delete(f.id)
    assert deleted.deleted and deleted.id == f.id
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(f.id)
    with pytest.raises(openai.NotFoundError):
        client.files.content(f.id)
    assert not list((srv.data_dir / "files").iterdir())


# -- request errors -------------------------------------------------------------


def test_api_errors_have_openai_shape_and_status(start: Factory) -> None:
    _, client = start()
    f = client.files.create(file=("in.jsonl", jsonl(lines_for(1))), purpose="batch")
    with pytest.raises(openai.BadRequestError) as bad_endpoint:
        client.batches.create(
            input_file_id=f.id, endpoint="/v1/embeddings", completion_window="24h"
        )
    error = bad_endpoint.value.response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["param"] == "endpoint"
    with pytest.raises(openai.BadRequestError):
        client.batches.create(
            input_file_id=f.id,
            endpoint="/v1/chat/completions",
            completion_window="48h",  # type: ignore[arg-type]
        )
    with pytest.raises(openai.NotFoundError):
        client.batches.create(
            input_file_id="file-doesnotexist1",
            endpoint="/v1/chat/completions",
            completion_window="24h",
        )
    with pytest.raises(openai.NotFoundError):
        client.batches.retrieve("batch_doesnotexist1")
    with pytest.raises(openai.NotFoundError):
        client.batches.cancel("batch_doesnotexist1")
    with pytest.raises(openai.BadRequestError):
        client.files.create(file=("in.jsonl", b"{}"), purpose="batch_output")  # type: ignore[arg-type]
    with pytest.raises(openai.BadRequestError):
        client.batches.list(limit=1000)
    with pytest.raises(openai.NotFoundError):
        client.get("/models", cast_to=object)


@pytest.mark.parametrize(
    ("bad_line", "code"),
    [
        ('{"custom_id": "x", "method": "POST", oops', "invalid_json_line"),
        (request_line("req-0"), "duplicate_custom_id"),
        (request_line("long" * 20), "invalid_custom_id"),
        (request_line("u", url="/v1/embeddings"), "invalid_url"),
        (request_line("m", method="GET"), "invalid_method"),
        (request_line("o", model="other-model"), "mismatched_model"),
        ({"custom_id": "nobody", "method": "POST", "url": "/v1/chat/completions"}, "invalid_body"),
    ],
)
def test_validation_failure_names_the_line(start: Factory, bad_line: Any, code: str) -> None:
    _, client = start()
    lines = lines_for(3)
    raw = jsonl(lines).decode().splitlines()
    raw.insert(2, bad_line if isinstance(bad_line, str) else json.dumps(bad_line))
    f = client.files.create(file=("in.jsonl", "\n".join(raw).encode()), purpose="batch")
    created = client.batches.create(
        input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    batch = wait_for(client, created.id)
    assert batch.status == "failed" and batch.failed_at is not None
    assert batch.output_file_id is None and batch.error_file_id is None
    assert batch.errors is not None and batch.errors.object == "list"
    first = batch.errors.data[0]
    assert (first.line, first.code) == (3, code)


def test_empty_file_fails_validation(start: Factory) -> None:
    _, client = start()
    batch = wait_for(client, submit(client, []).id)
    assert batch.status == "failed" and batch.errors.data[0].code == "empty_file"


# -- cancel ---------------------------------------------------------------------


def test_cancel_mid_way_keeps_partial_output(start: Factory) -> None:
    _, client = start("line_delay=0.1")
    created = submit(client, lines_for(20))
    wait_for(client, created.id, lambda b: b.request_counts and b.request_counts.completed >= 2)
    cancelling = client.batches.cancel(created.id)
    assert cancelling.status == "cancelling" and cancelling.cancelling_at is not None
    batch = wait_for(client, created.id)
    assert batch.status == "cancelled" and batch.cancelled_at is not None
    out = read_jsonl(client, batch.output_file_id)
    err = read_jsonl(client, batch.error_file_id)
    assert 2 <= len(out) < 20
    assert {e["error"]["code"] for e in err} == {"batch_cancelled"}
    assert all(e["response"] is None for e in err)
    ids = [r["custom_id"] for r in out + err]
    assert sorted(ids) == sorted(f"req-{i}" for i in range(20))
    counts = batch.request_counts
    assert (counts.completed, counts.failed) == (len(out), len(err))
    assert client.batches.cancel(created.id).status == "cancelled"  # idempotent


def test_cancel_finished_batch_is_refused(start: Factory) -> None:
    _, client = start()
    batch = wait_for(client, submit(client, lines_for(1)).id)
    with pytest.raises(openai.BadRequestError):
        client.batches.cancel(batch.id)


# -- persistence and restart ----------------------------------------------------


def test_restart_mid_batch_runs_every_line_exactly_once(start: Factory, tmp_path: Path) -> None:
    echo = EchoExecutor()
    srv, client = start("line_delay=0.1", executor=echo)
    created = submit(client, lines_for(20))
    wait_for(client, created.id, lambda b: b.request_counts and b.request_counts.completed >= 3)
    srv.stop()
    on_disk = json.loads((tmp_path / "data" / "batches" / f"{created.id}.json").read_bytes())
    assert on_disk["batch"]["status"] == "in_progress"
    assert on_disk["batch"]["request_counts"]["completed"] >= 3
    journal = tmp_path / "data" / "batches" / f"{created.id}.partial.jsonl"
    with journal.open("ab") as fh:  # a crash cut the last line short
        fh.write(b'{"id": "batch_req_x", "custom_id": "req-1')

    _, client = start(executor=echo)
    batch = wait_for(client, created.id)
    assert batch.status == "completed" and batch.request_counts.completed == 20
    out = read_jsonl(client, batch.output_file_id)
    assert sorted(r["custom_id"] for r in out) == sorted(f"req-{i}" for i in range(20))
    ran = Counter(call["messages"][0]["content"] for call in echo.calls)
    assert len(ran) == 20 and set(ran.values()) == {1}
    assert not journal.exists()


def test_state_survives_restart(start: Factory) -> None:
    srv, client = start()
    batch = wait_for(client, submit(client, lines_for(2)).id)
    before = client.files.content(batch.output_file_id).read()
    srv.stop()
    _, client = start()
    again = client.batches.retrieve(batch.id)
    assert again.model_dump() == batch.model_dump()
    assert client.files.content(batch.output_file_id).read() == before


def test_two_servers_cannot_share_a_data_dir(start: Factory, tmp_path: Path) -> None:
    start()
    with pytest.raises(ConfigError, match="another forge-batch server"):
        LocalServer(tmp_path / "data", executor=EchoExecutor()).start()


# -- security -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/v1/files/../../secret.data",
        "/v1/files/..%2F..%2Fsecret/content",
        "/v1/files/%2e%2e%2f%2e%2e%2fsecret/content",
        "/v1/files/%2e%2e/content",
        "/v1/files/..",
        "/v1/files/file-abcdefgh%00/content",
        "/v1/files/file-abcdefgh%2F..%2F..%2Fsecret/content",
        "/v1/files//etc/passwd/content",
        "/v1/files/%2Fetc%2Fpasswd/content",
        "/v1/batches/..%2F..%2Fsecret",
        "/v1/batches/batch_abcdefgh%00",
    ],
)
def test_path_traversal_never_leaves_the_data_dir(
    start: Factory, tmp_path: Path, path: str
) -> None:
    secret = tmp_path / "secret.data"
    secret.write_text("top secret")
    srv, _ = start()
    for method in ("GET", "DELETE"):
        status, body = _raw(srv, method, path)
        assert status in (400, 404, 405), (method, path, status)
        assert set(body["error"]) == {"message", "type", "param", "code"}
    assert secret.read_text() == "top secret"


def test_bad_input_file_id_in_batch_body(start: Factory) -> None:
    _, client = start()
    for bad in ("../../secret", "/etc/passwd", "file-abc\x00defgh", "file-..%2f..%2fx"):
        with pytest.raises(openai.NotFoundError):
            client.batches.create(
                input_file_id=bad, endpoint="/v1/chat/completions", completion_window="24h"
            )


def test_upload_over_limit_is_413_and_nothing_is_kept(start: Factory) -> None:
    srv, client = start(max_upload_bytes=1000)
    with pytest.raises(openai.APIStatusError) as declared:
        client.files.create(file=("big.jsonl", b"x" * 70_000), purpose="batch")
    assert declared.value.status_code == 413
    # No Content-Length: the limit is enforced while streaming.
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.jsonl"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()

    def chunks() -> Iterator[bytes]:
        yield head
        for _ in range(10):
            yield b"y" * 500
        yield f"\r\n--{boundary}--\r\n".encode()

    resp = httpx2.post(
        f"{srv.base_url}/files",
        content=chunks(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert resp.status_code == 413 and resp.json()["error"]["code"] == "file_too_large"
    assert list((srv.data_dir / "files").iterdir()) == []
    ok = client.files.create(file=("small.jsonl", b"z" * 1000), purpose="batch")
    assert ok.bytes == 1000


def test_non_loopback_without_token_is_refused(tmp_path: Path) -> None:
    srv = LocalServer(tmp_path / "d", executor=EchoExecutor(), host="0.0.0.0")
    with pytest.raises(ConfigError) as info:
        srv.start()
    assert "refusing to bind 0.0.0.0 without --token" in str(info.value)


def test_token_is_enforced(start: Factory) -> None:
    srv, client = start(token="s3cret-token")
    assert client.files.list().data == []
    wrong = openai.OpenAI(base_url=srv.base_url, api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.files.list()
    status, body = _raw(srv, "GET", "/v1/files")  # sends a different bearer
    assert status == 401 and body["error"]["code"] == "invalid_api_key"
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    conn.request("GET", "/v1/batches")  # no Authorization at all
    assert conn.getresponse().status == 401
    conn.close()
    leaked = [p for p in srv.data_dir.rglob("*") if p.is_file() and b"s3cret" in p.read_bytes()]
    assert leaked == []


def test_non_loopback_with_token_binds(tmp_path: Path) -> None:
    with LocalServer(tmp_path / "d", executor=EchoExecutor(), host="0.0.0.0", token="t0ken") as srv:
        client = openai.OpenAI(
            base_url=f"http://127.0.0.1:{srv.port}/v1", api_key="t0ken", max_retries=0
        )
        assert client.files.list().data == []


# -- executors ---------------------------------------------------------------------


def test_load_executor_from_module_and_file() -> None:
    by_module = load_executor("doubles_server:EchoExecutor")
    status, body = by_module(request_line("a")["body"])
    assert status == 200 and body["choices"][0]["message"]["content"] == "echo: hello"
    path = Path(__file__).with_name("doubles_server.py")
    by_file = load_executor(f"{path}:EchoExecutor")
    assert by_file(request_line("a")["body"])[1]["model"] == "echo-model"


@pytest.mark.parametrize(
    "spec",
    [
        "no_such_module_xyz:thing",
        "doubles_server:NoSuchThing",
        "/nonexistent/dir/ex.py:Thing",
        "just-a-name",
        "doubles_server:TERMINAL",
    ],
)
def test_bad_executor_spec_is_config_error(spec: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_executor(spec)
    assert spec in str(info.value)


def test_executor_crash_becomes_500_line(start: Factory) -> None:
    def broken(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        raise RuntimeError("boom")

    _, client = start(executor=broken)
    batch = wait_for(client, submit(client, lines_for(2)).id)
    assert batch.status == "completed" and batch.output_file_id is None
    err = read_jsonl(client, batch.error_file_id)
    assert [e["response"]["status_code"] for e in err] == [500, 500]
    assert "boom" in err[0]["response"]["body"]["error"]["message"]


class _FakeLlama:
    """Stands in for xllamacpp.Server to check how ModelExecutor maps results."""

    def __init__(self, result: Any) -> None:
        self.result = result
        self.seen: list[dict[str, Any]] = []

    def handle_chat_completions(self, body: dict[str, Any]) -> Any:
        self.seen.append(body)
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


@pytest.mark.parametrize(
    ("result", "status", "code"),
    [
        (ValueError("Expected 'messages' to be an array"), 400, "invalid_request"),
        (RuntimeError("segfault averted"), 500, None),
        (
            {"error": {"code": 400, "message": "too long", "type": "exceed_context_size_error"}},
            400,
            "exceed_context_size_error",
        ),
        ({"error": {"code": "weird", "message": "?"}}, 500, None),
    ],
)
def test_model_executor_maps_errors(
    tmp_path: Path, result: Any, status: int, code: str | None
) -> None:
    pytest.importorskip("xllamacpp")
    from forge_batch.server import ModelExecutor

    gguf = tmp_path / "fake.gguf"
    gguf.write_bytes(b"GGUF")
    executor = ModelExecutor(str(gguf))
    executor._server = _FakeLlama(result)
    got_status, body = executor(request_line("a")["body"])
    assert got_status == status and body["error"]["code"] == code
    assert set(body["error"]) == {"message", "type", "param", "code"}


def test_model_executor_shapes_the_completion(tmp_path: Path) -> None:
    pytest.importorskip("xllamacpp")
    from forge_batch.server import ModelExecutor

    gguf = tmp_path / "fake.gguf"
    gguf.write_bytes(b"GGUF")
    executor = ModelExecutor(str(gguf))
    raw = {"object": "chat.completion", "model": str(gguf), "timings": {}, "choices": []}
    fake = _FakeLlama(raw)
    executor._server = fake
    body = request_line("a")["body"] | {"max_completion_tokens": 7, "stream": True}
    status, out = executor(body)
    assert status == 200 and out["model"] == "echo-model" and "timings" not in out
    assert fake.seen[0]["max_tokens"] == 7
    assert "max_completion_tokens" not in fake.seen[0] and "stream" not in fake.seen[0]


def test_missing_model_file_is_config_error(tmp_path: Path) -> None:
    pytest.importorskip("xllamacpp")
    with pytest.raises(ConfigError, match="model file not found"):
        load_executor(None, model_path=str(tmp_path / "nope.gguf"))


def test_oversized_json_body_is_413(start: Factory) -> None:
    srv, _ = start()
    resp = httpx2.post(
        f"{srv.base_url}/batches",
        content=b" " * (2 * 1024 * 1024),
        headers={"Authorization": "Bearer x"},
    )
    assert resp.status_code == 413 and "error" in resp.json()


def test_kill_9_mid_batch_then_resume(tmp_path: Path, start: Factory) -> None:
    """A real crash (SIGKILL) mid-batch: a new server finishes it, each line once."""
    script = (
        "import sys; from forge_batch.server import serve, load_executor, Faults; "
        "serve(sys.argv[1], port=0, faults=Faults.parse('line_delay=0.05'), "
        "executor=load_executor('doubles_server:EchoExecutor'))"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / "data")],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stderr is not None
        url = proc.stderr.readline().split()[2]
        client = openai.OpenAI(base_url=url, api_key="k", max_retries=0)
        created = submit(client, lines_for(30))
        wait_for(client, created.id, lambda b: b.request_counts and b.request_counts.completed >= 4)
    finally:
        proc.kill()
        proc.wait(10)
        if proc.stderr is not None:
            proc.stderr.close()
    _, client = start()
    batch = wait_for(client, created.id)
    assert batch.status == "completed" and batch.request_counts.completed == 30
    out = read_jsonl(client, batch.output_file_id)
    assert sorted(r["custom_id"] for r in out) == sorted(f"req-{i}" for i in range(30))
