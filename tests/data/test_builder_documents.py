"""The builder on a PDF as official gazettes print them, offline with generator=fake.

The PDF is generated here with the project's own writer (``assets/legal_docs/make_legal_docs.py``,
standard library, real text objects that pypdf reads back): a running header and footer on every
page, words hyphenated at line ends and across a page break, an article that runs across the
break, "Artículo 2. Ámbito." without a dash, "Art. innumerado.-", and a wrapped citation
"Art. 41 - literal b)" that must not start an article. A second PDF has no text layer.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from sftlab.config.paths import asset_path

ROOT = Path(__file__).resolve().parents[2]
HEADER = "Registro Oficial Suplemento N. 511 - Lunes 3 de junio de 2024"
PAGES = [
    [
        HEADER,
        "LEY ORGANICA DE PRUEBA TRIBUTARIA",
        "Art. 1.- Objeto.- Esta ley regula el impues-",
        "to a la renta de las personas naturales y de las",
        "sociedades que obtengan ingresos en el pais.",
        "Artículo 2. Ámbito.- Se aplica a los contribuyentes conforme lo dispuesto en el",
        "Art. 41 - literal b) de esta Ley y en su reglamento de aplicacion.",
        "Art. innumerado.- Deberes formales.- Los sujetos pasivos deben llevar registros",
        "de sus operaciones y conservar los comprobantes durante siete anos, y presen-",
        "www.registroficial.gob.ec                Pagina 1 de 3",
    ],
    [
        HEADER,
        "tar sus declaraciones en los plazos que fije el reglamento.",
        "Art. 3.- Tarifa.- La tarifa general del impuesto se aplica sobre la base",
        "imponible que resulte de restar los gastos deducibles de los ingresos gravados.",
        "www.registroficial.gob.ec                Pagina 2 de 3",
    ],
    [
        HEADER,
        "Art. 4.- Declaracion.- La declaracion se presenta una vez al ano en el mes",
        "que corresponda segun el noveno digito del RUC del contribuyente.",
        "www.registroficial.gob.ec                Pagina 3 de 3",
    ],
]


def _write_pdf(path: Path, pages: list[list[str]]) -> None:
    script = asset_path("legal_docs/make_legal_docs.py")
    spec = importlib.util.spec_from_file_location("make_legal_docs", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.write_pdf(path, pages)


@pytest.fixture
def docs(tmp_path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    _write_pdf(folder / "ley.pdf", PAGES)
    _write_pdf(folder / "escaneado.pdf", [[]])  # a page with no text object: what a scan gives pypdf
    return folder


def _cfg(input_dir, output, **extra):
    from sftlab.config.build_schema import BuildConfig

    base = {
        "input_dir": str(input_dir),
        "output": str(output),
        "generator": {"backend": "fake", "model": "fake", "api_key_env": None},
        "chunking": {"max_chars": 300, "min_chars": 20},
    }
    return OmegaConf.merge(OmegaConf.structured(BuildConfig), base, extra)


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_pdf_chunks_are_clean_and_follow_articles(docs, tmp_path, caplog):
    from sftlab.data.builder.build import BuildStats, build, collect_chunks
    from sftlab.data.builder.generator import make_client

    cfg = _cfg(docs, tmp_path / "out" / "pairs.jsonl")
    stats = BuildStats()
    with caplog.at_level(logging.WARNING):
        chunks = [c for c in collect_chunks(cfg, stats) if c.source_file == "ley.pdf"]
    assert stats.no_text == ["escaneado.pdf (1 of 1 pages)"]
    assert "escaneado.pdf (1 of 1 pages): no text layer" in caplog.text

    text = "\n".join(c.text for c in chunks)
    for running in ("Registro Oficial", "registroficial", "Pagina"):
        assert running not in text  # header and footer gone from every chunk
    assert "impues-" not in text and "impuesto a la renta" in text  # hyphenation rejoined
    assert "presentar\nsus declaraciones" in text  # ... also across the page break
    # one chunk per article up to max_chars; the two short last ones are packed together
    assert [c.article for c in chunks] == ["Art. 1", "Art. 2", "Art. innumerado", "Art. 3-4"]
    by_article = {c.article: c for c in chunks}
    assert "Art. 41 - literal b) de esta Ley" in by_article["Art. 2"].text  # a citation, not an article
    assert by_article["Art. innumerado"].page == "1-2"  # runs across the page break, in one chunk
    assert by_article["Art. 3-4"].page == "2-3"

    stats = build(cfg, make_client(cfg.generator, cfg.prompt.pairs_per_chunk), progress=False)
    pairs = _rows(tmp_path / "out" / "pairs.jsonl")
    assert stats.requests == len(chunks) and stats.kept == len(pairs) >= len(chunks)
    assert {p["generator_model"] for p in pairs} == {"fake"}
    assert all("Registro Oficial" not in p["output"] for p in pairs)


def test_a_folder_of_scans_is_an_error_not_zero_chunks(docs, tmp_path):
    from sftlab.config.errors import DataError
    from sftlab.data.builder.build import build
    from sftlab.data.builder.generator import make_client

    (docs / "ley.pdf").unlink()
    cfg = _cfg(docs, tmp_path / "pairs.jsonl")
    with pytest.raises(DataError, match=r"no text to build from .* escaneado.pdf \(1 of 1 pages\)"):
        build(cfg, make_client(cfg.generator), progress=False)


def test_invalid_replies_are_kept_whole_and_asked_again_on_rerun(tmp_path):
    """Recorded replies (generator.replies): a chunk stays invalid after 2 attempts, the rerun
    with reply_attempts=3 reaches its valid third reply; the rejected log holds every reply whole."""
    from sftlab.data.builder.build import BuildStats, build, collect_chunks
    from sftlab.data.builder.fake_generator import synthetic_reply
    from sftlab.data.builder.generator import make_client

    docs = asset_path("legal_docs")
    out = tmp_path / "pairs.jsonl"
    replies = tmp_path / "replies.jsonl"
    settings = {"chunking": {"max_chars": 600, "min_chars": 80}, "max_chunks": 3}
    settings["generator"] = {"replies": str(replies)}
    chunks = collect_chunks(_cfg(docs, out, **settings), BuildStats())[:3]
    bad = "Claro. Aquí van las preguntas que pediste sobre el artículo, en un texto que no es JSON: " * 3
    lines = [{"chunk_hash": c.chunk_hash, "reply": synthetic_reply(c.text, 2)} for c in chunks[:2]]
    lines += [
        {"chunk_hash": chunks[2].chunk_hash, "reply": r}
        for r in (bad, bad, synthetic_reply(chunks[2].text, 2))
    ]
    replies.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")

    def run(attempts: int):
        cfg = _cfg(docs, out, **settings, reply_attempts=attempts)
        return build(cfg, make_client(cfg.generator, 2), progress=False)

    first = run(2)
    assert (first.chunks_done, first.rejected_chunks, first.requests) == (2, 1, 4)
    assert len(_rows(tmp_path / "pairs.chunks.jsonl")) == 2  # the invalid chunk is not finished
    (rejected,) = _rows(tmp_path / "pairs.rejected.jsonl")
    assert rejected["replies"] == [bad, bad] and len(rejected["attempts"]) == 2  # whole replies

    again = run(3)
    assert (again.chunks_done_before, again.chunks_done, again.requests) == (2, 1, 3)
    assert {p["chunk_hash"] for p in _rows(out)} == {c.chunk_hash for c in chunks}


def test_dedup_compares_answers_and_never_merges_across_a_number_or_a_tax():
    from sftlab.data.builder.dedup import PairDedup

    dedup = PairDedup(0.85, 0.5)
    answer = "Se presenta cada mes en el formulario correspondiente, según el noveno dígito del RUC."
    dedup.add("¿Cuándo se presenta la declaración mensual del IVA?", answer)
    dedup.add("¿Qué dice el artículo 9 sobre los plazos?", "Fija los plazos de declaración.")
    assert dedup.duplicate_of("¿Cuándo se presenta la declaración mensual del ICE?", answer) is None
    assert (
        dedup.duplicate_of("¿Qué dice el artículo 10 sobre los plazos?", "Fija los plazos de declaración.")
        is None
    )
    # Same question, an answer with other content: a second pair from another article, kept.
    assert (
        dedup.duplicate_of("¿Cuándo se presenta la declaración mensual del IVA?", "Hasta el día 28.") is None
    )
    why = dedup.duplicate_of("¿Cuándo se presenta la declaración mensual del IVA hoy?", answer)
    assert why and why.startswith("near-duplicate question")


def test_fake_generator_from_the_command_line(docs, tmp_path):
    """What a user without a key types: the whole build runs offline and says what it made."""
    out = tmp_path / "out" / "pairs.jsonl"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sftlab",
            "data",
            "build",
            f"input_dir={docs}",
            f"output={out}",
            "generator=fake",
            f"hydra.run.dir={tmp_path / 'hydra'}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "placeholder pairs made from the text itself" in proc.stdout
    assert "no text layer (scanned? run OCR, e.g. ocrmypdf): escaneado.pdf (1 of 1 pages)" in proc.stdout
    assert _rows(out) and all(p["generator_model"] == "fake" for p in _rows(out))
