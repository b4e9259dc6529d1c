"""Wrong: the final failure is logged on a logger below `afterward.mailer` (breaks clause 10: one
`ERROR` record on the `afterward.mailer` logger itself)."""

import logging

from tests.byo import notify_app as n

n.logger = logging.getLogger("afterward.mailer.smtp")  # getLogger(__name__) in a module of that name
app = n.app
