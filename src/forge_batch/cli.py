"""forge-batch command line: each command parses options and calls one core function;
``cli_support.handle_errors`` turns domain errors into one-line messages (exit 2
for bad input, 1 for a failed run, 75 for "wait and run again": other jobs held the
enqueued-token quota past [engine] queue_wait). FORGE_BATCH_DEBUG=1 shows the
traceback instead.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from .cli_support import (
    CONFIG_HELP,
    config_option,
    handle_errors,
    load_config,
    poll_interval_option,
)
from .errors import ConfigError
from .formats import FORMATS


@click.group()
@click.version_option(package_name="forge-batch")
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default="forge.toml",
    envvar="FORGE_BATCH_CONFIG",
    show_default=True,
    help=CONFIG_HELP,
)
@click.pass_context
def cli(ctx: click.Context, config_path: Path) -> None:
    """Generate tool-calling training data through batch LLM APIs.

    \b
    Main job:  forge-batch init --tools tools.json && forge-batch run
    Stages:    prepare -> submit [--wait] -> collect -> export
    """
    ctx.obj = {"config": config_path}


@cli.command()
@click.option(
    "--tools",
    "tools_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Tools file (MCP, OpenAI, BFCL or Generator format).",
)
@click.option(
    "--engine",
    type=click.Choice(["local", "openai"]),
    default="local",
    show_default=True,
    help="Where requests run.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing forge.toml.")
@click.argument("folder", default=".", type=click.Path(file_okay=False, path_type=Path))
@handle_errors
def init(tools_path: Path, engine: str, force: bool, folder: Path) -> None:
    """Write a commented FOLDER/forge.toml for a tools file.

    Reads: the tools file. Writes: forge.toml.
    """
    from .project import init as do_init

    path = do_init(tools_path, folder, engine=engine, force=force)
    click.echo(f"wrote {path}; next: forge-batch -c {path} run")


@cli.group()
def tools() -> None:
    """Inspect tool sets and import them from live MCP servers."""


@tools.command("check")
@click.argument("file", type=click.Path(path_type=Path))
@handle_errors
def tools_check(file: Path) -> None:
    """Show, per tool, whether it converts to strict mode and what changed.

    Reads: FILE. Writes: nothing. Exit 2 when the file is unusable.
    """
    from .display import tools_check as show
    from .tools import load_tools

    click.echo(show(load_tools(file)))


@tools.command("import")
@click.option(
    "--server",
    required=True,
    help="Command that starts the MCP server over stdio, "
    'e.g. "npx -y @modelcontextprotocol/server-memory".',
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="Where to save the tools/list result (JSON).",
)
@click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait for the server.")
@handle_errors
def tools_import(server: str, output: Path, timeout: float) -> None:
    """Start a live MCP server and save its tools/list.

    Reads: nothing. Writes: OUTPUT.
    """
    from .tools.mcp_import import import_tools

    count = import_tools(server, output, timeout)
    click.echo(f"saved {count} tool(s) to {output}")


pilot_option = click.option(
    "--pilot",
    type=click.IntRange(1, None),
    default=None,
    metavar="N",
    help="Only a deterministic sample of N seed requests across scenarios (a pilot).",
)


@cli.command()
@config_option
@pilot_option
@click.pass_context
@handle_errors
def prepare(ctx: click.Context, pilot: int | None) -> None:
    """Render every planned request and write the unsent ones as Batch API files.

    Reads: forge.toml, the tools file, cache/, batches/ledger.json.
    Writes: batches/<stage>-NNNN.jsonl and batches/manifest.json.
    """
    from .display import prepare_summary
    from .prepare import prepare as do_prepare

    config = load_config(ctx)
    click.echo(prepare_summary(do_prepare(config, pilot=pilot), config))


@cli.command()
@config_option
@click.option("--wait", "wait_for", is_flag=True, help="Poll until every batch has ended.")
@poll_interval_option
@click.pass_context
@handle_errors
def submit(ctx: click.Context, wait_for: bool, poll_interval: float | None) -> None:
    """Upload written shards and create their batches (never twice).

    Reads: batches/manifest.json, the shards. Writes: batches/ledger.json.
    """
    from .engine import open_engine
    from .submit import submit as do_submit

    config = load_config(ctx)
    with open_engine(config) as engine:
        result = do_submit(
            config,
            engine,
            wait_for=wait_for or config.engine.kind == "local",
            poll_interval=poll_interval,
        )
    click.echo(
        f"submitted {len(result.submitted)} batch(es), resumed {len(result.resumed)}; "
        f"{result.in_flight} not yet collected"
        + (
            f"; {result.queued} queued until the enqueued-token quota has room "
            "([engine] enqueued_token_limit, queue_wait)"
            if result.queued
            else ""
        )
    )


@cli.command()
@config_option
@click.option(
    "--import",
    "import_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Also ingest a Batch output/error file obtained by hand.",
)
@click.pass_context
@handle_errors
def collect(ctx: click.Context, import_path: Path | None) -> None:
    """Bring finished batches into the cache, then build the dataset and report.

    Reads: batches/, the Batch output and error files (or --import FILE), cache/.
    Writes: cache/, batches/failures/, out/dataset.jsonl, out/rejects.jsonl, out/report.md.
    """
    from .display import collect_summary
    from .run import collect as do_collect

    config = load_config(ctx)
    click.echo(collect_summary(*do_collect(config, import_path=import_path), config))


@cli.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable (contract fb-status/2).")
@click.pass_context
@handle_errors
def status(ctx: click.Context, as_json: bool) -> None:
    """Per stage: planned, cached, pending, in flight, failed; and the batches.

    Reads: forge.toml, tools, cache/, batches/, out/. Writes: nothing.
    """
    from .display import status_text
    from .ledger import busy
    from .status import status as do_status

    config = load_config(ctx)
    report = do_status(config)
    shown = (
        json.dumps(report, indent=2) if as_json else status_text(report, busy(config.paths.batches))
    )
    click.echo(shown)


@cli.command()
@config_option
@click.pass_context
@handle_errors
def cancel(ctx: click.Context) -> None:
    """Cancel every batch in flight and withdraw queued shards; collect brings
    back what finished, the next run sends the rest.

    Reads/writes: batches/ledger.json.
    """
    from .engine import open_engine
    from .submit import cancel as do_cancel

    config = load_config(ctx)
    with open_engine(config) as engine:
        done = do_cancel(config, engine)
    click.echo(
        f"asked {len(done.batches)} batch(es) to cancel"
        + (
            f"; withdrew {len(done.withdrawn)} queued shard(s) "
            f"({sum(r.lines for r in done.withdrawn):,} requests pending: the next run sends them)"
            if done.withdrawn
            else ""
        )
    )


@cli.command()
@config_option
@poll_interval_option
@pilot_option
@click.pass_context
@handle_errors
def run(ctx: click.Context, poll_interval: float | None, pilot: int | None) -> None:
    """prepare -> submit --wait -> collect, both stages, until nothing is pending.

    With --pilot N: send only N sample seed requests, report acceptance, cost
    and the projected yield (also to out/pilot.md), and stop; a later run
    reuses those answers. Reads and writes everything the three commands do.
    Exit 75 when other jobs held the organization's enqueued-token quota
    past [engine] queue_wait: nothing is lost, run again later.
    """
    from .display import run_summary
    from .run import run as do_run
    from .run import run_pilot

    config = load_config(ctx)
    if pilot:
        text, path = run_pilot(config, pilot, poll_interval=poll_interval)
        click.echo(text + f"\n(written to {path})")
        return
    click.echo(run_summary(do_run(config, poll_interval=poll_interval), config))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8790, show_default=True, type=int)
@click.option(
    "--data",
    "data_dir",
    default=".forge-server",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Server state folder.",
)
@click.option("--model", "model_path", default=None, help="GGUF file (default: SmolLM2-135M).")
@click.option(
    "--token",
    envvar="FORGE_BATCH_SERVER_TOKEN",
    default=None,
    help="Require this bearer token (needed to bind a non-loopback host).",
)
@click.option("--faults", default=None, help="Fault injection for tests (docs/server.md).")
@click.option("--executor", default=None, help="Request runner 'module:attr' (tests only).")
@click.option(
    "--relay",
    default=None,
    metavar="URL",
    help="Send each line to this OpenAI-compatible /v1 server instead of the local model.",
)
@click.option(
    "--relay-key-env", default=None, metavar="NAME", help="Env var holding the relay's API key."
)
@click.option("--relay-concurrency", default=8, show_default=True, type=click.IntRange(1, 1024))
@click.option("--max-upload-bytes", default=200 * 1024 * 1024, show_default=True, type=int)
@handle_errors
def serve(
    host: str,
    port: int,
    data_dir: Path,
    model_path: str | None,
    token: str | None,
    faults: str | None,
    executor: str | None,
    relay: str | None,
    relay_key_env: str | None,
    relay_concurrency: int,
    max_upload_bytes: int,
) -> None:
    """Run the local OpenAI-compatible Batch API server (files + batches).

    Reads/writes: the --data folder.
    """
    from . import server

    if relay and executor:
        raise ConfigError("give --relay or --executor, not both")
    server.serve(
        data_dir,
        host=host,
        port=port,
        executor=(
            server.RelayExecutor(server.RelaySettings(relay, relay_key_env, relay_concurrency))
            if relay
            else server.load_executor(executor, model_path=model_path)
        ),
        faults=server.Faults.parse(faults) if faults else None,
        token=token,
        max_upload_bytes=max_upload_bytes,
    )


@cli.command()
@config_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(FORMATS)),  # the formats registry, not a copy
    required=True,
    help="Training format.",
)
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path))
@click.option("--minimal", is_flag=True, help="Leave out meta (provenance).")
@click.option(
    "--input",
    "input_path",
    default=None,
    type=click.Path(path_type=Path),
    help="Dataset to convert (default: out/dataset.jsonl of the project).",
)
@click.pass_context
@handle_errors
def export(
    ctx: click.Context, fmt: str, output: Path, minimal: bool, input_path: Path | None
) -> None:
    """Convert out/dataset.jsonl to a training format.

    openai: fine-tuning upload. trl: chat-template messages; loading it with
    datasets needs datasets >= 4.7 (on an older stack, export sharegpt).
    hermes: Hermes 2 Pro tool-use template text. sharegpt: LLaMA-Factory.
    Details: docs/formats.md.

    Reads: the dataset. Writes: OUTPUT.
    """
    from .formats import export as do_export

    source = input_path or load_config(ctx).paths.out / "dataset.jsonl"
    count = do_export(source, output, fmt, minimal=minimal)
    click.echo(f"wrote {count} conversation(s) to {output} ({fmt})")


def main() -> None:
    cli(prog_name="forge-batch")
