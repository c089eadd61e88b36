"""Reports: tables and figures of an experiment or a sweep, read back from MLflow.

Imports: ``sftlab.track``, ``sftlab.config``.
"""
