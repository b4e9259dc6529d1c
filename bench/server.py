"""A live server of a benchmark app."""

from __future__ import annotations

from typing import Any

from bench.load import SERVER_CPU, pinned
from shared.servers import SERVERS, LiveServer


class BenchServer(LiveServer):
    """`bench.apps.<name>_app:app` (or `app`) pinned to its own core, access log off, bound by port (see
    `Server.bind_by_port` in `shared.axes` for why). `runner` replaces the server's module
    (`python -m <runner>` instead of `python -m uvicorn`) for a wrapper that takes the
    same arguments, such as `bench.profiled`; `pin=False` leaves it on any core."""

    def __init__(self, name: str, server: str, runner: str | None = None, app: str | None = None,
                 pin: bool = True, **kwargs: Any) -> None:
        super().__init__(app or f"bench.apps.{name}_app:app", server, by_port=True, **kwargs)
        self.runner = runner
        self.pin = pin

    def command(self, fd: int) -> list[str]:
        cmd = super().command(fd)
        record = SERVERS[self.server]
        if record.access_log:
            at = cmd.index(record.access_log[0])
            del cmd[at:at + len(record.access_log)]
        cmd += record.no_access_log
        if self.runner:
            cmd[1:3] = ["-m", self.runner]
        return [*(pinned(SERVER_CPU) if self.pin else []), *cmd]
