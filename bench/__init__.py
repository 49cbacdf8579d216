"""Benchmarks that print figures (run from the repository root, e.g. `python -m bench.fanin`)."""
