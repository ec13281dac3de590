"""Atomic file writes: a file is either absent, the old version, or complete.

Everything forge-batch writes goes through here: the bytes land in a temporary
file beside the target, are flushed to disk, and only then renamed over it.
A crash or a full disk leaves the previous file (or none), never half of one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import DiskFullError

TMP_MARK = ".tmp-"


def _tmp_path(path: Path) -> Path:
    return path.with_name(f"{path.name}{TMP_MARK}{os.getpid()}")


@contextlib.contextmanager
def atomic_writer(path: str | Path) -> Iterator[BinaryIO]:
    """Yield a binary handle; on clean exit the file replaces ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_path(path)
    try:
        with open(tmp, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFullError(
                "no space left on device; nothing was written",
                path=path,
                hint="free some space and run the command again",
            ) from exc
        raise
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def disk_full_guard(path: str | Path) -> Iterator[None]:
    """Turn ENOSPC / EDQUOT raised inside into a DiskFullError naming ``path``.

    For writes outside atomic_writer (a scratch file, whose buffered writes may
    only fail when it is flushed or closed), so a full disk is one clear line,
    never a traceback.
    """
    try:
        yield
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFullError(
                "no space left on device",
                path=path,
                hint="free some space and run the command again; finished files are kept",
            ) from exc
        raise


def atomic_write(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_writer(path) as fh:
        fh.write(data)


# Temporary files carry the pid of their writer: "<name>.tmp-<pid>" (atomic_writer),
# ".spool-<pid>.jsonl" (build), ".download-<pid>.jsonl" (collect).
_TEMP_RE = re.compile(r"(?:\.tmp-|^\.spool-|^\.download-)(\d+)")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_stale_temps(folder: str | Path) -> int:
    """Delete temporary files a killed process left behind; return how many.

    Only files whose writer is gone: another forge-batch process working
    beside this one (a status during a collect) keeps its own.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    count = 0
    for p in folder.iterdir():
        m = _TEMP_RE.search(p.name)
        if m and p.is_file() and not _alive(int(m.group(1))):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
                count += 1
    return count
