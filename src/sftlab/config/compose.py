"""Composing a command's configuration outside a Hydra run, and re-composing inside one.

Light commands (``sftlab report``, ``sftlab estimate``, ...) need the same config groups and
override syntax as ``sftlab train`` but no run folder, so they compose with Hydra's compose
API. Jobs that learn something after composing (an adapter folder names its base model) ask
for the same composition again with extra overrides.
"""

from __future__ import annotations

from sftlab.config.errors import ConfigError
from sftlab.config.paths import CONF_DIR


def compose(config_name: str, overrides: list[str]):
    """``conf/<config_name>.yaml`` with ``overrides``, typed by its schema; bad keys are ConfigErrors."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from sftlab.config.registry import register_configs

    register_configs()
    if GlobalHydra.instance().is_initialized():  # inside a Hydra app: reuse its search path
        return _compose_or_explain(hydra_compose, config_name, overrides)
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return _compose_or_explain(hydra_compose, config_name, overrides)


def _compose_or_explain(hydra_compose, config_name: str, overrides: list[str]):
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    try:
        return hydra_compose(config_name=config_name, overrides=list(overrides))
    except (HydraException, OmegaConfBaseException) as e:
        lines = [
            ln.strip() for ln in str(e).splitlines() if ln.strip() and not ln.strip().startswith("To append")
        ]
        text = " ".join(lines[:2]) if lines else type(e).__name__
        raise ConfigError(f"{text} (see conf/{config_name}.yaml)") from None


def task_overrides() -> list[str]:
    """The command-line overrides of the Hydra job running in this process ([] outside one)."""
    from sftlab.config.runtime import hydra_cfg

    hc = hydra_cfg()
    return list(hc.overrides.task) if hc is not None else []


def recompose(config_name: str, extra: list[str]):
    """Inside a Hydra job: the job's own composition again, with ``extra`` overrides first.

    ``extra`` goes first so that the user's own overrides (``model.name_or_path=...``) still
    apply on top of a group option chosen for them.
    """
    return compose(config_name, list(extra) + task_overrides())
