"""The embedded default SMTP server: a real aiosmtpd server that keeps what it receives.

Tests use its gates to hold the reply to an e-mail for as long as they need (the sender
is then mid-send, deterministically) and its faults to answer an e-mail with an error.
`python -m shared.sink` runs it on its own and prints each e-mail as it arrives.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session, syntax

__all__ = ["SILENT", "STAGES", "Deliveries", "Gate", "Received", "SmtpSink"]

Match = Callable[[list[str]], bool]

#: The stages of a conversation where a fault can be set, in their order: the greeting, the
#: replies to `MAIL FROM`, `RCPT TO` and `DATA`, the reply after the message, the reply to `QUIT`.
STAGES = ("greeting", "mail", "rcpt", "data", "message", "quit")
#: A fault's reply that is no reply: the server says nothing more and keeps the connection open,
#: until the client gives up (its time-out) and goes.
SILENT = "(silent)"
#: Before `RCPT TO` the recipient is not known: a fault there takes the next conversations.
_BEFORE_RCPT = ("greeting", "mail")


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    arrived: float  # time.monotonic() when DATA came in
    #: time.monotonic() when the client said MAIL FROM: the start of its attempt.
    started: float = 0.0
    replied: float | None = None
    reply: str = ""
    #: The client went away before the reply (killed, timed out, cancelled): never answered.
    dropped: bool = False

    @property
    def delivered(self) -> bool:
        """Answered 250 on a connection that was still open: the server took the e-mail."""
        return self.replied is not None and self.reply.startswith("250")

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)


@dataclass
class Gate:
    """Holds the reply to every e-mail it matches until `release()`."""

    matches: Match
    _sink: SmtpSink
    _event: asyncio.Event = field(default_factory=asyncio.Event)
    arrived: list[Received] = field(default_factory=list)

    def release(self) -> None:
        self._sink._call(self._event.set)

    def wait_arrived(
        self, count: int = 1, timeout: float = 30.0, among: Collection[str] | None = None
    ) -> list[Received]:
        """Wait until `count` e-mails are held here (only those to one of `among`, if given)."""

        def held() -> int:
            return sum(1 for m in self.arrived if among is None or any(r in among for r in m.rcpt_tos))

        self._sink._wait(lambda: held() >= count, timeout, f"{count} e-mail(s) at the gate")
        return self.arrived

    def wait_dropped(self, timeout: float = 30.0) -> list[Received]:
        """Wait until the client of every e-mail held here has gone away (after a kill: so
        that a release cannot answer a connection whose close the server has not yet seen)."""
        self._sink._wait(
            lambda: all(m.dropped for m in self.arrived), timeout, "close of every held e-mail's connection"
        )
        return self.arrived


@dataclass
class _Fault:
    matches: Match
    reply: str  # "" closes the connection instead of answering
    times: int


class _Conversation(SMTP):
    """aiosmtpd's server, with the two stages its handler hooks cannot answer: the greeting
    and the reply to `DATA` itself (before the message)."""

    async def _handle_client(self) -> None:
        sink: SmtpSink = self.event_handler
        with sink._cond:
            sink.conversations += 1
            sink._cond.notify_all()
        reply = sink._take("greeting", [])
        if reply is None:
            try:
                await super()._handle_client()
            finally:
                with sink._cond:
                    sink.ended += 1
                    sink._cond.notify_all()
            return
        if reply == SILENT:
            await _never()
        if reply:
            await self.push(reply)
        assert self.transport is not None
        self.transport.close()

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        rcpts = [str(r) for r in self.envelope.rcpt_tos] if self.envelope is not None else []
        reply = self.event_handler._take("data", rcpts) if rcpts and not arg else None
        if reply is None:
            await super().smtp_DATA(arg)
        elif reply == SILENT:
            await _never()
        elif reply:
            await self.push(reply)
        else:
            assert self.transport is not None
            self.transport.close()


class SmtpSink:
    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, on_message: Callable[[Received], None] | None = None
    ) -> None:
        self.host = host
        self._requested_port = port
        self.port = 0
        self.received: list[Received] = []
        self._gates: list[Gate] = []
        self._faults: dict[str, list[_Fault]] = {stage: [] for stage in STAGES}
        #: Per recipient, how many times `RCPT TO` was refused (see `refuse`).
        self.refused: Counter[str] = Counter()
        #: Connections greeted (or faulted at the greeting) so far.
        self.conversations = 0
        #: Conversations over (the client quit or went away), greeted ones only.
        self.ended = 0
        self._on_message = on_message
        self._cond = threading.Condition()  # an RLock: Deliveries.update re-enters it
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._protocols: weakref.WeakSet[SMTP] = weakref.WeakSet()

    # -- life cycle -------------------------------------------------------
    def start(self) -> SmtpSink:
        sock = socket.create_server((self.host, self._requested_port))
        self.port = sock.getsockname()[1]
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop

            def protocol() -> SMTP:
                made = _Conversation(self, hostname="afterward-sink", enable_SMTPUTF8=True)
                self._protocols.add(made)
                return made

            self._server = loop.run_until_complete(loop.create_server(protocol, sock=sock))
            ready.set()
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(target=run, name="smtp-sink", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        for gate in self._gates:
            gate.release()

        async def close() -> None:
            assert self._server is not None
            self._server.close()
            # Every connection still open is closed and its handler ended here, on the loop,
            # so that nothing is left for the garbage collector to find on a closed loop.
            for protocol in self._protocols:
                if protocol.transport is not None:
                    protocol.transport.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.sleep(0)  # the transports' close callbacks
            self._loop.stop()  # type: ignore[union-attr]

        asyncio.run_coroutine_threadsafe(close(), self._loop)
        self._thread.join(10)
        self._loop = None

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests use ---------------------------------------------------
    def hold(self, address: str | Match | None = None) -> Gate:
        """Hold the replies to e-mails for `address` (a recipient, a predicate over the
        recipients, or None for every e-mail)."""
        gate = Gate(address if callable(address) else _matches(address), self)
        with self._cond:
            self._gates.append(gate)
        return gate

    def hold_first(self, address: str) -> Gate:
        """Hold the reply to the first e-mail for `address` only: a retry is answered at once."""
        gate: Gate = self.hold(lambda rcpts: address in rcpts and not gate.arrived)
        return gate

    def fail_at(self, stage: str, reply: str, address: str | None = None, times: int = 1) -> None:
        """Answer `stage` (one of `STAGES`) of the next `times` conversations for `address` with
        `reply`, e.g. '451 4.3.0 later'; `""` closes the connection there instead of answering, and
        `SILENT` answers nothing, the connection left open.
        At the greeting and `MAIL FROM` the recipient is not known yet: `address` must be None,
        and the fault takes whichever conversations come next."""
        if stage not in STAGES:
            raise ValueError(f"no SMTP stage {stage!r} (known: {', '.join(STAGES)})")
        if reply == SILENT and stage == "message":
            raise ValueError("the reply after the message is held with hold(), released by the test")
        if address is not None and stage in _BEFORE_RCPT:
            raise ValueError(f"a fault at {stage!r} comes before the recipient is known: no address")
        with self._cond:
            self._faults[stage].append(_Fault(_matches(address), reply, times))

    def fail(self, reply: str, address: str | None = None, times: int = 1) -> None:
        """Answer the next `times` e-mails for `address` with `reply`, e.g. '451 4.3.0 later'."""
        self.fail_at("message", reply, address, times)

    def drop(self, address: str | None = None, times: int = 1) -> None:
        """Close the connection of the next `times` e-mails for `address` instead of answering."""
        self.fail("", address, times)

    def refuse(self, reply: str, address: str | None = None, times: int = 1) -> None:
        """Refuse `address` at `RCPT TO` with `reply` (e.g. '450 4.2.1 mailbox busy') the next
        `times` times; no e-mail is received then, and `refused[address]` counts the refusals."""
        self.fail_at("rcpt", reply, address, times)

    def to(self, address: str) -> list[Received]:
        with self._cond:
            return [m for m in self.received if address in m.rcpt_tos]

    def wait_for(self, address: str, count: int = 1, timeout: float = 30.0) -> list[Received]:
        self._wait(
            lambda: len([m for m in self.to(address) if m.replied]) >= count,
            timeout,
            f"{count} e-mail(s) to {address}",
        )
        return self.to(address)

    def wait_conversations(self, count: int, timeout: float = 30.0) -> int:
        """Wait until `count` connections have been greeted (or faulted at the greeting)."""
        self._wait(lambda: self.conversations >= count, timeout, f"{count} SMTP connection(s)")
        return self.conversations

    def wait_ended(self, count: int, timeout: float = 30.0) -> int:
        """Wait until `count` greeted conversations are over: the client's last word said."""
        self._wait(lambda: self.ended >= count, timeout, f"{count} finished SMTP conversation(s)")
        return self.ended

    def wait_refused(self, address: str, count: int, timeout: float = 30.0) -> int:
        """Wait until `address` has been refused at `RCPT TO` `count` times; the refusals so far."""
        self._wait(lambda: self.refused[address] >= count, timeout, f"{count} refusal(s) of {address}")
        return self.refused[address]

    def deliveries(self, prefix: str) -> Deliveries:
        """Per recipient starting with `prefix`, how many e-mails were delivered (answered 250)."""
        return Deliveries(self, prefix)

    def wait_delivered(self, expected: Collection[str], prefix: str, timeout: float) -> Counter[str]:
        """Wait until as many e-mails to `prefix*` have been delivered as there are `expected`
        addresses, or the deadline. A barrier, not a check: it ends when each address has its
        e-mail, and also when a duplicate stands in for a loss, so that the caller, which
        compares per address (reliability/delivery.py), sees the loss instead of a time-out.
        Returns the deliveries per recipient without raising."""
        watch = self.deliveries(prefix)

        def done() -> bool:
            return sum(watch.update().values()) >= len(expected)

        with self._cond:
            self._cond.wait_for(done, timeout)
            return Counter(watch.counts)

    def wait_each_delivered(self, expected: Collection[str], prefix: str, timeout: float) -> bool:
        """Wait until every one of `expected` (addresses starting with `prefix`) has been delivered
        at least once, or the deadline; whether they all were. Duplicates do not stand in."""
        watch = self.deliveries(prefix)

        def done() -> bool:
            counts = watch.update()
            return all(counts[a] for a in expected)

        with self._cond:
            return self._cond.wait_for(done, timeout)

    # -- internals --------------------------------------------------------
    def _take(self, stage: str, rcpts: list[str]) -> str | None:
        """The reply of the first armed fault at `stage` for these recipients (one use of it), or
        None: no fault, the conversation goes on."""
        with self._cond:
            for fault in self._faults[stage]:
                if fault.times > 0 and fault.matches(rcpts):
                    fault.times -= 1
                    self._cond.notify_all()
                    return fault.reply
        return None

    @staticmethod
    def _close(server: SMTP) -> None:
        assert server.transport is not None
        server.transport.close()

    def _call(self, fn: Callable[[], Any]) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(fn)

    def _wait(self, done: Callable[[], bool], timeout: float, what: str) -> bool:
        with self._cond:
            if not self._cond.wait_for(done, timeout):
                raise TimeoutError(f"SMTP sink: no {what} within {timeout:g} s")
        return True

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        session.afterward_started = time.monotonic()  # type: ignore[attr-defined]
        reply = self._take("mail", [])
        if reply == SILENT:
            await _never()
        if reply == "":
            self._close(server)
            return "421 4.4.2 closing"  # written to a closed transport: nobody reads it
        return "250 OK" if reply is None else reply

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        reply = self._take("rcpt", [address])
        if reply == SILENT:
            await _never()
        if reply == "":
            self._close(server)
            return "421 4.4.2 closing"
        if reply is not None:
            with self._cond:
                self.refused[address] += 1
                self._cond.notify_all()
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        rcpts = [str(r) for r in envelope.rcpt_tos]
        item = Received(
            str(envelope.mail_from),
            rcpts,
            bytes(envelope.original_content or b""),
            time.monotonic(),
            getattr(session, "afterward_started", 0.0),
        )
        with self._cond:
            gates = [g for g in self._gates if g.matches(rcpts)]
            self.received.append(item)
            for gate in gates:
                gate.arrived.append(item)
            self._cond.notify_all()
        try:
            for gate in gates:
                await gate._event.wait()
        except asyncio.CancelledError:  # aiosmtpd cancels the handler when the client goes away
            with self._cond:
                item.dropped = True
                self._cond.notify_all()
            raise
        faulted = self._take("message", rcpts)
        reply = "250 OK" if faulted is None else faulted
        with self._cond:
            item.reply, item.replied = reply, time.monotonic()
            self._cond.notify_all()
        if self._on_message is not None:
            self._on_message(item)
        if not reply:  # a dropped connection: the client never gets an answer
            self._close(server)
            return "421 4.4.2 closing"  # written to a closed transport: nobody reads it
        if item.delivered:
            session.afterward_rcpts = rcpts  # type: ignore[attr-defined]  # for a fault at QUIT
        return reply

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        reply = self._take("quit", getattr(session, "afterward_rcpts", []))
        if reply == SILENT:
            await _never()
        if reply == "":
            self._close(server)
        return "221 Bye" if not reply else reply


async def _never() -> None:
    """Wait until aiosmtpd cancels the handler: the client has gone (or the sink stops)."""
    await asyncio.Event().wait()


class Deliveries:
    """Delivered e-mails per recipient starting with a prefix, counted incrementally: each
    e-mail is looked at until it is answered or dropped, however long the wait."""

    def __init__(self, sink: SmtpSink, prefix: str) -> None:
        self._sink, self.prefix = sink, prefix
        self._scanned = 0
        self._pending: list[Received] = []
        self.counts: Counter[str] = Counter()

    def update(self) -> Counter[str]:
        with self._sink._cond:  # reentrant: also called from inside the sink's waits
            fresh = [
                m
                for m in self._sink.received[self._scanned :]
                if any(r.startswith(self.prefix) for r in m.rcpt_tos)
            ]
            self._scanned = len(self._sink.received)
            waiting, self._pending = self._pending + fresh, []
            for m in waiting:
                if m.delivered:
                    self.counts.update(r for r in m.rcpt_tos if r.startswith(self.prefix))
                elif m.replied is None and not m.dropped:
                    self._pending.append(m)  # held or in progress: look again
            return self.counts


def _matches(address: str | None) -> Match:
    if address is None:
        return lambda rcpts: True
    return lambda rcpts: address in rcpts


def _print(item: Received) -> None:
    msg = item.message
    print(
        f"[sink] {item.reply[:3]} mail to {', '.join(item.rcpt_tos)}: "
        f"{msg['Subject']!s} | {msg.get_content().strip()}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m shared.sink", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    args = parser.parse_args(argv)
    sink = SmtpSink(args.host, args.port, on_message=_print).start()
    print(f"[sink] SMTP sink listening on {args.host}:{sink.port}; Ctrl-C stops it", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        sink.stop()


if __name__ == "__main__":
    main()
