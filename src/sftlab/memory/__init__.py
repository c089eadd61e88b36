"""Memory: the peak-memory estimate from a config alone, the preflight that stops runs that cannot
fit (the training job and an hf_local judge), the standalone estimate command and the
throughput benchmark.

Imports: ``sftlab.data`` and below.
"""
