"""Benchmark apps that are deliberately slower, for the checks that must catch them."""
