"""python import_human_scores.py <filled.csv|filled.jsonl> --run-id <run id> [--tracking-uri sqlite:///mlflow.db]

Reads the human scores a person filled into the template a judged run exported
(judge/human_scores_template.csv in the run's artifacts and output folder) back into that same
MLflow run: the attempts table gains human_score/human_reason, the metrics human/<suite>/<category>
and agreement/<judge>_vs_human/* are logged, and judge/scores.md is rewritten with both rows.
"""

import argparse
import logging
import sys


def main(argv=None) -> int:
    """Parse arguments, import, print the updated score report."""
    from sftlab.errors import SftlabError
    from sftlab.judging import import_human_scores

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", help="the filled-in template (.csv or .jsonl)")
    parser.add_argument("--run-id", required=True, help="the MLflow run that exported the template")
    parser.add_argument(
        "--tracking-uri", default="sqlite:///mlflow.db", help="MLflow store (default: ./mlflow.db)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    try:
        text = import_human_scores(args.file, args.run_id, args.tracking_uri)
    except SftlabError as err:
        print(f"error: {err}", file=sys.stderr, flush=True)
        return 2
    print(text, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
