"""Sweeps (``-m``): the Hydra callback that opens one MLflow parent run, the job side (attach to
the parent, skip finished configs) and closing the parent with its summary and report.

Imports: ``sftlab.report`` and below.
"""
