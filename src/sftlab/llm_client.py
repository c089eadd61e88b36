"""A thin chat client for a generator (or judge) LLM: ``complete(messages) -> text``.

Backends:

* ``openai_compatible``: the ``openai`` library against any server that speaks the
  chat-completions wire format (OpenAI, vLLM, llama.cpp, TGI...). The API key is read from the
  environment variable named by ``api_key_env`` and is never stored in a config, a log line, an
  error message or an output file: every text that leaves this module passes :func:`redact`.
* ``hf_local``: a local transformers causal LM (a folder or hub id), chat template when the
  tokenizer has one.

Kept small and free of builder logic so the judge can share it.
"""

from __future__ import annotations

import logging
import os

from sftlab.errors import SftlabError

log = logging.getLogger(__name__)

BACKENDS = ("openai_compatible", "hf_local")


class GeneratorError(SftlabError):
    """The generator LLM cannot be used (no key, unreachable, rejected the request)."""


def redact(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` replaced by ``***``."""
    if secret and len(secret) >= 4:
        return text.replace(secret, "***")
    return text


class OpenAICompatibleClient:
    """Chat completions through the ``openai`` library."""

    def __init__(self, cfg):
        """Read the key from ``cfg.api_key_env`` and build the client (no request is made)."""
        from openai import OpenAI

        self.model = cfg.model
        self._secret = None
        if cfg.api_key_env:
            self._secret = os.environ.get(cfg.api_key_env)
            if not self._secret:
                raise GeneratorError(
                    f"generator.api_key_env: environment variable {cfg.api_key_env} is not set; export it "
                    "(or set generator.api_key_env=null for a local server without keys)"
                )
        self._temperature = cfg.temperature
        self._max_tokens = cfg.max_tokens
        self._client = OpenAI(
            api_key=self._secret or "no-key",
            base_url=cfg.base_url or None,
            timeout=cfg.timeout_s,
            max_retries=cfg.request_retries,  # connection errors, 429 and 5xx, with backoff
        )

    def complete(self, messages: list[dict]) -> str:
        """The assistant's reply text; transport and HTTP failures raise GeneratorError."""
        import openai

        try:
            resp = self._client.chat.completions.create(
                model=self.model,
                messages=messages,
                temperature=self._temperature,
                max_tokens=self._max_tokens,
            )
        except openai.AuthenticationError:
            raise GeneratorError(
                "generator: the server rejected the API key (HTTP 401); check the variable named by generator.api_key_env"
            ) from None
        except openai.APIStatusError as e:
            raise GeneratorError(
                redact(
                    f"generator: HTTP {e.status_code} from {self._client.base_url}: {str(e)[:200]}",
                    self._secret,
                )
            ) from None
        except openai.APIError as e:  # connection refused, timeout, malformed response
            raise GeneratorError(
                redact(
                    f"generator: no usable answer from {self._client.base_url} ({type(e).__name__}: {str(e)[:200]}); "
                    "check generator.base_url; finished chunks are kept, rerun to resume",
                    self._secret,
                )
            ) from None
        if not resp.choices:
            return ""
        return resp.choices[0].message.content or ""

    def scrub(self, text: str) -> str:
        """``text`` with the API key removed (for anything written or logged)."""
        return redact(text, self._secret)


class HFLocalClient:
    """Generation with a local transformers model (greedy unless temperature > 0)."""

    def __init__(self, cfg):
        """Load the tokenizer and model named by ``cfg.model`` (a folder or hub id)."""
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.model = cfg.model
        self._torch = torch
        self._tok = AutoTokenizer.from_pretrained(cfg.model)
        device = cfg.device if cfg.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
        self._lm = AutoModelForCausalLM.from_pretrained(cfg.model).to(device).eval()
        self._device = device
        self._temperature = cfg.temperature
        self._max_tokens = cfg.max_tokens

    def _prompt(self, messages: list[dict]) -> str:
        if getattr(self._tok, "chat_template", None):
            return self._tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        turns = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
        return "\n\n".join(turns) + "\n\nAssistant:"

    def complete(self, messages: list[dict]) -> str:
        """Generate up to ``max_tokens`` new tokens and return them as text."""
        enc = self._tok(self._prompt(messages), return_tensors="pt").to(self._device)
        sample = self._temperature > 0
        with self._torch.no_grad():
            out = self._lm.generate(
                **enc,
                max_new_tokens=self._max_tokens,
                do_sample=sample,
                temperature=self._temperature if sample else None,
                pad_token_id=self._tok.pad_token_id or self._tok.eos_token_id,
            )
        return self._tok.decode(out[0, enc["input_ids"].shape[1] :], skip_special_tokens=True)

    def scrub(self, text: str) -> str:
        """Nothing secret in a local model."""
        return text


def make_client(cfg):
    """The client for ``cfg.backend`` (``openai_compatible`` or ``hf_local``)."""
    if cfg.backend == "openai_compatible":
        return OpenAICompatibleClient(cfg)
    if cfg.backend == "hf_local":
        return HFLocalClient(cfg)
    raise GeneratorError(f"generator.backend: '{cfg.backend}' is not one of {', '.join(BACKENDS)}")
