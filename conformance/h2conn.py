"""One HTTP/2 connection in cleartext with prior knowledge (h2c), frame by frame.

The semantics tier's HTTP/2 properties need exact control of streams: a second request on the
connection that carries the first, a stream reset (RST_STREAM) by the client while the handler
runs. The `h2` package keeps the protocol's state; this drives it over a blocking socket and
records, per stream, what the server sent (status, body, end, reset) and, for the connection,
a GOAWAY or the end of the byte stream.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions

__all__ = ["H2Connection", "Stream"]


@dataclass
class Stream:
    status: int | None = None
    body: bytes = b""
    ended: bool = False  # END_STREAM from the server: the whole answer
    reset: int | None = None  # the error code of an RST_STREAM from the server
    headers: dict[bytes, bytes] = field(default_factory=dict)

    @property
    def over(self) -> bool:
        return self.ended or self.reset is not None


class H2Connection:
    """`request()` opens a stream, `wait()` reads frames until a condition holds or a deadline."""

    def __init__(self, port: int, timeout: float = 10.0) -> None:
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.streams: dict[int, Stream] = {}
        self.goaway: int | None = None  # the error code of a GOAWAY from the server
        self.eof = False  # the server closed the TCP connection
        self.conn.initiate_connection()
        self._flush()

    @property
    def closed(self) -> bool:
        """Has the server ended the connection (GOAWAY, or the end of its byte stream)?"""
        return self.goaway is not None or self.eof

    def request(self, method: str, path: str) -> int:
        sid = self.conn.get_next_available_stream_id()
        self.streams[sid] = Stream()
        headers = [
            (":method", method),
            (":path", path),
            (":scheme", "http"),
            (":authority", f"127.0.0.1:{self.port}"),
        ]
        self.conn.send_headers(sid, headers, end_stream=True)
        self._flush()
        return sid

    def reset(self, sid: int) -> None:
        """RST_STREAM(CANCEL): the client gives up on the stream, the connection stays."""
        self.conn.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
        self._flush()

    def wait(self, done: Callable[[], bool], timeout: float) -> bool:
        """Read frames until `done()` is true (returns True), the connection ends or the
        deadline passes (returns `done()`)."""
        deadline = time.monotonic() + timeout
        while not done() and not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                break
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            if not data:
                self.eof = True
                break
            self._receive(data)
        return bool(done())

    def _receive(self, data: bytes) -> None:
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError:
            self.eof = True  # the server broke the protocol: the connection is of no more use
            return
        for event in events:
            stream = self.streams.get(getattr(event, "stream_id", 0) or 0)
            if isinstance(event, h2.events.ResponseReceived) and stream is not None:
                stream.headers = {bytes(k): bytes(v) for k, v in event.headers}
                stream.status = int(stream.headers[b":status"])
            elif isinstance(event, h2.events.DataReceived):
                if stream is not None:
                    stream.body += event.data
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded) and stream is not None:
                stream.ended = True
            elif isinstance(event, h2.events.StreamReset) and stream is not None:
                stream.reset = int(event.error_code)
            elif isinstance(event, h2.events.ConnectionTerminated):
                self.goaway = int(event.error_code or 0)  # NO_ERROR when the frame names none
        self._flush()

    def _flush(self) -> None:
        data = self.conn.data_to_send()
        if data and not self.eof:
            try:
                self.sock.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                self.eof = True

    def close(self) -> None:
        self.sock.close()
