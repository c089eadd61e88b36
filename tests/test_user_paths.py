"""The commands users actually type: README's commands, and a table of bad inputs.

Each bad input must end in one ``error:`` line naming the key or file and the fix, exit code 2,
within seconds, and (for anything knowable from the config) before a run folder or an MLflow
store exists. The table runs in-process through ``sftlab.cli.main`` (the same code path as
``python train.py``) so that it stays in the fast tier; the data-file rows call the loader that
the training job calls. README's commands are each either run here or listed with the reason
they cannot run offline on a CPU, so README cannot drift from what works.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# (category, overrides, what the one error line must contain: the key/file and the fix)
CONFIG_CASES = [
    # keys, however they arrive
    ("key", ["lora.rank=8"], ["lora.rank", "did you mean `lora.r`"]),
    ("key", ["+lora.rank=8"], ["lora.rank", "did you mean `lora.r`"]),
    ("key", ["++lora.rank=8"], ["lora.rank", "did you mean `lora.r`"]),
    ("key", ["trainer.lr=1e-4"], ["trainer.lr", "`training.learning_rate`"]),
    ("key", ["lr=1e-4"], ["'lr'", "`training.learning_rate`"]),
    ("key", ["rank=8"], ["'rank'", "`lora.r`"]),
    ("key", ["epochs=2"], ["'epochs'", "`training.num_train_epochs`"]),
    ("key", ["batch_size=4"], ["'batch_size'", "`training.per_device_train_batch_size`"]),
    ("key", ["training.max_stepz=3"], ["training.max_stepz", "`training.max_steps`"]),
    ("key", ["+training.lora_alpha=3"], ["training.lora_alpha", "`lora.alpha`"]),
    ("key", ["model.nmae=x"], ["model.nmae", "`model.name`"]),
    ("key", ["dataset.sources.0.pth=/x.jsonl"], ["dataset.sources.0.pth", "`dataset.sources.0.path`"]),
    ("key", ["-m", "lora.rank=4,8"], ["lora.rank", "`lora.r`"]),
    ("key", ["+lora.r=8", "++lora.rnk=4"], ["lora.rnk", "`lora.r`"]),
    ("key", ["yaml"], ["lora.rank", "YAML file or an experiment preset", "`lora.r`"]),
    # group options
    ("option", ["model=falcn"], ["model=falcn", "`model=falcon`"]),
    ("option", ["model=gpt5"], ["model=gpt5", "choose one of"]),
    ("option", ["dataset=sample"], ["dataset=sample", "`dataset=sample_es`"]),
    ("option", ["quantization=nf5"], ["quantization=nf5", "`quantization=nf4`"]),
    ("option", ["eval=belebel"], ["eval=belebel", "`eval=belebele`"]),
    ("option", ["experiment=quik"], ["experiment=quik", "`experiment=quick`"]),
    ("option", ["generation=greddy"], ["generation=greddy", "`generation=greedy`"]),
    ("option", ["-m", "model=tiny_llama,tiny_falcn"], ["model=tiny_falcn", "`model=tiny_falcon`"]),
    # types
    ("type", ["lora.r=eight"], ["lora.r", "Integer"]),
    ("type", ["training.bf16=maybe"], ["training.bf16", "bool"]),
    ("type", ["training.learning_rate=fast"], ["training.learning_rate", "Float"]),
    # values
    ("value", ["training.max_steps=-5"], ["training.max_steps", "-1 to train"]),
    ("value", ["-m", "training.max_steps=10,-5"], ["training.max_steps", "-1 to train"]),  # a swept value
    ("type", ["-m", "lora.r=4,eight"], ["lora.r", "Integer"]),
    ("value", ["training.max_steps=0"], ["training.max_steps", "-1 to train"]),
    ("value", ["training.learning_rate=nan"], ["training.learning_rate", "> 0"]),
    ("value", ["training.learning_rate=inf"], ["training.learning_rate", "> 0"]),
    ("value", ["training.learning_rate=-1e-4"], ["training.learning_rate", "> 0"]),
    ("value", ["generation.repetition_penalty=-3"], ["generation.repetition_penalty", "> 0"]),
    ("value", ["generation.temperature=0"], ["generation.temperature", "> 0"]),
    ("value", ["generation.top_p=0"], ["generation.top_p", "(0, 1]"]),
    ("value", ["generation.max_new_tokens=0"], ["generation.max_new_tokens", "> 0"]),
    ("value", ["dataset.max_records=-1"], ["dataset.max_records", "null for all"]),
    ("value", ["dataset.sources.0.max_records=-2"], ["dataset.sources.0.max_records", "null for all"]),
    ("value", ["eval.limit=-1"], ["eval.limit", "null for all"]),
    ("value", ["lora.r=0"], ["lora.r", "> 0"]),
    ("value", ["lora.alpha=-4"], ["lora.alpha", "> 0"]),
    ("value", ["lora.dropout=1.5"], ["lora.dropout", "[0, 1)"]),
    ("value", ["training.warmup_ratio=2"], ["training.warmup_ratio", "[0, 1)"]),
    ("value", ["dataset.eval_fraction=1.0"], ["dataset.eval_fraction", "[0, 1)"]),
    ("value", ["training.per_device_train_batch_size=0"], ["training.per_device_train_batch_size", "> 0"]),
    ("value", ["training.gradient_accumulation_steps=0"], ["training.gradient_accumulation_steps", "> 0"]),
    ("value", ["training.max_length=0"], ["training.max_length", "> 0"]),
    ("value", ["training.logging_steps=0"], ["training.logging_steps", "> 0"]),
    ("value", ["model.dtype=float8"], ["model.dtype", "not one of"]),
    ("value", ["model.padding_side=middle"], ["model.padding_side", "not one of"]),
    ("value", ["generation.method=magic"], ["generation.method", "not one of"]),
    ("value", ["logger.backend=wandb"], ["logger.backend", "not one of"]),
    ("value", ["dataset.allow_dropped=2"], ["dataset.allow_dropped", "[0, 1]"]),
    ("value", ["quantization.bnb_4bit_quant_type=int3"], ["quantization.bnb_4bit_quant_type", "nf4"]),
    # combinations
    ("combination", ["quantization=int8", "quantization.load_in_4bit=true"], ["load_in_4bit", "quantization=nf4"]),
    ("combination", ["training.max_steps=-1", "training.num_train_epochs=0"], ["training.num_train_epochs", "> 0"]),
    ("combination", ["logger=none", "logger.register_model=es-lora"], ["logger.register_model", "MLflow"]),
    # tracking URIs
    ("tracking", ["logger.tracking_uri="], ["logger.tracking_uri", "logger=none"]),
    ("tracking", ["port"], ["logger.tracking_uri", "not reachable", "start it"]),
    ("tracking", ["logger.tracking_uri=sqlite:////proc/mlflow.db"], ["logger.tracking_uri", "not writable"]),
    ("tracking", ["logger.tracking_uri=foo://bar"], ["logger.tracking_uri", "http(s)://host:port"]),
    ("tracking", ["logger.tracking_uri=sqlite:////nonexistent/dir/mlflow.db"], ["logger.tracking_uri", "does not exist"]),
    # a local data file, checked record by record before the run (more in DATA_CASES below)
    ("data", ["datafile"], ["bad.jsonl:3", "JSON object", "list"]),
    # hub ids, offline and not cached (the test session runs with HF_HUB_OFFLINE=1)
    ("hub", ["model=falcon", "lora.r=256"], ["tiiuae/falcon-7b", "huggingface-cli download tiiuae/falcon-7b",
                                             "HF_HOME", "model=tiny_falcon"]),
    ("hub", ["model=llama2_7b_chat"], ["meta-llama/Llama-2-7b-chat-hf", "model=tiny_llama"]),
    ("hub", ["model.name_or_path=nobody/no-such-model", "model.build=null"], ["nobody/no-such-model"]),
    ("hub", ["dataset=alpaca_dolly_es"], ["dataset.sources.0.hub_id", "huggingface-cli download --repo-type dataset"]),
    ("hub", ["eval=belebele_full"], ["eval=belebele_full", "facebook/belebele", "huggingface-cli download"]),
]  # fmt: skip


@pytest.fixture
def in_process_train(monkeypatch, tmp_path):
    """``python train.py <args>`` in this process from an empty folder; returns (code, stderr lines, s)."""
    from sftlab import cli

    def _missed(cfg):
        raise AssertionError("a bad input reached the training job")

    monkeypatch.setitem(cli._TASKS, "train", _missed)
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    monkeypatch.chdir(tmp_path)

    def _run(args, capsys):
        started = time.perf_counter()
        try:
            code = cli.main(["train", *args])
        except SystemExit as e:
            code = e.code
        seconds = time.perf_counter() - started
        err = capsys.readouterr().err
        return code, [ln for ln in err.splitlines() if ln.strip()], seconds

    return _run


def _expand(args: list[str], tmp_path: Path) -> list[str]:
    if args == ["yaml"]:  # a YAML file of the user's own, through Hydra's search path
        (tmp_path / "mine" / "experiment").mkdir(parents=True)
        (tmp_path / "mine" / "experiment" / "typo.yaml").write_text("# @package _global_\nlora:\n  rank: 8\n")
        return [f"hydra.searchpath=[file://{tmp_path / 'mine'}]", "experiment=typo"]
    if args == ["datafile"]:
        path = tmp_path / "bad.jsonl"
        path.write_text(_jsonl(GOOD, GOOD, [1, 2, 3]), encoding="utf-8")
        return [f"dataset.sources.0.path={path}"]
    if args == ["port"]:
        return [f"logger.tracking_uri=http://127.0.0.1:{_free_port()}"]
    return args


@pytest.mark.parametrize(
    "category, args, expected", CONFIG_CASES, ids=[f"{c[0]}:{' '.join(c[1])}" for c in CONFIG_CASES]
)
def test_bad_config_fails_in_one_line_before_any_run(
    in_process_train, capsys, tmp_path, category, args, expected
):
    code, lines, seconds = in_process_train(_expand(args, tmp_path), capsys)
    assert code == 2, lines
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    for text in expected:
        assert text in lines[0], lines[0]
    assert seconds < 10, f"{seconds:.1f}s"
    # caught before Hydra made a run folder or anything opened a store: no run can exist
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "outputs").exists()
    assert not (tmp_path / "multirun").exists()


GOOD = {"instruction": "¿Qué es el IVA?", "input": "", "output": "Un impuesto."}


def _jsonl(*rows) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows)


# (case, file name, content (str, or bytes written as-is), what the message must contain)
DATA_CASES = [
    ("empty", "d.jsonl", "", ["d.jsonl", "no usable records"]),
    ("not JSON", "d.jsonl", "hola\n", ["d.jsonl:1", "not valid JSON", "fix or remove"]),
    ("bad line among good", "d.jsonl", _jsonl(GOOD, GOOD, "{oops", GOOD), ["d.jsonl:3", "not valid JSON"]),
    ("list line among good", "d.jsonl", _jsonl(GOOD, GOOD, [1, 2, 3]), ["d.jsonl:3", "JSON object", "list"]),
    ("missing fields", "d.jsonl", _jsonl({"question": "a", "answer": "b"}), ["lack field(s)", "format"]),
    ("int instruction", "d.jsonl", _jsonl(GOOD, {**GOOD, "instruction": 123}), ["d.jsonl:2", "'instruction'", "int"]),
    ("list output", "d.jsonl", _jsonl({**GOOD, "output": ["a", "list"]}), ["d.jsonl:1", "'output'", "list"]),
    ("bool output", "d.jsonl", _jsonl(GOOD, GOOD, {**GOOD, "output": True}), ["d.jsonl:3", "'output'", "bool"]),
    (
        "20 of 25 lack output",
        "d.jsonl",
        _jsonl(*[GOOD] * 5, *[{"instruction": "q", "input": ""}] * 20),
        ["20 of 25", "d.jsonl:6", "dataset.allow_dropped="],
    ),
    ("non-UTF-8", "d.jsonl", _jsonl(GOOD).encode() + "caña".encode("latin-1") + b"\n", ["d.jsonl:2", "UTF-8", "iconv"]),
    ("a directory", "dir.jsonl", None, ["dir.jsonl is a directory", "dataset.sources.N.path"]),
    ("a 5 MB line", "d.jsonl", _jsonl(GOOD) + "x" * 5_000_000 + "\n", ["d.jsonl:2", "not valid JSON"]),
    ("json list of strings", "d.json", json.dumps(["a", "b"]), ["d.json record 1", "JSON object", "str"]),
    ("json not a list", "d.json", json.dumps({"rows": 1}), ["d.json", "JSON list of records"]),
    ("unsupported type", "d.txt", "hola\n", ["d.txt", "unsupported file type", ".jsonl"]),
    ("missing file", "absent.jsonl", False, ["absent.jsonl", "not found", "dataset.sources.N.path"]),
]  # fmt: skip


@pytest.mark.parametrize("case, name, content, expected", DATA_CASES, ids=[c[0] for c in DATA_CASES])
def test_bad_data_file_names_file_line_and_fix(compose, tmp_path, case, name, content, expected):
    from sftlab.config.errors import DataError
    from sftlab.data.records import load_source_records

    path = tmp_path / name
    if content is None:
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not False:
        path.write_text(content, encoding="utf-8")
    cfg = compose(f"dataset.sources.0.path={path}", "logger=none")
    started = time.perf_counter()
    with pytest.raises(DataError) as err:
        load_source_records(cfg.dataset)
    message = str(err.value)
    assert "\n" not in message and len(message) < 400, message[:400]
    for text in expected:
        assert text in message, message
    assert time.perf_counter() - started < 10


def test_dropped_records_below_the_threshold_train_with_a_count(compose, tmp_path, caplog):
    from sftlab.data.records import load_source_records

    path = tmp_path / "d.jsonl"
    path.write_text(_jsonl(*[GOOD] * 20, {"instruction": "q", "input": ""}), encoding="utf-8")
    ((_, recs),) = load_source_records(compose(f"dataset.sources.0.path={path}", "logger=none").dataset)
    assert len(recs) == 20 and "1 of 21 records" in caplog.text
    cfg = compose(f"dataset.sources.0.path={path}", "dataset.allow_dropped=0.0", "logger=none")
    with pytest.raises(Exception, match="1 of 21"):
        load_source_records(cfg.dataset)


def test_bad_input_table_covers_the_categories():
    """At least 60 distinct bad inputs across keys, values, combinations, data files, tracking."""
    categories = {c[0] for c in CONFIG_CASES} | {"data"}
    assert {"key", "option", "value", "combination", "tracking", "hub", "data"} <= categories
    assert len(CONFIG_CASES) + len(DATA_CASES) >= 60


# ---- README commands -------------------------------------------------------------------------

# README commands that cannot run offline on a 2-core CPU, with the reason. Every other
# `python train.py` command of README is checked below; a new README command must be added to
# one or the other.
NEEDS = {
    "logger.tracking_uri=http://mlflow.internal:5000": "a team's MLflow server",
    "hydra/sweeper=lora_search": "the Optuna sweeper plugin (pip install hydra-optuna-sweeper)",
    "...": "a placeholder the reader fills in",
    "=/data/": "the reader's own data file",
}


def readme_train_commands() -> list[str]:
    """Every ``python train.py`` command in README's bash blocks, continuation lines joined."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = " ".join(line.split("  #", 1)[0].split(" # ", 1)[0].split())
            if "python train.py" in line:
                commands.append(line[line.index("python train.py") :])
    return commands


def test_readme_quick_start_states_a_measured_time():
    quick = (ROOT / "README.md").read_text(encoding="utf-8").split("## Quick start", 1)[1][:1500]
    assert "python train.py" in quick and "measured" in quick


@pytest.mark.parametrize("command", readme_train_commands())
def test_readme_train_command_is_valid_as_written(command, in_process_train, capsys, monkeypatch):
    """Each README train command passes the pre-run checks (keys, options, values) as written."""
    reason = next((why for marker, why in NEEDS.items() if marker in command), None)
    if reason:
        pytest.skip(f"needs {reason}")
    from sftlab import validation

    hub = []  # hub ids are checked in the table above; here: keys, options and values as written
    monkeypatch.setattr(validation, "check_hub_ids", lambda cfg: hub.append(cfg.model.name))
    args = shlex.split(command)[2:]
    validation.check_command_line(args)  # raises ConfigError with the one line a user would see


def _copy_repo(dest: Path) -> Path:
    ignore = shutil.ignore_patterns(
        ".git", "outputs", "multirun", "mlflow.db", "mlartifacts", "__pycache__", "*.pid"
    )
    shutil.copytree(ROOT, dest, ignore=ignore, symlinks=True)
    return dest


def _readme_run(repo: Path, command: str, cache_dir: Path, timeout: int = 900):
    env = {**__import__("os").environ, "SFTLAB_CACHE": str(cache_dir), "PYTHONPATH": str(repo / "src")}
    return subprocess.run(
        [sys.executable, *shlex.split(command)[1:]], cwd=repo, env=env, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


@pytest.mark.slow
def test_readme_bare_run_with_the_default_logger(tmp_path, cache_dir):
    repo = _copy_repo(tmp_path / "repo")
    proc = _readme_run(repo, "python train.py", cache_dir)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "final training loss:" in proc.stdout and "run page:" in proc.stdout
    assert (repo / "mlflow.db").exists()  # the default store, in the folder the user ran from


@pytest.mark.slow
def test_readme_sweep_with_the_default_logger_has_a_parent_and_children(tmp_path, cache_dir):
    from mlflow.tracking import MlflowClient

    repo = _copy_repo(tmp_path / "repo")
    proc = _readme_run(repo, "python train.py -m lora.r=4,8 training.max_steps=3", cache_dir)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "InterpolationResolutionError" not in proc.stderr and "Traceback" not in proc.stderr
    assert "sweep: 2 jobs: 2 ran (2 finished, 0 failed)" in proc.stdout
    client = MlflowClient(f"sqlite:///{repo / 'mlflow.db'}")
    exp = client.get_experiment_by_name("sftlab")
    runs = client.search_runs([exp.experiment_id])
    parents = [r for r in runs if r.data.tags.get("sftlab.stage") == "sweep"]
    assert len(parents) == 1
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id]
    assert len(children) == 2 and all(r.info.status == "FINISHED" for r in children)
    for child in children:  # 3 steps < logging_steps 5: the losses are still logged
        assert client.get_metric_history(child.info.run_id, "train/loss")


def test_tiny_demo_scores_come_with_their_context(compose):
    """The bare run's Belebele line says the tiny model sits at chance and which command shows an effect."""
    from sftlab.evaluation.stage import DEMO_COMMAND, chance_note

    cfg = compose()
    note = chance_note(cfg, cfg.eval)
    assert "0.25 for 4 choices" in note and DEMO_COMMAND in note
    assert DEMO_COMMAND in " ".join(readme_train_commands())  # the command README documents
    assert chance_note(compose("dataset=belebele_letter_d"), cfg.eval) is None
    big = compose("model=mistral_7b")
    assert chance_note(big, big.eval) is None


@pytest.fixture
def html_server():
    """A web server that answers every request with HTTP 200 and an HTML page (a wrong judge URL)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class _Html(BaseHTTPRequestHandler):
        def _page(self):
            body = b"<!doctype html><html><body>Welcome to nginx!</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _page

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Html)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _judge_client(base_url):
    from sftlab.generate.llm_client import OpenAICompatibleClient

    return OpenAICompatibleClient("judge", model="m", base_url=base_url, api_key_env=None, timeout_s=3,
                                  max_retries=0, temperature=0.0, max_tokens=8)  # fmt: skip


@pytest.mark.parametrize("server", ["html", "unreachable"])
def test_bad_judge_server_is_found_before_generating(server, html_server):
    """Judge replies: a page instead of an API, or nothing; one line naming judge.base_url."""
    from sftlab.generate.llm_client import ChatRequestError

    url = html_server if server == "html" else f"http://127.0.0.1:{_free_port()}/v1"
    started = time.perf_counter()
    with pytest.raises(ChatRequestError) as err:
        _judge_client(url).probe()
    assert "judge.base_url" in str(err.value) and "\n" not in str(err.value)
    assert time.perf_counter() - started < 10


def test_judge_page_reply_is_an_error_not_an_attribute_error(html_server):
    from sftlab.generate.llm_client import ChatRequestError

    with pytest.raises(ChatRequestError, match="answered with a page.*judge.base_url"):
        _judge_client(html_server).complete([{"role": "user", "content": "hola"}])
