"""One per-question table with both answers: which questions did the adapter change?

lm-eval scores the model with its adapter and with the adapter disabled (the base); each pass
yields one row per question (:func:`sftlab.evaluation.lm_eval_runner.sample_rows`). This module
joins the two on the question and logs the result as the run's ``eval/<prefix>_samples.json``
(``mlflow.log_table``): question text, a passage excerpt, the correct answer, the base's and the
adapter's choice, whether each is right, and ``changed`` (the adapter chose differently). When
the base score was reused from an earlier run, the base's answers come from that run's table.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

PASSAGE_CHARS = 160  # enough to recognise the passage; the full text is in the benchmark file
COLUMNS = [
    "question_id",
    "question",
    "passage",
    "correct",
    "base_choice",
    "adapter_choice",
    "base_is_correct",
    "adapter_is_correct",
    "changed",
    "base_loglikelihoods",
    "adapter_loglikelihoods",
    "doc_id",
]


def table_file(prefix: str) -> str:
    """The artifact path of the table for metric prefix ``prefix``."""
    return f"eval/{prefix}_samples.json"


def _excerpt(text: str | None) -> str | None:
    if text is None or len(text) <= PASSAGE_CHARS:
        return text
    return text[: PASSAGE_CHARS - 1].rstrip() + "…"


def combined_rows(adapter_rows: list[dict], base_rows: list[dict]) -> list[dict]:
    """One row per question, in question order, with both sides (a side not evaluated is None)."""
    adapter = {r["doc_id"]: r for r in adapter_rows}
    base = {r["doc_id"]: r for r in base_rows}
    rows = []
    for doc_id in sorted(adapter.keys() | base.keys()):
        a, b = adapter.get(doc_id, {}), base.get(doc_id, {})
        any_side = a or b
        row = {
            "question_id": any_side.get("question_id"),
            "question": any_side.get("question") or a.get("question") or b.get("question"),
            "passage": _excerpt(any_side.get("passage") or a.get("passage") or b.get("passage")),
            "correct": any_side.get("correct"),
            "base_choice": b.get("chosen"),
            "adapter_choice": a.get("chosen"),
            "base_is_correct": b.get("is_correct"),
            "adapter_is_correct": a.get("is_correct"),
            "changed": (a["chosen"] != b["chosen"]) if a.get("chosen") and b.get("chosen") else None,
            "base_loglikelihoods": b.get("loglikelihoods"),
            "adapter_loglikelihoods": a.get("loglikelihoods"),
            "doc_id": doc_id,
        }
        rows.append(row)
    return rows


def base_rows_of(tracking_uri: str, run_id: str, prefix: str) -> list[dict]:
    """The base model's rows from the table of run ``run_id`` (where a reused base score was
    computed), in :func:`sample_rows` form; [] if that run has none."""
    import json
    import tempfile
    from pathlib import Path

    from mlflow.tracking import MlflowClient

    try:
        with tempfile.TemporaryDirectory() as tmp:
            local = MlflowClient(tracking_uri=tracking_uri).download_artifacts(
                run_id, table_file(prefix), tmp
            )
            table = json.loads(Path(local).read_text())
    except Exception as e:  # an older run, or one evaluated with log_samples=false
        log.info("no per-question table in run %s (%s)", run_id, type(e).__name__)
        return []
    records = [dict(zip(table["columns"], row, strict=True)) for row in table["data"]]
    if "base_choice" not in table["columns"]:
        return []
    out = []
    for r in records:
        if r.get("base_choice") is None:
            continue
        out.append(
            {
                "doc_id": int(r["doc_id"]),
                "question_id": r.get("question_id"),
                "question": r.get("question"),
                "passage": r.get("passage"),
                "correct": r.get("correct"),
                "chosen": r["base_choice"],
                "is_correct": bool(r["base_is_correct"]),
                "loglikelihoods": r.get("base_loglikelihoods"),
            }
        )
    return out


def log_samples_table(tracker, prefix: str, adapter_rows: list[dict], base_rows: list[dict]) -> None:
    """Log the joined table (nothing without rows or without an MLflow run)."""
    rows = combined_rows(adapter_rows, base_rows)
    if not rows or not getattr(tracker, "run_id", None):
        return
    import mlflow
    import pandas as pd

    frame = pd.DataFrame(rows, columns=COLUMNS)
    mlflow.log_table(data=frame, artifact_file=table_file(prefix), run_id=tracker.run_id)
