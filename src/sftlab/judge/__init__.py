"""Judging: judges (OpenAI-compatible, local model, people), rubrics, scores, human-score import,
the post-training judge stage and the standalone ``sftlab judge`` job.

Imports: ``sftlab.data`` and below (not ``train``, ``memory`` or ``evaluation``).
"""
