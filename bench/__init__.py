"""Benchmarks: commands that print measured figures (targets live here, not in timed tests)."""
