"""Secrets and exposure, through the real CLI and a real `forge-batch serve` process.

* The API key never lands in any file forge-batch or its server writes, nor in
  what the commands print: a whole job (with a few faults, so error paths
  run too) uses a recognizable fake key, then every byte is grepped.
* Error messages that echo an HTTP request are redacted (engine.redact): a
  401 from the local server with --token, and a 401 from an endpoint that
  echoes the Authorization header back in its error message.
* The server refuses to bind a non-loopback host without a token (exit 2,
  one line), and a too-large upload is a 413 the client reports in one line
  and resumes from once the limit allows it.
Path traversal, NUL bytes and the 413 at the HTTP level are covered in
tests/test_server_api.py.
"""

from __future__ import annotations

import http.server
import json
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from accounting import account, status_json
from faultkit import (
    BIN,
    EXECUTOR,
    FAKE_KEY,
    Done,
    Server,
    Servers,
    cli,
    env,
    free_port,
    make_project,
    ok,
    point_at,
    servers_fixture,  # noqa: F401 (fixture "servers")
)

MARKERS = (FAKE_KEY.encode(), b"LEAKCHECK")


def leaks(*folders: Path) -> list[str]:
    """Files under ``folders`` whose bytes hold the key (or its marker)."""
    found = []
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                found += [f"{path}: {m!r}" for m in MARKERS if m in data]
    return found


def printed(*runs: Done) -> list[str]:
    return [str(r) for r in runs if any(m.decode() in r.out + r.err for m in MARKERS)]


def test_the_key_is_in_no_file_and_no_output(servers: Servers, tmp_path: Path) -> None:
    srv = servers.start("line_500=0.2,http_500=0.05,http_429=0.05,seed=3")
    cfg = make_project(tmp_path / "p", srv, seeds=8, paraphrases_per_seed=1)
    runs = [
        ok(cfg, "prepare"),
        ok(cfg, "submit", "--wait"),
        ok(cfg, "collect"),
        ok(cfg, "run"),
        ok(cfg, "status", "--json"),
        ok(cfg, "cancel"),
        ok(cfg, "export", "--format", "openai", "-o", str(cfg.parent / "out" / "ft.jsonl")),
    ]
    account(cfg, status=status_json(runs[4].out), server_data=srv.data)
    assert (cfg.parent / "out" / "ft.jsonl").stat().st_size > 0
    srv.kill()  # flush and close everything the server holds
    assert leaks(cfg.parent, srv.data, srv.log.parent) == []
    assert printed(*runs) == []


def test_a_401_does_not_echo_the_key(servers: Servers, tmp_path: Path) -> None:
    srv = servers.start(token="the-server-token-1234")
    cfg = make_project(tmp_path / "p", srv, seeds=4, paraphrases_per_seed=0)
    ok(cfg, "prepare")
    for debug in ("", "1"):
        done = cli(cfg, "submit", FORGE_BATCH_DEBUG=debug) if debug else cli(cfg, "submit")
        assert done.code == 1, str(done)
        assert printed(done) == [], str(done)
        if not debug:
            assert len(done.err.strip().splitlines()) == 1, str(done)
            assert "HTTP 401" in done.err and "check OPENAI_API_KEY" in done.err
    # the right key works, and resumes the shard left "uploading"
    ok(cfg, "submit", "--wait", key="the-server-token-1234")
    assert leaks(cfg.parent, srv.data) == []


class _EchoingAuth(http.server.BaseHTTPRequestHandler):
    """A careless endpoint: its 401 message repeats the Authorization header."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = json.dumps(
            {
                "error": {
                    "message": f"Incorrect API key provided: {self.headers.get('Authorization')}",
                    "type": "invalid_request_error",
                    "code": "invalid_api_key",
                }
            }
        ).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echoing_endpoint() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EchoingAuth)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_an_endpoint_echoing_the_key_is_redacted(
    servers: Servers, tmp_path: Path, echoing_endpoint: str
) -> None:
    srv = servers.start()
    cfg = make_project(tmp_path / "p", srv, seeds=4, paraphrases_per_seed=0)
    ok(cfg, "prepare")
    fake = Server(srv.data, int(echoing_endpoint.rsplit(":", 1)[1].split("/")[0]), srv.log)
    point_at(cfg, fake)
    for debug in ("", "1"):
        done = cli(cfg, "submit", FORGE_BATCH_DEBUG=debug) if debug else cli(cfg, "submit")
        assert done.code == 1, str(done)
        assert printed(done) == [], str(done)  # the echoed key is redacted ...
        assert "***" in done.err, str(done)  # ... not just absent
    assert leaks(cfg.parent) == []


def test_serve_refuses_a_public_host_without_a_token(tmp_path: Path) -> None:
    cmd = [str(BIN), "serve", "--host", "0.0.0.0", "--port", str(free_port())]
    cmd += ["--data", str(tmp_path / "d"), "--executor", EXECUTOR]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env())
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # it started serving: the test fails, and the server stops
            proc.kill()
            proc.communicate()
    text = err.decode()
    assert proc.returncode == 2, text
    assert len(text.strip().splitlines()) == 1
    assert "refusing to bind 0.0.0.0 without --token" in text


def test_an_upload_over_the_limit_is_413_then_resumes(servers: Servers, tmp_path: Path) -> None:
    port = free_port()
    srv = Server(tmp_path / "srv", port, tmp_path / "srv.log")
    servers.started.append(srv)
    base = [str(BIN), "serve", "--executor", EXECUTOR, "--port", str(port)]
    base += ["--data", str(srv.data)]
    # a small limit first: start by hand with --max-upload-bytes
    log = open(srv.log, "ab")  # noqa: SIM115 (closed below)
    try:
        srv.proc = subprocess.Popen([*base, "--max-upload-bytes", "2000"], stdout=log, stderr=log)
        _wait_port(port)
        cfg = make_project(tmp_path / "p", srv, seeds=4, paraphrases_per_seed=0)
        ok(cfg, "prepare")
        done = cli(cfg, "submit")
        assert done.code == 1 and len(done.err.strip().splitlines()) == 1, str(done)
        assert "HTTP 413" in done.err, str(done)
        files = srv.data / "files"
        assert not files.exists() or not [p for p in files.iterdir() if p.suffix == ".data"]
    finally:
        srv.kill()
        log.close()
    srv.start()  # the default limit: the shard left "uploading" is uploaded now, once
    ok(cfg, "run")
    status = status_json(ok(cfg, "status", "--json").out)
    account(cfg, status=status, server_data=srv.data)
    assert status["stages"]["seed"]["cached"] == 4


def _wait_port(port: int) -> None:
    import socket
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")
