"""`python -m durable.demo FRAMEWORK SERVER`: Redis, a Celery worker, a durable app and the SMTP sink.

Starts the embedded SMTP sink, Redis (append-only, in a temporary directory, on a port it
picks), one Celery worker and the chosen durable app under the chosen server, all on
127.0.0.1; sends one notification while the sink holds the e-mail, prints the answer,
then lets the e-mail through and prints it. Runs until Ctrl-C, unless `--once`.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import httpx

from durable.stack import DURABLE_APPS, Stack
from shared.servers import SERVERS
from shared.sink import SmtpSink, _print


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m durable.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("framework", nargs="?", default="fastapi", choices=list(DURABLE_APPS))
    parser.add_argument("server", nargs="?", default="uvicorn", choices=list(SERVERS))
    parser.add_argument("--once", action="store_true", help="stop after the first notification")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="afterward-durable-demo-"))
    with SmtpSink(on_message=_print) as sink, \
            Stack(DURABLE_APPS[args.framework], args.server, sink.port, workdir) as stack:
        assert stack.web is not None and stack.redis is not None
        print(f"[demo] {stack.app} under {args.server} on {stack.web.url}; Redis on port {stack.redis.port}; "
              f"one Celery worker; SMTP sink on port {sink.port}; files in {workdir}")
        gate = sink.hold("demo@example.com")
        t0 = time.monotonic()
        answer = httpx.post(f"{stack.web.url}/send-notification/demo@example.com", params={"q": "demo"})
        print(f"[demo] +{time.monotonic() - t0:.3f}s answer {answer.status_code} {answer.json()}")
        gate.wait_arrived()
        print(f"[demo] +{time.monotonic() - t0:.3f}s the worker's e-mail is at the SMTP server, held; "
              "releasing it")
        gate.release()
        sink.wait_for("demo@example.com")
        print(f"[demo] log: {stack.log_path.read_text().strip()}")
        if args.once:
            return
        url = f"{stack.web.url}/send-notification/you@example.com?q=hi&sender=async"
        print(f"[demo] try: curl -X POST '{url}'")
        print("[demo] Ctrl-C stops")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            stack.terminate()  # first: under nox, this process is killed a moment after Ctrl-C


if __name__ == "__main__":
    main()
