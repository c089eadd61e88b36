"""Keep secrets out of every record: params, run names, tags, saved configs and log lines.

sftlab reads an API key only from the environment variable *named* by ``api_key_env``; a key
typed into a config (``+judge.api_key=sk-...``, a URL with ``user:password@``) is still text
that Hydra, MLflow and the logs would store. Everything sftlab records passes through here:

* values that look like credentials (``sk-...``, ``hf_...``, ``ghp_...``, ``Bearer <token>``,
  the ``user:password@`` part of a URL) become ``***`` wherever they appear;
* a config key named like a credential (``api_key``, ``hf_token``, ``secret``, ``password``)
  has its string value replaced by ``***``, in nested configs and in ``key=value`` overrides.

Counters and names that merely contain such a word are kept: ``max_tokens``, ``pad_token``,
``exclude_keys`` and ``*_env`` (which holds a variable's *name*, never its value).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

MASK = "***"

# Credential formats with a recognisable prefix; the minimum lengths keep ordinary words
# ("sk-learn", "hf_local") intact.
_VALUE_PATTERNS = [
    re.compile(r"\bsk-[A-Za-z0-9_\-]{12,}"),  # OpenAI and compatible servers (sk-proj-...)
    re.compile(r"\bhf_[A-Za-z0-9]{16,}"),  # Hugging Face access tokens
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"),  # GitHub tokens
    re.compile(r"\bxox[abprs]-[A-Za-z0-9\-]{10,}"),  # Slack tokens
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),  # AWS access key ids
]
# "Bearer <token>" anywhere; "Basic <base64>" only after "Authorization" (plain prose says "basic").
_BEARER = re.compile(r"(?i)(\bbearer|\bauthorization\s*[:=]\s*\w+)(\s+)[A-Za-z0-9._~+/=\-]{8,}")
_URL_USERINFO = re.compile(r"([a-z][a-z0-9+.\-]*://)[^/\s@:]*(?::[^/\s@]*)?@", re.IGNORECASE)
# key=value / key: value inside a text (overrides, run names, error lines): the value ends at
# whitespace, a comma, a quote or a closing bracket.
_KEY_VALUE = re.compile(r"([+~]?[A-Za-z_][\w.\-]*)(\s*[=:]\s*)(['\"]?)([^\s,'\"\])}]+)")

_SECRET_WORDS = {"key", "apikey", "token", "secret", "password", "passwd", "pwd", "credential",
                 "credentials", "auth"}  # fmt: skip
# Words that make a key a setting, not a credential: counts, special tokens, variable names.
_BENIGN_WORDS = {"max", "min", "num", "new", "pad", "eos", "bos", "unk", "sep", "cls", "mask",
                 "env", "id", "ids", "type", "file", "path", "len", "length"}  # fmt: skip


def is_secret_key(name: str) -> bool:
    """True for a config key whose value is a credential: ``judge.api_key``, ``hf_token``, ``password``."""
    last = str(name).lstrip("+~").rsplit(".", 1)[-1].lower()
    words = [w for w in re.split(r"[_\-]+", last) if w]
    if not words or any(w in _BENIGN_WORDS for w in words):
        return False
    return any(w in _SECRET_WORDS for w in words) or last in ("apikey", "api-key", "accesskey")


def redact_text(text: str) -> str:
    """``text`` with credential-looking values and the values of credential-named keys masked."""
    if not isinstance(text, str) or not text:
        return text
    out = _URL_USERINFO.sub(lambda m: f"{m.group(1)}{MASK}@", text)
    for pattern in _VALUE_PATTERNS:
        out = pattern.sub(MASK, out)
    out = _BEARER.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", out)
    return _KEY_VALUE.sub(
        lambda m: (
            f"{m.group(1)}{m.group(2)}{m.group(3)}{MASK}"
            if is_secret_key(m.group(1)) and m.group(4) != MASK
            else m.group(0)
        ),
        out,
    )


def redact_data(data, key: str | None = None):
    """A copy of nested dicts/lists/strings with secrets masked (see :func:`redact_text`)."""
    if isinstance(data, dict):
        return {k: redact_data(v, str(k)) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [redact_data(v) for v in data]
    if isinstance(data, str):
        return MASK if key is not None and data and is_secret_key(key) else redact_text(data)
    return data


def redact_params(params: dict[str, str]) -> dict[str, str]:
    """Flattened params (``judge.api_key`` -> value) with secrets masked."""
    return {k: (MASK if v and is_secret_key(k) else redact_text(v)) for k, v in params.items()}


def secret_keys_in(data, prefix: str = "") -> list[str]:
    """Dotted names of credential-named keys that hold a non-empty string value."""
    found: list[str] = []
    if isinstance(data, dict):
        for k, v in data.items():
            name = f"{prefix}{k}"
            if isinstance(v, str) and v and is_secret_key(str(k)):
                found.append(name)
            else:
                found.extend(secret_keys_in(v, f"{name}."))
    return found


def redact_yaml_file(path: str | Path) -> bool:
    """Rewrite a saved YAML file (Hydra's ``.hydra/*.yaml``) with its secrets masked; True if changed."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return False
    data = yaml.safe_load(text)
    clean = redact_data(data)
    if clean == data:
        return False
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(yaml.safe_dump(clean, sort_keys=False, allow_unicode=True), encoding="utf-8")
    tmp.replace(path)
    return True


def _mask_record(record: logging.LogRecord) -> None:
    """Render ``record``'s message once and replace it by its masked form when it held a secret."""
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: leave it to the handler to report
        return
    clean = redact_text(message)
    if clean != message:
        record.msg, record.args = clean, None


class RedactingFilter(logging.Filter):
    """A log filter that masks secrets in the message, its arguments and any traceback text."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message once, mask it, and keep the record."""
        _mask_record(record)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        return True


def install_log_filter(logger: logging.Logger | None = None) -> None:
    """Put :class:`RedactingFilter` on every handler of ``logger`` (the root logger by default).

    Handlers, not loggers: a filter on a logger does not see records its children propagate
    (httpx's request lines, transformers' warnings), a handler sees them all.
    """
    logger = logger or logging.getLogger()
    for handler in logger.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


def config_yaml(resolved: dict) -> str:
    """The resolved config as the YAML sftlab saves (``config.yaml``), secrets masked.

    A credential-named key is reported once, by name only: sftlab never reads a key from a
    config, so a value there is either a mistake or a leak waiting to happen.
    """
    from omegaconf import OmegaConf

    for name in secret_keys_in(resolved):
        logging.getLogger(__name__).warning(
            "%s looks like a secret; its value is masked in every record and not used "
            "(keys are read from the variable named by *.api_key_env)",
            name,
        )
    return OmegaConf.to_yaml(redact_data(resolved))


def protect_job() -> None:
    """Inside a Hydra job: mask secrets in the log handlers and in the YAML files Hydra saved.

    Hydra writes ``.hydra/config.yaml``, ``hydra.yaml`` and ``overrides.yaml`` (and a sweep's
    ``multirun.yaml``) before the job's function runs, with every override as typed.
    """
    from sftlab.config.runtime import hydra_cfg

    install_log_filter()
    hc = hydra_cfg()
    if hc is None:
        return
    files: list[Path] = []
    if hc.output_subdir:
        files += sorted((Path(hc.runtime.output_dir) / hc.output_subdir).glob("*.yaml"))
    sweep = Path(hc.sweep.dir)
    sweep = sweep if sweep.is_absolute() else Path(hc.runtime.cwd) / sweep
    files.append(sweep / "multirun.yaml")
    for path in files:
        if path.is_file():
            redact_yaml_file(path)


def install_record_redaction() -> None:
    """Mask secrets in every log record as it is made, whichever logger and handler it meets.

    Handler filters (:func:`install_log_filter`) come only after Hydra has configured logging;
    Hydra's launcher logs each job's overrides (``#0 : +judge.api_key=...``) before that. A
    record factory sees every record of an enabled level, from the first one.
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_sftlab_redacts", False):
        return

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        _mask_record(record)
        return record

    factory._sftlab_redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
