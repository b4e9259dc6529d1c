"""Wrong: decides `on_loop` by the thread: true off the main thread (breaks clause 11: `on_loop` is true when
the thread runs an event loop; clause 4's test, which tells the senders apart by it, catches it)."""

import threading

from tests.byo import notify_app as n

n.on_loop = lambda: threading.current_thread() is not threading.main_thread()
app = n.app
