"""Atomic file writes, and bounded reads of files a user names.

Everything forge-batch writes goes through here: the bytes land in a temporary
file beside the target, are flushed to disk, and only then renamed over it.
A crash or a full disk leaves the previous file (or none), never half of one.

Files a user names (forge.toml, tools files, real data, Batch files to import)
are read through ``read_capped`` / ``open_regular``: only regular files (a FIFO
would hang, /dev/zero never ends), never more than a stated limit, and every
way a path can be wrong (symlink loop, a file where a folder should be, a
name too long) is one error naming the file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from .errors import DiskFullError, ForgeError, json_line_problem

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


# Why a path cannot be used, by errno: the words a user can act on.
_PATH_PROBLEMS = {
    errno.ENOENT: "not found",
    errno.ELOOP: "symlink loop (a link that leads back to itself)",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.ENAMETOOLONG: "file name too long for the file system",
    errno.EACCES: "permission denied",
}


def path_problem(exc: OSError) -> str:
    """What an OSError from opening or inspecting a path means, in words."""
    return _PATH_PROBLEMS.get(exc.errno or 0) or (exc.strerror or str(exc))


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def open_regular(
    path: str | Path, what: str, error: type[ForgeError], hint: str | None = None
) -> BinaryIO:
    """Open a user's file for reading; anything but a regular file is ``error``.

    O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused
    right after, by its type). For files streamed line by line (Batch output,
    real data); whole-file reads use read_capped.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise error(f"{what} not found", path=path, hint=hint) from None
        raise error(f"cannot read {what}: {path_problem(exc)}", path=path, hint=hint) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise error(f"{what} is a folder, not a file", path=path, hint=hint)
        raise error(f"{what} is {_kind(mode)}, not a regular file", path=path, hint=hint)
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")  # the caller closes it (a file is its own context manager)


def json_lines(
    fh: BinaryIO, path: str | Path, error: type[ForgeError]
) -> Iterator[tuple[int, Any]]:
    """(line number, value) of each non-blank line of a user's JSON lines file.

    A line that is not JSON is ``error`` naming the line (where to look in the
    file); what the value must look like is the caller's to check.
    """
    for n, line in enumerate(fh, 1):
        if not line.strip():
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise error(json_line_problem(line, exc), path=path, where=f"line {n}") from None
        yield n, value


def read_capped(
    path: str | Path, limit: int, what: str, error: type[ForgeError], hint: str | None = None
) -> bytes:
    """The whole of a user's regular file, refused when it is over ``limit`` bytes."""
    with open_regular(path, what, error, hint) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > limit:
            raise error(f"{what} is {size} bytes; the limit is {limit}", path=path, hint=hint)
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise error(
            f"{what} grew past the limit of {limit} bytes while being read", path=path, hint=hint
        )
    return data


def _long_name(path: Path) -> str | None:
    """A part of an absolute ``path`` longer than the file system allows, in words."""
    try:
        name_max = os.pathconf("/", "PC_NAME_MAX")
    except (OSError, ValueError):
        name_max = 255
    for name in path.parts[1:]:
        if len(os.fsencode(name)) > name_max:
            return f"a name is longer than {name_max} bytes: {name[:40]}..."
    return None


def folder_problem(folder: str | Path) -> str | None:
    """Why ``folder`` cannot be used or created as a folder, or None."""
    folder = Path(os.path.abspath(folder))
    long = _long_name(folder)
    if long:
        return long
    for part in [*reversed(folder.parents), folder]:
        try:
            mode = os.stat(part).st_mode
        except FileNotFoundError:
            return None  # created when first needed
        except OSError as exc:
            return f"{part}: {path_problem(exc)}"
        if not stat.S_ISDIR(mode):
            return f"{part} is a file, not a folder"
    return None


def write_problem(path: str | Path) -> str | None:
    """Why a file cannot be written at ``path`` (checked before any work), or None."""
    path = Path(os.path.abspath(path))
    if os.path.isdir(path):
        return "is a folder, not a file"
    return _long_name(path) or folder_problem(path.parent)
