"""python report.py --experiment sftlab [--sweep latest|<parent run id>|<sweep dir>] [--out reports/x]

The study's comparison tables (markdown + CSV) and plots (PNG) from an MLflow experiment or
one sweep; with a sweep they are also logged to its parent run under ``report/``.
"""

import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    """Parse the arguments, check the store, write the report, print where it is."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[2])
    parser.add_argument(
        "--experiment", default="sftlab", help="MLflow experiment name (logger.experiment_name)"
    )
    parser.add_argument(
        "--sweep", default=None, help="latest, a parent run id, or a multirun/<date>/<time> folder"
    )
    parser.add_argument(
        "--tracking-uri",
        default=f"sqlite:///{Path.cwd() / 'mlflow.db'}",
        help="MLflow store (default: ./mlflow.db, as logger=mlflow); or http://host:5000",
    )
    parser.add_argument("--out", default=None, help="output folder (default: reports/<experiment>[-<sweep>])")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for an http(s) server")
    args = parser.parse_args(argv)

    from sftlab.errors import SftlabError
    from sftlab.report import _client, resolve_sweep, write_report
    from sftlab.tracking import check_tracking_uri

    try:
        check_tracking_uri(args.tracking_uri, args.timeout)
        parent = None
        if args.sweep:
            exp = _client(args.tracking_uri).get_experiment_by_name(args.experiment)
            if exp is None:
                raise SftlabError(f"--experiment: no MLflow experiment named '{args.experiment}'")
            parent = resolve_sweep(_client(args.tracking_uri), exp.experiment_id, args.sweep)
        out = args.out or f"reports/{args.experiment}" + (f"-{parent[:8]}" if parent else "")
        report = write_report(
            args.tracking_uri, args.experiment, out, parent_run_id=parent, log_to_parent=bool(parent)
        )
    except SftlabError as err:
        print(f"error: {err}", file=sys.stderr, flush=True)
        return 2
    print(f"report: {report.out_dir / 'report.md'} ({report.runs} FINISHED runs)")
    for path in report.files[1:]:
        print(f"  {path}")
    for missing in report.missing:
        print(f"missing: {missing}")
    if parent:
        print(f"logged to the sweep's parent run {parent} under report/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
