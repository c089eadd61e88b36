"""The dataset builder end to end: bundled legal documents -> a generator server on 127.0.0.1 -> pairs.

The server speaks the real chat-completions wire format (the builder talks to it through the
``openai`` library). It scripts invalid replies, counts what it delivers, and holds one request
so the test can kill the builder mid-build and check that the restart pays for nothing twice.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from chat_server import ChatServer

from sftlab.config.paths import asset_path

ROOT = Path(__file__).resolve().parents[2]
DOCS = asset_path("legal_docs")
SECRET = "sk-test-7f3a9c1e5b2d4f60a8e1c3b5d7f9a2c4"
COMMON_Q = "¿Dónde puedo consultar la normativa tributaria vigente?"


def _chunk_text(user: str) -> str:
    return user.split('"""')[1].strip()


def _script(user: str, nth: int) -> str:
    """The scripted generator: valid pairs, one bad reply then good, and one chunk always bad."""
    text = _chunk_text(user)
    if "Art. 4.- Sujetos pasivos" in text and nth == 1:
        return "Claro, aquí tienes las preguntas que pediste."  # not JSON: retried
    if "Art. 2.- Obligación de emitir" in text:
        return json.dumps([{"instruction": "¿Quién debe emitir comprobantes?", "input": ""}])  # no output
    first = " ".join(text.split()[:8])
    pairs = [
        {
            "instruction": f"¿Qué establece el texto que empieza «{first}»?",
            "input": "",
            "output": f"Establece: {text[:120]}",
        },
        {"instruction": COMMON_Q, "input": "", "output": "En el portal del SRI."},  # repeats in every chunk
    ]
    if "Art. 6.- Ejercicio impositivo" in text:  # a near-duplicate of the common question
        pairs.append(
            {
                "instruction": "¿Dónde puedo consultar la normativa tributaria vigente hoy?",
                "input": "",
                "output": "En el portal del SRI.",  # question and answer both repeat: a duplicate
            }
        )
    body = json.dumps(pairs, ensure_ascii=False)
    return f"```json\n{body}\n```" if "Art. 1.- Objeto" in text else body  # fenced JSON is accepted


def _cmd(tmp_path: Path, base_url: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "sftlab",
        "data",
        "build",
        f"input_dir={DOCS}",
        f"output={tmp_path / 'out' / 'pairs.jsonl'}",
        f"generator.base_url={base_url}",
        "generator.model=stub-generator-1",
        "generator.request_retries=0",
        "chunking.max_chars=600",
        f"hydra.run.dir={tmp_path / 'hydra'}",
        *extra,
    ]


def _env(**extra):
    return {**os.environ, "OPENAI_API_KEY": SECRET, **extra}


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _expected_chunks():
    from omegaconf import OmegaConf

    from sftlab.data.builder.build import BuildStats, collect_chunks

    cfg = OmegaConf.create(
        {
            "input_dir": DOCS,
            "extensions": [".pdf", ".txt", ".md", ".html", ".htm"],
            "chunking": {"max_chars": 600, "min_chars": 80},
        }
    )
    return collect_chunks(cfg, BuildStats())


def test_build_crash_resume_rejects_and_never_leaks_the_key(tmp_path):
    chunks = _expected_chunks()
    assert len(chunks) == 11
    stub = ChatServer(SECRET, _script).start()
    stub.pause_at = 5  # chunks 1-4 finish (PDF x2, HTML x2); the 5th request is held, then killed
    out, err = tmp_path / "run1.out", tmp_path / "run1.err"
    try:
        with open(out, "w") as fo, open(err, "w") as fe:
            proc = subprocess.Popen(_cmd(tmp_path, stub.base_url), cwd=ROOT, env=_env(), stdout=fo, stderr=fe)
            try:
                assert stub.paused.wait(120), err.read_text()[-2000:]
            finally:
                proc.kill()  # a crash: no cleanup handler runs
                proc.wait(30)
        ledger = tmp_path / "out" / "pairs.chunks.jsonl"
        assert len(_rows(ledger)) == 4
        stub.pause_at = None
        stub.release.set()

        second = subprocess.run(
            _cmd(tmp_path, stub.base_url), cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300
        )
        assert second.returncode == 0, second.stderr[-3000:]
    finally:
        stub.stop()

    # Nothing paid twice: every chunk delivered once, plus exactly the retries of bad replies.
    by_chunk = {_chunk_text(u): n for u, n in stub.delivered.items()}
    assert len(by_chunk) == len(chunks)
    retried = [t for t in by_chunk if "Art. 4.- Sujetos pasivos" in t]
    rejected = [t for t in by_chunk if "Art. 2.- Obligación de emitir" in t]
    assert by_chunk.pop(retried[0]) == 2
    assert by_chunk.pop(rejected[0]) == 3  # reply_attempts
    assert set(by_chunk.values()) == {1}
    assert "4 done before, 6 now, 10 requests" in second.stdout  # the chunk left invalid is not done
    assert "1 chunk(s) not finished (invalid replies); run the same command again" in second.stdout

    ledger_rows = _rows(ledger)
    unfinished = [c.chunk_hash for c in chunks if "Art. 2.- Obligación de emitir" in c.text]
    assert sorted(r["chunk_hash"] for r in ledger_rows) == sorted(
        c.chunk_hash for c in chunks if c.chunk_hash not in unfinished
    )

    pairs = _rows(tmp_path / "out" / "pairs.jsonl")
    # 10 good chunks x 1 unique question + the common question once; its repeats are dropped.
    assert len(pairs) == 11
    questions = [p["instruction"] for p in pairs]
    assert questions.count(COMMON_Q) == 1 and len(set(questions)) == len(questions)
    for p in pairs:
        assert p["input"] == "" and p["output"]
        assert p["prompt_version"] == "sri_qa_v1" and p["generator_model"] == "stub-generator-1"
        assert p["chunk_hash"] in {c.chunk_hash for c in chunks} and len(p["id"]) == 16
    pdf = [
        p
        for p in pairs
        if p["source_file"] == "codigo_tributario_extracto.pdf" and p["instruction"] != COMMON_Q
    ]
    assert sorted((p["page"], p["article"]) for p in pdf) == [("1", "Art. 1-2"), ("1-2", "Art. 3-4")]
    ley = {p["article"] for p in pairs if p["source_file"] == "ley_regimen_tributario_extracto.txt"}
    assert "Art. 4-5" in ley  # kept after its invalid first reply
    html = [p for p in pairs if p["source_file"] == "guia_contribuyente.html"]
    assert html and all(p["article"] is None and p["page"] is None for p in html)

    rej = _rows(tmp_path / "out" / "pairs.rejected.jsonl")
    invalid = [r for r in rej if r["reason"] == "invalid reply"]
    assert len(invalid) == 1 and invalid[0]["article"] == "Art. 2-3"
    assert invalid[0]["source_file"] == "reglamento_comprobantes.md"
    assert len(invalid[0]["attempts"]) == 3 and all(
        "lacks field(s) ['output']" in a for a in invalid[0]["attempts"]
    )
    assert (
        invalid[0]["replies"]
        == [json.dumps([{"instruction": "¿Quién debe emitir comprobantes?", "input": ""}])] * 3
    )
    dups = [r for r in rej if r["reason"].startswith("duplicate question")]
    near = [r for r in rej if r["reason"].startswith("near-duplicate question")]
    assert len(dups) == 9 and len(near) == 1  # 10 good chunks repeat COMMON_Q; Art. 6 adds a near one
    assert "hoy" in near[0]["instruction"]

    # Progress bar with chunk, kept and rejected counts.
    assert re.search(r"chunks: 100%.*11/11.*kept=11, rejected=11", second.stderr)

    # The API key reached the server (or it would have answered 401) but no file or log.
    assert stub.unauthorized == 0
    texts = [out.read_text(), err.read_text(), second.stdout, second.stderr]
    texts += [p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file()]
    assert all(SECRET not in t for t in texts)
    assert any("OPENAI_API_KEY" in t for t in texts)  # the variable's name is recorded, not its value


def test_builder_errors_are_one_line_and_keyless(tmp_path):
    stub = ChatServer("sk-the-right-key-0000", _script).start()
    try:
        wrong = subprocess.run(
            _cmd(tmp_path, stub.base_url), cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120
        )
        unset = subprocess.run(
            _cmd(tmp_path, stub.base_url, "generator.api_key_env=SFTLAB_TEST_UNSET_KEY"),
            cwd=ROOT,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        stub.stop()
    assert wrong.returncode == 2 and stub.unauthorized == 1
    assert "error: generator: the server rejected the API key (HTTP 401)" in wrong.stderr
    assert "Traceback" not in wrong.stderr and SECRET not in wrong.stdout + wrong.stderr
    assert unset.returncode == 2
    assert (
        "error: generator.api_key_env: environment variable SFTLAB_TEST_UNSET_KEY is not set" in unset.stderr
    )
    ledger = tmp_path / "out" / "pairs.chunks.jsonl"
    assert not ledger.exists() or not ledger.read_text()  # nothing recorded as done


def test_chunking_follows_article_headings_and_pdf_pages():
    from sftlab.data.builder.chunking import chunk_document
    from sftlab.data.builder.documents import Document

    pages = [
        (1, "LEY X\n\nArt. 1.- Uno."),
        (2, "Art. 2.- Dos.\n\nArtículo 3.- Tres.\nArt. (...).- Innumerado."),
    ]
    doc = Document(Path("x.txt"), "x.txt", pages)
    one_each = chunk_document(doc, max_chars=26, min_chars=1)
    assert [c.article for c in one_each] == ["Art. 1", "Art. 2", "Art. 3", "Art. (...)"]
    assert [c.text for c in one_each][:2] == ["LEY X\n\nArt. 1.- Uno.", "Art. 2.- Dos."]
    assert [c.page for c in one_each] == ["1", "2", "2", "2"]
    packed = chunk_document(doc, max_chars=1000, min_chars=1)
    assert len(packed) == 1 and packed[0].article == "Art. 1-(...)" and packed[0].page == "1-2"
    long = Document(
        Path("y.txt"), "y.txt", [(None, "Art. 9.- " + " ".join(f"palabra{i}" for i in range(200)))]
    )
    parts = chunk_document(long, max_chars=300, min_chars=1)
    assert len(parts) > 4 and all(len(c.text) <= 300 and c.article == "Art. 9" for c in parts)
    assert len({c.chunk_hash for c in parts}) == len(parts)


@pytest.mark.parametrize(
    "reply, reason",
    [
        ("", "empty reply"),
        ("Aquí tienes: [", "not valid JSON"),
        ('[{"instruction": "¿Qué es el RUC?", "input": ""}]', "lacks field(s) ['output']"),
        ('{"pairs": []}', "no list of pairs"),
        ('[{"instruction": "¿Qué?", "input": 3, "output": "x"}]', "'input' is not a string"),
    ],
)
def test_invalid_replies_have_reasons(reply, reason):
    from sftlab.data.builder.replies import InvalidReply, parse_reply

    with pytest.raises(InvalidReply, match=re.escape(reason)):
        parse_reply(reply)


def test_valid_reply_shapes():
    from sftlab.data.builder.replies import parse_reply

    pair = {"instruction": " ¿Qué es el RUC? ", "output": "El registro."}
    want = [{"instruction": "¿Qué es el RUC?", "input": "", "output": "El registro."}]
    assert parse_reply(json.dumps([pair])) == want
    assert parse_reply(json.dumps({"pairs": [pair]})) == want
    assert parse_reply(json.dumps(pair)) == want
    assert parse_reply("```json\n" + json.dumps([pair]) + "\n```") == want


def test_hf_local_backend_generates_and_rejects_garbage(tmp_path, compose):
    """A local transformers model as generator: a random tiny model writes no JSON, so the chunk is rejected."""
    from omegaconf import OmegaConf

    from sftlab.config.build_schema import BuildConfig
    from sftlab.data.builder.build import build
    from sftlab.data.builder.generator import make_client
    from sftlab.generate.llm_client import HFLocalClient
    from sftlab.model.loading import resolve_source

    model_dir = resolve_source(compose().model)
    cfg = OmegaConf.merge(
        OmegaConf.structured(BuildConfig),
        {
            "input_dir": DOCS,
            "output": str(tmp_path / "local.jsonl"),
            "generator": {
                "backend": "hf_local",
                "model": model_dir,
                "max_tokens": 8,
                "temperature": 0.0,
                "device": "cpu",
            },
            "reply_attempts": 2,
            "max_chunks": 1,
        },
    )
    client = make_client(cfg.generator)
    assert isinstance(client, HFLocalClient)
    assert isinstance(client.complete([{"role": "user", "content": "Hola"}]), str)
    stats = build(cfg, client, progress=False)
    assert stats.requests == 2 and stats.rejected_chunks == 1 and stats.kept == 0
    (rejected,) = _rows(tmp_path / "local.rejected.jsonl")
    assert rejected["reason"] == "invalid reply" and len(rejected["attempts"]) == 2
    assert rejected["generator_model"] == model_dir


def test_build_config_composes_and_rejects_unknown_keys():
    from hydra import compose, initialize_config_dir
    from hydra.errors import ConfigCompositionException

    from sftlab.config.registry import register_configs

    register_configs()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("data_build", overrides=[f"input_dir={DOCS}", "output=/tmp/x.jsonl"])
        assert cfg.generator.backend == "openai_compatible" and cfg.generator.api_key_env == "OPENAI_API_KEY"
        assert cfg.prompt.version == "sri_qa_v1" and cfg.reply_attempts == 3
        with pytest.raises(ConfigCompositionException):
            compose("data_build", overrides=["generator.api_key=sk-should-not-exist"])
