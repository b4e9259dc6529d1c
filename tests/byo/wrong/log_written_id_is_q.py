"""Wrong: records `log_written` with `q` as its request id (breaks clause 11: the log line)."""

from tests.byo import notify_app as n


def write_log(message: str) -> None:
    with open(n.log_path(), mode="a", encoding="utf-8") as log:
        log.write(message + "\n")
    n.record("log_written", message.removeprefix("found query: "))


n.write_log = write_log
app = n.app
