"""Readable run labels for tables and figures.

A run is labelled by what sets it apart: the ``key=value`` parts of its overrides (the
``sftlab.overrides`` tag; the run name for runs recorded before it) that not all runs share, the model left out (tables and figures show it
beside the label), keys shortened to their last part when that is unambiguous (``lora.r=8`` ->
``r=8``). A run with nothing of its own is labelled by its model; two runs of one model with the
same label (a rerun) get the start of their run id.
"""

from __future__ import annotations

from collections import Counter

from sftlab.track.naming import OVERRIDES_TAG


def _overrides_of(run) -> str:
    """The run's command-line overrides (tag), or its name for runs recorded before the tag."""
    tags = getattr(getattr(run, "data", None), "tags", None) or {}
    if OVERRIDES_TAG in tags:
        return tags[OVERRIDES_TAG] or f"model={tags.get('model', run.info.run_id[:8])}"
    return run.info.run_name or run.info.run_id[:8]


def _model_of(run, pieces: list[str]) -> str | None:
    named = [p.split("=", 1)[1] for p in pieces if p.startswith("model=")]
    tags = getattr(getattr(run, "data", None), "tags", None) or {}
    return named[0] if named else tags.get("model")


def short_labels(runs) -> dict[str, str]:
    """Readable run labels (see the module doc): ``lora.r=8,model=x,training.max_steps=2`` among
    runs that all share ``training.max_steps=2`` -> ``r=8``."""
    parts = {r.info.run_id: _overrides_of(r).split(",") for r in runs}
    common = set.intersection(*(set(p) for p in parts.values())) if parts else set()
    kept = {
        rid: [p for p in ps if p not in common and not p.startswith("model=")] for rid, ps in parts.items()
    }
    keys = {p.split("=", 1)[0] for ps in kept.values() for p in ps if "=" in p}
    last = Counter(k.rsplit(".", 1)[-1] for k in keys)

    def short(piece: str) -> str:
        key, eq, value = piece.partition("=")
        tail = key.rsplit(".", 1)[-1]
        return f"{tail if eq and last[tail] == 1 else key}{eq}{value}"

    labels, models = {}, {}
    for run in runs:
        rid = run.info.run_id
        models[rid] = _model_of(run, parts[rid])
        labels[rid] = ", ".join(short(p) for p in kept[rid]) or models[rid] or ",".join(parts[rid])
    seen = Counter((models[rid], label) for rid, label in labels.items())
    return {
        rid: f"{label} ({rid[:6]})" if seen[(models[rid], label)] > 1 else label
        for rid, label in labels.items()
    }
