"""The English control (eval.control): composed from the eval settings, checked before training,
and scored in the same run as the Spanish task under its own metric prefix."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_control_choices_compose(compose):
    from sftlab.evaluation.control import CONTROL_TASK, control_eval

    cfg = compose()
    assert cfg.eval.control == "none" and control_eval(cfg.eval) is None
    sample = control_eval(compose("eval.control=eng_sample", "eval.limit=5", "eval.num_fewshot=1").eval)
    assert sample.task == CONTROL_TASK == "belebele_eng_Latn" and sample.metric_prefix == "belebele_eng"
    assert (
        sample.data.source == "local" and sample.data.synthetic is True and sample.data.format == "belebele"
    )
    assert Path(sample.data.path).name == "belebele_eng_sample.jsonl" and Path(sample.data.path).is_file()
    assert (sample.limit, sample.num_fewshot, sample.control) == (
        5,
        1,
        "none",
    )  # the same settings, no recursion
    full = control_eval(compose("eval=belebele_full", "eval.control=eng_full").eval)
    assert full.task == "belebele_eng_Latn" and full.data.source == "hub" and full.data.path is None
    assert full.data.synthetic is False


def test_bad_control_settings_are_one_line_errors(compose):
    from sftlab.config.errors import ConfigError
    from sftlab.evaluation.control import control_eval

    with pytest.raises(
        ConfigError, match=r"^eval.control: 'english' is not one of none, eng_sample, eng_full$"
    ):
        control_eval(compose("eval.control=english").eval)
    with pytest.raises(ConfigError, match=r"eval.control_prefix: 'belebele' is also eval.metric_prefix"):
        control_eval(compose("eval.control=eng_sample", "eval.control_prefix=belebele").eval)


def test_unreachable_english_hub_data_fails_before_training(compose):
    """Offline and not cached (conftest): eval.control=eng_full fails in one line naming the key,
    in the same pre-training validation that checks the Spanish task."""
    from sftlab.config.errors import DataError
    from sftlab.validation import validate

    cfg = compose("eval.control=eng_full")  # the Spanish task on the bundled sample: that part passes
    with pytest.raises(
        DataError, match=r"^eval.control=eng_full: .*could not load the data of 'belebele_eng_Latn'"
    ) as err:
        validate(cfg)
    assert "\n" not in str(err.value) and str(err.value).endswith(
        "or use the bundled English sample (eval.control=eng_sample)"
    )
    validate(compose("eval.control=eng_sample"))  # the bundled English sample: offline, passes


class _Recorder:
    """A tracker that keeps metrics and tags (the NullTracker's interface)."""

    run_id = None

    def __init__(self):
        self.metrics, self.tags = {}, {}

    def log_metrics(self, metrics, step=None):
        self.metrics.update(metrics)

    def set_tags(self, tags):
        self.tags.update(tags)

    def __getattr__(self, name):  # artifacts, inputs: not needed here
        return lambda *a, **k: None


def test_control_is_scored_in_the_same_run_under_its_own_prefix(compose, tmp_path):
    """A real lm-eval run on the tiny model (8 questions each): Spanish and English, adapter and base."""
    import torch
    from peft import LoraConfig, get_peft_model

    from sftlab.evaluation.stage import evaluate_and_log, evaluate_control
    from sftlab.model.loading import load_model, load_tokenizer, resolve_source

    cfg = compose("quantization=none", "logger=none", "eval.limit=8", "eval.control=eng_sample")
    source = resolve_source(cfg.model)
    tokenizer = load_tokenizer(cfg.model, source)
    torch.manual_seed(0)
    model = get_peft_model(  # random (non-zero) LoRA weights: the adapter changes some answers
        load_model(cfg.model, source, None, "float32"),
        LoraConfig(r=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False),
    )
    tracker = _Recorder()
    spanish = evaluate_and_log(cfg, tracker, model, tokenizer, tmp_path, has_adapter=True)
    english = evaluate_control(cfg, tracker, model, tokenizer, tmp_path, has_adapter=True)
    assert spanish.task == "belebele_spa_Latn" and english.task == "belebele_eng_Latn"
    assert spanish.synthetic and english.synthetic
    for prefix, summary in (("belebele", spanish), ("belebele_eng", english)):
        for key in ("acc", "base_acc", "delta_acc", "delta_acc_ci_low", "delta_acc_ci_high", "mcnemar_p",
                    "flips_to_correct", "flips_to_wrong"):  # fmt: skip
            assert f"{prefix}/{key}" in tracker.metrics, (prefix, key)
        assert tracker.metrics[f"{prefix}/acc"] == summary.adapter["acc"]
        assert tracker.metrics[f"{prefix}/base_acc"] == summary.base["acc"]
    # each task's tags under its own name: the control does not overwrite the Spanish task's
    assert tracker.tags["eval.task"] == "belebele_spa_Latn"
    assert tracker.tags["eval.task.belebele_eng"] == "belebele_eng_Latn"
    assert tracker.tags["eval.synthetic.belebele_eng"] == "true"
    assert tracker.tags["sftlab.base_eval_key"] != tracker.tags["sftlab.base_eval_key.belebele_eng"]
    assert (tmp_path / "lm_eval_tasks" / "belebele_eng_Latn_local.yaml").is_file()
