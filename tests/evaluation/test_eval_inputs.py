"""The eval group: configs compose, local Belebele files are checked, bad inputs are one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

FIXTURE = Path(__file__).resolve().parents[2] / "src/sftlab/assets/data/belebele_spa_sample.jsonl"


def _records():
    return [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]


def test_fixture_is_in_belebele_format_and_balanced():
    from sftlab.data.eval_data import BELEBELE_FIELDS, read_eval_file

    records = read_eval_file(str(FIXTURE), "belebele")
    assert len(records) == 80
    assert all(set(BELEBELE_FIELDS) <= set(r) for r in records)
    counts = {n: sum(r["correct_answer_num"] == n for r in records) for n in "1234"}
    assert counts == {"1": 20, "2": 20, "3": 20, "4": 20}
    # Each question's correct option is mentioned in its passage, no distractor is.
    for r in records:
        options = [r[f"mc_answer{k}"] for k in range(1, 5)]
        correct = options[int(r["correct_answer_num"]) - 1]
        assert correct.lower() in r["flores_passage"].lower()


def test_fixture_generator_is_deterministic(tmp_path, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_belebele", FIXTURE.parent / "make_belebele.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setattr(mod, "BELEBELE_PATH", tmp_path / "b.jsonl")
    monkeypatch.setattr(mod, "ANSWERS_PATH", tmp_path / "a.jsonl")
    monkeypatch.setattr(mod, "LETTER_PATH", tmp_path / "d.jsonl")
    monkeypatch.setattr(mod, "ENG_PATH", tmp_path / "e.jsonl")
    mod.main()
    assert (tmp_path / "e.jsonl").read_bytes() == (FIXTURE.parent / "belebele_eng_sample.jsonl").read_bytes()
    assert (tmp_path / "d.jsonl").read_bytes() == (
        FIXTURE.parent / "belebele_spa_letter_d.jsonl"
    ).read_bytes()
    assert (tmp_path / "b.jsonl").read_bytes() == FIXTURE.read_bytes()
    assert (tmp_path / "a.jsonl").read_bytes() == (FIXTURE.parent / "belebele_spa_answers.jsonl").read_bytes()


def test_eval_options_compose(compose):
    cfg = compose()
    assert cfg.eval.enabled and cfg.eval.task == "belebele_spa_Latn" and cfg.eval.data.source == "local"
    assert Path(cfg.eval.data.path).is_file()
    full = compose("eval=belebele_full")
    assert full.eval.data.source == "hub" and full.eval.task == "belebele_spa_Latn"
    assert not compose("eval=none").eval.enabled


def test_local_task_yaml_uses_lm_evals_own_belebele_config(tmp_path):
    """The generated task is lm-eval's belebele_spa_Latn with only the data source swapped."""
    from omegaconf import OmegaConf

    from sftlab.evaluation.lm_eval_tasks import prepare_task, task_manager

    ev = OmegaConf.create(
        {
            "task": "belebele_spa_Latn",
            "num_fewshot": 0,
            "limit": None,
            "batch_size": 8,
            "data": {"source": "local", "path": str(FIXTURE), "format": "belebele"},
        }
    )
    spec = prepare_task(ev, tmp_path)
    assert spec.run_name == "belebele_spa_Latn_local" and spec.n_records == 80 and len(spec.data_id) == 64
    task = task_manager(spec).load([spec.run_name])["tasks"][spec.run_name]
    docs = list(task.eval_docs)
    assert len(docs) == 80
    first = _records()[0]
    assert task.doc_to_text(docs[0]).startswith(f"P: {first['flores_passage']}\nQ: {first['question']}\nA: ")
    assert task.doc_to_text(docs[0]).endswith("\nAnswer:")
    assert task.doc_to_choice(docs[0]) == ["A", "B", "C", "D"]
    assert [task.doc_to_target(d) for d in docs] == [int(r["correct_answer_num"]) - 1 for r in _records()]


def _bad_file(tmp_path, mutate) -> Path:
    records = _records()[:5]
    mutate(records)
    path = tmp_path / "bad_belebele.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def _drop_question(records):
    del records[2]["question"]


def _answer_five(records):
    records[3]["correct_answer_num"] = "5"


def _answer_int(records):
    records[1]["correct_answer_num"] = 2


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (_drop_question, ":3: Belebele record lacks field(s) ['question']"),
        (_answer_five, ':4: correct_answer_num is \'5\'; it must be the string "1", "2", "3" or "4"'),
        (_answer_int, ":2: correct_answer_num is 2; it must be the string"),
    ],
)
def test_malformed_belebele_file_is_one_line_error(tmp_path, mutate, expected):
    from sftlab.config.errors import DataError
    from sftlab.data.eval_data import read_eval_file

    path = _bad_file(tmp_path, mutate)
    with pytest.raises(DataError) as err:
        read_eval_file(str(path), "belebele")
    assert expected in str(err.value) and str(path) in str(err.value) and "\n" not in str(err.value)


def test_unknown_task_suggests_close_names():
    """Unknown names fall back to lm-eval's full task index (~8 s), which also suggests names."""
    from omegaconf import OmegaConf

    from sftlab.config.errors import ConfigError
    from sftlab.evaluation.lm_eval_tasks import check_task

    ev = OmegaConf.create(
        {"task": "belebele_spa_latn", "num_fewshot": 0, "limit": None, "batch_size": 8,
         "data": {"source": "hub", "path": None, "format": None}}
    )  # fmt: skip
    with pytest.raises(
        ConfigError,
        match=r"eval.task: 'belebele_spa_latn' is not an lm-eval task; did you mean belebele_spa_Latn",
    ):
        check_task(ev)


def test_bad_eval_inputs_fail_before_training(train_cli, runs_of, tmp_path):
    """A malformed Belebele file stops `python train.py` before any training, with one line."""
    exp = "eval-bad-inputs"
    path = _bad_file(tmp_path, _answer_five)
    proc = train_cli(f"logger.experiment_name={exp}", f"eval.data.path={path}")
    assert proc.returncode == 2, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"{path}:4: correct_answer_num is '5'" in errors[0], proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "'loss'" not in proc.stdout
    (run,) = runs_of(exp)
    assert run.info.status == "FAILED" and "correct_answer_num" in run.data.tags["error"]


def test_hub_source_runs_lm_evals_own_task_indexing_only_its_folder():
    from omegaconf import OmegaConf

    from sftlab.evaluation.lm_eval_tasks import prepare_task

    ev = OmegaConf.create(
        {"task": "belebele_spa_Latn", "num_fewshot": 0, "limit": None, "batch_size": 8,
         "data": {"source": "hub", "path": None, "format": None}}
    )  # fmt: skip
    spec = prepare_task(ev, None)
    assert spec.run_name == "belebele_spa_Latn" and spec.data_id == "hub:belebele_spa_Latn"
    assert spec.include_path and Path(spec.include_path[0]).name == "belebele" and spec.yaml_path is None


def test_unreachable_hub_data_fails_before_training():
    """Tests run offline (conftest): hub data that cannot be fetched is a one-line DataError."""
    from omegaconf import OmegaConf

    from sftlab.config.errors import DataError
    from sftlab.evaluation.lm_eval_tasks import check_task

    ev = OmegaConf.create(
        {"task": "belebele_spa_Latn", "num_fewshot": 0, "limit": None, "batch_size": 8,
         "data": {"source": "hub", "path": None, "format": None}}
    )  # fmt: skip
    with pytest.raises(DataError, match=r"could not load the data of 'belebele_spa_Latn'") as err:
        check_task(ev)
    assert "eval.data.source=local" in str(err.value) and "\n" not in str(err.value)
