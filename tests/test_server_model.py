"""The real SmolLM2 model through xllamacpp, behind the local Batch API server."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import jsonschema
import openai
import pytest
from doubles_server import read_jsonl, request_line, submit, wait_for

from forge_batch.errors import ConfigError
from forge_batch.server import LocalServer, default_model_path, load_executor

pytestmark = pytest.mark.model

SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "maxLength": 24},
        "population_millions": {"type": "integer"},
    },
    "required": ["city", "population_millions"],
    "additionalProperties": False,
}


def _model_path() -> str:
    if importlib.util.find_spec("xllamacpp") is None:
        pytest.skip("xllamacpp is not installed (pip install 'forge-batch[local]')")
    try:
        return default_model_path()
    except ConfigError as exc:
        pytest.skip(f"SmolLM2 GGUF not installed: {exc}")


def test_model_answers_with_schema_valid_json(tmp_path: Path) -> None:
    executor = load_executor(None, model_path=_model_path())
    lines = []
    for i, limit in enumerate(("max_tokens", "max_completion_tokens")):
        line = request_line(
            f"city-{i}",
            "Name one large city and its population in millions, as JSON.",
            model="smollm2-135m",
            schema=SCHEMA,
        )
        line["body"].update({limit: 60, "temperature": 0.7, "seed": 1234})
        lines.append(line)
    with LocalServer(tmp_path / "data", executor=executor) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="test-key", max_retries=0)
        batch = wait_for(client, submit(client, lines).id, timeout=240)
        assert batch.status == "completed", batch
        assert batch.request_counts.completed == 2
        records = read_jsonl(client, batch.output_file_id)
    out = {r["custom_id"]: r["response"]["body"] for r in records}
    contents = []
    for body in out.values():
        assert body["model"] == "smollm2-135m" and body["usage"]["completion_tokens"] > 0
        assert body["choices"][0]["finish_reason"] == "stop"
        content = body["choices"][0]["message"]["content"]
        jsonschema.validate(json.loads(content), SCHEMA)
        contents.append(content)
    # Same body and seed (max_completion_tokens maps to max_tokens): same answer.
    assert contents[0] == contents[1]
