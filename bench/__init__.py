"""Benchmarks: our server beside the usual FastAPI SSE pattern, on the same fake upstream.

``python -m bench`` (``make bench``) runs the quick profile; ``--full`` the longer one. Results go
to ``bench/results/latest.json`` and ``docs/benchmarks.md``.
"""
