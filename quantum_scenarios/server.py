"""The temporary Prefect API server a ``qscen`` command runs its flow against.

Prefect 3 starts an *ephemeral* API server in a subprocess when no
``PREFECT_API_URL`` is set. Left to Prefect, that server has a 20 s startup
timeout (too short on a busy machine), prints its shutdown noise on the
console, and outlives a ``qscen`` that is killed. :class:`TemporaryServer`
starts the same server (the same ``uvicorn`` command Prefect uses) once per
command, and owns its lifetime:

* it waits up to :data:`DEFAULT_STARTUP_TIMEOUT` seconds for ``/api/health``
  (``PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS`` overrides it);
* the server runs in its own session and process group with its output in
  ``<PREFECT_HOME>/qscen-server.log``, so Ctrl-C in the terminal and its
  shutdown messages never reach the console;
* on Linux the kernel kills it when ``qscen`` dies, whatever the cause
  (``PR_SET_PDEATHSIG``, set in the child before ``exec``), so even
  ``SIGKILL`` leaves no orphan; :meth:`TemporaryServer.stop` kills the group
  on every other exit path.

A user who runs a server of their own sets ``PREFECT_API_URL``; then nothing
is started and that server is reused.

Note:
    This module starts a process; it never imports Prefect (the library stays
    Prefect-free). It only locates the installed ``prefect`` package.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from quantum_scenarios.errors import QuantumScenariosError

__all__ = ["DEFAULT_STARTUP_TIMEOUT", "ServerStartError", "TemporaryServer", "startup_timeout"]

DEFAULT_STARTUP_TIMEOUT = 180.0
"""Seconds to wait for the server's health check (Prefect's own default is 20 s)."""

_PR_SET_PDEATHSIG = 1


TEMPORARY_SERVER_ENV = "QSCEN_TEMPORARY_SERVER"
"""Set to ``1`` in the environment of a ``qscen`` command while it runs on its own temporary server.

Such a server lives for one command and runs no lease repossessor (Prefect's ephemeral mode), so a
global concurrency slot taken there and never released (``qscen`` killed with SIGKILL) would stay
taken in ``PREFECT_HOME``'s database for every later command. Concurrency limits therefore apply to
runs on a configured server (``PREFECT_API_URL``) only.
"""


class ServerStartError(QuantumScenariosError):
    """The temporary Prefect server did not answer in time."""


def startup_timeout() -> float:
    """The startup timeout: ``PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS`` or the default."""
    raw = os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS")
    try:
        return max(float(raw), 1.0) if raw else DEFAULT_STARTUP_TIMEOUT
    except ValueError:
        raise ValueError(
            f"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS must be a number of seconds, got {raw!r}"
        ) from None


def _die_with_parent() -> None:  # runs in the child between fork and exec
    os.setsid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: stop() and the signal handlers still clean up
        pass


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TemporaryServer:
    """A Prefect API server on 127.0.0.1 that lives exactly as long as this process wants it.

    Args:
        home: ``PREFECT_HOME`` (database and the server log); default from the environment.
        timeout: startup timeout in seconds; default :func:`startup_timeout`.
    """

    def __init__(self, home: str | os.PathLike | None = None, timeout: float | None = None) -> None:
        self.home = Path(home or os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()
        self.timeout = startup_timeout() if timeout is None else float(timeout)
        self.process: subprocess.Popen[bytes] | None = None
        self.port: int | None = None
        self.log_path = self.home / "qscen-server.log"
        self._launched = 0.0

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def _command(self) -> list[str]:
        spec = importlib.util.find_spec("prefect")
        if spec is None or spec.origin is None:
            raise ServerStartError("the prefect package is not installed; install the project's requirements")
        app_dir = str(Path(spec.origin).parent.parent)
        return [
            sys.executable, "-m", "uvicorn", "--app-dir", app_dir, "--factory",
            "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(self.port),
            "--log-level", "error", "--lifespan", "on",
        ]

    def start(self) -> "TemporaryServer":
        """Start the server and wait for its health check (:meth:`launch`, then :meth:`wait_ready`).

        Raises:
            ServerStartError: it exited or did not answer within the timeout (names the
                option to raise and the log file).
        """
        return self.launch().wait_ready()

    def launch(self) -> "TemporaryServer":
        """Start the server process and return at once; :meth:`wait_ready` waits for it.

        The server takes seconds to import and migrate its database. A command launches it
        first and does its own work (ingest, checks, imports) meanwhile, on another core.
        """
        self.home.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
               "PREFECT__SERVER_FINAL": "1", "PREFECT_HOME": str(self.home)}
        env.pop("PREFECT_API_URL", None)
        self.port = _free_port()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - fixed command line
                self._command(), env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                preexec_fn=_die_with_parent, close_fds=True,
            )
        self._launched = time.monotonic()
        return self

    def wait_ready(self) -> "TemporaryServer":
        """Wait for the launched server's health check (launching it first if needed).

        The timeout counts from the launch. A port taken between choosing and binding (uvicorn
        exits with code 3) is chosen again, up to three times.

        Raises:
            ServerStartError: as :meth:`start`.
        """
        if self.process is None:
            self.launch()
        for attempt in range(3):
            while time.monotonic() - self._launched < self.timeout:
                if self.process.poll() is not None:
                    break
                if self._healthy():
                    return self
                time.sleep(0.2)
            if self.process.poll() is None:  # still starting after the timeout
                self.stop()
                raise ServerStartError(
                    f"the temporary Prefect server did not start within {self.timeout:g} s (a busy machine?). "
                    "Raise PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, or start one server with "
                    "`prefect server start` and set PREFECT_API_URL=http://127.0.0.1:4200/api to reuse it. "
                    f"Server log: {self.log_path}"
                )
            if self.process.returncode != 3 or attempt == 2:  # 3: uvicorn could not bind the port
                break
            self.launch()
        code = None if self.process is None else self.process.returncode
        self.stop()
        raise ServerStartError(
            f"the temporary Prefect server exited during startup (exit code {code}); see {self.log_path}. "
            "Check that PREFECT_HOME is writable, or set PREFECT_API_URL to a running server."
        )

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as response:  # noqa: S310 - localhost
                return response.status == 200
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def stop(self, grace: float = 3.0) -> None:
        """Kill the server's process group and reap it (safe to call twice, and from a signal handler).

        Args:
            grace: seconds it has to exit after SIGTERM before SIGKILL.
        """
        process, self.process = self.process, None
        if process is None:
            return
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 3.0)):
            try:
                os.killpg(process.pid, sig)
            except (ProcessLookupError, PermissionError):
                break
            try:
                process.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        try:
            process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            pass

    def __enter__(self) -> "TemporaryServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
