"""The standalone memory estimate: one breakdown per composed config, then a summary table.

Overrides are Hydra's, sweeps included (``model=a,b,c``), so any configuration ``sftlab train``
accepts can be estimated without loading a weight or touching the network (the 7B entries use
their shipped architecture configs when the hub is unreachable).
"""

from __future__ import annotations

from sftlab.memory.estimate import GIB


def expand_sweep(overrides: list[str]) -> list[list[str]]:
    """Every combination of the comma-separated sweep values in ``overrides``."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(overrides)
    (batch,) = BasicSweeper.split_arguments(parsed, max_batch_size=None)
    return [list(job) for job in batch]


def compose(overrides: list[str]):
    """``conf/estimate.yaml`` (a training config plus ``estimate.*``) with ``overrides``; nothing loaded."""
    from sftlab.config.compose import compose as compose_config

    return compose_config("estimate", ["paths.output_dir=.", "logger=none", *overrides])


def data_lengths(cfg):
    """Token-length stats of the configured data with the model's tokenizer (may download)."""
    from sftlab.data.lengths import summarize, token_lengths
    from sftlab.data.loading import build_datasets
    from sftlab.model.loading import load_tokenizer, resolve_source

    train_ds, _ = build_datasets(cfg.dataset, cfg.model)
    return summarize(token_lengths(train_ds, load_tokenizer(cfg.model, resolve_source(cfg.model))))


def main(overrides: list[str]) -> int:
    """``sftlab estimate``: print the estimate of each config; exit 1 if any does not fit its budget."""
    from sftlab.memory.preflight import device_budget, plan, settings_from_cfg, target_device

    rows, any_over = [], False
    for job in expand_sweep(overrides):
        cfg = compose(job)
        device = target_device(cfg.preflight)
        lengths = data_lengths(cfg) if cfg.estimate.data else None
        if device == "cuda" and cfg.preflight.device_memory_gb is None:
            import torch

            if not torch.cuda.is_available():  # no card to measure: print the estimate alone
                from sftlab.memory.estimate import estimate, shapes_from_model
                from sftlab.model.loading import architecture_config, meta_model

                s = settings_from_cfg(cfg, device, lengths)
                conf = architecture_config(cfg.model)
                est = estimate(
                    shapes_from_model(conf, meta_model(conf), set(s.lora_targets)), s, cfg.model.name
                )
                print(est.table(), "\n", flush=True)
                rows.append((" ".join(job) or "(defaults)", est.total, None, ""))
                continue
        device_budget(cfg.preflight, device)  # fail early on a bad budget setting
        result = plan(cfg, lengths)
        print(result.report(), "\n", flush=True)
        any_over |= not result.fits
        rows.append(
            (
                " ".join(job) or "(defaults)",
                result.estimate.total,
                result.budget,
                (result.suggestions or [""])[0],
            )
        )
    width = max(len(r[0]) for r in rows)
    print(f"{'config':<{width}}  {'estimate GiB':>12}  {'budget GiB':>10}  verdict")
    for name, total, budget, fix in rows:
        verdict = (
            "-"
            if budget is None
            else ("fits" if total <= budget else f"does NOT fit; try: {fix or 'nothing fits'}")
        )
        b = "-" if budget is None else f"{budget / GIB:.2f}"
        print(f"{name:<{width}}  {total / GIB:12.2f}  {b:>10}  {verdict}")
    return 1 if any_over else 0
