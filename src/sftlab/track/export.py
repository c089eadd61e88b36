"""``sftlab export``: hand a trained adapter on (model card, vLLM verdict and command, Hub push).

The adapter folder (or the run's adapter artifact, downloaded) gets a fresh model card from the
training run's record: the run is ``adapter=<run id>`` or the one recorded in the folder's
``sftlab_model.json``, read from ``logger.tracking_uri``. The summary says whether vLLM can serve
the adapter as a LoRA and prints the exact ``vllm serve`` command; with ``hub.repo_id`` the
folder is pushed (private by default).
"""

from __future__ import annotations

import logging
from pathlib import Path

import yaml
from omegaconf import DictConfig, OmegaConf

from sftlab.config.errors import ConfigError

log = logging.getLogger(__name__)


def _training_config(run, adapter: Path) -> dict | None:
    """The run's resolved config, else the ``config.yaml`` beside the adapter (its training folder)."""
    if run and run.config:
        return run.config
    beside = adapter.parent / "config.yaml"
    return yaml.safe_load(beside.read_text()) if beside.is_file() else None


def main(cfg: DictConfig) -> str:
    """Write the card, print the summary, push when ``hub.repo_id`` is set; returns the summary."""
    from sftlab.track.adapter_source import with_adapter
    from sftlab.track.hub import push_folder
    from sftlab.track.model_card import build_card, find_run, read_json, save_card
    from sftlab.track.vllm import advise, architecture

    if not cfg.adapter:
        raise ConfigError("adapter: sftlab export needs adapter=<folder | runs:/<run id> | run id>")
    Path(cfg.paths.output_dir).mkdir(parents=True, exist_ok=True)
    cfg, source = with_adapter(cfg, "export")
    adapter = Path(source.path)
    run_id = source.run_id or source.meta.get("run_id")
    uri = cfg.logger.tracking_uri if cfg.logger.backend == "mlflow" else None
    run = find_run(run_id, uri, source.meta.get("tracking_uri"))
    config = _training_config(run, adapter)
    model = dict((config or {}).get("model") or OmegaConf.to_container(cfg.model, resolve=True))
    adapter_config = read_json(adapter / "adapter_config.json")
    repo = cfg.hub.repo_id
    name = repo.split("/")[-1] if repo else (f"sftlab-{run_id[:8]}" if run_id else adapter.parent.name)
    vllm = advise(
        adapter_config, str(model.get("name_or_path")), architecture(model), name, repo or str(adapter)
    )
    card = build_card(
        kind="adapter", meta=source.meta, adapter_config=adapter_config, config=config, run=run,
        location=repo or str(adapter), vllm=vllm,
    )  # fmt: skip
    card_path = save_card(card, adapter)
    lines = [f"adapter: {adapter}", f"model card: {card_path}"]
    lines.append(
        f"MLflow run: {run.run_id}" if run else "MLflow run: not found (the card says what is missing)"
    )
    lines += [f"vLLM: {line}" for line in vllm.lines]
    if vllm.command:
        lines.append(f"  {vllm.command}")
    if not repo:
        lines.append("hub: not pushed (set hub.repo_id=<user>/<name> to push)")
    print("\n".join(lines), flush=True)  # the summary stands even if the push then fails
    if repo:
        message = cfg.hub.commit_message or f"sftlab export of run {run_id or adapter.parent.name}"
        url = push_folder(adapter, cfg.hub, message)
        lines.append(f"pushed to {repo} ({'private' if cfg.hub.private else 'public'} if new): {url}")
        print(lines[-1], flush=True)
    return "\n".join(lines)
