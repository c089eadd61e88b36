"""Every schema registered with Hydra's ConfigStore, and the ``sftlab.*`` resolvers the YAMLs use."""

from __future__ import annotations

import os
from pathlib import Path

from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from sftlab.config.build_schema import BuildConfig
from sftlab.config.commands_schema import SCHEMAS
from sftlab.config.handoff_schema import SCHEMAS as HANDOFF_SCHEMAS
from sftlab.config.paths import asset_path, default_cache_dir
from sftlab.config.schema import JudgeRunConfig, RunConfig

_registered = False


def default_store() -> str:
    """``sqlite:///<current folder>/mlflow.db``: the embedded MLflow store of the folder you run from.

    Read from the process's working directory (jobs do not chdir), so it resolves the same in a
    Hydra run, a sweep callback and a composed command alike.
    """
    return f"sqlite:///{Path(os.getcwd()).resolve() / 'mlflow.db'}"


def register_configs() -> None:
    """Register the schemas with Hydra's ConfigStore and the ``sftlab.*`` resolvers (idempotent)."""
    global _registered
    if _registered:
        return
    resolvers = {
        "sftlab.asset": asset_path,
        "sftlab.cache_dir": default_cache_dir,
        "sftlab.default_store": default_store,
    }
    for name, fn in resolvers.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)
    cs = ConfigStore.instance()
    cs.store(name="run_schema", node=RunConfig)
    cs.store(name="judge_run_schema", node=JudgeRunConfig)
    cs.store(name="data_build_schema", node=BuildConfig)
    for name, (node, package) in SCHEMAS.items():
        cs.store(name=name, node=node, package=package)
    for name, node in HANDOFF_SCHEMAS.items():  # chat, merge, export
        cs.store(name=name, node=node)
    _registered = True
