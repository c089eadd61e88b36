"""Seeds as replicates: runs that differ only in their seed form one configuration.

``sftlab train -m seed=1,2,3 lora.r=4,8`` (or ``training.seed=1,2,3``) trains every configuration three times. The
report groups the runs by model and overrides without the seed, and shows per configuration
the mean and a Student-t 95 % interval across seeds of each metric. A configuration whose
difference from the best one the seeds cannot separate (Welch's t-test, p >= 0.05, scipy) is
marked, so a ranking is never read into noise.
"""

from __future__ import annotations

import math
import re

from sftlab.report.study import across_runs
from sftlab.track.naming import OVERRIDES_TAG

SEED_KEYS = ("training.seed", "seed", "+seed", "++seed", "++training.seed", "+training.seed")
# metric, label, which way is better
METRICS = (
    ("train/eval_loss", "eval_loss", "minimize"),
    ("train/final_loss", "final_loss", "minimize"),
    ("belebele/acc", "belebele_acc", "maximize"),
    ("belebele/delta_acc", "belebele_delta", "maximize"),
)
ALPHA = 0.05
_SPLIT = re.compile(r",(?=[\w.+~/@-]+=)")  # between overrides, not inside a list value


def config_of(run) -> tuple[str, str | None]:
    """``(configuration label, seed)``: the model and the overrides without the seed."""
    overrides = run.data.tags.get(OVERRIDES_TAG, "")
    parts = [p for p in _SPLIT.split(overrides) if p]
    seed = next((p.split("=", 1)[1] for p in parts if p.split("=", 1)[0] in SEED_KEYS), None)
    if seed is None:
        seed = run.data.params.get("training.seed")
    rest = [p for p in parts if p.split("=", 1)[0] not in SEED_KEYS and not p.startswith("model=")]
    label = run.data.tags.get("model", "?") + (" " + ",".join(rest) if rest else "")
    return label, seed


def replicate_rows(runs) -> tuple[list[dict], list[str]]:
    """One row per configuration with two or more seeds: n, mean [CI] per metric, separation marks."""
    from scipy import stats

    groups: dict[str, list] = {}
    for run in runs:
        label, _ = config_of(run)
        groups.setdefault(label, []).append(run)
    groups = {k: v for k, v in groups.items() if len(v) >= 2}
    if not groups:
        return [], []
    columns = ["config", "seeds"]
    rows = [
        {"config": label, "seeds": ",".join(sorted(str(config_of(r)[1]) for r in rs))}
        for label, rs in groups.items()
    ]
    for key, name, direction in METRICS:
        values = {
            label: [r.data.metrics[key] for r in rs if key in r.data.metrics] for label, rs in groups.items()
        }
        if not any(len(v) >= 2 for v in values.values()):
            continue
        columns.append(name)
        means = {label: sum(v) / len(v) for label, v in values.items() if v}
        best = (min if direction == "minimize" else max)(means, key=means.get)
        for row in rows:
            v = values[row["config"]]
            if not v:
                row[name] = ""
                continue
            mean, low, high = across_runs(v)
            cell = f"{mean:.4f} [{low:.4f}, {high:.4f}]" if not math.isnan(low) else f"{mean:.4f}"
            if row["config"] == best:
                cell += " best"
            elif len(v) >= 2 and len(values[best]) >= 2:
                p = stats.ttest_ind(v, values[best], equal_var=False).pvalue
                if math.isnan(p) or p >= ALPHA:
                    cell += f" ~best (p={p:.2f})" if not math.isnan(p) else " ~best"
            row[name] = cell
    return rows, columns
