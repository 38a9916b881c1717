"""Vigil's benchmarks: `make bench` (or `python -m bench`).

Not tests: nothing here asserts a timing, and pytest never collects this package
(`testpaths = ["tests"]`). Every number comes with a baseline measured in the same run,
because the machines are shared and noisy; a ratio to that baseline is what to compare
between runs. Results are printed and written to bench/results/latest.json.

Sections (`--only NAME`): audit, requests, threats, fleet, wireless (rescoring) and
wireless_import (WiGLE CSV import next to a plain COPY: bench/wireless_import_bench.py).
`--scale large` (or `make bench-large`) runs them on the large data set (1,000,000 sightings
over 100,000 radios, the file cached in bench/.cache) and rewrites the table in
docs/performance.md.
"""
