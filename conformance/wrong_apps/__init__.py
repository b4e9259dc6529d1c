"""Deliberately wrong implementations of the spec: the suite's own tests assert each is caught.

Each is the Starlette reference app with one handler changed.
"""
