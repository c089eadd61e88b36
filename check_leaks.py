"""python check_leaks.py --suite EVAL_QUESTIONS.jsonl --train TRAIN.jsonl [--threshold 0.85] [--report out.json]

Thin entry point of the leak check: lists evaluation questions that appear in a training file,
exactly or as near-duplicates; exits 1 when there is any, 0 when there is none, 2 on bad input.
"""

import sys

from sftlab.errors import SftlabError
from sftlab.leak_check import main

if __name__ == "__main__":
    try:
        sys.exit(main())
    except SftlabError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
