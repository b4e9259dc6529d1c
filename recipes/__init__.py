"""Recipes: small runnable pieces that keep, after a move, a behaviour the old framework or
server had. `conformance/recipes.toml` says what each one changes; `python -m
conformance.recipes` applies each to the semantics probe and checks it changes exactly that."""
