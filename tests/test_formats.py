"""Exports: every format loads with `datasets` and keeps the calls intact."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from forge_batch.errors import InputError
from forge_batch.formats import FORMATS, convert, export, parse_hermes


def _tool(name: str, description: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": parameters},
    }


WEATHER = _tool(
    "get_weather",
    "Current weather for a city.",
    {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "days": {"type": "integer", "minimum": 1, "default": 1},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city"],
    },
)
EVENT = _tool(
    "create_event",
    "Create a calendar event.",
    {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "attendees": {"type": "array", "items": {"type": "string", "format": "email"}},
            "start": {
                "type": "object",
                "properties": {"date": {"type": "string"}, "hour": {"type": "integer"}},
                "required": ["date"],
            },
            "all_day": {"type": "boolean", "default": False},
            "priority": {"enum": [1, 2, 3]},
        },
        "required": ["title", "start"],
    },
)
EMAIL = _tool(
    "send_email",
    "Send an email.",
    {
        "type": "object",
        "properties": {
            "to": {"type": "string"},
            "subject": {"type": "string"},
            "urgent": {"type": "boolean"},
        },
        "required": ["to"],
        "additionalProperties": False,
    },
)
ORDER = _tool(
    "place_order",
    "Order items from the shop, prices in euros.",
    {
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "sku": {"type": "string"},
                        "qty": {"type": "number", "exclusiveMinimum": 0},
                    },
                },
            },
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
        },
        "required": ["items"],
    },
)
NOPARAMS = _tool("ping", "Check the service is up.", {"type": "object", "properties": {}})


def _call(cid: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": cid,
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(args, ensure_ascii=False)},
    }


def _meta(parent: str | None = None, usage: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "request_key": "fb1:" + "ab" * 30,
        "parent": parent,
        "model": "gpt-4o-mini",
        "batch_id": "batch_1",
        "usage": usage,
        "finish_reason": "stop",
        "tool": None,
    }


def records() -> list[dict[str, Any]]:
    """Varied records: standard, parallel, no_tool, error, multi_turn, real with system."""
    return [
        {
            "id": "s1",
            "source": "seed",
            "scenario": "standard",
            "tools": [WEATHER, EMAIL],
            "meta": _meta(usage={"prompt_tokens": 120, "completion_tokens": 80}),
            "messages": [
                {"role": "user", "content": "Weather in Zürich for 3 days, in celsius?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        _call(
                            "call_1",
                            "get_weather",
                            {"city": "Zürich", "days": 3, "unit": "celsius"},
                        )
                    ],
                },
                {
                    "role": "tool",
                    "tool_call_id": "call_1",
                    "content": '{"temp": 18.5, "condition": "sunny", "alerts": []}',
                },
                {"role": "assistant", "content": "Sunny, 18.5 °C for the next 3 days."},
            ],
        },
        {
            "id": "p1",
            "source": "seed",
            "scenario": "parallel",
            "tools": [EVENT, EMAIL, NOPARAMS],
            "meta": _meta(),
            "messages": [
                {
                    "role": "user",
                    "content": "Book 'Sync' on 2025-03-04 at 9 with ana@x.io and "
                    "bo@y.io, all day, and email ana@x.io 'Agenda' urgently.",
                },
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        _call(
                            "call_a",
                            "create_event",
                            {
                                "title": "Sync",
                                "attendees": ["ana@x.io", "bo@y.io"],
                                "start": {"date": "2025-03-04", "hour": 9},
                                "all_day": True,
                                "priority": 2,
                            },
                        ),
                        _call(
                            "call_b",
                            "send_email",
                            {"to": "ana@x.io", "subject": "Agenda", "urgent": True},
                        ),
                    ],
                },
                {"role": "tool", "tool_call_id": "call_a", "content": '{"event_id": 42}'},
                {"role": "tool", "tool_call_id": "call_b", "content": "queued"},
                {"role": "assistant", "content": "Booked (event 42) and the email is queued."},
            ],
        },
        {
            "id": "n1-0",
            "source": "paraphrase",
            "scenario": "no_tool",
            "tools": [WEATHER, ORDER],
            "meta": _meta(
                parent="n1",
                usage={
                    "prompt_tokens": 50,
                    "completion_tokens": 9,
                    "prompt_tokens_details": {"cached_tokens": 32},
                },
            ),
            "messages": [
                {"role": "user", "content": "Tell me a joke about 🐍 snakes."},
                {"role": "assistant", "content": "Why did the python cross the road? 🐍"},
            ],
        },
        {
            "id": "e1",
            "source": "seed",
            "scenario": "error",
            "tools": [WEATHER],
            "meta": _meta(),
            "messages": [
                {"role": "user", "content": "Weather in Atlantis?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [_call("call_e", "get_weather", {"city": "Atlantis"})],
                },
                {
                    "role": "tool",
                    "tool_call_id": "call_e",
                    "content": '{"error": "city not found", "code": 404}',
                },
                {"role": "assistant", "content": "I could not find Atlantis. Another city?"},
            ],
        },
        {
            "id": "m1",
            "source": "seed",
            "scenario": "multi_turn",
            "tools": [ORDER, NOPARAMS],
            "meta": _meta(),
            "messages": [
                {"role": "user", "content": "Order 2 of SKU 東京-1 and 0.5 of SKU x"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        _call(
                            "call_m1",
                            "place_order",
                            {"items": [{"sku": "東京-1", "qty": 2}, {"sku": "x", "qty": 0.5}]},
                        )
                    ],
                },
                {
                    "role": "tool",
                    "tool_call_id": "call_m1",
                    "content": '[{"ok": true}, {"ok": false}]',
                },
                {"role": "assistant", "content": "One item went through."},
                {"role": "user", "content": "Is the shop even up?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [_call("call_m2", "ping", {})],
                },
                {"role": "tool", "tool_call_id": "call_m2", "content": "pong"},
                {"role": "assistant", "content": "Yes, it answers."},
            ],
        },
        {
            "id": "r1",
            "source": "real",
            "scenario": "standard",
            "tools": [EMAIL],
            "meta": {},
            "messages": [
                {"role": "system", "content": "You are the ops assistant."},
                {"role": "user", "content": "Mail bo@y.io saying 'done'"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        _call("call_r", "send_email", {"to": "bo@y.io", "subject": "done"})
                    ],
                },
                {"role": "tool", "tool_call_id": "call_r", "content": '"sent"'},
                {"role": "assistant", "content": "Sent."},
            ],
        },
    ]


def _calls(record: dict[str, Any]) -> list[list[tuple[str, dict[str, Any]]]]:
    """Per assistant turn with calls: [(name, arguments)]."""
    return [
        [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in m["tool_calls"]]
        for m in record["messages"]
        if m.get("tool_calls")
    ]


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    path = tmp_path / "dataset.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records()))
    return path


def _load(path: Path, tmp_path: Path) -> list[dict[str, Any]]:
    datasets = pytest.importorskip("datasets")
    datasets.disable_progress_bars()
    ds = datasets.load_dataset(
        "json", data_files=str(path), split="train", cache_dir=str(tmp_path / "hf-cache")
    )
    return list(ds)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_export_loads_with_datasets_and_round_trips(
    fmt: str, dataset: Path, tmp_path: Path
) -> None:
    out = tmp_path / f"{fmt}.jsonl"
    assert export(dataset, out, fmt) == len(records())
    written = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert written == [convert(r, fmt) for r in records()]
    assert _load(out, tmp_path) == written


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_export_is_deterministic(fmt: str, dataset: Path, tmp_path: Path) -> None:
    export(dataset, tmp_path / "a.jsonl", fmt)
    export(dataset, tmp_path / "b.jsonl", fmt)
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()


def test_openai_rows_hold_only_keys_the_upload_accepts() -> None:
    for record in records():
        for minimal in (False, True):
            row = convert(record, "openai", minimal)
            assert set(row) <= {"messages", "tools", "parallel_tool_calls"}
            for m in row["messages"]:
                assert set(m) <= {"role", "content", "name", "tool_calls", "tool_call_id", "weight"}
                if m.get("tool_calls"):
                    assert "content" not in m
                    for c in m["tool_calls"]:
                        assert isinstance(c["function"]["arguments"], str)
        assert row["parallel_tool_calls"] is (record["scenario"] == "parallel")
        assert [
            [
                (c["function"]["name"], json.loads(c["function"]["arguments"]))
                for c in m["tool_calls"]
            ]
            for m in row["messages"]
            if m.get("tool_calls")
        ] == _calls(record)
        assert row["tools"] == record["tools"]


def test_openai_leaves_out_an_empty_tools_list() -> None:
    record = {**records()[2], "tools": []}
    assert convert(record, "openai") == {"messages": record["messages"]}


def test_trl_arguments_are_dicts_and_tools_a_json_string() -> None:
    for record in records():
        row = convert(record, "trl")
        assert [
            [(c["function"]["name"], c["function"]["arguments"]) for c in m["tool_calls"]]
            for m in row["messages"]
            if m.get("tool_calls")
        ] == _calls(record)
        assert json.loads(row["tools"]) == record["tools"]
        for m in row["messages"]:
            if m["role"] == "tool":
                assert m["name"] and m["tool_call_id"]
        meta = json.loads(row["meta"])
        assert meta["source"] == record["source"] and meta["scenario"] == record["scenario"]
        assert row["id"] == record["id"]


def test_hermes_calls_parse_back_to_the_same_names_and_arguments() -> None:
    for record in records():
        text = convert(record, "hermes")["text"]
        turns = parse_hermes(text)
        calls = [[(c["name"], c["arguments"]) for c in t.calls] for t in turns if t.calls]
        assert calls == _calls(record)
        assert turns[0].role == "system"
        assert turns[0].tool_names == [t["function"]["name"] for t in record["tools"]]
        roles = [t.role for t in turns[1:]]
        expected = []
        for m in record["messages"]:
            if m["role"] == "tool" and expected[-1] == "tool":
                continue
            expected.append(m["role"])
        assert roles == expected
        assert text.startswith("<|im_start|>system\nYou are a function calling AI model.")
        assert text.endswith("<|im_end|>\n")


def test_hermes_parallel_results_share_one_tool_turn() -> None:
    text = convert(records()[1], "hermes")["text"]
    tool_turns = [t for t in parse_hermes(text) if t.role == "tool"]
    assert len(tool_turns) == 1
    assert tool_turns[0].responses == ['{"event_id": 42}', "queued"]
    assert '"attendees": ["ana@x.io", "bo@y.io"]' in text
    assert "東京" in convert(records()[4], "hermes")["text"]  # UTF-8 kept, not \\u-escaped


def test_hermes_keeps_the_records_system_prompt_after_the_tools() -> None:
    tools, system = parse_hermes(convert(records()[5], "hermes")["text"])[:2]
    assert tools.tool_names == ["send_email"]
    assert (system.role, system.content) == ("system", "You are the ops assistant.")


def test_sharegpt_turns_alternate_as_llama_factory_requires() -> None:
    for record in records():
        row = convert(record, "sharegpt")
        turns = row["conversations"]
        assert len(turns) % 2 == 0
        for i, turn in enumerate(turns):
            assert turn["from"] in (("human", "observation"), ("gpt", "function_call"))[i % 2]
        got = []
        for turn in turns:
            if turn["from"] == "function_call":
                value = json.loads(turn["value"])
                items = value if isinstance(value, list) else [value]
                got.append([(c["name"], c["arguments"]) for c in items])
        assert got == _calls(record)
        assert json.loads(row["tools"]) == [t["function"] for t in record["tools"]]
    parallel = convert(records()[1], "sharegpt")["conversations"]
    assert json.loads(parallel[2]["value"]) == [{"event_id": 42}, "queued"]
    assert convert(records()[0], "sharegpt")["conversations"][2]["value"] == (
        '{"temp": 18.5, "condition": "sunny", "alerts": []}'
    )
    assert convert(records()[5], "sharegpt")["system"] == "You are the ops assistant."
    assert convert(records()[0], "sharegpt")["system"] == ""


@pytest.mark.parametrize("fmt", ["trl", "hermes", "sharegpt"])
def test_minimal_drops_meta_and_keeps_id(fmt: str, dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "min.jsonl"
    export(dataset, out, fmt, minimal=True)
    rows = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert all("meta" not in r for r in rows)
    assert [r["id"] for r in rows] == [r["id"] for r in records()]
    full = convert(records()[0], fmt)
    assert json.loads(full["meta"])["request_key"].startswith("fb1:")


def test_a_bad_line_leaves_no_output_behind(dataset: Path, tmp_path: Path) -> None:
    lines = dataset.read_bytes().splitlines(keepends=True)
    broken = tmp_path / "broken.jsonl"
    broken.write_bytes(
        b"".join(
            [
                *lines[:2],
                b'{"id": "x", "messages": [{"role": "assistant", '
                b'"tool_calls": [{"function": {"name": "f", "arguments": '
                b'"{not json"}}]}]}\n',
                *lines[2:],
            ]
        )
    )
    out = tmp_path / "out" / "trl.jsonl"
    with pytest.raises(InputError, match="line 3"):
        export(broken, out, "trl")
    assert not out.exists()
    assert list(out.parent.iterdir()) == []
    out.write_bytes(b"previous\n")
    with pytest.raises(InputError, match="line 3"):
        export(broken, out, "hermes")
    assert out.read_bytes() == b"previous\n"


def test_missing_input_and_unknown_format_are_input_errors(tmp_path: Path, dataset: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        export(tmp_path / "nope.jsonl", tmp_path / "o.jsonl", "openai")
    with pytest.raises(InputError, match="unknown export format"):
        export(dataset, tmp_path / "o.jsonl", "alpaca")
    assert not (tmp_path / "o.jsonl").exists()


def test_string_columns_survive_a_schema_change_between_chunks(tmp_path: Path) -> None:
    """Arrow types a column from the first chunk; rows unlike it must still load.

    Hundreds of plain no_tool rows (null parent, no usage) come first, then tool
    calls and string parents. hermes and sharegpt hold only strings and load as
    they are; trl loads with the features its docstring names.
    """
    datasets = pytest.importorskip("datasets")
    datasets.disable_progress_bars()
    plain = records()[2]
    rows = [{**plain, "id": f"n{i}", "meta": {"parent": None}} for i in range(300)] + records()
    path = tmp_path / "dataset.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    small = {"split": "train", "chunksize": 16 << 10}
    for fmt in ("hermes", "sharegpt"):
        out = tmp_path / f"{fmt}.jsonl"
        export(path, out, fmt)
        ds = datasets.load_dataset(
            "json", data_files=str(out), cache_dir=str(tmp_path / f"hf-{fmt}"), **small
        )
        assert ds[len(rows) - 1] == convert(rows[-1], fmt)
    out = tmp_path / "trl.jsonl"
    export(path, out, "trl")
    features = datasets.Features(
        {
            "messages": datasets.List(datasets.Json()),
            "tools": datasets.Value("string"),
            "id": datasets.Value("string"),
            "meta": datasets.Value("string"),
        }
    )
    ds = datasets.load_dataset(
        "json", data_files=str(out), features=features, cache_dir=str(tmp_path / "hf-trl"), **small
    )
    assert [ds[i] for i in range(300, len(rows))] == [convert(r, "trl") for r in records()]


def _developer_record() -> dict[str, Any]:
    """A real record whose system prompt came in as OpenAI's ``developer`` role."""
    record = records()[5]
    messages = [{"role": "developer", "content": "Answer in English."}, *record["messages"]]
    return {**record, "id": "r2", "messages": messages}


def test_a_developer_turn_is_exported_as_the_system_prompt() -> None:
    record = _developer_record()
    openai_roles = [m["role"] for m in convert(record, "openai")["messages"]]
    assert openai_roles[:2] == ["system", "system"] and "developer" not in openai_roles
    trl = convert(record, "trl")["messages"]
    assert trl[0] == {"role": "system", "content": "Answer in English."}
    sharegpt = convert(record, "sharegpt")
    assert sharegpt["system"] == "Answer in English.\n\nYou are the ops assistant."
    assert "Answer in English." not in json.dumps(sharegpt["conversations"])
    for i, turn in enumerate(sharegpt["conversations"]):
        assert turn["from"] in (("human", "observation"), ("gpt", "function_call"))[i % 2]
    text = convert(record, "hermes")["text"]
    assert "<|im_start|>developer" not in text
    assert any(t.role == "system" and "Answer in English." in t.content for t in parse_hermes(text))


def _out_of_order(record: dict[str, Any]) -> dict[str, Any]:
    """The parallel record with its two results stored in arrival order (b before a)."""
    messages = list(record["messages"])
    messages[2], messages[3] = messages[3], messages[2]
    return {**record, "messages": messages}


def test_parallel_results_follow_call_order_whatever_order_they_arrived_in() -> None:
    record = _out_of_order(records()[1])
    assert [m.get("tool_call_id") for m in record["messages"]][2:4] == ["call_b", "call_a"]
    observation = convert(record, "sharegpt")["conversations"][2]
    assert observation["from"] == "observation"
    assert json.loads(observation["value"]) == [{"event_id": 42}, "queued"]
    for fmt in ("openai", "trl"):
        ids = [m.get("tool_call_id") for m in convert(record, fmt)["messages"]]
        assert ids[2:4] == ["call_a", "call_b"]
    text = convert(record, "hermes")["text"]
    assert text.index('{"event_id": 42}') < text.index("queued")


HERMES_TEMPLATE = Path(__file__).parent / "data" / "hermes_2_pro_tool_use.json"
ODD = _tool(
    "lookup",
    'Find an "entry".  ',
    {
        "type": "object",
        "properties": {
            "key": {"type": ["string", "integer"], "description": "  Its key. "},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "strict": {"type": "object", "additionalProperties": False},
            "any": {},
            "ratio": {"type": "number", "description": "0 to 1"},
        },
    },
)


def _hermes_template() -> Any:
    """The reference template, compiled with the Jinja settings transformers uses.

    transformers' chat_template_utils: ImmutableSandboxedEnvironment with
    trim_blocks, lstrip_blocks and loopcontrols, ``tojson`` as json.dumps with
    ensure_ascii=False (not Jinja's HTML-safe one), ``raise_exception``.
    """
    jinja2 = pytest.importorskip("jinja2")
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str) -> None:
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x: Any, ensure_ascii: bool = False, indent: Any = None, **kw: Any) -> str:
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, **kw)

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"]
    )
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    return env.from_string(json.loads(HERMES_TEMPLATE.read_text())["template"])


def test_hermes_text_is_what_the_hermes_2_pro_template_renders() -> None:
    """Byte for byte, for every record, from the conversation the trl export holds."""
    template = _hermes_template()
    odd = {**records()[0], "id": "odd", "tools": [WEATHER, ODD, NOPARAMS]}
    bare = {**records()[2], "id": "bare", "tools": []}
    cases = [*records(), odd, bare, _developer_record(), _out_of_order(records()[1])]
    for record in cases:
        trl = convert(record, "trl")
        expected = template.render(
            messages=trl["messages"],
            tools=json.loads(trl["tools"]),
            bos_token="",
            add_generation_prompt=False,
        )
        assert convert(record, "hermes")["text"] == expected, record["id"]
    assert (
        "lookup(key: Union[str,int], labels: dict[str, str], strict: dict[str, Union[]]"
        in (convert(odd, "hermes")["text"])
    )


def test_hermes_prints_a_nullable_type_where_the_template_recurses_forever() -> None:
    """``["string", "null"]`` (OpenAI strict schemas) sends the template into endless
    recursion; the export prints ``None`` for "null" and keeps every other byte."""
    nullable = _tool(
        "find",
        "Find.",
        {"type": "object", "properties": {"q": {"type": ["string", "null"]}}},
    )
    record = {**records()[2], "id": "nullable", "tools": [nullable]}
    trl = convert(record, "trl")
    template = _hermes_template()
    with pytest.raises(RecursionError):
        template.render(messages=trl["messages"], tools=json.loads(trl["tools"]), bos_token="")
    text = convert(record, "hermes")["text"]
    assert '"description": "find(q: Union[str,None]) - Find.\n\n    Args:\n' in text
    plain = {**record, "tools": [_tool("find", "Find.", {"type": "object", "properties": {}})]}
    rendered = template.render(
        messages=trl["messages"], tools=json.loads(convert(plain, "trl")["tools"]), bos_token=""
    )
    assert convert(plain, "hermes")["text"] == rendered


def test_trl_loads_when_an_argument_changes_type_between_calls(tmp_path: Path) -> None:
    """docs/formats.md: trl needs datasets >= 4.7. Below, the load fails; from 4.7, exact."""
    datasets = pytest.importorskip("datasets")
    datasets.disable_progress_bars()
    base = records()[0]

    def with_ref(rid: str, ref: Any) -> dict[str, Any]:
        call = _call(f"call_{rid}", "get_weather", {"city": "Bern", "ref": ref})
        messages = [
            base["messages"][0],
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": f"call_{rid}", "content": "ok"},
            {"role": "assistant", "content": "Done."},
        ]
        return {**base, "id": rid, "messages": messages}

    rows = [*records(), with_ref("t1", "A-1"), with_ref("t2", 7)]
    path = tmp_path / "dataset.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    out = tmp_path / "trl.jsonl"
    export(path, out, "trl")
    major, minor = (int(x) for x in datasets.__version__.split(".")[:2])
    if (major, minor) < (4, 7):
        with pytest.raises(Exception, match=r"changed from string to number|generating"):
            _load(out, tmp_path)
    else:
        assert _load(out, tmp_path) == [convert(r, "trl") for r in rows]
