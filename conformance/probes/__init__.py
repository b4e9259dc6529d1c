"""Semantics probes: one small app per framework, using only its native background-task primitive.

Each probe registers the tasks a test asks for (`?plan=async:gate,sync:mark`) with its
framework's own mechanism; `tasks.py` holds the framework-neutral task bodies and the
ASGI wrapper that records when the response left the app.
"""
