"""Object ids: how they are made, and the strict check every id passes first.

Ids become file names under the data folder, so nothing reaches the filesystem
unless it matches one of these regexes (letters and digits only: no dots,
slashes, NUL bytes or percent escapes can slip through).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string

FILE_ID_RE = re.compile(r"file-[A-Za-z0-9]{8,64}")
BATCH_ID_RE = re.compile(r"batch_[A-Za-z0-9]{8,64}")

_ALPHABET = string.ascii_letters + string.digits


def _random(n: int = 24) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(n))


def new_file_id() -> str:
    return f"file-{_random()}"


def new_batch_id() -> str:
    return f"batch_{_random()}"


def derived(prefix: str, *parts: str, n: int = 24) -> str:
    """A stable id from its parts, so redoing a step reuses the same id."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return f"{prefix}{digest[:n]}"


def is_file_id(value: object) -> bool:
    return isinstance(value, str) and FILE_ID_RE.fullmatch(value) is not None


def is_batch_id(value: object) -> bool:
    return isinstance(value, str) and BATCH_ID_RE.fullmatch(value) is not None
