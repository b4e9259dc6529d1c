"""Domain code common to the four apps: the spec's constants, validation, the senders,
the log writer, the event recorder and the embedded SMTP sink. Nothing here wraps a
framework."""
