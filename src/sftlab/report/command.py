"""``sftlab report``: the report of an experiment, or of one sweep, written to a folder."""

from __future__ import annotations

from sftlab.config.compose import compose
from sftlab.config.errors import TrackingError
from sftlab.report.experiment import resolve_sweep, write_report
from sftlab.track.liveness import reap_quietly
from sftlab.track.tracker import check_tracking_uri, mlflow_client


def main(overrides: list[str]) -> int:
    """Compose ``conf/report.yaml``, check the store, write the report, print where it is."""
    cfg = compose("report", overrides)
    uri, experiment = cfg.logger.tracking_uri, cfg.logger.experiment_name
    check_tracking_uri(uri, cfg.logger.connect_timeout_s)
    reap_quietly(uri, cfg.logger.heartbeat_timeout_s, by="sftlab report")  # a dead run is not RUNNING
    parent = None
    if cfg.sweep:
        exp = mlflow_client(uri).get_experiment_by_name(experiment)
        if exp is None:
            raise TrackingError(f"logger.experiment_name: no MLflow experiment named '{experiment}' in {uri}")
        parent = resolve_sweep(mlflow_client(uri), exp.experiment_id, cfg.sweep)
    out = cfg.out or f"reports/{experiment}" + (f"-{parent[:8]}" if parent else "")
    report = write_report(
        uri,
        experiment,
        out,
        parent_run_id=parent,
        log_to_parent=bool(parent),
        compare_as=dict(cfg.compare_as),
        log_to_own_run=cfg.log_to_mlflow and not parent,
    )
    print(f"report: {report.out_dir / 'report.md'} ({report.runs} FINISHED runs)")
    for path in report.files[1:]:
        print(f"  {path}")
    for missing in report.missing:
        print(f"missing: {missing}")
    if parent:
        print(f"logged to the sweep's parent run {parent} under report/")
    elif report.run_id:
        print(f"logged to MLflow run {report.run_id} (sftlab.stage=report) under report/")
    return 0
