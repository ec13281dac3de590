"""The relay's throughput: is the Batch server the bottleneck in front of a model server?

An upstream that answers every chat completion in 50 ms (tests/doubles_upstream.py
--echo --delay 0.05, a test double: uvicorn on loopback, tiny answers) can serve
at most 32 / 0.05 = 640 lines/s to 32 concurrent callers. The same N lines go
two ways, in the same run:

* direct: 32 threads call RelayExecutor (the relay's own HTTP client, retries
  and all) on each body in this process: what the upstream gives 32 callers here;
* server: `forge-batch serve --relay URL --relay-concurrency 32` in a subprocess,
  driven with the official openai SDK: upload the file, create the batch, poll
  every 0.05 s, download the output (wall time from upload to downloaded output).

Figures: lines/s of each beside the 640/s limit; server overhead per line =
(server wall - direct wall) / N; the server process's CPU time per line.
Target: the server reaches >= 80% of the direct rate (the upstream bounds it).

    .venv/bin/python bench/relay.py [--quick] [--lines N]
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c

CONCURRENCY = 32
DELAY = 0.05
LIMIT = CONCURRENCY / DELAY


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not start")


def cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bodies(n: int) -> list[dict[str, Any]]:
    return [
        {"model": "bench", "messages": [{"role": "user", "content": f"line {i}"}]} for i in range(n)
    ]


def run_direct(url: str, lines: list[dict[str, Any]]) -> float:
    from forge_batch.server import RelayExecutor, RelaySettings

    ex = RelayExecutor(RelaySettings(url, concurrency=CONCURRENCY))
    ex(lines[0])  # connect once (the server side is warmed the same way)
    t = c.Timer()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        for status, _ in pool.map(ex, lines):
            assert status == 200
    seconds = t()
    ex.close()
    return seconds


def run_server(url: str, lines: list[dict[str, Any]], data: Path) -> dict[str, float]:
    import openai

    port = free_port()
    exe = Path(sys.executable).parent / "forge-batch"
    cmd = [str(exe), "serve", "--port", str(port), "--data", str(data)]
    cmd += ["--relay", url, "--relay-concurrency", str(CONCURRENCY)]
    log = open(data.parent / "server.log", "wb")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_port(port, proc, "forge-batch serve")
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0)

        def one_batch(items: list[dict[str, Any]]) -> tuple[float, float, int]:
            payload = "".join(
                json.dumps(
                    {
                        "custom_id": f"l{i}",
                        "method": "POST",
                        "url": "/v1/chat/completions",
                        "body": b,
                    }
                )
                + "\n"
                for i, b in enumerate(items)
            ).encode()
            cpu0 = cpu_of(proc.pid)
            t = c.Timer()
            f = client.files.create(file=("relay.jsonl", payload), purpose="batch")
            batch = client.batches.create(
                input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h"
            )
            while batch.status not in ("completed", "failed", "expired", "cancelled"):
                time.sleep(0.05)
                batch = client.batches.retrieve(batch.id)
            assert batch.status == "completed", batch
            out = client.files.content(batch.output_file_id).read()
            return t(), cpu_of(proc.pid) - cpu0, out.count(b"\n")

        one_batch(lines[:1])  # warm: imports, first connection
        seconds, cpu, got = one_batch(lines)
        assert got == len(lines), got
        return {"seconds": seconds, "cpu": cpu}
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def main() -> None:
    args = c.parser(__doc__.splitlines()[0])
    args.add_argument("--lines", type=int, default=None)
    opts = args.parse_args()
    started = time.perf_counter()
    n = opts.lines or (320 if opts.quick else 3200)
    report = c.Report("relay", machine=c.machine())
    work = c.tmpdir("relay")
    port = free_port()
    upstream_cmd = [sys.executable, str(c.TESTS / "doubles_upstream.py"), "--port", str(port)]
    upstream_cmd += ["--echo", "--delay", str(DELAY)]
    upstream = subprocess.Popen(upstream_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, upstream, "upstream")
        url = f"http://127.0.0.1:{port}/v1"
        lines = bodies(n)
        direct = run_direct(url, lines)
        server = run_server(url, lines, work / "server-data")
    finally:
        upstream.terminate()
        upstream.wait(30)
    direct_rate, server_rate = n / direct, n / server["seconds"]
    report.add(
        "lines/s direct to the upstream (32 threads)",
        direct_rate,
        "lines/s",
        "-",
        LIMIT,
        "upstream limit 32 / 0.05 s",
        direct_rate / LIMIT,
    )
    report.add(
        "lines/s through forge-batch serve --relay (upload to download)",
        server_rate,
        "lines/s",
        ">= 80% of direct",
        direct_rate,
        "direct, same run",
        server_rate / direct_rate,
        server_rate >= 0.8 * direct_rate,
        note=f"upstream limit {LIMIT:.0f}/s: {server_rate / LIMIT:.0%} of it",
    )
    overhead_ms = (server["seconds"] - direct) / n * 1000
    report.add(
        "server overhead per line (wall)",
        overhead_ms,
        "ms/line",
        "-",
        DELAY * 1000 / CONCURRENCY,
        "upstream time per line at 32 lanes (ms)",
    )
    report.add("server CPU per line", server["cpu"] / n * 1000, "ms CPU/line", "-")
    report.notes.append(
        f"{n} lines, {CONCURRENCY} lanes, upstream answers in {DELAY * 1000:.0f} ms"
    )
    c.finish(report, opts, started)
    if not opts.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
