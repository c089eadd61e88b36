"""Records from their sources: read each file or hub split, normalize to instruction/input/output, split.

Sources are local files (.json, .jsonl, .csv, .parquet) or hub datasets. Every problem a user
can cause (missing file, unreadable file, missing fields, nothing left) is a one-line DataError
naming the file or hub id, raised before any model weight is loaded.
"""

from __future__ import annotations

import json
import logging
import math
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
    """Read a local file into a list of rows, with errors that name the file (and line)."""
    return [row for _, row in read_local_located(path)]


def _decode(p: Path) -> str:
    """The file as text; a non-UTF-8 byte is reported with its line and how to convert the file."""
    raw = p.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise DataError(
            f"{p}:{line}: not UTF-8 text (byte 0x{raw[e.start]:02x}); re-save it as UTF-8, "
            f"e.g. iconv -f latin1 -t utf-8 {p.name} > {p.stem}.utf8{p.suffix}"
        ) from None


def read_local_located(path: str) -> list[tuple[str, object]]:
    """Rows of a local file, each with its location (``file:line`` for JSONL, ``file record N`` else)."""
    p = Path(path).expanduser()
    if p.is_dir():
        raise DataError(
            f"{p} is a directory; set dataset.sources.N.path to a .jsonl/.json/.csv/.parquet file in it"
        )
    if not p.is_file():
        raise DataError(f"dataset file not found: {p} (set dataset.sources.N.path to an existing file)")
    suffix = p.suffix.lower()
    if suffix not in _LOCAL_SUFFIXES:
        raise DataError(f"{p}: unsupported file type '{suffix}'; use .json, .jsonl, .csv or .parquet")
    try:
        if suffix == ".jsonl":
            rows = []
            for n, line in enumerate(_decode(p).splitlines(), 1):
                if line.strip():
                    try:
                        rows.append((f"{p}:{n}", json.loads(line)))
                    except json.JSONDecodeError as e:
                        raise DataError(
                            f"{p}:{n}: not valid JSON ({e.msg}); fix or remove that line"
                        ) from None
            return rows
        if suffix == ".json":
            try:
                data = json.loads(_decode(p))
            except json.JSONDecodeError as e:
                raise DataError(f"{p}:{e.lineno}: not valid JSON ({e.msg}); fix the file") from None
            if isinstance(data, dict):
                data = data.get("data", data.get("train"))
            if not isinstance(data, list):
                raise DataError(f"{p}: expected a JSON list of records (or {{'data': [...]}})")
            return [(f"{p} record {i}", row) for i, row in enumerate(data, 1)]
        import datasets

        rows = datasets.load_dataset(_LOCAL_SUFFIXES[suffix], data_files=str(p), split="train").to_list()
        return [(f"{p} row {i}", row) for i, row in enumerate(rows, 1)]
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


def _text(value, loc: str, field: str, typed: bool) -> str:
    """A field's text; in JSON files a number, list or bool where text belongs is an error."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if typed or not isinstance(value, (int, float)) or isinstance(value, bool):
        shown = json.dumps(value, ensure_ascii=False, default=str)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        raise DataError(
            f"{loc}: field '{field}' must be text, found {type(value).__name__} {shown}; "
            "quote it as a string or fix the record"
        )
    return str(value)  # CSV/parquet columns of numbers: the file type carries no text/number distinction


def normalize(
    rows: list, fmt: str, origin: str, locations: list[str] | None = None, allow_dropped: float = 1.0
) -> list[dict]:
    """Map source records of format ``fmt`` to instruction/input/output strings, checking every record.

    A record that is not an object, or a field of the wrong type, is an error naming its file,
    line and field. Records whose instruction or output is missing or empty are dropped; more
    than ``allow_dropped`` (a fraction) of them is an error, since the file is then probably in
    another format. A source missing a required field entirely is an error naming it.
    """  # fmt: skip
    if fmt not in FIELD_MAPS:
        raise DataError(f"{origin}: unknown record format '{fmt}'; choose one of {', '.join(FIELD_MAPS)}")
    mapping = FIELD_MAPS[fmt]
    locations = locations or [f"{origin} record {i}" for i in range(1, len(rows) + 1)]
    typed = str(origin).lower().endswith((".json", ".jsonl"))
    for loc, row in zip(locations, rows, strict=True):
        if not isinstance(row, dict):
            shown = json.dumps(row, ensure_ascii=False, default=str)[:40]
            raise DataError(
                f"{loc}: a record must be a JSON object with fields "
                f"{[v for v in mapping.values() if v]}, found {type(row).__name__} {shown}"
            )
    if rows:
        missing = [src for key, src in mapping.items() if src and key != "input" and src not in rows[0]]
        if missing:
            raise DataError(
                f"{origin}: records lack field(s) {missing} required by format '{fmt}' "
                f"(found: {sorted(rows[0])}); fix the file or set the source's format"
            )
    out, dropped = [], []
    for loc, row in zip(locations, rows, strict=True):
        rec = {
            key: "" if src is None else _text(row.get(src), loc, src, typed) for key, src in mapping.items()
        }
        if rec["instruction"].strip() and rec["output"].strip():
            out.append(rec)
        else:
            dropped.append(loc)
    if dropped:
        share = len(dropped) / len(rows)
        message = (
            f"{origin}: {len(dropped)} of {len(rows)} records lack a non-empty "
            f"{mapping['instruction']}/{mapping['output']} (first: {dropped[0]})"
        )
        if share > allow_dropped:
            raise DataError(
                f"{message}; fix them, or accept dropping them with dataset.allow_dropped={math.ceil(share * 100) / 100}"
            )
        log.warning("%s; dropped", message)
    return out


def source_name(src, index: int) -> str:
    """The label of a source in statistics: ``name``, else the hub id, else the file's stem."""
    if getattr(src, "name", None):
        return src.name
    if src.hub_id:
        return src.hub_id
    return Path(src.path).stem if src.path else f"source{index}"


def source_records(src, index: int, allow_dropped: float | None = 1.0) -> list[dict]:
    """One source's records, normalized and checked record by record (errors name file and line)."""
    if bool(src.path) == bool(src.hub_id):
        raise DataError(f"dataset.sources.{index}: set exactly one of path or hub_id")
    origin = src.path or src.hub_id
    if src.path:
        located = read_local_located(src.path)
        rows, locations = [r for _, r in located], [loc for loc, _ in located]
    else:
        rows, locations = read_hub(src.hub_id, src.subset, src.split), None
    recs = normalize(rows, src.format, origin, locations, 1.0 if allow_dropped is None else allow_dropped)
    if src.max_records:
        recs = recs[: src.max_records]
    if not recs:
        raise DataError(f"{origin}: no usable records (empty file, or every record lacks instruction/output)")
    return recs


def load_source_records(dataset_cfg) -> list[tuple[str, list[dict]]]:
    """Each source of ``dataset_cfg`` normalized, as ``(source name, records)`` in config order."""
    if not dataset_cfg.sources:
        raise DataError(f"dataset '{dataset_cfg.name}': no sources configured (dataset.sources is empty)")
    allow = dataset_cfg.get("allow_dropped", 1.0)
    return [(source_name(src, i), source_records(src, i, allow)) for i, src in enumerate(dataset_cfg.sources)]


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
