"""The benchmark apps: one per framework, same routes, plus a bare-ASGI ceiling."""
