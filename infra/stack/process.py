"""Start, find and stop a background service by PID file, without trusting stale PIDs."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path


def quick_start_jvms(environ: MutableMapping[str, str] = os.environ) -> str:
    """Make the JVMs started from here on compile with C1 only, and return the options before.

    For JVMs that run seconds to minutes (the tests' and the demo's Kafka, Druid and Spark): on
    2 cores C2's compile threads cost more than its faster code saves (the demo's Spark and Druid
    stages took 40% less time).  C1 alone gets a 48 MiB code cache by default, which Spark fills
    within minutes ("compilation: disabled", then everything interpreted): the default tiered
    size is kept.  A tier the user chose in ``JDK_JAVA_OPTIONS`` is kept.
    """
    before = environ.get("JDK_JAVA_OPTIONS", "")
    if "TieredStopAtLevel" not in before:
        quick = "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m"
        environ["JDK_JAVA_OPTIONS"] = f"{before} {quick}".strip()
    return before


class ServiceError(RuntimeError):
    """A service failed to start, or did not become healthy in time."""


EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def ephemeral_range() -> tuple[int, int]:
    """The ports the kernel hands out for ``bind(0)`` and outgoing connections (Linux default)."""
    try:
        low, high = EPHEMERAL_RANGE_FILE.read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def _service_ports(size: int) -> list[int]:
    """First ports of ``size`` consecutive ports wholly outside the ephemeral range, shuffled."""
    low, high = ephemeral_range()
    firsts = [*range(10000, low - size + 1), *range(high + 1, 65536 - size + 1)]
    random.shuffle(firsts)
    return firsts


def free_port_block(size: int, host: str = "127.0.0.1") -> int:
    """A first port with ``size`` consecutive ports free from it, outside the ephemeral range.

    Why not ``bind(0)``: a service we stop leaves clients that keep dialing its port (Spark's
    cached Kafka producers reconnect every second for ten minutes). Were that port ephemeral,
    the kernel could hand it to a later ``bind(0)`` listener, such as the state server Spark
    opens for each ``transformWithStateInPandas`` task; that server took a producer's bytes as
    its own protocol and died, and the task's Python worker hung in connect. Ports from outside
    the range are never handed out by ``bind(0)``, so a stale client reaches only a service we
    started ourselves, or nothing.
    """
    for first in _service_ports(size)[:200]:
        sockets: list[socket.socket] = []
        try:
            for port in range(first, first + size):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sockets.append(sock)
                sock.bind((host, port))
            return first
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise OSError(f"no {size} consecutive free ports on {host} outside the ephemeral range")


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now, outside the ephemeral range (see ``free_port_block``)."""
    return free_port_block(1, host)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return check()


@dataclass(frozen=True)
class ManagedProcess:
    """A detached process recorded in `<dir>/<name>.pid`.

    `marker` must appear in the process's command line; a PID reused by another program
    after a crash is then not mistaken for ours.
    """

    name: str
    directory: Path
    marker: str

    @property
    def pid_file(self) -> Path:
        return self.directory / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.directory / "logs" / f"{self.name}.out"

    def recorded_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def pid(self) -> int | None:
        """The PID if our process is alive, else None."""
        pid = self.recorded_pid()
        if pid is None:
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        zombie = stat.rsplit(")", 1)[-1].split()[:1] == ["Z"]
        # An empty command line is a process caught between fork and exec: ours, starting.
        if not zombie and (self.marker in cmdline or not cmdline.strip()):
            return pid
        return None

    def crashed(self) -> bool:
        """We started it and never stopped it, yet it is gone (killed, OOM, crashed)."""
        return self.recorded_pid() is not None and self.pid() is None

    def start(self, argv: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> int:
        """Start detached (own session, so it outlives the CLI) with output to the log file."""
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as out:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
                cwd=cwd,
                start_new_session=True,
            )
        self.pid_file.write_text(str(proc.pid))
        return proc.pid

    def stop(self, timeout: float = 30.0, leader_first: bool = False) -> bool:
        """SIGTERM the process group, then SIGKILL after `timeout`; True if something was stopped.

        ``leader_first`` signals only the process this object started and lets it stop its own
        children (a Python driver and its Spark JVM: signalling the group kills the JVM under a
        running batch); the group gets SIGTERM only if the leader is still alive after ``timeout``.
        """
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        if leader_first:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            if wait_until(lambda: not _alive(pid), timeout):
                _signal_group(pid, signal.SIGTERM)  # anything the leader left behind
                self.pid_file.unlink(missing_ok=True)
                return True
        _signal_group(pid, signal.SIGTERM)
        if not wait_until(lambda: not _alive(pid), timeout):
            _signal_group(pid, signal.SIGKILL)
            wait_until(lambda: not _alive(pid), 10)
        self.pid_file.unlink(missing_ok=True)
        return True

    def kill(self) -> None:
        """SIGKILL without any shutdown (used by crash-recovery tests)."""
        pid = self.pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            wait_until(lambda: not _alive(pid), 10)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(os.getpgid(pid), sig)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _alive(pid: int) -> bool:
    try:
        # Reap it if it is our child (tests start services in-process).
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[:1] != ["Z"]
