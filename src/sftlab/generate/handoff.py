"""After training: the adapter's model card and registry version (a stage), and ``sftlab merge``.

:func:`handoff_stage` runs last in a training job: it writes the adapter's ``README.md`` (model
card from the run's record) and records the run in ``sftlab_model.json``, uploads both beside the
adapter artifact, and with ``logger.register_model=<name>`` registers the adapter in the MLflow
Model Registry. :func:`merge_main` is ``sftlab merge``: the merge itself lives in
:mod:`sftlab.model.merge`; here it becomes a tracked run with a model card and, optionally, a
registered version. This module sits in ``generate`` because the served model answers through
the generation code and the layers below cannot import it.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import asdict
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from sftlab.config.errors import ConfigError

log = logging.getLogger(__name__)


def _spec(cfg, bf16=None, quantization=None) -> dict:
    """The served model's settings: plain dicts of the model, quantization and generation groups."""
    return {
        "model": OmegaConf.to_container(cfg.model, resolve=True),
        "quantization": quantization or OmegaConf.to_container(cfg.quantization, resolve=True),
        "generation": OmegaConf.to_container(cfg.generation, resolve=True),
        "bf16": bf16,
    }


def _version_facts(run, kind: str, model_name: str) -> tuple[str, dict]:
    """The registry version's description and tags, from the training run's record."""
    metrics = run.metrics if run else {}
    tags = {"sftlab.kind": kind, "sftlab.base_model": model_name}
    text = f"{'Merged model' if kind == 'merged' else 'LoRA adapter'} of {model_name}"
    if run:
        tags["sftlab.training_run_id"] = run.run_id
        text += f" from MLflow run {run.run_id}"
        if run.tags.get("data_hash"):
            tags["sftlab.data_hash"] = run.tags["data_hash"]
            text += f"; data hash {run.tags['data_hash'][:12]}"
    for key in ("belebele/acc", "belebele/base_acc"):
        if key in metrics:
            tags[f"sftlab.{key.replace('/', '.')}"] = f"{metrics[key]:.4f}"
    if "belebele/acc" in metrics and "belebele/base_acc" in metrics:
        text += f"; Belebele acc {metrics['belebele/acc']:.3f} (base {metrics['belebele/base_acc']:.3f})"
    return text + ".", tags


def handoff_stage(cfg, tracker, result) -> None:
    """Last stage of a training job: model card, run record in the folder, optional registry version."""
    from sftlab.generate.serving import register
    from sftlab.track.adapter_source import META_FILE
    from sftlab.track.model_card import build_card, read_json, run_facts, safe_uri, save_card
    from sftlab.track.vllm import advise, architecture

    if not result.adapter_dir:
        return
    adapter = Path(result.adapter_dir)
    uri = cfg.logger.tracking_uri if cfg.logger.backend == "mlflow" else None
    meta = read_json(adapter / META_FILE)
    if tracker.run_id:  # later commands (export, merge) find the run from the folder alone
        meta.update(run_id=tracker.run_id, experiment=cfg.logger.experiment_name, tracking_uri=safe_uri(uri))
        (adapter / META_FILE).write_text(json.dumps(meta, indent=2))
    run = run_facts(uri, tracker.run_id)
    config = OmegaConf.to_container(cfg, resolve=True)
    adapter_config = read_json(adapter / "adapter_config.json")
    model = config["model"]
    name = f"sftlab-{tracker.run_id[:8]}" if tracker.run_id else adapter.parent.name
    vllm = advise(adapter_config, model["name_or_path"], architecture(model), name, str(adapter))
    card = build_card(
        kind="adapter", meta=meta, adapter_config=adapter_config, config=config, run=run,
        location=str(adapter), vllm=vllm,
    )  # fmt: skip
    path = save_card(card, adapter)
    log.info("Model card: %s", path)
    if tracker.run_id and cfg.logger.log_adapter:  # only beside a complete adapter artifact
        tracker.log_artifact(path, artifact_path="adapter")
        tracker.log_artifact(adapter / META_FILE, artifact_path="adapter")
    if cfg.logger.register_model and tracker.run_id:
        description, tags = _version_facts(run, "adapter", cfg.model.name)
        uri_, _ = register(
            cfg.logger.register_model,
            _spec(cfg, bf16=cfg.training.bf16),
            adapter_dir=str(adapter),
            description=description,
            tags=tags,
            # None once an hf_local judge freed it: the registry then loads base + saved adapter.
            preloaded=(result.model, result.tokenizer) if result.model is not None else None,
        )
        tracker.set_tags({"sftlab.registered_model": uri_})
        print(f"registered: {uri_}  (serve: mlflow models serve -m {uri_} --env-manager local)", flush=True)


def merge_main(cfg: DictConfig) -> str:
    """``sftlab merge``: estimate, merge, check, write the folder and its card; returns the folder."""
    from sftlab.generate.serving import register
    from sftlab.model.merge import check_fits, estimate, merge_adapter, merge_dtype, publish, write_record
    from sftlab.track.adapter_source import with_adapter
    from sftlab.track.model_card import build_card, find_run, read_json, save_card
    from sftlab.track.registry import check_target
    from sftlab.track.tracker import closes_run, flatten, git_commit, make_tracker

    if not cfg.adapter:
        raise ConfigError("adapter: sftlab merge needs adapter=<folder | runs:/<run id> | run id>")
    if not cfg.out:
        raise ConfigError("out: sftlab merge needs out=<folder to write the merged model to>")
    out = Path(cfg.out).expanduser().resolve()
    if out.exists() and not cfg.merge.overwrite:
        raise ConfigError(f"out: {out} exists; choose another folder or merge.overwrite=true")
    check_target(cfg.logger)
    cfg, source = with_adapter(cfg, "merge")
    dtype = merge_dtype(cfg.model, cfg.merge.dtype)
    est = estimate(cfg.model, dtype, source.path, cfg.merge.max_shard_size, cfg.merge.memory_gb)
    check_fits(est)
    print(f"merge: {est.line()}", flush=True)
    uri = cfg.logger.tracking_uri if cfg.logger.backend == "mlflow" else None
    training_run = source.run_id or source.meta.get("run_id")
    tracker = make_tracker(cfg.logger)
    tags = {"sftlab.stage": "merge", "model": cfg.model.name, "sftlab.adapter_path": source.path}
    tags["git_commit"] = git_commit(str(Path(__file__).resolve().parent))
    if training_run:
        tags["sftlab.adapter_run_id"] = training_run
    tracker.start(cfg.logger.run_name or f"merge-{training_run or Path(source.path).parent.name}",
                  flatten(OmegaConf.to_container(cfg, resolve=True)), tags)  # fmt: skip
    with closes_run(tracker):
        stage, check = merge_adapter(cfg.model, source.path, out, cfg.merge)
        run = find_run(training_run, uri, source.meta.get("tracking_uri"))
        try:
            provenance = {
                "adapter": source.path,
                "adapter_run_id": training_run,
                "base_model": cfg.model.name,
                "base_name_or_path": cfg.model.name_or_path,
                "trained_quantization": cfg.quantization.name,
            }
            record = write_record(stage, check, provenance)
            card = build_card(
                kind="merged",
                meta=source.meta,
                adapter_config=read_json(Path(source.path) / "adapter_config.json"),
                config=None,
                run=run,
                location=str(out),
                merge=asdict(check),
            )
            save_card(card, stage)
            publish(stage, out, cfg.merge.overwrite)
        finally:
            shutil.rmtree(stage, ignore_errors=True)  # gone after publish; a failure leaves nothing
        tracker.log_metrics(
            {"merge/max_abs_logit_diff": check.max_abs_logit_diff, "merge/top1_agreement": check.top1_agreement,
             "merge/estimated_ram_gib": est.need_bytes / 2**30},
        )  # fmt: skip
        tracker.log_artifact(out / "README.md", artifact_path="merged")
        tracker.log_artifact(out / record.name, artifact_path="merged")
        if cfg.logger.register_model:
            description, vtags = _version_facts(run, "merged", cfg.model.name)
            none = {"name": "none", "load_in_4bit": False, "load_in_8bit": False,
                    "bnb_4bit_quant_type": "nf4", "bnb_4bit_use_double_quant": False,
                    "bnb_4bit_compute_dtype": dtype}  # fmt: skip
            spec = _spec(cfg, quantization=none)
            spec["model"]["dtype"] = dtype
            uri_, _ = register(
                cfg.logger.register_model, spec, merged_dir=str(out), description=description, tags=vtags
            )
            tracker.set_tags({"sftlab.registered_model": uri_})
            print(f"registered: {uri_}", flush=True)
    print(
        f"merged model: {out}\ncheck: max |logit diff| {check.max_abs_logit_diff:.3g} vs base + adapter "
        f"({dtype}, tolerance {check.tolerance:g}); top-1 agreement {100 * check.top1_agreement:.1f}%",
        flush=True,
    )
    if tracker.run_id:
        print(f"MLflow run: {tracker.run_id} (experiment '{cfg.logger.experiment_name}')", flush=True)
    return str(out)
