"""Will a request fit the model's context window? Checked before a shard is written.

A request whose prompt plus output budget exceeds the model's window fails
with a 400 for every line that carries it, after a wait of up to 24 hours;
prepare stops instead, naming the tool (or sample) and what to change. Every
stage's requests are checked (stages.base.Stage.check_fits), each against its
own model's window: seeds, paraphrases, judge requests. The prompt is
estimated at 4 characters a token over the whole canonical body (messages and
response schema: both count as prompt), which over-counts JSON punctuation a
little: the check errs toward refusing a request that might just fit.
"""

from __future__ import annotations

from .config import LOCAL_MODEL, Config

CHARS_PER_TOKEN = 4

# Context windows in tokens (input + output), by model-name prefix; the longest
# matching prefix wins. Override with [limits] context_window.
CONTEXT_WINDOWS: dict[str, int] = {
    "gpt-4o-mini": 128_000,
    "gpt-4o": 128_000,
    "gpt-4.1": 1_047_576,
    "gpt-5": 400_000,
    "o1": 200_000,
    "o3": 200_000,
    "o4-mini": 200_000,
    LOCAL_MODEL: 8192,  # the embedded server's n_ctx (server/executors.py)
}


def window(config: Config, model: str | None = None) -> int | None:
    """The context window of ``model`` (default: the configured model), or None when
    unknown (no check). [limits] context_window, when set, holds for every model."""
    if config.limits.context_window:
        return config.limits.context_window
    model = config.model if model is None else model
    match = [p for p in CONTEXT_WINDOWS if model.startswith(p)]
    return CONTEXT_WINDOWS[max(match, key=len)] if match else None


def prompt_tokens(canonical: bytes) -> int:
    """Estimated prompt tokens of one request body."""
    return -(-len(canonical) // CHARS_PER_TOKEN)


def overflow(canonical: bytes, max_output: int, limit: int | None) -> str | None:
    """None when the request fits ``limit``; otherwise why it does not."""
    if limit is None:
        return None
    prompt = prompt_tokens(canonical)
    if prompt + max_output <= limit:
        return None
    return (
        f"needs ~{prompt:,} prompt tokens + {max_output:,} output tokens, "
        f"over the model's context window of {limit:,}"
    )
