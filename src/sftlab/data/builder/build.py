"""The builder loop: chunks -> generator -> validated, deduplicated pairs with provenance.

Files, all beside ``output`` (``pairs.jsonl`` below) and all append-only:

* ``pairs.jsonl``          kept pairs: instruction/input/output + provenance
* ``pairs.rejected.jsonl`` chunks whose replies stayed invalid (every reply in full, with the
                           reason of each attempt), and dropped duplicate pairs, each with its reason
* ``pairs.chunks.jsonl``   the ledger: one line per finished chunk (its hash and counts)
* ``pairs.manifest.json``  prompt version, generator model and chunking of the build

Resume: a chunk whose hash is in the ledger (or in ``pairs.jsonl``) is never asked again. A
chunk's lines are written in one write and fsynced before its ledger line, and a torn last line
left by a crash is cut off on restart, so a kill at any point loses at most the chunk in flight
(whose reply never arrived). Invalid replies are retried ``reply_attempts`` times in all; a chunk
whose replies all stayed invalid is logged as rejected but *not* as finished, so the next run
(say with more ``reply_attempts``) asks again. Duplicates: :mod:`sftlab.data.builder.dedup`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from sftlab.config.errors import ConfigError, DataError
from sftlab.data.builder.chunking import chunk_document
from sftlab.data.builder.dedup import PairDedup
from sftlab.data.builder.documents import find_documents, read_document
from sftlab.data.builder.generator import ask
from sftlab.data.builder.prompts import get_prompt
from sftlab.data.builder.replies import InvalidReply, parse_reply

log = logging.getLogger(__name__)


@dataclass
class BuildPaths:
    """The output files of one build."""

    pairs: Path
    rejected: Path
    ledger: Path
    manifest: Path

    @classmethod
    def for_output(cls, output: str) -> BuildPaths:
        """Paths derived from the ``output`` JSONL path."""
        p = Path(output).expanduser().resolve()
        if p.suffix != ".jsonl":
            raise ConfigError(f"output: '{output}' must be a .jsonl file")
        stem = p.with_suffix("")
        return cls(
            p, Path(f"{stem}.rejected.jsonl"), Path(f"{stem}.chunks.jsonl"), Path(f"{stem}.manifest.json")
        )


@dataclass
class BuildStats:
    """Counts of a build (this session and in total)."""

    chunks_total: int = 0
    chunks_done_before: int = 0
    chunks_done: int = 0
    requests: int = 0
    kept: int = 0
    rejected_chunks: int = 0  # replies still invalid: not finished, asked again by the next run
    duplicates: int = 0
    skipped_files: list[str] = field(default_factory=list)
    no_text: list[str] = field(default_factory=list)  # "file (n of m pages)": no text layer, OCR it


def _read_jsonl_repairing(path: Path) -> list[dict]:
    """Rows of an append-only JSONL; a torn last line (crash mid-write) is cut off the file."""
    if not path.exists():
        return []
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        cut = data.rfind(b"\n") + 1
        log.warning("%s: removing an incomplete last line left by an interrupted build", path)
        with open(path, "r+b") as f:
            f.truncate(cut)
        data = data[:cut]
    rows = []
    for n, line in enumerate(data.decode("utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                raise DataError(
                    f"{path}:{n}: not valid JSON; the file was edited by hand? fix or remove that line"
                ) from None
    return rows


def _append(path: Path, rows: list[dict]) -> None:
    """Append rows in one write and make them durable before anything depends on them."""
    if not rows:
        return
    blob = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
    with open(path, "ab") as f:
        f.write(blob)
        f.flush()
        os.fsync(f.fileno())


def _check_manifest(paths: BuildPaths, manifest: dict) -> None:
    """A resumed build must use the same prompt, generator and chunking as the run that started it."""
    started = paths.ledger.exists() and paths.ledger.stat().st_size > 0
    if started and paths.manifest.exists():
        old = json.loads(paths.manifest.read_text(encoding="utf-8"))
        diff = [k for k in manifest if k in old and old[k] != manifest[k]]
        if diff:
            k = diff[0]
            raise ConfigError(
                f"output: {paths.pairs} was built with {k}={old[k]!r}, not {manifest[k]!r}; "
                "write to a new output file, or restore the original settings to resume"
            )
    elif not started:  # nothing generated yet: (re)write the manifest for these settings
        tmp = paths.manifest.with_suffix(".tmp")
        tmp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        os.replace(tmp, paths.manifest)


def collect_chunks(cfg, stats: BuildStats) -> list:
    """All chunks of all documents, in a stable order; unreadable files are skipped and listed."""
    chunks, seen = [], set()
    root = Path(cfg.input_dir).expanduser()
    for path in find_documents(cfg.input_dir, list(cfg.extensions)):
        try:
            doc = read_document(path, root)
        except DataError as e:
            log.warning("skipping %s", e)
            stats.skipped_files.append(str(path))
            continue
        if doc.empty_pages:
            where = f"{doc.relative} ({doc.empty_pages} of {len(doc.pages)} pages)"
            log.warning("%s: no text layer (a scanned document?); run OCR on it, e.g. ocrmypdf", where)
            stats.no_text.append(where)
        for chunk in chunk_document(doc, cfg.chunking.max_chars, cfg.chunking.min_chars):
            if chunk.chunk_hash not in seen:  # the same text in two files is asked once
                seen.add(chunk.chunk_hash)
                chunks.append(chunk)
    return chunks


def pair_id(chunk_hash: str, question: str) -> str:
    """Stable id of a pair (for review)."""
    return hashlib.sha256(f"{chunk_hash}\x00{question}".encode()).hexdigest()[:16]


def build(cfg, client, progress: bool = True) -> BuildStats:
    """Run (or resume) the build described by ``cfg`` with the chat ``client``."""
    from tqdm import tqdm

    if cfg.reply_attempts < 1:
        raise ConfigError(f"reply_attempts must be >= 1 (got {cfg.reply_attempts})")
    if cfg.prompt.pairs_per_chunk < 1:
        raise ConfigError(f"prompt.pairs_per_chunk must be >= 1 (got {cfg.prompt.pairs_per_chunk})")
    prompt = get_prompt(cfg.prompt.version)
    paths = BuildPaths.for_output(cfg.output)
    paths.pairs.parent.mkdir(parents=True, exist_ok=True)
    stats = BuildStats()
    chunks = collect_chunks(cfg, stats)
    if not chunks:
        scanned = f"; no text layer (scanned? OCR them, e.g. ocrmypdf): {', '.join(stats.no_text)}"
        raise DataError(
            f"input_dir: no text to build from in {cfg.input_dir}{scanned if stats.no_text else ''}"
        )
    if cfg.max_chunks:
        chunks = chunks[: cfg.max_chunks]
    stats.chunks_total = len(chunks)
    manifest = {
        "prompt_version": prompt.version,
        "prompt_sha": prompt.sha,
        "pairs_per_chunk": cfg.prompt.pairs_per_chunk,
        "generator_backend": cfg.generator.backend,
        "generator_model": cfg.generator.model,
        "max_chars": cfg.chunking.max_chars,
        "min_chars": cfg.chunking.min_chars,
    }
    _check_manifest(paths, manifest)

    kept_rows = _read_jsonl_repairing(paths.pairs)
    rejected_before = len(_read_jsonl_repairing(paths.rejected))
    ledger = _read_jsonl_repairing(paths.ledger)
    done = {row["chunk_hash"] for row in ledger} | {row["chunk_hash"] for row in kept_rows}
    dedup = PairDedup(cfg.near_dup_threshold, cfg.near_dup_answer_threshold)
    for row in kept_rows:
        dedup.add(row["instruction"], row["output"])
    todo = [c for c in chunks if c.chunk_hash not in done]
    stats.chunks_done_before = len(chunks) - len(todo)
    stats.kept = len(kept_rows)

    bar = tqdm(
        total=len(chunks), initial=stats.chunks_done_before, desc="chunks", unit="chunk", disable=not progress
    )
    bar.set_postfix(kept=stats.kept, rejected=0)
    try:
        for chunk in todo:
            messages = prompt.messages(chunk, cfg.prompt.pairs_per_chunk)
            pairs, reasons, replies = None, [], []
            for _ in range(cfg.reply_attempts):
                reply = ask(client, messages)
                stats.requests += 1
                try:
                    pairs = parse_reply(reply)
                    break
                except InvalidReply as e:
                    reasons.append(client.scrub(str(e)))
                    replies.append(client.scrub(reply))  # whole: the reviewer sees what went wrong
            provenance = {
                "source_file": chunk.source_file,
                "page": chunk.page,
                "article": chunk.article,
                "chunk_hash": chunk.chunk_hash,
                "prompt_version": prompt.version,
                "generator_model": cfg.generator.model,
            }
            if pairs is None:  # no ledger line: the next run asks again
                stats.rejected_chunks += 1
                invalid = {"reason": "invalid reply", "attempts": reasons, "replies": replies, **provenance}
                _append(paths.rejected, [invalid])
            else:
                keep, reject = [], []
                for pair in pairs:
                    why = dedup.duplicate_of(pair["instruction"], pair["output"])
                    if why:
                        stats.duplicates += 1
                        reject.append({"reason": why, **pair, **provenance})
                        continue
                    dedup.add(pair["instruction"], pair["output"])
                    keep.append({**pair, "id": pair_id(chunk.chunk_hash, pair["instruction"]), **provenance})
                _append(paths.pairs, keep)
                _append(paths.rejected, reject)
                ledger_row = {
                    "chunk_hash": chunk.chunk_hash,
                    "source_file": chunk.source_file,
                    "kept": len(keep),
                    "rejected": len(reject),
                }
                _append(paths.ledger, [ledger_row])
                stats.kept += len(keep)
                stats.chunks_done += 1
            bar.update(1)
            bar.set_postfix(
                kept=stats.kept, rejected=rejected_before + stats.rejected_chunks + stats.duplicates
            )
    finally:
        bar.close()
    return stats


def main(cfg) -> None:
    """``sftlab data build``: build (or resume) the pairs file and print what happened."""
    from sftlab.data.builder.generator import make_client

    stats = build(cfg, make_client(cfg.generator, cfg.prompt.pairs_per_chunk))
    paths = BuildPaths.for_output(cfg.output)
    print(
        f"chunks: {stats.chunks_total} ({stats.chunks_done_before} done before, {stats.chunks_done} now, "
        f"{stats.requests} requests)\n"
        f"pairs kept: {stats.kept} -> {paths.pairs}\n"
        f"rejected now: {stats.rejected_chunks} chunk(s) with invalid replies, {stats.duplicates} duplicate "
        f"pair(s) -> {paths.rejected}",
        flush=True,
    )
    if stats.rejected_chunks:
        print(
            f"{stats.rejected_chunks} chunk(s) not finished (invalid replies); run the same command again "
            "to ask again (e.g. with reply_attempts=5)",
            flush=True,
        )
    if cfg.generator.backend == "fake" and not cfg.generator.get("replies"):
        print("generator=fake: placeholder pairs made from the text itself, not training data", flush=True)
    if stats.no_text:
        print(f"no text layer (scanned? run OCR, e.g. ocrmypdf): {', '.join(stats.no_text)}", flush=True)
    if stats.skipped_files:
        print(f"skipped unreadable files: {', '.join(stats.skipped_files)}", flush=True)
