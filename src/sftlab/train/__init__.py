"""Training: the TRL trainer, adapter-only checkpoints, resume after a kill, DDP tags, the job result.

Imports: ``sftlab.data`` and below (not ``memory``, ``evaluation`` or ``judge``).
"""
