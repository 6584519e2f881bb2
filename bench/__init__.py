"""Benchmarks: seeded data and bounded load against one worker (see bench/README.md)."""
