"""Evaluation through lm-evaluation-harness: task YAMLs, the runner around the in-memory model,
the post-training eval stage, the base-score cache and the standalone ``sftlab eval`` job.

Imports: ``sftlab.data`` and below (not ``train``, ``memory`` or ``judge``).
"""
