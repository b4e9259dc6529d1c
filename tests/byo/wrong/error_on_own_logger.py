"""Wrong: logs the final failure on the module's own logger (breaks clause 10: the `afterward.mailer`
logger)."""

import logging

from tests.byo import notify_app as n

n.logger = logging.getLogger("notify_app")
app = n.app
