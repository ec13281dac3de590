"""Plain-text summaries for the terminal (stdout); the CLI stays thin."""

from __future__ import annotations

from typing import Any

from . import reasoning
from .build import BuildResult
from .collect import CollectResult
from .config import Config
from .costs import batch_cost, money
from .prepare import PrepareResult
from .run import RunResult
from .tools import ToolSet


def table(headers: list[str], rows: list[list[object]]) -> str:
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def tools_check(toolset: ToolSet) -> str:
    out = [
        f"{toolset.path}: {toolset.format} format, {len(toolset.tools)} tool(s) usable, "
        f"{len(toolset.skipped)} skipped"
    ]
    for tool in toolset.tools:
        head = f"ok      {tool.export_name}"
        if tool.export_name != tool.name:
            head += f" (source name {tool.name!r})"
        if tool.notes:
            out.append(head)
        elif tool.strict == tool.parameters:
            out.append(head + ": converted unchanged")
        else:  # only keywords without meaning for generation (titles, comments) were dropped
            out.append(head + ": converted; same meaning (titles, comments or examples dropped)")
        out.extend(f"          - {note}" for note in tool.notes)
    for skip in toolset.skipped:
        out.append(f"skipped {skip.name} ({skip.where}): {skip.reason}")
    return "\n".join(out)


def prepare_summary(result: PrepareResult, config: Config) -> str:
    rows = [
        [stage, c.planned, c.cached, c.in_flight, c.given_up, c.written]
        for stage, c in result.stages.items()
    ]
    out = [table(["stage", "planned", "cached", "in flight", "failed", "written"], rows)]
    for shard in result.shards:
        out.append(
            f"wrote {config.paths.batches.name}/{shard.file}: {shard.lines} requests, "
            f"{shard.bytes / 1e6:.2f} MB"
        )
    if result.replaced:
        out.append(f"replaced {len(result.replaced)} unsubmitted shard(s)")
    if result.dropped:
        out.append(f"dropped {len(result.dropped)} corrupted cache entries; requesting them again")
    chars = sum(c.prompt_chars for c in result.stages.values())
    out_cap = sum(c.output_token_cap for c in result.stages.values())
    if result.written:
        tokens = chars / 4
        line = (
            f"estimate: ~{tokens:,.0f} prompt tokens (characters/4, an estimate) and at most "
            f"{out_cap:,} output tokens"
        )
        effort = config.generation.reasoning_effort
        if effort:
            line += (
                " (reasoning tokens are billed as output out of this cap; the default cap at "
                f"reasoning_effort {effort} holds {reasoning.ALLOWANCE[effort]:,} a request "
                "for them: docs/config.md)"
            )
        price = config.price()
        if price is None:
            line += f'; no price for {config.model!r} (add [prices."{config.model}"])'
        else:
            low = batch_cost(config, price, tokens)
            high = batch_cost(config, price, tokens, out_cap)
            line += (
                f"; cost {money(low)} for prompts, at most {money(high)} in all at "
                f"{config.model} batch prices ({config.batch_discount:.0%} off)"
            )
        out.append(line)
    else:
        out.append("nothing to send: every planned request is cached, in flight or given up")
    cap_note = paraphrase_budget_note(config)
    if cap_note:
        out.append(cap_note)
    return "\n".join(out)


def paraphrase_budget_note(config: Config) -> str | None:
    """Warn when the cap will discard most of the paraphrases asked for."""
    from .merge import max_synthetic

    if config.paraphrases_per_seed <= 1 or config.synthetic_cap >= 0.5:
        return None
    keep = max_synthetic(100, config.synthetic_cap)
    asked = 100 * config.paraphrases_per_seed
    if keep * 2 > asked:
        return None
    return (
        f"note: at synthetic_cap {config.synthetic_cap:g} at most {keep} paraphrases per 100 "
        f"kept seeds can be used, but {asked} are asked for; a lower paraphrases_per_seed "
        "saves tokens"
    )


def _dataset_line(built: BuildResult, config: Config) -> str:
    parts = ", ".join(f"{n} {src}" for src, n in sorted(built.kept.items())) or "empty"
    rejected = sum(built.stats.rejects.values())
    return (
        f"dataset: {built.total} samples ({parts}) -> {built.dataset}; {rejected} rejected "
        f"-> {built.rejects}; report -> {config.paths.out / 'report.md'}"
    )


def collect_summary(collected: CollectResult, built: BuildResult, config: Config) -> str:
    out = []
    for b in collected.batches:
        reasons = ", ".join(f"{n} {r}" for r, n in sorted(b.reasons.items()))
        out.append(
            f"{b.file} ({b.batch_id}, {b.status}): {b.cached} cached, {b.failed} failed"
            + (f" ({reasons})" if reasons else "")
        )
    if collected.imported is not None:
        imp = collected.imported
        why = ", ".join(f"{n} {r}" for r, n in sorted(imp.reasons.items()))
        out.append(
            f"imported {imp.path.name}: {imp.cached} cached, {imp.failed} failed"
            + (f" ({why})" if why else "")
            + (f", {imp.given_up} of them given up" if imp.given_up else "")
            + f", {imp.unknown} not sent by this project"
        )
        if imp.first:
            out.append(f"  first failed {imp.first}")
    if collected.waiting:
        out.append(f"{collected.waiting} batch(es) still running; collect again later")
    if not collected.batches and not collected.waiting:
        out.append("no batch to collect")
    if built.dropped_cache_entries:
        out.append(
            f"dropped {len(built.dropped_cache_entries)} corrupted cache entries; "
            "prepare will request them again"
        )
    out.append(_dataset_line(built, config))
    return "\n".join(out)


def run_summary(result: RunResult, config: Config) -> str:
    built = result.built
    assert built is not None
    stats = built.stats
    rows = [
        [name, st.planned, st.cached, st.pending, st.given_up, st.accepted, st.rejected]
        for name, st in stats.stages.items()
    ]
    out = [table(["stage", "planned", "responses", "pending", "failed", "kept", "rejected"], rows)]
    batches = sum(len(r.submitted.submitted) for r in result.rounds)
    out.append(
        f"sent {result.sent} request(s) in {batches} batch(es) over "
        f"{len(result.rounds)} round(s)"
        + ("" if result.finished else "; stopped at the round limit")
    )
    out.append(_dataset_line(built, config))
    return "\n".join(out)


def _unsent(b: dict[str, Any], busy: bool) -> str | None:
    """A shard the ledger holds but no batch runs: what happened and what to run."""
    if b["state"] not in ("uploading", "uploaded"):
        return None
    if busy:
        return f"{b['file']}: {b['state']} now ({b['lines']} requests)"
    what = (
        "the upload failed or was cut short"
        if b["state"] == "uploading"
        else "uploaded, but creating its batch failed"
    )
    return (
        f"{b['file']}: {what}; not in flight ({b['lines']} requests wait): "
        "run `forge-batch submit` (or `forge-batch run`) to send it"
    )


def status_text(report: dict[str, Any], busy: bool = False) -> str:
    """The status report for people; ``busy``: another command holds the project lock."""
    rows = [
        [
            name,
            s["planned"],
            s["cached"],
            s["pending"],
            s["in_flight"],
            s["failed"],
            s["accepted"],
            s["rejected"],
        ]
        for name, s in report["stages"].items()
    ]
    out = [
        table(
            ["stage", "planned", "cached", "pending", "in flight", "failed", "kept", "rejected"],
            rows,
        )
    ]
    for name, s in report["stages"].items():
        if s["failed_reasons"]:
            reasons = ", ".join(f"{n} {r}" for r, n in s["failed_reasons"].items())
            out.append(f"{name} failed: {reasons}")
    for b in report["batches"]:
        counts = b["request_counts"] or {}
        unsent = _unsent(b, busy)
        if unsent:
            out.append(unsent)
            continue
        out.append(
            f"batch {b['batch_id'] or '-'} {b['file']}: {b['state']}/{b['status'] or '-'} "
            f"{counts.get('completed', 0)}+{counts.get('failed', 0)}/{b['lines']}"
        )
    waiting = [b["file"] for b in report["batches"] if b["state"] == "queued"]
    if waiting:
        out.append(
            "queued until the enqueued-token quota has room "
            f"([engine] enqueued_token_limit, queue_wait): {len(waiting)} "
            "shard(s): " + ", ".join(waiting)
        )
    taken = [b["file"] for b in report["batches"] if b["state"] == "withdrawn"]
    if taken:
        out.append(
            f"withdrawn by cancel before any batch ran them (their requests are pending; the "
            f"next run sends them): {len(taken)} shard(s): " + ", ".join(taken)
        )
    if report["unsubmitted"]:
        out.append("written, not submitted: " + ", ".join(report["unsubmitted"]))
    ds = report["dataset"]
    tokens = report["accounting"].get("tokens")
    if tokens and (tokens["prompt"] or tokens["completion"]):
        out.append(
            f"tokens: prompt {tokens['prompt']:,}, completion {tokens['completion']:,} "
            f"(reasoning {tokens['reasoning']:,})"
            + (
                f"; {tokens['truncated_by_reasoning']:,} answer(s) cut off because reasoning "
                "used the budget (see the report)"
                if tokens["truncated_by_reasoning"]
                else ""
            )
        )
    out.append(f"dataset now: {ds['samples']} samples; report: {ds['report'] or 'not yet'}")
    return "\n".join(out)
