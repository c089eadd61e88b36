"""Records from their sources: read each file or hub split, normalize to instruction/input/output, split.

Sources are local files (.json, .jsonl, .csv, .parquet) or hub datasets. Every problem a user
can cause (missing file, unreadable file, missing fields, nothing left) is a one-line DataError
naming the file or hub id, raised before any model weight is loaded.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from sftlab.config.errors import DataError

log = logging.getLogger(__name__)

# Record formats: which source field becomes instruction / input / output.
FIELD_MAPS: dict[str, dict[str, str | None]] = {
    "alpaca": {"instruction": "instruction", "input": "input", "output": "output"},
    "dolly": {"instruction": "instruction", "input": "context", "output": "response"},
    "qa": {"instruction": "instruction", "input": "input", "output": "output"},  # input optional
}
_LOCAL_SUFFIXES = {".json": "json", ".jsonl": "json", ".csv": "csv", ".parquet": "parquet"}


def read_local(path: str) -> list[dict]:
    """Read a local file into a list of dicts, with errors that name the file."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise DataError(f"dataset file not found: {p} (set dataset.sources.N.path to an existing file)")
    suffix = p.suffix.lower()
    if suffix not in _LOCAL_SUFFIXES:
        raise DataError(f"{p}: unsupported file type '{suffix}'; use .json, .jsonl, .csv or .parquet")
    try:
        if suffix == ".jsonl":
            rows = []
            for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError as e:
                        raise DataError(
                            f"{p}:{n}: not valid JSON ({e.msg}); fix or remove that line"
                        ) from None
            return rows
        if suffix == ".json":
            data = json.loads(p.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                data = data.get("data", data.get("train"))
            if not isinstance(data, list):
                raise DataError(f"{p}: expected a JSON list of records (or {{'data': [...]}})")
            return data
        import datasets

        return datasets.load_dataset(_LOCAL_SUFFIXES[suffix], data_files=str(p), split="train").to_list()
    except DataError:
        raise
    except (UnicodeDecodeError, ValueError, OSError) as e:
        raise DataError(f"{p}: cannot be read as {suffix} ({type(e).__name__}: {e})") from None


def read_hub(hub_id: str, subset: str | None, split: str) -> list[dict]:
    """Load a hub dataset split (downloads on first use, cached by `datasets`)."""
    import datasets

    try:
        return datasets.load_dataset(hub_id, subset, split=split).to_list()
    except Exception as e:  # the hub raises many types; the user needs the id and the cause
        raise DataError(
            f"dataset hub id '{hub_id}' (split '{split}') could not be loaded: {type(e).__name__}: "
            f"{str(e).splitlines()[0] if str(e) else ''} — check the id, your network/HF token, or use a local path"
        ) from None


def normalize(rows: list[dict], fmt: str, origin: str) -> list[dict]:
    """Map source records of format ``fmt`` to instruction/input/output strings.

    Records whose instruction or output is empty are dropped (counted in the log); a source
    missing a required field entirely is an error naming it.
    """
    if fmt not in FIELD_MAPS:
        raise DataError(f"{origin}: unknown record format '{fmt}'; choose one of {', '.join(FIELD_MAPS)}")
    mapping = FIELD_MAPS[fmt]
    if rows:
        missing = [src for key, src in mapping.items() if src and key != "input" and src not in rows[0]]
        if missing:
            raise DataError(
                f"{origin}: records lack field(s) {missing} required by format '{fmt}' "
                f"(found: {sorted(rows[0])}); fix the file or set the source's format"
            )
    out, dropped = [], 0
    for row in rows:
        rec = {
            key: "" if src is None or row.get(src) is None else str(row.get(src))
            for key, src in mapping.items()
        }
        if rec["instruction"].strip() and rec["output"].strip():
            out.append(rec)
        else:
            dropped += 1
    if dropped:
        log.warning("%s: dropped %d record(s) with an empty instruction or output", origin, dropped)
    return out


def source_name(src, index: int) -> str:
    """The label of a source in statistics: ``name``, else the hub id, else the file's stem."""
    if getattr(src, "name", None):
        return src.name
    if src.hub_id:
        return src.hub_id
    return Path(src.path).stem if src.path else f"source{index}"


def load_source_records(dataset_cfg) -> list[tuple[str, list[dict]]]:
    """Each source of ``dataset_cfg`` normalized, as ``(source name, records)`` in config order."""
    if not dataset_cfg.sources:
        raise DataError(f"dataset '{dataset_cfg.name}': no sources configured (dataset.sources is empty)")
    parts: list[tuple[str, list[dict]]] = []
    for i, src in enumerate(dataset_cfg.sources):
        if bool(src.path) == bool(src.hub_id):
            raise DataError(f"dataset.sources.{i}: set exactly one of path or hub_id")
        origin = src.path or src.hub_id
        rows = read_local(src.path) if src.path else read_hub(src.hub_id, src.subset, src.split)
        recs = normalize(rows, src.format, origin)
        if src.max_records:
            recs = recs[: src.max_records]
        if not recs:
            raise DataError(
                f"{origin}: no usable records (empty file, or every record lacks instruction/output)"
            )
        parts.append((source_name(src, i), recs))
    return parts


def load_records(dataset_cfg) -> list[dict]:
    """All sources of ``dataset_cfg`` normalized and concatenated, in source order."""
    return [rec for _, recs in load_source_records(dataset_cfg) for rec in recs]


def split_records(records: list[dict], eval_fraction: float, seed: int, max_records: int | None = None):
    """Shuffle deterministically, cap at ``max_records``, hold out ``eval_fraction`` for eval."""
    import random

    records = list(records)
    random.Random(seed).shuffle(records)
    if max_records:
        records = records[:max_records]
    n_eval = int(round(len(records) * eval_fraction)) if eval_fraction > 0 else 0
    if n_eval and len(records) - n_eval < 1:
        n_eval = 0
    return records[n_eval:], records[:n_eval]
