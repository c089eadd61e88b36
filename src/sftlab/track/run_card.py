"""A run's result card: the markdown description (``mlflow.note.content``) on its MLflow page.

The card is built from what the run recorded (params, metrics, tags, artifacts), read back from
the store when the run's stages are done, so it shows exactly what the run page holds: model,
data, adapter size, losses, the benchmark base -> adapter with its interval, judge scores, and
links to the key artifacts. :func:`finish_run` also draws the base-vs-adapter chart first.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from sftlab.track import metric_names as mn
from sftlab.track.naming import OVERRIDES_TAG
from sftlab.track.plots import base_vs_adapter, paired_scores
from sftlab.track.tracker import NOTE_TAG

log = logging.getLogger(__name__)

CHART = "plots/base_vs_adapter.png"
LOSS_PLOT = "plots/loss_curve.png"
# Key artifacts, in the order the card links them: (path or folder, label).
KEY_ARTIFACTS = [
    (CHART, "base vs adapter"),
    (LOSS_PLOT, "loss curve"),
    ("eval/{task}_samples.json", "per-question table ({task})"),
    ("judge/scores.md", "judge scores"),
    ("adapter", "adapter"),
    ("config.yaml", "config"),
    ("data/stats.json", "data statistics"),
]


def _num(value, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _count(n) -> str:
    if n is None:
        return "?"
    n = float(n)
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{int(n)}"


def _on_disk(n_bytes: int | None) -> str:
    if not n_bytes:
        return ""
    size = f"{n_bytes / 2**20:.1f} MiB" if n_bytes >= 2**20 else f"{n_bytes / 2**10:.0f} KiB"
    return f", {size} on disk"


def _link(base: str, path: str, label: str) -> str:
    return f"[{label}]({base}/artifacts/{path})"


def _result_rows(m: dict, t: dict) -> list[tuple[str, str]]:
    """Benchmark base -> adapter (accuracy when the task has it) and judge means: the card's top."""
    rows = []
    pairs = paired_scores(m)
    with_acc = {r["task"] for r in pairs if r["metric"] == "acc"}
    source = t.get("sftlab.base_eval_source")
    reused = (
        f" (base from run `{source[:8]}`)" if t.get("sftlab.base_eval_reused") == "true" and source else ""
    )
    for r in pairs:
        if r["task"] in with_acc and r["metric"] != "acc":
            continue  # the chart shows every metric; the card stays short
        ci = ""
        if r["ci_low"] is not None and r["ci_high"] is not None:
            ci = f", paired 95% CI [{r['ci_low']:+.3f}, {r['ci_high']:+.3f}]"
        delta = r["adapter"] - r["base"]
        text = f"base {_num(r['base'])} → adapter **{_num(r['adapter'])}** (Δ {delta:+.3f}{ci}){reused}"
        rows.append((f"{r['task']}\u00a0{r['metric']}", text))  # no break inside the label
    paired = {r["task"] for r in pairs}
    for key in sorted(k for k in m if k.endswith("/acc") and k.count("/") == 1):
        if key.split("/")[0] not in paired:  # evaluated without the base (eval.evaluate_base=false)
            rows.append((key.replace("/", "\u00a0"), f"adapter **{_num(m[key])}**"))
    for prefix, label in (("judge/", "Judge"), ("human/", "People")):
        means = {
            k[len(prefix) : -len("/mean")]: v
            for k, v in m.items()
            if k.startswith(prefix) and k.endswith("/mean")
        }
        if means:
            scores = ", ".join(f"{suite} {_num(v, 2)}" for suite, v in sorted(means.items()))
            rows.append((label, f"{scores} (1–5, mean)"))
    return rows


def _setup_rows(m: dict, p: dict, t: dict, adapter_bytes: int | None) -> list[tuple[str, str]]:
    """Model and adapter, data, and the training loss."""
    rows = []
    model = t.get("model") or p.get("model.name", "?")
    quant = t.get("quantization") or p.get("quantization.name", "")
    lora = f"LoRA r={p['lora.r']}, alpha={p.get('lora.alpha', '?')}" if "lora.r" in p else ""
    targets = p.get("lora.target_modules", "").strip("[]").replace('"', "")
    described = ", ".join(x for x in (f"`{model}`", quant, lora) if x)
    rows.append(("Model", described + (f" on {targets}" if targets and lora else "")))
    if mn.TRAINABLE_PARAMS in m:
        share = m[mn.TRAINABLE_PARAMS] / m[mn.TOTAL_PARAMS] if m.get(mn.TOTAL_PARAMS) else None
        of = f" ({share:.1%} of {_count(m[mn.TOTAL_PARAMS])})" if share else ""
        rows.append(
            ("Adapter", f"{_count(m[mn.TRAINABLE_PARAMS])} trainable params{of}{_on_disk(adapter_bytes)}")
        )
    dataset = t.get("dataset") or p.get("dataset.name")
    if dataset:
        counts = ""
        if "data/train_records" in m:
            held_out = int(m.get("data/eval_records", 0))
            counts = f": {int(m['data/train_records'])} train / {held_out} held-out records"
        digest = f", hash `{t['data_hash'][:12]}`" if t.get("data_hash") else ""
        rows.append(("Data", f"`{dataset}`{counts}{digest}"))
    if mn.FINAL_LOSS in m:
        loss = f"{_num(m.get(mn.FIRST_LOSS))} → {_num(m[mn.FINAL_LOSS])}"
        if mn.EVAL_LOSS in m:
            loss += f"; eval loss {_num(m[mn.EVAL_LOSS])}"
        rows.append(("Train loss", loss))
    return rows


def card_markdown(run, artifacts: dict[str, int | None], adapter_bytes: int | None = None) -> str:
    """The card of ``run`` (an ``mlflow.entities.Run``); ``artifacts``: path -> size of what it holds.

    Results first (benchmark base -> adapter, judge), then how they were made (model, adapter,
    data, loss), then links to the artifacts behind them.
    """
    m, p, t = run.data.metrics, run.data.params, run.data.tags
    info = run.info
    base = f"#/experiments/{info.experiment_id}/runs/{info.run_id}"
    rows = _result_rows(m, t) + _setup_rows(m, p, t, adapter_bytes)

    tasks = sorted({r["task"] for r in paired_scores(m)} | {k.split("/")[0] for k in m if k.endswith("/acc")})
    links = []
    for path, label in KEY_ARTIFACTS:
        for task in tasks if "{task}" in path else [None]:
            real = path.format(task=task) if task else path
            if real in artifacts:
                links.append(_link(base, real, label.format(task=task) if task else label))
    if links:
        rows.append(("Artifacts", " · ".join(links)))
    if t.get(OVERRIDES_TAG):
        rows.append(("Overrides", t[OVERRIDES_TAG].replace(",", ", ")))  # wraps in the page

    lines = ["| | |", "|---|---|"] + [f"| **{k}** | {v.replace('|', '/')} |" for k, v in rows]
    if CHART in artifacts:
        lines += ["", f"![base vs adapter](get-artifact?path={CHART}&run_uuid={info.run_id})"]
    return "\n".join(lines) + "\n"


def _artifact_sizes(client, run_id: str) -> tuple[dict[str, int | None], int | None]:
    """Paths of the run's artifacts two levels deep, and the adapter's weights size."""
    sizes: dict[str, int | None] = {}
    for item in client.list_artifacts(run_id):
        sizes[item.path] = item.file_size
        if item.is_dir:
            for sub in client.list_artifacts(run_id, item.path):
                sizes[sub.path] = sub.file_size
    weights = [
        s for path, s in sizes.items() if path.startswith("adapter/") and path.endswith(".safetensors")
    ]
    return sizes, (sum(w or 0 for w in weights) or None)


def finish_run(tracker, title: str = "") -> str | None:
    """Draw the base-vs-adapter chart (if the run evaluated both) and write the result card.

    Returns the card's markdown, or None without an MLflow run. A failure here is logged and
    swallowed: the run's results are all recorded already, and the card only presents them.
    """
    if not getattr(tracker, "run_id", None):
        return None
    try:
        run = tracker.get_run()
        with tempfile.TemporaryDirectory() as tmp:
            chart = base_vs_adapter(run.data.metrics, Path(tmp) / Path(CHART).name, title=title)
            if chart:
                tracker.log_artifact(chart, artifact_path=str(Path(CHART).parent))
        from mlflow.tracking import MlflowClient

        client = MlflowClient()
        sizes, adapter_bytes = _artifact_sizes(client, run.info.run_id)
        text = card_markdown(run, sizes, adapter_bytes)
        tracker.set_tags({NOTE_TAG: text})
        return text
    except Exception as e:
        log.warning("could not write the run's result card (%s: %s)", type(e).__name__, e)
        return None
