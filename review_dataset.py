"""python review_dataset.py export PAIRS.jsonl REVIEW.csv  |  import REVIEW.csv --pairs PAIRS.jsonl -o REVIEWED.jsonl

Thin entry point of the review step: export generated pairs to a CSV a person edits
(decision keep / fix / drop), then import it back into the reviewed JSONL that
dataset=sri_tax_law trains on.
"""

import sys

from sftlab.dataset_builder.review import main
from sftlab.errors import SftlabError

if __name__ == "__main__":
    try:
        sys.exit(main())
    except SftlabError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
