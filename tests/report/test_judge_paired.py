"""Judge scores of adapter vs base on the same prompts: best-of-N pairing and Wilcoxon per category."""

from __future__ import annotations

import pytest

from sftlab.report.judge_paired import best_by_item, paired_category_tests


def test_best_of_n_is_per_item():
    rows = [
        {"suite": "general_es", "category": "simple", "item": "s1", "score": 2},
        {"suite": "general_es", "category": "simple", "item": "s1", "score": 4},
        {"suite": "general_es", "category": "simple", "item": "s2", "score": None},
    ]
    assert best_by_item(rows) == {("general_es", "simple"): {"s1": 4.0}}


def test_wilcoxon_per_category_on_paired_items():
    base = {"simple": {f"s{i}": 2.0 for i in range(6)}, "complex": {"c1": 3.0, "c2": 4.0}}
    adapter = {"simple": {f"s{i}": 3.0 for i in range(6)}, "complex": {"c1": 3.0, "c2": 4.0}}
    out = paired_category_tests(base, adapter)
    assert out["simple"]["n"] == 6 and out["simple"]["adapter_mean"] - out["simple"]["base_mean"] == 1.0
    assert out["simple"]["wilcoxon_p"] == pytest.approx(2 / 2**6)  # exact: all six pairs improved
    assert out["complex"]["wilcoxon_p"] == 1.0
