"""``eval.chat_template``: the task scored through the model's chat template as well as plain.

The option's values, lm-eval's ``apply_chat_template`` argument, and one real lm-eval pass of each
format on the tiny model (in-process, 4 questions), logged under ``belebele/`` and ``belebele_chat/``.
"""

from __future__ import annotations

import json

import pytest
from omegaconf import OmegaConf

from sftlab.config.errors import ConfigError
from sftlab.evaluation.prompt_format import check_tokenizer, pass_prefix, passes


@pytest.mark.parametrize(
    ("value", "expected"),
    [(False, (False,)), (None, (False,)), ("false", (False,)), (True, (True,)), ("True", (True,)),
     ("both", (False, True))],
)  # fmt: skip
def test_modes(value, expected):
    assert passes(OmegaConf.create({"chat_template": value})) == expected


def test_wrong_value_is_one_line_naming_the_key(compose):
    from sftlab.evaluation.lm_eval_tasks import check_settings

    assert passes(compose().eval) == (False,)  # default: plain only, as before
    assert passes(compose("eval.chat_template=both").eval) == (False, True)
    assert passes(compose("eval.chat_template=true").eval) == (True,)
    with pytest.raises(ConfigError, match=r"^eval\.chat_template: 'chat' is not false, true or both") as err:
        check_settings(compose("eval.chat_template=chat").eval)
    assert "\n" not in str(err.value)


def test_prefixes_do_not_collide():
    assert pass_prefix("belebele", False) == "belebele"
    assert pass_prefix("belebele", True) == "belebele_chat"


def test_tokenizer_without_template_is_refused():
    class _Plain:
        chat_template = None

    with pytest.raises(
        ConfigError, match=r"tokenizer of model 'm' has no chat template; set eval\.chat_template=false"
    ):
        check_tokenizer(_Plain(), "m")


def test_run_task_passes_the_option_to_lm_eval(monkeypatch):
    import lm_eval

    from sftlab.evaluation.lm_eval_runner import run_task

    seen = []

    def fake_simple_evaluate(**kwargs):
        seen.append(kwargs["apply_chat_template"])
        return {"results": {"t": {"acc,none": 0.5}}, "samples": {"t": []}}

    monkeypatch.setattr(lm_eval, "simple_evaluate", fake_simple_evaluate)
    spec = type("Spec", (), {"run_name": "t"})()
    ev = OmegaConf.create({"num_fewshot": 0, "limit": 2, "batch_size": 1})
    run_task(None, spec, ev, None, False)
    out = run_task(None, spec, ev, None, False, chat=True)
    assert seen == [False, True] and out.metrics == {"acc": 0.5}


def test_both_formats_scored_and_logged_apart(compose, tmp_path):
    """eval.chat_template=both on the tiny base: plain and chat scores under their own prefixes,
    their own base-score keys and tables; the chat prompts really differ (other log-likelihoods)."""
    from mlflow.tracking import MlflowClient

    from sftlab.evaluation.stage import evaluate_and_log
    from sftlab.model.loading import load_model, load_tokenizer, resolve_source
    from sftlab.track.tracker import closes_run, make_tracker

    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cfg = compose(
        "quantization=none", "eval.chat_template=both", "eval.limit=4", f"logger.tracking_uri={store}",
        "logger.experiment_name=chat-template",
    )  # fmt: skip
    source = resolve_source(cfg.model)
    tokenizer = load_tokenizer(cfg.model, source)
    model = load_model(cfg.model, source, None, "float32")
    tracker = make_tracker(cfg.logger)
    tracker.start("chat-template", {}, {"sftlab.stage": "eval"})
    with closes_run(tracker):
        summary = evaluate_and_log(cfg, tracker, model, tokenizer, tmp_path, has_adapter=False)
    assert summary.task == "belebele_spa_Latn"  # the first pass: plain

    client = MlflowClient(tracking_uri=store)
    run = client.get_run(tracker.run_id)
    m, tags = run.data.metrics, run.data.tags
    assert {"belebele/base_acc", "belebele_chat/base_acc"} <= set(m)
    assert tags["sftlab.base_eval_key"] != tags["sftlab.base_eval_key_chat"]
    assert tags["sftlab.base_eval_reused_chat"] == "false"
    files = {a.path for a in client.list_artifacts(run.info.run_id, "eval")}
    assert {"eval/belebele_samples.json", "eval/belebele_chat_samples.json"} <= files

    def loglikelihoods(prefix):
        path = client.download_artifacts(
            run.info.run_id, f"eval/{prefix}_samples.json", str(tmp_path / prefix)
        )
        table = json.loads(open(path).read())
        col = table["columns"].index("base_loglikelihoods")
        return [row[col] for row in table["data"]]

    plain, chat = loglikelihoods("belebele"), loglikelihoods("belebele_chat")
    assert len(plain) == len(chat) == 4
    assert plain != chat  # the same questions, scored in another format
