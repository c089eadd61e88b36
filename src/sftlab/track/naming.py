"""Names of MLflow runs."""

from __future__ import annotations

from omegaconf import DictConfig

from sftlab.config.runtime import hydra_cfg


def run_name(cfg: DictConfig) -> str:
    """``logger.run_name``, else the job's command-line overrides, else ``<model>-defaults``."""
    if cfg.logger.run_name:
        return cfg.logger.run_name
    hc = hydra_cfg()
    overrides = hc.job.override_dirname if hc is not None else ""
    return overrides or f"{cfg.model.name}-defaults"
