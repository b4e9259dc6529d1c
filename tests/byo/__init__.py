"""A from-scratch implementation of shared/SPEC.md, and variants of it that each break one sentence."""
