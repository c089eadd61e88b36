"""``sftlab scores import``: people's filled-in scores back into the judged MLflow run.

The attempts table gains ``human_score`` / ``human_reason``, the metrics
``human/<suite>/<category>`` and ``agreement/<judge>_vs_human/*`` are logged, and
``judge/scores.md`` is rewritten with both rows.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from sftlab.config.errors import DataError, TrackingError
from sftlab.judge.stage import ARTIFACT_DIR, RunLog, record


def import_human_scores(filled_path, run_id: str, tracking_uri: str, work_dir=None) -> str:
    """Read a filled human-scores file into run ``run_id``: table, metrics and report updated."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from sftlab.judge.human_scores import merge_human, read_filled

    filled = read_filled(filled_path)  # the file is checked before the store is touched
    if tracking_uri.startswith("sqlite:///") and not Path(tracking_uri[len("sqlite:///") :]).is_file():
        raise TrackingError(f"logger.tracking_uri: no MLflow store at {tracking_uri}")
    client = MlflowClient(tracking_uri=tracking_uri)
    try:
        client.get_run(run_id)
    except MlflowException:
        raise TrackingError(f"run_id: no run {run_id} in {tracking_uri}") from None
    work = Path(work_dir or tempfile.mkdtemp(prefix="sftlab-human-"))
    try:
        rows_path = client.download_artifacts(
            run_id, f"{ARTIFACT_DIR}/attempts.jsonl", str(work / "download")
        )
        meta_path = client.download_artifacts(run_id, f"{ARTIFACT_DIR}/meta.json", str(work / "download"))
    except (MlflowException, OSError):
        raise TrackingError(
            f"run_id: run {run_id} has no {ARTIFACT_DIR}/attempts.jsonl; was it judged?"
        ) from None
    rows = [
        json.loads(line) for line in Path(rows_path).read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    meta = json.loads(Path(meta_path).read_text(encoding="utf-8"))
    graded = merge_human(rows, filled, str(filled_path))
    if graded == 0:
        raise DataError(f"{filled_path}: no human_score filled in; grade at least one attempt")
    text = record(RunLog(client=client, run_id=run_id), rows, meta, work / "out")
    RunLog(client=client, run_id=run_id).tags(
        {"judge.human_file": Path(filled_path).name, "judge.human_graded": str(graded)}
    )
    return text


def main(overrides: list[str]) -> int:
    """Compose ``conf/scores_import.yaml``, import, print the updated score report."""
    from sftlab.config.compose import compose

    cfg = compose("scores_import", overrides)
    print(import_human_scores(cfg.file, cfg.run_id, cfg.logger.tracking_uri), flush=True)
    return 0
