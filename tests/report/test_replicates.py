"""Seeds as replicates: grouping by configuration without the seed, intervals, separation marks."""

from __future__ import annotations

from types import SimpleNamespace

from sftlab.report.replicates import config_of, replicate_rows


def _run(overrides, metrics, model="tiny_llama"):
    return SimpleNamespace(
        info=SimpleNamespace(run_id=overrides),
        data=SimpleNamespace(
            tags={"model": model, "sftlab.overrides": overrides}, params={}, metrics=metrics
        ),
    )


def test_runs_differing_only_in_seed_are_one_configuration():
    assert config_of(_run("lora.r=4,training.seed=2", {})) == ("tiny_llama lora.r=4", "2")
    assert config_of(_run("lora.r=4,seed=3", {})) == ("tiny_llama lora.r=4", "3")  # -m seed=1,2,3
    assert config_of(_run("lora.target_modules=[q_proj,v_proj],training.seed=1", {}))[0] == (
        "tiny_llama lora.target_modules=[q_proj,v_proj]"
    )


def test_configurations_the_seeds_do_not_separate_are_marked():
    runs = [
        # r=4 and r=8 overlap (noise); r=16 is clearly worse
        *[
            _run(f"lora.r=4,training.seed={s}", {"train/eval_loss": v})
            for s, v in ((1, 1.00), (2, 1.10), (3, 1.05))
        ],
        *[
            _run(f"lora.r=8,training.seed={s}", {"train/eval_loss": v})
            for s, v in ((1, 1.02), (2, 1.12), (3, 1.04))
        ],
        *[
            _run(f"lora.r=16,training.seed={s}", {"train/eval_loss": v})
            for s, v in ((1, 2.00), (2, 2.02), (3, 2.01))
        ],
        _run("lora.r=32,training.seed=1", {"train/eval_loss": 0.5}),  # one seed: not a replicate group
    ]
    rows, columns = replicate_rows(runs)
    assert columns == ["config", "seeds", "eval_loss"]
    by = {r["config"]: r for r in rows}
    assert set(by) == {"tiny_llama lora.r=4", "tiny_llama lora.r=8", "tiny_llama lora.r=16"}
    assert by["tiny_llama lora.r=4"]["seeds"] == "1,2,3"
    assert by["tiny_llama lora.r=4"]["eval_loss"].startswith("1.0500 [") and by["tiny_llama lora.r=4"][
        "eval_loss"
    ].endswith(" best")
    assert "~best" in by["tiny_llama lora.r=8"]["eval_loss"]
    assert "best" not in by["tiny_llama lora.r=16"]["eval_loss"]
