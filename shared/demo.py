"""`python -m shared.demo FRAMEWORK SERVER`: the SMTP sink plus one app, and one notification to watch.

Starts the embedded SMTP sink and the chosen app under the chosen server on 127.0.0.1,
sends one request while the sink holds the e-mail, prints the answer, then lets the
e-mail through and prints it: the notification lands after the answer. The server keeps
running (each further e-mail is printed) until Ctrl-C, unless `--once`.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import httpx

from shared.servers import FRAMEWORKS, SERVERS, LiveServer
from shared.sink import SmtpSink, _print


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m shared.demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("framework", nargs="?", default="fastapi", choices=list(FRAMEWORKS))
    parser.add_argument("server", nargs="?", default="uvicorn", choices=list(SERVERS))
    parser.add_argument("--once", action="store_true", help="stop after the first notification")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="afterward-demo-"))
    with SmtpSink(on_message=_print) as sink:
        env = {"AFTERWARD_SMTP_PORT": str(sink.port), "AFTERWARD_LOG_PATH": str(workdir / "log.txt")}
        with LiveServer(
            FRAMEWORKS[args.framework].app, args.server, env=env, log_path=workdir / "server.log"
        ) as server:
            print(
                f"[demo] {args.framework} under {args.server} on {server.url}; SMTP sink on port {sink.port}"
            )
            gate = sink.hold("demo@example.com")
            t0 = time.monotonic()
            answer = httpx.post(f"{server.url}/send-notification/demo@example.com", params={"q": "demo"})
            print(f"[demo] +{time.monotonic() - t0:.3f}s answer {answer.status_code} {answer.json()}")
            gate.wait_arrived()
            print(
                f"[demo] +{time.monotonic() - t0:.3f}s the e-mail is at the SMTP server, held; releasing it"
            )
            gate.release()
            sink.wait_for("demo@example.com")
            print(f"[demo] log: {(workdir / 'log.txt').read_text().strip()}")
            if args.once:
                return
            print(
                f"[demo] try: curl -X POST '{server.url}/send-notification/you@example.com?q=hi&sender=async'"
            )
            print("[demo] Ctrl-C stops")
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                pass


if __name__ == "__main__":
    main()
