"""Tool sets: every accepted format, strict conversion, round trips, bad files."""

from __future__ import annotations

import json
import random
from pathlib import Path

import jsonschema
import pytest
from schema_faker import fake
from strict_rules import schema_violations

from forge_batch.errors import ToolsError
from forge_batch.tools import load_tools, parse_tools, strict

DATA = Path(__file__).parent / "data"
FILES = [
    "mcp-memory.tools.json",
    "mcp-filesystem.tools.json",
    "bfcl_functions.json",
    "bfcl_questions.jsonl",
    "generator_tools.json",
    "openai_tools.json",
]


@pytest.mark.parametrize(
    ("name", "fmt", "count"),
    [
        ("mcp-memory.tools.json", "mcp", 9),
        ("mcp-filesystem.tools.json", "mcp", 14),
        ("bfcl_functions.json", "bfcl", 4),
        ("bfcl_questions.jsonl", "bfcl", 2),
        ("generator_tools.json", "generator", 2),
        ("openai_tools.json", "openai", 3),
    ],
)
def test_each_format_is_detected(name: str, fmt: str, count: int) -> None:
    toolset = load_tools(DATA / name)
    assert toolset.format == fmt
    assert len(toolset.tools) == count
    assert not toolset.skipped


def test_bare_mcp_list_and_bare_functions(tmp_path: Path) -> None:
    mcp = json.loads((DATA / "mcp-memory.tools.json").read_text())["tools"]
    (tmp_path / "bare.json").write_text(json.dumps(mcp))
    assert len(load_tools(tmp_path / "bare.json").tools) == 9
    fn = [
        {
            "name": "ping",
            "description": "Ping a host.",
            "parameters": {"type": "object", "properties": {"host": {"type": "string"}}},
        }
    ]
    (tmp_path / "fn.json").write_text(json.dumps(fn))
    assert load_tools(tmp_path / "fn.json").format == "openai"


def test_bfcl_types_become_json_schema() -> None:
    tools = load_tools(DATA / "bfcl_functions.json").by_name
    plot = tools["plot_points"]
    assert plot.name == "plot.points"
    props = plot.parameters["properties"]
    assert plot.parameters["type"] == "object"
    assert props["points"]["items"]["type"] == "array"  # tuple
    assert props["points"]["items"]["items"]["type"] == "number"  # float
    assert "type" not in props["extra"]  # any
    assert props["style"]["type"] == "object"  # dict
    assert any("exported as 'plot_points'" in n for n in plot.notes)


def test_generator_parameter_list() -> None:
    tool = load_tools(DATA / "generator_tools.json").by_name["read_partial_dataset"]
    assert tool.parameters["required"] == ["path", "start"]
    assert tool.parameters["properties"]["start"]["type"] == "integer"
    assert tool.parameters["properties"]["as_float"]["type"] == "boolean"
    assert tool.parameters["properties"]["count"]["default"] == 100
    assert load_tools(DATA / "generator_tools.json").by_name["open_file"].output_schema == {
        "type": "string",
        "description": "Success message",
    }


def test_strict_conversion_rules_hold_for_every_example() -> None:
    for name in FILES:
        for tool in load_tools(DATA / name).tools:
            assert schema_violations(tool.strict) == [], (name, tool.name)


def test_strict_conversion_changes_are_reported() -> None:
    tools = load_tools(DATA / "openai_tools.json").by_name
    email = tools["send_email"]
    notes = " ".join(email.notes)
    assert "minLength/maxLength moved into the description" in notes
    assert "uniqueItems" in notes
    assert "free-form value travels as a JSON-encoded string" in notes
    assert "'send email' is not a valid OpenAI function name" in notes
    assert email.strict["properties"]["headers"]["type"] == ["string", "null"]
    assert "Between 1 and 120 characters" in email.strict["properties"]["subject"]["description"]
    schedule = tools["schedule"]
    assert "oneOf rewritten as anyOf" in " ".join(schedule.notes)
    attendee = schedule.strict["properties"]["attendees"]["items"]
    assert attendee["properties"]["email"]["type"] == ["string", "null"]  # $ref inlined
    assert schedule.strict["properties"]["duration_minutes"]["minimum"] == 5


@pytest.mark.parametrize("name", FILES)
def test_round_trip_generate_decode_validate(name: str) -> None:
    """convert -> generate a strict value -> decode -> valid against the original schema."""
    for tool in load_tools(DATA / name).tools:
        validator = jsonschema.validators.validator_for(tool.parameters)(
            tool.parameters, format_checker=jsonschema.FormatChecker()
        )
        for seed in range(25):
            value = fake(tool.strict, random.Random(seed))
            decoded = strict.decode(value, tool.codec)
            errors = [e.message for e in validator.iter_errors(decoded)]
            assert errors == [], (tool.name, value, decoded)
            assert None not in _optional_values(decoded, tool.parameters)


def _optional_values(value: object, schema: dict) -> list[object]:
    """Values of optional properties: decoding must have dropped their nulls."""
    if not isinstance(value, dict):
        return []
    required = set(schema.get("required") or [])
    return [v for k, v in value.items() if k not in required]


def test_free_form_values_decode_to_real_types() -> None:
    tool = load_tools(DATA / "bfcl_functions.json").by_name["plot_points"]
    decoded = strict.decode(
        {"points": [[1.0, 2.0]], "style": None, "extra": '{"dpi": 300}'}, tool.codec
    )
    assert decoded == {"points": [[1.0, 2.0]], "extra": {"dpi": 300}}
    with pytest.raises(strict.DecodeError):
        strict.decode({"points": [], "style": None, "extra": "{not json"}, tool.codec)


def test_recursive_ref_is_skipped_with_reason(tmp_path: Path) -> None:
    tools = [
        {
            "name": "tree",
            "inputSchema": {
                "type": "object",
                "properties": {"node": {"$ref": "#/$defs/node"}},
                "$defs": {
                    "node": {
                        "type": "object",
                        "properties": {
                            "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}
                        },
                    }
                },
            },
        },
        {"name": "ok", "inputSchema": {"type": "object", "properties": {}}},
    ]
    toolset = parse_tools({"tools": tools}, tmp_path / "t.json")
    assert [t.name for t in toolset.tools] == ["ok"]
    assert "recursive $ref" in toolset.skipped[0].reason


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "invalid JSON"),
        (b"", "is empty"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b'{"tools": {}}', "'tools' must be a list"),
        (b'{"tools": []}', "no tools in the file"),
        (
            b'{"tools": [{"name": "a", "inputSchema": {"type": "object"}}, '
            b'{"name": "a", "inputSchema": {"type": "object", "properties": {"x": {}}}}]}',
            "duplicate tool name 'a'",
        ),
        (b'{"tools": [{"description": "no name"}]}', "tool has no 'name'"),
        (
            b'[{"name": "x", "parameters": {"type": "dict", '
            b'"properties": {"a": {"type": "quaternion"}}}}]',
            "unknown type 'quaternion'",
        ),
        (
            b'{"tools": [{"name": "loop", "inputSchema": {"type": "object", "properties": '
            b'{"a": {"$ref": "#/properties/a"}}}}]}',
            "recursive $ref",
        ),
    ],
)
def test_bad_tools_files_name_the_problem(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "tools.json"
    path.write_bytes(content)
    with pytest.raises(ToolsError) as info:
        load_tools(path)
    text = str(info.value)
    assert message in text and str(path) in text and "\n" not in text
