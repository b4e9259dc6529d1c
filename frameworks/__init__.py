"""The four reference implementations of `shared/SPEC.md`, one module per framework."""
