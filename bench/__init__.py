"""Benchmarks: `./run bench` runs them all, `./run bench NAME` one (bench/NAME.py)."""
