"""Benchmarks, run as modules: ``python -m bench.checkin`` (see each module)."""
