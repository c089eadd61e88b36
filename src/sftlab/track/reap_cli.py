"""``sftlab runs reap``: mark the store's RUNNING runs whose process is gone KILLED, and list them."""

from __future__ import annotations

from sftlab.config.compose import compose
from sftlab.config.errors import ConfigError
from sftlab.track.liveness import reap
from sftlab.track.tracker import check_tracking_uri, mlflow_client


def main(overrides: list[str]) -> int:
    """Compose ``conf/runs.yaml``, reap the whole store, print one line per run marked KILLED."""
    cfg = compose("runs", overrides)
    if cfg.action != "reap":
        raise ConfigError(f"action: '{cfg.action}' is not one of reap")
    uri = cfg.logger.tracking_uri
    check_tracking_uri(uri, cfg.logger.connect_timeout_s)
    reaped = reap(mlflow_client(uri), cfg.logger.heartbeat_timeout_s, by="sftlab runs reap")
    for verdict in reaped:
        print(f"KILLED {verdict.run_id}: {verdict.reason}")
    print(f"reap: {len(reaped)} run(s) marked KILLED in {uri}")
    return 0
