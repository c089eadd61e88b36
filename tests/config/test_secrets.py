"""Secrets never stored: what counts as one, and the places that mask it (issue 17)."""

from __future__ import annotations

import logging

import pytest

from sftlab.config.errors import ConfigError
from sftlab.config.secrets import (
    MASK,
    RedactingFilter,
    is_secret_key,
    redact_data,
    redact_params,
    redact_text,
    redact_yaml_file,
)

OPENAI = "sk-proj-" + "a1B2c3D4e5F6g7H8i9"
HF = "hf_" + "AbCdEfGhIjKlMnOpQrSt"


@pytest.mark.parametrize(
    "text, secret",
    [
        (f"+judge.api_key={OPENAI}", OPENAI),
        (f"judge.api_key_env={OPENAI}", OPENAI),
        (f"token {HF} rejected", HF),
        ("POST http://alice:s3cr3tpw@127.0.0.1:8000/v1/chat/completions", "s3cr3tpw"),
        ("Authorization: Bearer abcdefgh12345678", "abcdefgh12345678"),
        ("r=8,hf_token=plainvalue,lr=1e-4", "plainvalue"),
        ("database password: hunter2hunter2", "hunter2hunter2"),
    ],
)
def test_secret_values_are_masked(text, secret):
    out = redact_text(text)
    assert secret not in out and MASK in out


@pytest.mark.parametrize(
    "text",
    [
        "max_tokens=256,pad_token=<pad>,api_key_env=OPENAI_API_KEY,exclude_keys=[a]",
        "the token embeddings were resized to 32000",
        "http://127.0.0.1:5000/#/experiments/1",
        "sqlite:///tmp/mlflow.db",
        "generator=hf_local lora.r=8",
    ],
)
def test_ordinary_text_is_kept(text):
    assert redact_text(text) == text


def test_keys_named_like_credentials():
    assert all(map(is_secret_key, ["judge.api_key", "hf_token", "secret", "db.password", "access_token"]))
    assert not any(
        map(is_secret_key, ["max_tokens", "pad_token", "api_key_env", "token_env", "exclude_keys"])
    )


def test_nested_config_and_params():
    cfg = {"judge": {"api_key": "anything", "api_key_env": "OPENAI_API_KEY", "max_tokens": 5,
                     "base_url": "http://u:pw12345@h/v1"}, "list": [f"x={OPENAI}"]}  # fmt: skip
    clean = redact_data(cfg)
    assert clean["judge"] == {"api_key": MASK, "api_key_env": "OPENAI_API_KEY", "max_tokens": 5,
                              "base_url": "http://***@h/v1"}  # fmt: skip
    assert OPENAI not in str(clean)
    params = redact_params({"judge.api_key": "anything", "judge.max_tokens": "5", "x": OPENAI})
    assert params == {"judge.api_key": MASK, "judge.max_tokens": "5", "x": MASK}


def test_saved_hydra_yaml_is_rewritten(tmp_path):
    path = tmp_path / "overrides.yaml"
    path.write_text(f"- +judge.api_key={OPENAI}\n- lora.r=8\n")
    assert redact_yaml_file(path)
    assert OPENAI not in path.read_text() and "lora.r=8" in path.read_text()
    assert not redact_yaml_file(path)  # nothing left to mask


def test_log_filter_masks_messages_args_and_tracebacks():
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    handler = Keep()
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("test_secrets.httpx")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("HTTP Request: POST %s", "http://user:pw98765@127.0.0.1:1/v1")
        try:
            raise ValueError(f"bad key {OPENAI}")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    assert records and "pw98765" not in records[0] and "http://***@127.0.0.1:1/v1" in records[0]
    assert OPENAI not in records[1] and "ValueError" in records[1]


def test_api_key_env_must_be_a_variable_name_and_is_not_echoed():
    from sftlab.generate.llm_client import read_api_key

    with pytest.raises(ConfigError) as err:
        read_api_key("judge", OPENAI)
    assert OPENAI not in str(err.value) and "judge.api_key_env must be the NAME" in str(err.value)


def test_every_log_record_is_masked_as_it_is_made(caplog):
    from sftlab.config.secrets import install_record_redaction

    install_record_redaction()
    install_record_redaction()  # idempotent
    with caplog.at_level(logging.INFO):
        logging.getLogger("hydra.launcher.probe").info("#0 : lora.r=4 +judge.api_key=%s", OPENAI)
    assert OPENAI not in caplog.text and "+judge.api_key=***" in caplog.text
