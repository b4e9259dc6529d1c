"""A live server process, started from a server's record (`shared.axes`).

A `LiveServer` is a real ASGI server process serving one app on 127.0.0.1. The test
binds the listening socket itself (port 0) and hands it to the server as a file
descriptor, so there is no race for a port; readiness is polled on `GET /health`
with a deadline; stopping kills only the process it started, by PID.

A server that takes no socket from its parent (`Server.binds_itself`) binds a port itself,
with SO_REUSEPORT (one socket per worker). For it the test reserves the port instead: a socket bound with
SO_REUSEPORT but never listening, held until the server answers. The kernel lets only a
socket that also sets SO_REUSEPORT share that port, and a socket that does not listen
takes no connections, so between the reservation and readiness no other program can bind
the port and no request can reach anything but the server.
"""

from __future__ import annotations

import functools
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from shared import reaper
from shared.axes import FRAMEWORKS, MANAGERS, RUNNABLE, SERVERS

__all__ = [
    "APP_DIR_ENV",
    "FRAMEWORKS",
    "MANAGERS",
    "RUNNABLE",
    "PYTHON_ENV",
    "REPO",
    "SERVERS",
    "LiveServer",
    "ServerFailed",
    "app_dir",
    "binds_itself",
    "client_tls",
    "process_tree",
    "python",
    "python_version",
    "reserve_port",
]

REPO = Path(__file__).resolve().parent.parent
#: The directory the servers import apps from and run in: this checkout, unless this variable
#: names another (`afterward-conformance` sets it to the user's `--app-dir`).
APP_DIR_ENV = "AFTERWARD_APP_DIR"


def process_tree(root: int) -> list[int]:
    """`root` and its descendants, from /proc (those that exit meanwhile are skipped)."""
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        try:
            todo += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            pass
    return found


def _listening_inodes(port: int) -> set[str]:
    """The inodes of the sockets listening on 127.0.0.1:`port`, from /proc/net/tcp (state 0A)."""
    local = f"0100007F:{port:04X}"
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return {r.split()[9] for r in rows if r.split()[1] == local and r.split()[3] == "0A"}


def accepting(pids: list[int], port: int) -> list[int]:
    """Those of `pids` that poll a socket listening on `port`: its descriptor is in one of their
    epoll sets (/proc/PID/fdinfo's `tfd:` lines). asyncio, uvloop and the Rust servers' runtimes
    all poll by epoll; a worker that polls the listening socket is taking connections."""
    inodes = {f"socket:[{i}]" for i in _listening_inodes(port)}
    out = []
    for pid in pids:
        try:
            with os.scandir(f"/proc/{pid}/fd") as entries:
                fds = {e.name: os.readlink(e) for e in entries}
            listening = {n for n, target in fds.items() if target in inodes}
            polled = {
                line.split()[1]
                for n, target in fds.items()
                if target == "anon_inode:[eventpoll]"
                for line in Path(f"/proc/{pid}/fdinfo/{n}").read_text().splitlines()
                if line.startswith("tfd:")
            }
        except OSError:  # a process that has just exited
            continue
        if listening & polled:
            out.append(pid)
    return out


@functools.cache
def client_tls() -> ssl.SSLContext:
    """One TLS context for all the suite's HTTP clients (`httpx.Client(verify=client_tls())`): httpx
    would build one per client, loading the CA bundle each time, about 50 ms of CPU: seconds per
    pair of a conformance run, which makes hundreds of clients."""
    return ssl.create_default_context()


#: The interpreter the servers run with: this one, unless this variable names another
#: (`afterward-conformance --python`, for an app whose environment is another Python's).
PYTHON_ENV = "AFTERWARD_PYTHON"


def python() -> str:
    return os.environ.get(PYTHON_ENV) or sys.executable


@functools.cache
def python_version() -> str:
    """The servers' Python, as the axis names it (`3.13`); a report row says which it was."""
    if not os.environ.get(PYTHON_ENV):
        return f"{sys.version_info.major}.{sys.version_info.minor}"
    done = subprocess.run(
        [python(), "-c", "import sys; print(f'{sys.version_info.major}.{sys.version_info.minor}')"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def app_dir() -> Path:
    return Path(os.environ.get(APP_DIR_ENV) or REPO).resolve()


def binds_itself(server: str) -> bool:
    """Does this server bind its port itself (no socket passed)?"""
    return RUNNABLE[server].binds_itself


def reserve_port() -> socket.socket:
    """A port on 127.0.0.1 that only a socket setting SO_REUSEPORT can share, taking no connections."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class ServerFailed(RuntimeError):
    pass


class LiveServer:
    def __init__(
        self,
        app: str,
        server: str,
        env: Mapping[str, str] | None = None,
        log_path: Path | None = None,
        extra_args: Sequence[str] = (),
        ready_timeout: float = 30.0,
        quiet: bool = False,
        by_port: bool = False,
        unset: Sequence[str] = (),
    ) -> None:
        if server not in RUNNABLE:
            raise ValueError(f"unknown server {server!r}; known: {', '.join(RUNNABLE)}")
        self.app, self.server = app, server
        self.env = dict(env or {})
        self.unset = tuple(unset)  # variables of this process's environment the server must not see
        self.log_path = log_path
        self.extra_args = tuple(extra_args)
        self.ready_timeout = ready_timeout
        #: Ready once every worker takes connections, without a request (a worker's requests count
        #: towards its request limit): a process manager's only.
        self.quiet = quiet and RUNNABLE[server].manager
        self.by_port = by_port
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def command(self, fd: int) -> list[str]:
        record = RUNNABLE[self.server]
        template = ("-m", *record.command, *record.access_log)
        if self.by_port:
            template = tuple(t for a in template for t in record.bind_by_port.get(a, (a,)))
        args = [a.format(app=self.app, fd=fd, port=self.port) for a in template]
        return [python(), *args, *self.extra_args]

    def start(self) -> LiveServer:
        reserved = None
        if binds_itself(self.server):
            reserved = reserve_port()  # held until the server answers (see the module's docstring)
            sock, self.port = None, reserved.getsockname()[1]
        else:
            sock = socket.create_server(("127.0.0.1", 0), backlog=512)
            self.port = sock.getsockname()[1]
            if self.by_port:
                sock.close()  # the server binds the port itself, a moment later
        fd = sock.fileno() if sock is not None and not self.by_port else -1
        env = {k: v for k, v in os.environ.items() if k not in self.unset}
        env |= {**self.env, "PYTHONUNBUFFERED": "1"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(app_dir()), env.get("PYTHONPATH")]))
        out = self.log_path.open("ab") if self.log_path else subprocess.DEVNULL
        try:
            # A session of its own: some servers serve from spawned worker processes, and a kill
            # must reach that child too, without touching anything this code did not start.
            self.proc = subprocess.Popen(
                self.command(fd),
                pass_fds=[] if fd < 0 else [fd],
                env=env,
                cwd=app_dir(),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            if sock is not None:
                sock.close()  # the child holds its own copy
            if self.log_path:
                out.close()  # type: ignore[union-attr]
        reaper.watch(self.proc.pid)
        try:
            self._wait_ready()
        except BaseException:  # anything, even an interrupt: never leave the process behind
            self.stop()
            raise
        finally:
            if reserved is not None:
                reserved.close()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        assert self.proc is not None
        last = "nothing (no connection yet)"
        with httpx.Client(timeout=2.0, verify=client_tls()) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise ServerFailed(
                        f"{self} exited with {self.proc.returncode} before it was ready\n{self.log_tail()}"
                    )
                if self.quiet:
                    if self.workers_ready():
                        return
                    last = f"workers taking connections: {len(self.workers())}"
                    time.sleep(0.05)  # readiness polling, not test synchronisation
                    continue
                try:
                    answer = client.get(self.url + "/health")
                    if answer.status_code == 200 and self.workers_ready():
                        return
                    last = f"{answer.status_code} {answer.text[:120]!r}"
                except httpx.TransportError as error:
                    last = f"no answer ({type(error).__name__})"
                time.sleep(0.05)  # readiness polling, not test synchronisation
        self.stop()
        raise ServerFailed(
            f"{self} not ready within {self.ready_timeout:g} s: "
            f"{'' if self.quiet else 'GET /health answered '}{last}"
            f"\n{self.log_tail()}"
        )

    def gone(self, pid: int, timeout: float) -> bool:
        """Wait up to `timeout` for process `pid` (one of the server's) to end; a zombie has ended."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                return True
            if state in ("Z", "X"):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)  # polling a process's state with a deadline, not test synchronisation

    def worker_of(self, client: socket.socket) -> int | None:
        """The process of the server's that holds the other end of `client`, a connection to it
        (from /proc/net/tcp and each process's descriptors); None once none does."""
        here, there = client.getsockname()[1], client.getpeername()[1]
        wanted = f"0100007F:{there:04X}", f"0100007F:{here:04X}"
        rows = [r.split() for r in Path("/proc/net/tcp").read_text().splitlines()[1:]]
        inodes = {f"socket:[{r[9]}]" for r in rows if (r[1], r[2]) == wanted}
        for pid in self.pids():
            try:
                with os.scandir(f"/proc/{pid}/fd") as entries:
                    if any(os.readlink(e) in inodes for e in entries):
                        return pid
            except OSError:
                continue
        return None

    def workers(self) -> list[int]:
        """The worker processes taking connections (the server process itself, for a lone server)."""
        return accepting(self.pids(), self.port)

    def workers_ready(self) -> bool:
        """A process manager is ready once each of its workers takes connections: a signal sent
        while one still starts would meet a worker half made, which is another scenario."""
        record = RUNNABLE[self.server]
        return not record.manager or len(set(self.workers()) - {self.pid}) >= record.workers

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def pids(self) -> list[int]:
        """The server process and its descendants (hypercorn's worker, for one)."""
        return process_tree(self.pid)

    def rss_kib(self) -> int:
        """Resident memory of the server process and its workers, from /proc/PID/status."""
        total = 0
        for pid in self.pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:  # a worker that has just exited
                continue
            total += next(
                (int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0
            )
        return total

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process and its workers, from /proc/PID/stat."""
        ticks = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ticks += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15
        return ticks / os.sysconf("SC_CLK_TCK")

    def signal(self, sig: int = signal.SIGTERM) -> None:
        """SIGTERM goes to the server process, whose shutdown path handles its workers;
        SIGKILL, which nothing can handle, goes to the whole process group it leads."""
        if self.proc is None or self.proc.poll() is not None:
            return
        if sig == signal.SIGKILL:
            self.kill()
        else:
            self.proc.send_signal(sig)

    def kill(self) -> None:
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the group this process leads: ours alone
        except ProcessLookupError:
            pass

    def wait(self, timeout: float) -> int | None:
        assert self.proc is not None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, grace: float = 10.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
            if self.wait(grace) is None:
                self.kill()
                self.proc.wait(10)
        reaper.forget(self.proc.pid)

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __str__(self) -> str:
        return f"{self.app} under {self.server} on {self.url}"
