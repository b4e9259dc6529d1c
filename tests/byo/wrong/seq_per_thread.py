"""Wrong: numbers events per thread, without the lock (breaks clause 11: `seq` is the process's order,
increasing)."""

import threading

from tests.byo import notify_app as n

local = threading.local()


def next_seq() -> int:
    local.seq = getattr(local, "seq", -1) + 1
    return local.seq


n.next_seq = next_seq
app = n.app
