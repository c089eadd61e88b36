"""Memory: the peak-memory estimate from a config alone, the preflight that stops runs that cannot
fit, the standalone estimate command and the throughput benchmark.

Imports: ``sftlab.data`` and below.
"""
