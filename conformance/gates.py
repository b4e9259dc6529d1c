"""A gate server: probe tasks connect, say their gate's name, and wait for the test to let them go.

The test sees each arrival (the task is now provably running and held) and decides when
it ends. A task blocked on a gate is blocked on a real socket read, so an `async def`
probe that reads it without `await` really blocks its event loop.
"""

from __future__ import annotations

import socket
import threading
import time

__all__ = ["GATES_ENV", "GateServer", "arrive", "wait_gate", "wait_gate_async"]

GATES_ENV = "AFTERWARD_GATES"


class GateServer:
    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0), backlog=256)
        self.address = f"127.0.0.1:{self._sock.getsockname()[1]}"
        self._cond = threading.Condition()
        self._arrived: dict[str, float] = {}
        self._released: set[str] = set()
        self._open = True
        threading.Thread(target=self._accept, name="gates", daemon=True).start()

    def _accept(self) -> None:
        while self._open:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            name = conn.makefile("r").readline().strip()
            with self._cond:
                self._arrived[name] = time.monotonic()
                self._cond.notify_all()
                self._cond.wait_for(lambda: name in self._released or not self._open)
            try:
                conn.sendall(b"go\n")
            except OSError:
                pass

    def arrived(self, name: str) -> bool:
        with self._cond:
            return name in self._arrived

    def count(self, prefix: str) -> int:
        with self._cond:
            return sum(1 for n in self._arrived if n.startswith(prefix))

    def wait_arrived(self, name: str, timeout: float = 15.0) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: name in self._arrived, timeout):
                raise TimeoutError(f"gate {name!r}: nobody arrived within {timeout:g} s")

    def wait_count(self, prefix: str, count: int, timeout: float) -> int:
        """Wait until `count` gates named `prefix*` are reached; return how many are."""
        with self._cond:
            self._cond.wait_for(
                lambda: sum(1 for n in self._arrived if n.startswith(prefix)) >= count, timeout
            )
            return sum(1 for n in self._arrived if n.startswith(prefix))

    def release(self, *names: str) -> None:
        with self._cond:
            self._released.update(names)
            self._cond.notify_all()

    def release_prefix(self, prefix: str) -> None:
        with self._cond:
            self._released.update(n for n in self._arrived if n.startswith(prefix))
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._open = False
            self._cond.notify_all()
        self._sock.close()


def _target(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


def wait_gate(address: str, name: str) -> None:
    """Blocking: holds the calling thread (the event loop too, if it is one) until released."""
    with socket.create_connection(_target(address)) as conn:
        conn.sendall(name.encode() + b"\n")
        conn.makefile("r").readline()


def arrive(address: str, name: str) -> None:
    """Arrive at the gate and go on: a wrong probe's way to be seen there before it does otherwise."""
    with socket.create_connection(_target(address)) as conn:
        conn.sendall(name.encode() + b"\n")


async def wait_gate_async(address: str, name: str) -> None:
    import asyncio

    reader, writer = await asyncio.open_connection(*_target(address))
    writer.write(name.encode() + b"\n")
    await writer.drain()
    await reader.readline()
    writer.close()
