"""Samples and rejects: the records the dataset stage passes along.

A Sample is one training conversation in OpenAI chat format; ``to_json`` is
the ``out/dataset.jsonl`` record (contract fb-dataset/1):

    {"id", "source": "real"|<stage name>, "scenario", "messages",
     "tools": [OpenAI tools with the original parameter schemas],
     "meta": {"request_key", "parent", "model", "batch_id", "usage", ...}}

A Reject is one dropped sample (or one response that yielded none) with the
check that failed; ``out/rejects.jsonl`` holds them (fb-reject/1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DATASET_VERSION = "fb-dataset/1"
REJECT_VERSION = "fb-reject/1"
REAL = "real"  # the source of curated samples; generated ones carry their stage's name


@dataclass(frozen=True, slots=True)
class Sample:
    id: str
    source: str
    scenario: str
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "scenario": self.scenario,
            "messages": self.messages,
            "tools": self.tools,
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Sample:
        return cls(
            data["id"],
            data["source"],
            data["scenario"],
            data["messages"],
            data.get("tools") or [],
            data.get("meta") or {},
        )

    def user_texts(self) -> list[str]:
        return [m.get("content") or "" for m in self.messages if m.get("role") == "user"]


@dataclass(frozen=True, slots=True)
class Reject:
    id: str
    key: str | None  # request key the sample came from (None for real data)
    source: str
    scenario: str
    check: str  # which check failed: "parse", "schema", "grounding", "duplicate", ...
    reason: str  # what exactly, in words
    sample: dict[str, Any] | None = None  # the sample as parsed, when there was one

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "request_key": self.key,
            "source": self.source,
            "scenario": self.scenario,
            "check": self.check,
            "reason": self.reason,
            "sample": self.sample,
        }
