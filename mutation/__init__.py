"""Mutation testing: every mutant of shared/ and the four apps must fail the contract tier."""
