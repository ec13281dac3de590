"""The local Batch API server's overhead over the model it runs.

50 real seed requests of a small job (tests/data/mcp-filesystem.tools.json,
[generation] max_tokens = 128) go two ways through the real SmolLM2-135M model:

* direct: ModelExecutor from forge_batch.server (the same guards, the same model)
  called on each body in this process;
* server: `forge-batch serve --port N --data DIR` in a subprocess, driven with the
  official openai SDK: upload the file, create the batch, poll (every 0.1 s),
  download the output.

Each side is warmed first with one other request (the model loads lazily on its
first line; loading is not overhead of either path). The two sides alternate in
chunks of 10 requests (direct chunk 1, server batch of chunk 1, direct chunk 2,
...), so both meet the same load on a shared machine; each model instance sees the
same requests in the same order (same prompt-cache behaviour). The server side
pays its fixed cost per batch (upload, create, up to one poll interval at the end)
once per chunk, which overstates its overhead a little. The client polls every
1 s, the poll interval `forge-batch init` writes for the local engine.

Figure: server overhead as a share of model time = (server wall - direct wall) /
direct wall, with tokens/s of each, and CPU seconds of each side (server process
+ this client while the server runs, vs. this process while it runs the model).
Target <= 20%.

    .venv/bin/python bench/server.py [--quick]
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c

TOOLS = c.TESTS / "data" / "mcp-filesystem.tools.json"
POLL = 1.0  # forge-batch init: poll_interval = 1.0 for the local engine
CHUNK = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def lines_of(toml: Path) -> list[bytes]:
    from forge_batch import config as cfgmod
    from forge_batch.prepare import prepare

    config = cfgmod.load(toml)
    prepare(config)
    out: list[bytes] = []
    for path in c.shard_paths(config, "seed"):
        out.extend(path.read_bytes().splitlines(keepends=True))
    return out


def cpu_of(pid: int | None = None) -> float:
    """CPU seconds (user + system) of a process (default: this one)."""
    if pid is None:
        t = os.times()
        return t.user + t.system
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_direct(executor: Any, lines: list[bytes]) -> dict[str, Any]:
    import orjson

    cpu0 = cpu_of()
    t = c.Timer()
    tokens = prompt = 0
    for line in lines:
        status, body = executor(orjson.loads(line)["body"])
        assert status == 200, body
        tokens += body["usage"]["completion_tokens"]
        prompt += body["usage"]["prompt_tokens"]
    return {"seconds": t(), "tokens": tokens, "prompt_tokens": prompt, "cpu": cpu_of() - cpu0}


class Server:
    """`forge-batch serve` in a subprocess (this process started it; it stops it by pid)."""

    def __init__(self, data: Path) -> None:
        self.port = free_port()
        exe = Path(sys.executable).parent / "forge-batch"
        data.mkdir(parents=True, exist_ok=True)
        self.log = data.parent / "server.log"
        with open(self.log, "wb") as log:  # a file, not a pipe nobody reads
            self.proc = subprocess.Popen(
                [str(exe), "serve", "--port", str(self.port), "--data", str(data)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        import openai

        self.client = openai.OpenAI(
            base_url=f"http://127.0.0.1:{self.port}/v1", api_key="local", max_retries=0
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                self.client.files.list()
                break
            except Exception:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("forge-batch serve did not start") from None
                time.sleep(0.1)

    def run(self, lines: list[bytes]) -> dict[str, Any]:
        import orjson

        cpu0 = cpu_of() + cpu_of(self.proc.pid)
        t = c.Timer()
        f = self.client.files.create(
            file=("in.jsonl", io.BytesIO(b"".join(lines))), purpose="batch"
        )
        batch = self.client.batches.create(
            input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
        polls = 0
        while batch.status not in ("completed", "failed", "expired", "cancelled"):
            time.sleep(POLL)
            polls += 1
            batch = self.client.batches.retrieve(batch.id)
        assert batch.status == "completed", batch
        assert batch.output_file_id
        data = self.client.files.content(batch.output_file_id).read()
        seconds = t()
        tokens = prompt = 0
        for line in data.splitlines():
            rec = orjson.loads(line)
            body = rec["response"]["body"]
            assert rec["response"]["status_code"] == 200, rec
            tokens += body["usage"]["completion_tokens"]
            prompt += body["usage"]["prompt_tokens"]
        cpu = cpu_of() + cpu_of(self.proc.pid) - cpu0
        return {
            "seconds": seconds,
            "tokens": tokens,
            "prompt_tokens": prompt,
            "polls": polls,
            "cpu": cpu,
        }

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def main() -> None:
    args = c.parser(__doc__.splitlines()[0]).parse_args()
    started = time.perf_counter()
    report = c.Report("server", machine=c.machine())
    n = 2 if args.quick else 50
    max_tokens = 16 if args.quick else 128
    tmp = c.tmpdir("server")
    server: Server | None = None
    try:
        from forge_batch.server import ModelExecutor

        toml = c.make_project(
            tmp / "p",
            TOOLS,
            model="SmolLM2-135M-Instruct",
            seeds=n + 1,
            paraphrases_per_seed=0,
            generation={"max_tokens": max_tokens},
            engine={"kind": "local"},
        )
        lines = lines_of(toml)
        warm, work = lines[-1:], lines[:n]
        load_before = os.getloadavg()
        executor = ModelExecutor()
        run_direct(executor, warm)  # loads the model
        server = Server(tmp / "server-data")
        server.run(warm)  # loads the server's model
        direct: list[dict[str, Any]] = []
        served: list[dict[str, Any]] = []
        for i in range(0, len(work), CHUNK):
            chunk = work[i : i + CHUNK]
            direct.append(run_direct(executor, chunk))
            served.append(server.run(chunk))
            print(
                f"requests {i + 1}-{i + len(chunk)}: direct {direct[-1]['seconds']:.1f} s, "
                f"server {served[-1]['seconds']:.1f} s, load {os.getloadavg()[0]:.2f}",
                flush=True,
            )
        load_after = os.getloadavg()

        def total(runs: list[dict[str, Any]]) -> dict[str, Any]:
            keys = ("seconds", "tokens", "prompt_tokens", "cpu", "polls")
            return {k: sum(r.get(k, 0) for r in runs) for k in keys}

        d, s = total(direct), total(served)
        overhead = (s["seconds"] - d["seconds"]) / d["seconds"]
        loads = f"load {load_before[0]:.2f} before, {load_after[0]:.2f} after"
        report.machine["load"] = f"{load_before[0]:.2f} -> {load_after[0]:.2f} (1-min)"
        per_chunk = ", ".join(
            f"{a['seconds']:.0f}/{b['seconds']:.0f}" for a, b in zip(direct, served, strict=True)
        )
        report.add(
            f"server overhead, {n} requests, max_tokens {max_tokens}",
            100 * overhead,
            "% of model time",
            "<= 20%",
            d["seconds"],
            "direct wall s (ModelExecutor)",
            s["seconds"] / d["seconds"],
            overhead <= 0.20,
            note=f"server {s['seconds']:.1f} s vs direct {d['seconds']:.1f} s in "
            f"{len(direct)} alternating chunk(s) of <= {CHUNK} (direct/server s: {per_chunk}); "
            f"{s['polls']} polls at {POLL} s; {loads}",
        )
        report.add(
            "CPU seconds, server + client vs direct",
            s["cpu"],
            "CPU s",
            "-",
            d["cpu"],
            "direct CPU s",
            s["cpu"] / d["cpu"],
            note="user+system of the server process and this client during the server runs, "
            "vs. this process during the direct runs (llama.cpp threads spin while they wait "
            "for each other, so contention shows here too)",
        )
        report.add(
            "tokens/s direct",
            d["tokens"] / d["seconds"],
            "completion tokens/s",
            "-",
            note=f"{d['tokens']} completion + {d['prompt_tokens']} prompt tokens",
        )
        report.add(
            "tokens/s through the server",
            s["tokens"] / s["seconds"],
            "completion tokens/s",
            "-",
            d["tokens"] / d["seconds"],
            "tokens/s direct",
            (s["tokens"] / s["seconds"]) / (d["tokens"] / d["seconds"]),
            note=f"{s['tokens']} completion + {s['prompt_tokens']} prompt tokens "
            "(same seeds and bodies as direct; counts may differ where the prompt cache "
            "state differs)",
        )
    finally:
        if server is not None:
            server.stop()
        with contextlib.suppress(Exception):
            if not args.keep:
                shutil.rmtree(tmp, ignore_errors=True)
    c.finish(report, args, started)


if __name__ == "__main__":
    main()
