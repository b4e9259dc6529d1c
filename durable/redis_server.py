"""A Redis server as a child process: Debian's `redis-server`, on 127.0.0.1, persisting every write.

Append-only with `appendfsync always`: Redis writes and fsyncs each command to its log
before it answers, so a message the web app was told is enqueued survives a SIGKILL of
Redis itself. The server runs in a directory of its own, on a port this code picked, and
is killed by PID; `restart()` starts it again on the same port and directory, where it
reloads what it had.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis

from shared import reaper

__all__ = ["RedisServer", "redis_binary", "redis_version"]


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found is None:
        raise RuntimeError("redis-server is not installed: `apt-get install redis-server` "
                           "(the nox sessions that need it install it)")
    return found


def redis_version() -> str:
    """`7.0.15`, from `redis-server --version` (`Redis server v=7.0.15 sha=...`)."""
    out = subprocess.run([redis_binary(), "--version"], capture_output=True, text=True, check=True).stdout
    return next((w[2:] for w in out.split() if w.startswith("v=")), out.strip())


def _free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return sock.getsockname()[1]


class RedisServer:
    def __init__(self, workdir: Path, ready_timeout: float = 20.0) -> None:
        self.workdir = workdir
        self.ready_timeout = ready_timeout
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        return [redis_binary(), "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.workdir),
                "--appendonly", "yes", "--appendfsync", "always", "--save", "",
                "--protected-mode", "yes", "--daemonize", "no", "--logfile", "redis.log"]

    def start(self) -> RedisServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        for _ in range(5):  # the port was free a moment ago; another process may take it first
            self.port = self.port or _free_port()
            self.proc = subprocess.Popen(self.command(), cwd=self.workdir, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.STDOUT, start_new_session=True)
            reaper.watch(self.proc.pid)  # stopped even if this process dies first
            if self._wait_ready():
                return self
            self.port = 0
        raise RuntimeError(f"redis-server did not start in {self.workdir}:\n{self.log_tail()}")

    def _wait_ready(self) -> bool:
        assert self.proc is not None
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + self.ready_timeout
        try:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    return False
                try:
                    # Answered only once the append-only file is loaded; and only ours counts: when
                    # another test's Redis took the port first, it answers this ping while ours
                    # is failing to bind, and two stacks would share one broker.
                    if client.ping():
                        return client.info("server")["process_id"] == self.proc.pid or self._lost()
                except redis.RedisError:
                    pass
                time.sleep(0.05)  # readiness polling
        finally:
            client.close()
        self.kill()
        return False

    def _lost(self) -> bool:
        """Another process answers on our port: ours cannot bind it; try another port."""
        self.kill()
        return False

    def log_tail(self, lines: int = 20) -> str:
        log = self.workdir / "redis.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would; nothing Redis can tidy up first."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        if self.proc is not None:
            reaper.forget(self.proc.pid)

    def restart(self) -> RedisServer:
        """Started again on the same port and directory, as after a crash."""
        self.kill()
        return self.start()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.proc is not None:
            reaper.forget(self.proc.pid)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
