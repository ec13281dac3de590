"""Shared helpers for the benchmarks: synthetic tools, throwaway projects, child
processes with their peak RSS, fabricated Batch output files, machine facts and
the result format that bench/run_all.py turns into docs/benchmarks.md.

Every benchmark drives the product's own functions (prepare(), collect's import
path, build.build()) on real temporary projects; nothing here re-implements them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
TESTS = ROOT / "tests"
PYTHON = sys.executable
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(1, str(TESTS))  # tests/doubles.py (FakeModel) and tests/schema_faker.py

os.environ.setdefault("FORGE_BATCH_PROGRESS", "0")  # no progress bars in timings


# -- results -------------------------------------------------------------------


@dataclass
class Row:
    """One line of the results table."""

    figure: str  # what was measured, e.g. "prepare 100k cold"
    value: float
    unit: str
    target: str  # in words, e.g. ">= 50,000"
    floor: float | None = None  # the floor measured in the same run (same unit unless noted)
    floor_what: str = ""  # what the floor is
    ratio: float | None = None  # value / floor (or as the row says)
    ok: bool | None = None  # None: no target, informational
    note: str = ""


@dataclass
class Report:
    name: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    machine: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, *args: Any, **kwargs: Any) -> Row:
        row = Row(*args, **kwargs)
        self.rows.append(row)
        return row

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "rows": [asdict(r) for r in self.rows],
            "notes": self.notes,
            "machine": self.machine,
            "seconds": self.seconds,
        }

    def print(self) -> None:
        print(f"\n== {self.name} ({self.seconds:.1f} s, load {self.machine.get('load')}) ==")
        for r in self.rows:
            floor = f"  floor {fmt(r.floor)} ({r.floor_what})" if r.floor is not None else ""
            ratio = f"  ratio {r.ratio:.2f}" if r.ratio is not None else ""
            verdict = "" if r.ok is None else ("  PASS" if r.ok else "  MISS")
            print(
                f"  {r.figure}: {fmt(r.value)} {r.unit}  target {r.target}{floor}{ratio}{verdict}"
            )
            if r.note:
                print(f"      {r.note}")
        for n in self.notes:
            print(f"  note: {n}")


def fmt(x: float | None) -> str:
    if x is None:
        return "-"
    if isinstance(x, int) or (abs(x) >= 100 and float(x).is_integer()):
        return f"{int(x):,}"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.3g}"


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = "?"
    try:  # read-only: which code was measured
        commit = (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
            ).stdout.strip()
            or "?"
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        if dirty:
            commit += " + uncommitted changes in src/"
    except OSError:
        pass
    return {
        "commit": commit,
        "time": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load": "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg()),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="smoke-run sizes (seconds)")
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    p.add_argument("--keep", action="store_true", help="keep the temporary projects")
    return p


def finish(report: Report, args: argparse.Namespace, started: float) -> None:
    report.seconds = time.perf_counter() - started
    report.machine.setdefault("load", machine()["load"])
    report.print()
    if args.json:
        args.json.write_text(json.dumps(report.to_json(), indent=2))


# -- child processes -----------------------------------------------------------

RESULT_MARK = "@@BENCH-RESULT@@ "


def emit(result: dict[str, Any]) -> None:
    """What a child prints as its last line for the parent to read."""
    print(RESULT_MARK + json.dumps(result), flush=True)


def run_child(script: Path, child: str, payload: dict[str, Any]) -> tuple[dict[str, Any], float]:
    """Run ``script --child NAME`` with ``payload`` (JSON on stdin); -> (its result,
    its peak RSS in MB).

    The peak is the VmHWM the child reads from /proc/self/status as it ends (and the
    stage peaks it reports, when it resets the counter between stages). wait4's
    ru_maxrss is not used: Linux carries the parent's peak across fork/exec into it,
    so a child of a big parent would report the parent's size."""
    proc = subprocess.Popen(
        [PYTHON, str(script), "--child", child],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(payload))
    proc.stdin.close()
    out = proc.stdout.read()
    if proc.wait() != 0:
        sys.stderr.write(out)
        raise RuntimeError(f"{script.name} --child {child} exited {proc.returncode}")
    lines = [ln for ln in out.splitlines() if ln.startswith(RESULT_MARK)]
    if not lines:
        sys.stderr.write(out)
        raise RuntimeError(f"{script.name} --child {child} printed no result")
    result = json.loads(lines[-1][len(RESULT_MARK) :])
    peaks = [result.get("vm_hwm_mb", 0.0), *(result.get("peaks") or {}).values()]
    return result, max(peaks)


def child_payload() -> dict[str, Any]:
    return json.loads(sys.stdin.read() or "{}")


def vm_hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return 0.0


def hwm_reset() -> float:
    """VmHWM so far (MB), then reset it (Linux clear_refs 5), to attribute peaks to stages."""
    peak = vm_hwm_mb()
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    return peak


def baseline_rss(script: Path, modules: tuple[str, ...]) -> float:
    """Peak RSS of a child that only imports ``modules`` (what the measured child
    imports) and returns: the floor of RSS."""
    _, rss = run_child(script, "baseline", {"modules": list(modules)})
    return rss


def baseline_child() -> None:
    import importlib

    for name in child_payload().get("modules", []):
        importlib.import_module(name)
    emit({"vm_hwm_mb": vm_hwm_mb()})


def best(values: Iterable[float]) -> float:
    return max(values)


# -- projects ------------------------------------------------------------------


def write_toml(path: Path, values: dict[str, Any]) -> None:
    """A forge.toml from nested dicts (as tests/conftest.py's write_toml)."""
    top = [(k, v) for k, v in values.items() if not isinstance(v, dict)]
    tables = [(k, v) for k, v in values.items() if isinstance(v, dict)]
    lines = [f"{k} = {json.dumps(v)}" for k, v in top]
    for name, table in tables:
        lines.append(f"\n[{name}]")
        lines.extend(f"{k} = {json.dumps(v)}" for k, v in table.items())
    path.write_text("\n".join(lines) + "\n")


def make_project(root: Path, tools: Path | list[dict[str, Any]], **settings: Any) -> Path:
    """A project folder like tests/conftest.py's make_project, engine "openai" by
    default so nothing starts and nothing goes to the network. The judge stage is
    off unless ``judge={...}`` is given (bench/collect.py measures it)."""
    root.mkdir(parents=True, exist_ok=True)
    if isinstance(tools, Path):
        shutil.copy(tools, root / "tools.json")
    else:
        (root / "tools.json").write_text(json.dumps({"tools": tools}))
    values: dict[str, Any] = {
        "tools": "tools.json",
        "model": "gpt-4o-mini",
        "seeds": 100,
        "paraphrases_per_seed": 0,
        "random_seed": 7,
    }
    engine = {"kind": "openai", "poll_interval": 0.0}
    engine.update(settings.pop("engine", {}))
    values["judge"] = {"enabled": False}
    values.update(settings)
    values["engine"] = engine
    write_toml(root / "forge.toml", values)
    return root / "forge.toml"


def batch_price(model: str) -> tuple[float, float]:
    """USD per 1M (input, output) tokens of ``model`` with the default batch discount."""
    from forge_batch.config import DEFAULT_PRICES

    price = DEFAULT_PRICES[model]
    return price.input * 0.5, price.output * 0.5


def tmpdir(prefix: str) -> Path:
    base = os.environ.get("FORGE_BENCH_TMP") or None
    return Path(tempfile.mkdtemp(prefix=f"fb-bench-{prefix}-", dir=base))


def mark_collected(config: Any, stage: str | None = None) -> int:
    """Record every manifest shard not yet in the ledger as submitted and collected
    (what submit + collect would leave behind), so the next prepare keeps them and
    collect's import path can match their lines by custom_id. -> shards marked."""
    from forge_batch.ledger import ShardRecord, State

    state = State(config.paths.batches)
    done = {(r.file, r.sha256) for r in state.ledger.values()}
    n = 0
    for info in state.manifest:
        if (info.file, info.sha256) in done or (stage and info.stage != stage):
            continue
        rec = ShardRecord.of(
            info,
            state="collected",
            batch_id=f"batch_bench_{info.file.removesuffix('.jsonl')}",
            status="completed",
        )
        state.add(rec)
        n += 1
    state.save_ledger()
    return n


def shard_paths(config: Any, stage: str | None = None) -> list[Path]:
    """Shard files of the manifest, in manifest (= submission) order."""
    from forge_batch.ledger import State

    state = State(config.paths.batches)
    return [
        config.paths.batches / s.file for s in state.manifest if stage is None or s.stage == stage
    ]


def iter_requests(paths: Iterable[Path]) -> Iterator[tuple[str, dict[str, Any]]]:
    import orjson

    for path in paths:
        with open(path, "rb") as fh:
            for line in fh:
                rec = orjson.loads(line)
                yield rec["custom_id"], rec["body"]


# -- fabricated Batch output -----------------------------------------------------

Mutator = Callable[[str, dict[str, Any], dict[str, Any], random.Random], str | None]


def output_line(key: str, n: int, response: dict[str, Any]) -> bytes:
    """One line of an OpenAI Batch output file."""
    import orjson

    return (
        orjson.dumps(
            {
                "id": f"batch_req_{n:08d}",
                "custom_id": key,
                "response": {
                    "status_code": 200,
                    "request_id": f"req_{n:08d}",
                    "body": response,
                },
                "error": None,
            }
        )
        + b"\n"
    )


def fabricate(
    requests: Iterable[tuple[str, dict[str, Any]]],
    out: Path,
    mutate: Mutator | None = None,
    seed: int = 1,
) -> dict[str, int]:
    """Answer every request with FakeModel, let ``mutate`` damage some (it returns the
    kind of damage, or None), shuffle (OpenAI does not keep order) and write ``out``."""
    from doubles import FakeModel

    model = FakeModel()
    rng = random.Random(seed)
    lines: list[bytes] = []
    kinds: dict[str, int] = {}
    for n, (key, body) in enumerate(requests):
        status, response = model(body)
        assert status == 200
        kind = mutate(key, body, response, rng) if mutate else None
        kinds[kind or "clean"] = kinds.get(kind or "clean", 0) + 1
        lines.append(output_line(key, n, response))
    rng.shuffle(lines)
    with open(out, "wb") as fh:
        fh.writelines(lines)
    kinds["lines"] = len(lines)
    return kinds


def content(response: dict[str, Any]) -> str:
    return response["choices"][0]["message"]["content"]


def set_content(response: dict[str, Any], text: str) -> None:
    response["choices"][0]["message"]["content"] = text


def invalid_seed(rate: float) -> Mutator:
    """~rate of seed responses made invalid, four kinds in equal parts: not JSON,
    a wrong tool name, a schema violation, cut off (finish_reason length)."""

    def mutate(
        key: str, body: dict[str, Any], response: dict[str, Any], rng: random.Random
    ) -> str | None:
        if rng.random() >= rate:
            return None
        kind = rng.choice(("not_json", "wrong_tool", "schema", "truncated"))
        text = content(response)
        data = json.loads(text)
        calls = data.get("calls") or data.get("calls_1")
        if kind in ("wrong_tool", "schema") and not calls:
            kind = "not_json"  # no_tool / ambiguous answers have no call to damage
        if kind == "not_json":
            set_content(response, text[: len(text) // 2] + " ...and so on")
        elif kind == "truncated":
            set_content(response, text[: len(text) // 2])
            response["choices"][0]["finish_reason"] = "length"
        elif kind == "wrong_tool":
            calls[0]["name"] = calls[0]["name"] + "_v2"
            set_content(response, json.dumps(data))
        else:  # schema: an argument of the wrong type, or an unknown one
            args = calls[0].get("arguments")
            if isinstance(args, dict) and args:
                first = next(iter(args))
                args[first] = {"unexpected": [1, 2, 3]}
            else:
                calls[0]["arguments"] = {"not_a_parameter": 42}
            set_content(response, json.dumps(data))
        return kind

    return mutate


def near_copy(text: str, rng: random.Random) -> str:
    """A lazy paraphrase: the same words with small edits."""
    edits = [
        lambda t: t.rstrip("?.!") + ", please.",
        lambda t: "Hi! " + t,
        lambda t: t.replace("Could you", "Can you").replace("Please", "please"),
        lambda t: t.lower(),
        lambda t: t + " Thanks!",
    ]
    return rng.choice(edits)(text)


def paraphrase_mix(invalid_rate: float, near_rate: float) -> Mutator:
    """Paraphrase responses: ~near_rate of them near-copies of the seed's user text,
    ~invalid_rate invalid (not JSON or cut off)."""

    def mutate(
        key: str, body: dict[str, Any], response: dict[str, Any], rng: random.Random
    ) -> str | None:
        r = rng.random()
        if r < invalid_rate:
            text = content(response)
            if rng.random() < 0.5:
                set_content(response, text[: len(text) // 2])
                response["choices"][0]["finish_reason"] = "length"
                return "truncated"
            set_content(response, "Sure! Here are the paraphrases: " + text[:40])
            return "not_json"
        if r < invalid_rate + near_rate:
            prompt = body["messages"][-1]["content"]
            seed_text = prompt.split("\nMessage:\n", 1)[1]
            data = json.loads(content(response))
            data["paraphrases"] = [near_copy(seed_text, rng) for _ in data["paraphrases"]]
            set_content(response, json.dumps(data, ensure_ascii=False))
            return "near_copy"
        return None

    return mutate


# -- synthetic tool sets -----------------------------------------------------------

VERBS = (
    "get", "list", "create", "update", "delete", "search", "send", "schedule",
    "cancel", "export", "import", "archive", "approve", "assign", "book", "convert",
    "estimate", "fetch", "merge", "notify", "publish", "refund", "rename", "resize",
    "restore", "sync", "tag", "track", "translate", "validate",
)  # fmt: skip
NOUNS = (
    "invoice", "order", "customer", "ticket", "meeting", "report", "shipment",
    "payment", "user", "project", "task", "document", "image", "playlist", "flight",
    "hotel_room", "calendar_event", "repository", "pull_request", "dataset",
    "subscription", "coupon", "warehouse_item", "employee", "contract", "lead",
    "campaign", "sensor_reading", "recipe", "parcel", "message", "folder", "backup",
    "vm_instance", "dns_record", "certificate", "alert", "dashboard", "note", "expense",
)  # fmt: skip
FIELDS = (
    "name", "title", "email", "city", "country", "currency", "amount", "quantity",
    "priority", "status", "due_date", "start_time", "end_time", "notes", "tags",
    "owner_id", "language", "timezone", "url", "phone", "region", "category", "limit",
    "offset", "sort_by", "include_archived", "dry_run", "reason", "color", "size",
    "weight_kg", "address", "zip_code", "comment", "label", "version", "channel",
    "format", "max_results", "query",
)  # fmt: skip
ENUMS = {
    "priority": ["low", "normal", "high", "urgent"],
    "status": ["draft", "open", "in_progress", "done", "cancelled"],
    "currency": ["USD", "EUR", "GBP", "JPY", "CHF"],
    "sort_by": ["created_at", "updated_at", "name", "relevance"],
    "format": ["json", "csv", "pdf", "xlsx"],
    "color": ["red", "green", "blue", "black", "white"],
    "size": ["XS", "S", "M", "L", "XL"],
    "channel": ["email", "sms", "slack", "push"],
    "language": ["en", "fr", "de", "es", "ja", "pt"],
}
FORMATS = {
    "email": "email",
    "due_date": "date",
    "start_time": "date-time",
    "end_time": "date-time",
    "owner_id": "uuid",
}
SENTENCES = (
    "Only works for records the caller can access.",
    "Returns an error when the record does not exist.",
    "Results are paginated; use offset and limit to page through them.",
    "Changes are applied immediately and cannot be undone.",
    "Use this when the user mentions a specific identifier.",
    "Times are interpreted in the account's timezone unless one is given.",
    "Large requests may take several seconds to complete.",
    "Prefer the search tool when the identifier is unknown.",
)


def _param(name: str, rng: random.Random, depth: int) -> dict[str, Any]:
    desc = f"The {name.replace('_', ' ')} of the request."
    if name in ENUMS:
        return {"type": "string", "enum": ENUMS[name], "description": desc}
    if name in FORMATS:
        return {"type": "string", "format": FORMATS[name], "description": desc}
    if name in ("amount", "weight_kg"):
        return {"type": "number", "minimum": 0, "description": desc}
    if name in ("quantity", "limit", "offset", "max_results"):
        spec: dict[str, Any] = {"type": "integer", "minimum": 0, "description": desc}
        if name in ("limit", "max_results"):
            spec.update(maximum=500, default=50)
        return spec
    if name in ("include_archived", "dry_run"):
        return {"type": "boolean", "default": False, "description": desc}
    if name == "tags":
        return {"type": "array", "items": {"type": "string"}, "description": desc}
    if name == "zip_code":
        return {"type": "string", "pattern": "^[0-9]{5}$", "description": desc}
    if name == "address" and depth < 2:
        return {
            "type": "object",
            "description": "Postal address.",
            "properties": {
                "street": {"type": "string"},
                "city": {"type": "string"},
                "zip_code": {"type": "string", "pattern": "^[0-9]{5}$"},
                "country": {"type": "string", "description": "ISO 3166 alpha-2 code."},
            },
            "required": ["street", "city"],
        }
    return {"type": "string", "description": desc}


def synth_tools(n: int, seed: int = 1234) -> list[dict[str, Any]]:
    """``n`` MCP tools with varied realistic schemas (deterministic in ``seed``):
    strings with enums, formats and patterns, numbers with bounds, booleans with
    defaults, arrays of strings and of objects, nested objects, optional fields."""
    rng = random.Random(seed)
    names: list[str] = []
    for noun in NOUNS:
        for verb in VERBS:
            names.append(f"{verb}_{noun}")
    rng.shuffle(names)
    base = len(names)
    names += [f"{names[i % base]}_v{i // base + 1}" for i in range(base, n)]  # past 1,200
    tools = []
    for i, name in enumerate(names[:n]):
        verb, noun = names[i % base].split("_", 1)
        k = rng.randint(2, 7)
        fields = rng.sample(FIELDS, k)
        props: dict[str, Any] = {
            f"{noun}_id": {"type": "string", "description": f"ID of the {noun.replace('_', ' ')}."}
        }
        for f in fields:
            props[f] = _param(f, rng, 0)
        if rng.random() < 0.25:  # an array of objects
            props["line_items"] = {
                "type": "array",
                "description": "Items, each with a SKU and a quantity.",
                "items": {
                    "type": "object",
                    "properties": {
                        "sku": {"type": "string"},
                        "quantity": {"type": "integer", "minimum": 1},
                        "unit_price": {"type": "number"},
                    },
                    "required": ["sku", "quantity"],
                },
            }
        if rng.random() < 0.2:  # a nested options object with optional fields
            props["options"] = {
                "type": "object",
                "description": "Advanced options.",
                "properties": {
                    "notify": {"type": "boolean"},
                    "retries": {"type": "integer", "minimum": 0, "maximum": 5},
                    "mode": {"type": "string", "enum": ["fast", "safe", "thorough"]},
                },
            }
        required = [f"{noun}_id"] + [f for f in fields if rng.random() < 0.4]
        words = noun.replace("_", " ")
        description = f"{verb.capitalize()} a {words}. " + " ".join(
            rng.sample(SENTENCES, rng.randint(0, 3))
        )
        tool: dict[str, Any] = {
            "name": name,
            "description": description.strip(),
            "inputSchema": {"type": "object", "properties": props, "required": required},
        }
        if rng.random() < 0.3:
            tool["outputSchema"] = {
                "type": "object",
                "properties": {
                    "ok": {"type": "boolean"},
                    "id": {"type": "string"},
                    "message": {"type": "string"},
                },
                "required": ["ok"],
            }
        tools.append(tool)
    return tools


class Timer:
    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    def __call__(self) -> float:
        return time.perf_counter() - self.t0


def child_main(children: dict[str, Callable[[dict[str, Any]], dict[str, Any]]]) -> bool:
    """Dispatch ``--child NAME`` (payload on stdin); True when this was a child run."""
    if "--child" not in sys.argv:
        return False
    name = sys.argv[sys.argv.index("--child") + 1]
    if name == "baseline":
        baseline_child()
        return True
    result = children[name](child_payload())
    result.setdefault("vm_hwm_mb", vm_hwm_mb())
    emit(result)
    return True
