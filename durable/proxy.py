"""A gate in front of Redis: a TCP proxy that, while held, keeps the bytes clients send.

`cut()` closes every connection and refuses new ones (a broker that is down) until
`restore()`. `blackhole()` makes it a broker that accepts and never answers (a hung Redis, a
network partition): new connections are accepted and every byte from a client, on them or
on a connection already open, is read and dropped, until `restore()`, which closes the
connections whose bytes were dropped; `wait_swallowed()` returns once some were. `hold()`
makes every byte from a client wait in the proxy (the client's command has left it and gets
no answer, as with a broker that stalls); `wait_held()` returns once some have arrived;
`release()` forwards them and lets traffic flow again. Nothing here sleeps: the test
decides when the broker answers.
"""

from __future__ import annotations

import socket
import threading

__all__ = ["BrokerGate"]


class BrokerGate:
    def __init__(self, upstream_port: int) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self._sock = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = self._sock.getsockname()[1]
        self._cond = threading.Condition()
        self._held = False
        self._waiting = 0
        self._open = True
        self._cut = False
        self._blackhole = False
        #: Chunks of client bytes dropped by the black hole, and the connections they came on.
        self.swallowed = 0
        self._desynced: list[socket.socket] = []
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, name="broker-gate", daemon=True).start()

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def _accept(self) -> None:
        while self._open:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            if self._cut:
                client.close()
                continue
            if self._blackhole:  # accepted, never connected upstream, never answered
                with self._cond:
                    self._conns.append(client)
                threading.Thread(target=self._swallow, args=(client,), daemon=True).start()
                continue
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self._cond:
                self._conns += [client, server]
            threading.Thread(target=self._pipe, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, False), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, gated: bool) -> None:
        with src, dst:
            while True:
                try:
                    data = src.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                if gated and self._blackhole:
                    self._drop(src)
                    continue
                if gated:
                    with self._cond:
                        if self._held:
                            self._waiting += 1
                            self._cond.notify_all()
                            self._cond.wait_for(lambda: not self._held or not self._open)
                            self._waiting -= 1
                try:
                    dst.sendall(data)
                except OSError:
                    return

    def _swallow(self, client: socket.socket) -> None:
        with client:
            while True:
                try:
                    data = client.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                self._drop(client)

    def _drop(self, conn: socket.socket) -> None:
        with self._cond:
            self.swallowed += 1
            if conn not in self._desynced:
                self._desynced.append(conn)
            self._cond.notify_all()

    def blackhole(self) -> None:
        with self._cond:
            self._blackhole = True

    def wait_swallowed(self, count: int = 1, timeout: float = 15.0) -> None:
        """Until the black hole has dropped `count` chunks of client bytes in all."""
        with self._cond:
            if not self._cond.wait_for(lambda: self.swallowed >= count, timeout):
                raise TimeoutError(f"the black hole took {self.swallowed} of {count} chunk(s) "
                                   f"in {timeout:g} s")

    def cut(self) -> None:
        with self._cond:
            self._cut = True
            for conn in self._conns:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._conns.clear()

    def restore(self) -> None:
        """The broker answers again. A connection whose bytes the black hole dropped is closed:
        the replies on it would no longer match its commands."""
        with self._cond:
            self._cut = False
            self._blackhole = False
            for conn in self._desynced:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._desynced.clear()

    def hold(self) -> None:
        with self._cond:
            self._held = True

    def wait_held(self, timeout: float = 15.0) -> None:
        """Until a client's bytes are waiting here."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._waiting > 0, timeout):
                raise TimeoutError(f"nothing reached the held broker within {timeout:g} s")

    def release(self) -> None:
        with self._cond:
            self._held = False
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._open = False
            self._held = False
            self._cond.notify_all()
        self._sock.close()

    def __enter__(self) -> BrokerGate:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
