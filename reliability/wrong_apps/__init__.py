"""Deliberately wrong (or just different) apps the reliability checks must catch.

Each is the Starlette reference app with one thing changed; tests/test_reliability_wrong_apps.py
runs one check against each and asserts it fails, naming what broke. `DECLARED_AS` names
the reference framework whose declared semantics (conformance/expected.toml) the app claims.
"""
