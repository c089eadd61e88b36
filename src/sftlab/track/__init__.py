"""Experiment tracking: the MLflow tracker, run names, plots, tables and a sweep's on-disk record.

Imports: ``sftlab.config`` only. Every stage logs through the tracker it is handed.
"""
