"""Start and stop the server: in a thread (LocalServer) or blocking (serve).

The socket is bound here, before uvicorn starts, so port 0 yields a real
port at once and a busy port is a clear ConfigError rather than a log line in
another thread. A lock file keeps two servers off one data folder: both
would run the same batches.
"""

from __future__ import annotations

import contextlib
import ipaddress
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import uvicorn

from ..errors import ConfigError
from .app import build_app
from .executors import Executor, load_executor
from .faults import Faults
from .gate import Gate
from .store import Store
from .worker import Worker

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory lock
    fcntl = None  # type: ignore[assignment]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_MAX_UPLOAD = 200 * 1024 * 1024


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to expose an unauthenticated server beyond this machine."""
    if not is_loopback(host) and not token:
        raise ConfigError(
            f"refusing to bind {host} without --token",
            hint="anyone reaching the port could read your files; set a token or use 127.0.0.1",
        )


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return sock


def _lock(data_dir: Path) -> IO[bytes]:
    data_dir.mkdir(parents=True, exist_ok=True)
    handle = open(data_dir / "server.lock", "ab")  # noqa: SIM115 (held until stop)
    if fcntl is not None:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise ConfigError(
                "another forge-batch server is using this data folder", path=data_dir
            ) from None
    return handle


class LocalServer:
    """The Batch API server running in background threads of this process."""

    def __init__(
        self,
        data_dir: str | Path,
        *,
        executor: Executor,
        faults: Faults | None = None,
        host: str = DEFAULT_HOST,
        port: int = 0,
        token: str | None = None,
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.executor = executor
        self.faults = faults or Faults()
        self.host = host
        self.port = port
        self.token = token
        self.max_upload_bytes = max_upload_bytes
        self.base_url = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._worker: Worker | None = None
        self._lock_handle: IO[bytes] | None = None

    def _prepare(self) -> tuple[uvicorn.Server, socket.socket]:
        check_bind(self.host, self.token)
        self._lock_handle = _lock(self.data_dir)
        try:
            store = Store(self.data_dir)
            self._worker = Worker(store, self.executor, self.faults)
            app = build_app(
                store,
                self._worker,
                max_upload_bytes=self.max_upload_bytes,
                fail_validation=self.faults.fail_validation,
            )
            sock = _bind(self.host, self.port)
        except BaseException:
            self._release()
            raise
        self.port = sock.getsockname()[1]
        shown = f"[{self.host}]" if ":" in self.host else self.host
        self.base_url = f"http://{shown}:{self.port}/v1"
        config = uvicorn.Config(
            Gate(app, token=self.token, faults=self.faults),
            http="h11",
            ws="none",
            lifespan="off",
            log_config=None,
            log_level="warning",
            access_log=False,
            proxy_headers=False,
            server_header=False,
            timeout_graceful_shutdown=3,
        )
        self._worker.start()
        return uvicorn.Server(config), sock

    def start(self) -> LocalServer:
        """Bind, start the worker and the HTTP server; return once it accepts calls."""
        server, sock = self._prepare()
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="forge-batch-http", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 15
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise ConfigError(f"the server on {self.base_url} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving; a batch in flight stops after its current line and resumes later."""
        if self._worker is not None:
            self._worker.stop()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self._server = self._thread = self._worker = None
        self._release()

    def _release(self) -> None:
        if self._lock_handle is not None:
            self._lock_handle.close()
            self._lock_handle = None

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True once every submitted batch reached a terminal status."""
        return self._worker.wait_idle(timeout) if self._worker is not None else True

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve(
    data_dir: str | Path,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    executor: Executor | None = None,
    faults: Faults | None = None,
    token: str | None = None,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD,
) -> None:
    """Run the server in the foreground until Ctrl-C (``forge-batch serve``)."""
    check_bind(host, token)
    local = LocalServer(
        data_dir,
        executor=executor if executor is not None else load_executor(None),
        faults=faults,
        host=host,
        port=port,
        token=token,
        max_upload_bytes=max_upload_bytes,
    )
    server, sock = local._prepare()
    out: Any = sys.stderr
    print(f"forge-batch server: {local.base_url} (data in {local.data_dir})", file=out)
    if local.faults.active:
        print(f"fault injection: {local.faults}", file=out)
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal
    # to the previous handler; turn that into a normal return so cleanup runs.
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminated) if in_main else None
    try:
        server.run(sockets=[sock])
    except (KeyboardInterrupt, _Terminated):
        print("forge-batch server: stopped", file=out)
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
        with contextlib.suppress(Exception):
            sock.close()
        local.stop()


class _Terminated(Exception):
    """SIGTERM arrived; uvicorn has already shut down gracefully."""


def _terminated(signum: int, frame: Any) -> None:
    raise _Terminated
