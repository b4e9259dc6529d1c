"""A server that binds its port itself (granian) gets one no other program can take first."""

from __future__ import annotations

import errno
import socket

import pytest

from shared.servers import SERVERS, binds_itself, reserve_port


def test_a_reserved_port_cannot_be_bound_by_a_socket_without_reuseport() -> None:
    reserved = reserve_port()
    try:
        intruder = socket.socket()
        with pytest.raises(OSError) as refused:
            intruder.bind(("127.0.0.1", reserved.getsockname()[1]))
        intruder.close()
        assert refused.value.errno == errno.EADDRINUSE
    finally:
        reserved.close()


def test_a_reserved_port_takes_no_connections_until_the_server_listens_on_it() -> None:
    reserved = reserve_port()
    port = reserved.getsockname()[1]
    try:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        server = socket.socket()  # what granian does: SO_REUSEPORT, bind, listen
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        server.bind(("127.0.0.1", port))
        server.listen()
        with server, socket.create_connection(("127.0.0.1", port), timeout=5):
            accepted, _ = server.accept()
            accepted.close()
    finally:
        reserved.close()


def test_only_granian_binds_its_port_itself() -> None:
    assert [name for name in SERVERS if binds_itself(name)] == ["granian"]
