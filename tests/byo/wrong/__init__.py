"""Variants of `tests.byo.notify_app`, each breaking one observable sentence of shared/SPEC.md."""
