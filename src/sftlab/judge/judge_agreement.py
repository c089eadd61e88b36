"""``sftlab scores agree``: agreement of two judge runs on the attempts both graded.

Each run's ``judge/attempts.jsonl`` (written by :func:`sftlab.judge.stage.record`) is read back;
attempts are matched on ``(suite, item, attempt)`` and the two ``score`` columns compared with
:func:`sftlab.judge.statistics.agreement_stats` (quadratic-weighted kappa and Spearman with
seeded bootstrap intervals) and :func:`sftlab.judge.scoring.agreement` (exact agreement, mean
absolute difference), overall and per suite. Two judges of the same answers (e.g. the same model
judged by GPT-4 and by a local judge) give matching answer texts; when the texts of a matched
attempt differ the judges graded different answers, and the table says how many did.

The table is printed and logged to both runs as ``judge/agreement_<other run id>.md``.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

from sftlab.config.errors import DataError, TrackingError
from sftlab.judge.stage import ARTIFACT_DIR

KEY = ("suite", "item", "attempt")


def read_attempts(client, run_id: str, work: Path) -> tuple[list[dict], dict]:
    """``(rows, meta)`` of a judged run; a one-line TrackingError when it has none."""
    from mlflow.exceptions import MlflowException

    try:
        client.get_run(run_id)
    except MlflowException:
        raise TrackingError(f"run_a/run_b: no run {run_id} in this tracking store") from None
    dest = work / run_id
    try:
        rows_path = client.download_artifacts(run_id, f"{ARTIFACT_DIR}/attempts.jsonl", str(dest))
        meta_path = client.download_artifacts(run_id, f"{ARTIFACT_DIR}/meta.json", str(dest))
    except (MlflowException, OSError):
        raise TrackingError(f"run {run_id} has no {ARTIFACT_DIR}/attempts.jsonl; was it judged?") from None
    text = Path(rows_path).read_text(encoding="utf-8")
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    return rows, json.loads(Path(meta_path).read_text(encoding="utf-8"))


def pair_rows(rows_a: list[dict], rows_b: list[dict]) -> list[dict]:
    """One row per attempt present in both runs: ``suite``, ``item``, ``attempt``, ``score_a``,
    ``score_b``, ``same_answer`` (None scores kept: the statistics skip them)."""
    by_key = {tuple(r.get(k) for k in KEY): r for r in rows_b}
    out = []
    for a in rows_a:
        b = by_key.get(tuple(a.get(k) for k in KEY))
        if b is None:
            continue
        out.append(
            {
                "suite": a["suite"],
                "item": a["item"],
                "attempt": a["attempt"],
                "score_a": a.get("score"),
                "score_b": b.get("score"),
                "same_answer": a.get("answer") == b.get("answer"),
            }
        )
    return out


def _fmt(value) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.2f}"


def agreement_table(pairs: list[dict], confidence: float = 0.95, seed: int = 0) -> list[dict]:
    """Rows ``{"suite", "n", "same_answer", "exact", "mean_abs_diff", "kappa_quadratic", ...}``:
    one per suite and ``all``; ``n`` counts the attempts both judges scored."""
    from sftlab.judge.scoring import agreement
    from sftlab.judge.statistics import agreement_stats

    groups = {"all": pairs}
    for suite in sorted({p["suite"] for p in pairs}):
        groups[suite] = [p for p in pairs if p["suite"] == suite]
    table = []
    for name, group in groups.items():
        both = [p for p in group if p["score_a"] is not None and p["score_b"] is not None]
        simple = agreement(both, "score_a", "score_b")
        stats = agreement_stats(both, "score_a", "score_b", confidence, seed)
        table.append(
            {
                "suite": name,
                "matched": len(group),
                "same_answer": sum(p["same_answer"] for p in both),
                "exact": simple["exact"],
                "mean_abs_diff": simple["mean_abs_diff"],
                **stats,
            }
        )
    return table


def table_markdown(table: list[dict], label_a: str, label_b: str, confidence: float) -> str:
    """The agreement table as markdown, with a line on what was compared."""
    pct = f"{confidence * 100:g} %"
    lines = [
        f"# Judge agreement: {label_a} vs {label_b}\n",
        f"Attempts matched on (suite, item, attempt); n = attempts both judges scored. Kappa: "
        f"quadratic-weighted Cohen's kappa; intervals: {pct} paired bootstrap over attempts.\n",
        "| suite | matched | n | same answer | exact | mean abs. diff | kappa | kappa CI | Spearman | Spearman CI |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for r in table:
        lines.append(
            f"| {r['suite']} | {r['matched']} | {r['n']} | {r['same_answer']} | {_fmt(r['exact'])} | "
            f"{_fmt(r['mean_abs_diff'])} | {_fmt(r['kappa_quadratic'])} | "
            f"[{_fmt(r['kappa_ci_low'])}, {_fmt(r['kappa_ci_high'])}] | {_fmt(r['spearman'])} | "
            f"[{_fmt(r['spearman_ci_low'])}, {_fmt(r['spearman_ci_high'])}] |"
        )
    overall = table[0]
    if overall["n"] and overall["same_answer"] < overall["n"]:
        lines.append(
            f"\n{overall['n'] - overall['same_answer']} of {overall['n']} matched attempts have different "
            "answer texts in the two runs: there the judges graded different answers."
        )
    return "\n".join(lines) + "\n"


def judge_agreement(
    run_a: str, run_b: str, tracking_uri: str, confidence: float = 0.95, seed: int = 0
) -> str:
    """Compare the judge scores of runs ``run_a`` and ``run_b``; log the table to both; return it."""
    from mlflow.tracking import MlflowClient

    if run_a == run_b:
        raise DataError("run_b: the same run as run_a; give two judged runs")
    if tracking_uri.startswith("sqlite:///") and not Path(tracking_uri[len("sqlite:///") :]).is_file():
        raise TrackingError(f"logger.tracking_uri: no MLflow store at {tracking_uri}")
    client = MlflowClient(tracking_uri=tracking_uri)
    work = Path(tempfile.mkdtemp(prefix="sftlab-agree-"))
    rows_a, meta_a = read_attempts(client, run_a, work)
    rows_b, meta_b = read_attempts(client, run_b, work)
    pairs = pair_rows(rows_a, rows_b)
    if not pairs:
        raise DataError(
            f"run_a/run_b: runs {run_a} and {run_b} share no attempt (suite, item, attempt); "
            "were they judged on the same suites?"
        )
    table = agreement_table(pairs, confidence, seed)
    label_a = f"{meta_a.get('judge', '?')} (run {run_a[:8]})"
    label_b = f"{meta_b.get('judge', '?')} (run {run_b[:8]})"
    text = table_markdown(table, label_a, label_b, confidence)
    for run_id, other in ((run_a, run_b), (run_b, run_a)):
        path = work / "out" / run_id / f"agreement_{other}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        client.log_artifact(run_id, str(path), ARTIFACT_DIR)
    return text


def main(overrides: list[str]) -> int:
    """Compose ``conf/scores_agree.yaml``, compare the two runs, print the table."""
    from sftlab.config.compose import compose

    cfg = compose("scores_agree", overrides)
    print(
        judge_agreement(cfg.run_a, cfg.run_b, cfg.logger.tracking_uri, cfg.confidence, cfg.seed), flush=True
    )
    return 0
