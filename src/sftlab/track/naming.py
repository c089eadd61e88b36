"""Names of MLflow runs a person can read in the runs table.

A training run is ``<model>-<short key overrides>-<short config hash>``
(``tiny_llama-r=8,lr=1e-4-3f9a1c``): the model first, even when ``model=`` was not typed,
then the overrides by their last key segment, then six hex digits of the config hash so two
runs never share a name. The full override string stays in the run's ``sftlab.overrides`` tag.
A sweep's parent is named after the sweep: ``sweep-<short overrides>`` (or
``sweep-<experiment>`` for ``experiment=...``) and the time its folder was made.
"""

from __future__ import annotations

from omegaconf import DictConfig

from sftlab.config.runtime import hydra_cfg, in_multirun

OVERRIDES_TAG = "sftlab.overrides"
SWEEP_FUNCTIONS = ("range(", "choice(", "interval(", "glob(", "tag(", "shuffle(", "sort(")
MAX_OVERRIDES_CHARS = 48  # what the runs table's name column shows without cutting it off
_SKIP = {"model", "logger.run_name"}  # the model leads the name already; run_name is a name itself


def _pairs(overrides: str | list[str]) -> list[tuple[str, str]]:
    items = overrides.split(",") if isinstance(overrides, str) else list(overrides)
    pairs: list[tuple[str, str]] = []
    for item in items:
        if "=" in item:
            key, value = item.split("=", 1)
            pairs.append((key.lstrip("+~"), value))
        elif pairs:  # override_dirname joins a list value's items with ","
            pairs[-1] = (pairs[-1][0], f"{pairs[-1][1]},{item}")
    return pairs


def swept_keys(sweep_overrides: list[str]) -> list[str]:
    """The keys a sweep varies: ``["lora.r=4,8", "model=x"]`` -> ``["lora.r"]``."""
    keys = []
    for item in sweep_overrides:
        key, _, value = item.partition("=")
        depth, splits = 0, False
        for ch in value:
            depth += ch in "[({"
            depth -= ch in "])}"
            splits |= ch == "," and depth == 0
        if splits or value.startswith(SWEEP_FUNCTIONS):
            keys.append(key.lstrip("+~"))
    return keys


def short_overrides(
    overrides: str | list[str],
    limit: int = MAX_OVERRIDES_CHARS,
    skip: set[str] = _SKIP,
    first: list[str] | tuple[str, ...] = (),
) -> str:
    """``lora.r=8,training.learning_rate=1e-4`` -> ``r=8,learning_rate=1e-4`` (cut at ``limit``);
    the keys in ``first`` (what a sweep varies) lead, so the cut never hides them."""
    pairs = [(k, v) for k, v in _pairs(overrides) if k not in skip and not k.startswith("hydra")]
    pairs.sort(key=lambda kv: kv[0] not in first)  # stable: Hydra's order otherwise
    parts = [f"{key.rsplit('.', 1)[-1]}={value}" for key, value in pairs]
    text = ",".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "~"


def job_overrides() -> str:
    """The job's command-line overrides as Hydra joins them (``override_dirname``), or ''."""
    hc = hydra_cfg()
    return hc.job.override_dirname if hc is not None else ""


def _swept_in_this_sweep() -> list[str]:
    """In a sweep's job: the keys the sweep varies (recorded by the sweep's callback), else []."""
    hc = hydra_cfg()
    if hc is None or not in_multirun():
        return []
    from sftlab.track.sweep_info import read_sweep_info, sweep_dir_of

    return (read_sweep_info(sweep_dir_of(hc)) or {}).get("swept", [])


def run_name(cfg: DictConfig, chash: str | None = None) -> str:
    """``logger.run_name``, else ``<model>-<short overrides>-<hash6>``."""
    if cfg.logger.run_name:
        return cfg.logger.run_name
    if chash is None:
        from omegaconf import OmegaConf

        from sftlab.track.tracker import config_hash

        chash = config_hash(OmegaConf.to_container(cfg, resolve=True))
    short = short_overrides(job_overrides(), first=_swept_in_this_sweep())
    return "-".join(p for p in (cfg.model.name, short, chash[:6]) if p)


def sweep_name(overrides: list[str], folder_time: str) -> str:
    """The parent run of a sweep, after what it varies: ``sweep-model=a,b,r=4,8-03-10-00``;
    ``sweep-study_tiny-03-10-00`` for ``experiment=study_tiny`` (its grid is in its YAML)."""
    pairs = [(k, v) for k, v in _pairs(overrides) if not k.startswith("hydra")]
    experiment = [v for k, v in pairs if k == "experiment"]
    swept = set(swept_keys(overrides))
    varied = [f"{k}={v}" for k, v in pairs if k in swept] or [f"{k}={v}" for k, v in pairs]
    what = experiment[0] if experiment else short_overrides(varied, limit=60, skip={"logger.run_name"})
    return "-".join(p for p in ("sweep", what or "defaults", folder_time) if p)
