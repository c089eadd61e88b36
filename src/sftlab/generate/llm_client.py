"""Chat-completion backends shared by the dataset builder's generator and the rubric judge.

* :class:`OpenAICompatibleClient`: the ``openai`` library against any server that speaks the
  chat-completions wire format (OpenAI, vLLM, llama.cpp, TGI, Ollama...), with a per-request
  timeout and the client's own retries with exponential back-off on connection errors,
  timeouts, 429 and 5xx (it honours ``Retry-After``). The API key is read from the environment
  variable *named* by ``api_key_env`` and is never stored in a config, a log line, an error
  message or an output file: every text that leaves this module passes :func:`redact`.
* :class:`HFLocalClient`: a local transformers causal LM (a folder or hub id, or a model
  already in memory), on the GPU when there is one; the tokenizer's chat template when it has
  one. Generation settings are explicit, so a hub model's own sampling defaults never leak in.

Both answer ``complete(messages) -> text``. What a reply means (JSON pairs, a rubric score)
and what to do when a request fails stays with the feature: ``sftlab.data.builder`` and
``sftlab.judge.judges``. ``section`` (``generator`` or ``judge``) is the config group whose keys the
error messages name.
"""

from __future__ import annotations

import logging
import os
import re

from sftlab.config.errors import ConfigError, SftlabError

log = logging.getLogger(__name__)

DETAIL_CHARS = 200  # of a server's error text kept in a message
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # what a shell accepts as a variable name


class ChatRequestError(SftlabError):
    """A chat request that failed after the client's retries; the message is free of the key.

    ``kind`` is ``auth`` (HTTP 401), ``status`` (another HTTP error, ``status_code`` set),
    ``timeout``, ``connection`` or ``response`` (an answer the client could not read);
    ``detail`` is the server's or the client's text, scrubbed and shortened.
    """

    def __init__(self, message: str, kind: str, detail: str, status_code: int | None = None):
        """Keep the one-line ``message`` and the parts a feature words its own errors with."""
        super().__init__(message)
        self.kind, self.detail, self.status_code = kind, detail, status_code


def redact(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` replaced by ``***``."""
    return text.replace(secret, "***") if secret else text


def read_api_key(section: str, api_key_env: str | None) -> str | None:
    """The key in the variable named ``api_key_env`` (None when no variable is configured)."""
    if not api_key_env:
        return None
    if not _ENV_NAME.fullmatch(str(api_key_env)):
        # Never echo the value: a key typed into the name field is the usual cause.
        raise ConfigError(
            f"{section}.api_key_env must be the NAME of an environment variable (letters, digits, _), "
            f"not the key itself; put the key in a variable (e.g. OPENAI_API_KEY) and set "
            f"{section}.api_key_env=OPENAI_API_KEY"
        )
    secret = os.environ.get(api_key_env)
    if not secret:
        raise ConfigError(
            f"{section}.api_key_env: environment variable {api_key_env} is not set; export it "
            f"(or set {section}.api_key_env=null for a local server without keys)"
        )
    return secret


class OpenAICompatibleClient:
    """Chat completions through the ``openai`` library (timeouts, retries with back-off)."""

    def __init__(
        self,
        section: str,
        *,
        model: str,
        base_url: str | None,
        api_key_env: str | None,
        timeout_s: float,
        max_retries: int,
        temperature: float,
        max_tokens: int,
    ):
        """Read the key and build the client (no request is made); null ``base_url``: api.openai.com."""
        from openai import OpenAI

        self.section, self.model = section, model
        self.timeout_s, self.max_retries = timeout_s, max_retries
        self._temperature, self._max_tokens = temperature, max_tokens
        self._secret = read_api_key(section, api_key_env)
        # Local servers (vLLM, llama.cpp, Ollama) accept any key; the client insists on one.
        self._client = OpenAI(
            api_key=self._secret or "no-key",
            base_url=base_url or None,
            timeout=timeout_s,
            max_retries=max_retries,  # connection errors, timeouts, 429 and 5xx, with back-off
        )

    @classmethod
    def from_config(cls, section: str, cfg, max_retries: int) -> OpenAICompatibleClient:
        """The client for a config group with model, base_url, api_key_env, timeout_s, temperature, max_tokens.

        ``max_retries`` is passed apart: the groups name that key differently.
        """
        return cls(
            section,
            model=cfg.model,
            base_url=cfg.base_url,
            api_key_env=cfg.api_key_env,
            timeout_s=cfg.timeout_s,
            max_retries=max_retries,
            temperature=cfg.temperature,
            max_tokens=cfg.max_tokens,
        )

    @property
    def base_url(self) -> str:
        """The server's URL as the client uses it."""
        return str(self._client.base_url)

    def _auth_error(self, e) -> ChatRequestError:
        """The one-line error for an HTTP 401: the key was rejected (never printed)."""
        s = self.section
        return ChatRequestError(
            f"{s}: the server rejected the API key (HTTP 401); check the variable named by {s}.api_key_env",
            "auth",
            self._detail(e),
            401,
        )

    def _detail(self, err: Exception) -> str:
        # Scrub before shortening: a cut could leave part of the key behind.
        return self.scrub(str(err))[:DETAIL_CHARS]

    def complete(self, messages: list[dict]) -> str:
        """The assistant's reply text ("" when it has none); failures raise ChatRequestError."""
        import openai

        s = self.section
        try:
            resp = self._client.chat.completions.create(
                model=self.model,
                messages=messages,
                temperature=self._temperature,
                max_tokens=self._max_tokens,
            )
        except openai.AuthenticationError as e:
            raise self._auth_error(e) from None
        except openai.APIStatusError as e:
            detail = self._detail(e)
            raise ChatRequestError(
                f"{s}: HTTP {e.status_code} from {self.base_url}: {detail}", "status", detail, e.status_code
            ) from None
        except openai.APIError as e:  # connection refused, timeout, malformed response
            if isinstance(e, openai.APITimeoutError):
                kind = "timeout"
            elif isinstance(e, openai.APIConnectionError):
                kind = "connection"
            else:
                kind = "response"
            detail = self._detail(e)
            raise ChatRequestError(
                f"{s}: no usable answer from {self.base_url} ({type(e).__name__}: {detail}); "
                f"check {s}.base_url",
                kind,
                detail,
            ) from None
        if isinstance(resp, str) or not hasattr(resp, "choices"):  # HTTP 200 with an HTML page or text
            detail = self.scrub(str(resp))[:DETAIL_CHARS]
            raise ChatRequestError(
                f"{s}: {self.base_url} answered with a page, not a chat completion ({detail[:60]!r}); "
                f"check {s}.base_url (an OpenAI-compatible API usually ends in /v1)",
                "response",
                detail,
            )
        if not resp.choices:
            return ""
        return resp.choices[0].message.content or ""

    def probe(self) -> None:
        """One cheap request (``GET /models``) before any generation: an unreachable server, a
        rejected key or a URL that serves web pages is a one-line ChatRequestError now, not a run
        of answers with every score missing."""
        import openai

        s = self.section
        try:
            page = self._client.with_options(max_retries=0).models.list()
        except openai.AuthenticationError as e:
            raise self._auth_error(e) from None
        except openai.APIStatusError:
            return  # some servers serve no /models; chat requests may still work
        except openai.APIError as e:
            raise ChatRequestError(
                f"{s}: {self.base_url} is not reachable ({type(e).__name__}); start the server or fix {s}.base_url",
                "connection",
                self._detail(e),
            ) from None
        except (AttributeError, TypeError, ValueError):  # HTTP 200 whose body the client cannot page
            page = ""
        if isinstance(page, str) or not hasattr(page, "data"):
            raise ChatRequestError(
                f"{s}: {self.base_url} answered with a page, not an OpenAI-compatible API; "
                f"check {s}.base_url (it usually ends in /v1)",
                "response",
                self.scrub(str(page))[:DETAIL_CHARS],
            )

    def scrub(self, text: str) -> str:
        """``text`` with the API key and anything credential-looking removed (for anything written or logged)."""
        from sftlab.config.secrets import redact_text

        return redact_text(redact(text, self._secret))

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()


def _resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


class HFLocalClient:
    """Generation with a local transformers model: greedy, or sampled at ``temperature``."""

    def __init__(
        self,
        section: str,
        *,
        model: str,
        temperature: float,
        max_tokens: int,
        device: str = "auto",
        dtype=None,
        quantization_config=None,
        lm=None,
        tokenizer=None,
    ):
        """Load ``model`` (a folder or hub id) on ``device``, unless ``lm``/``tokenizer`` are given.

        ``device``: auto (the GPU when there is one), cpu or cuda; ``dtype``: a torch dtype or
        None for the checkpoint's default; ``quantization_config``: a ``BitsAndBytesConfig`` or None. A model that cannot be loaded is a ConfigError
        naming ``<section>.model``.
        """
        self.section, self.model = section, model
        self._temperature, self._max_tokens = temperature, max_tokens
        if lm is None:
            from transformers import AutoModelForCausalLM, AutoTokenizer

            device = _resolve_device(device)
            kwargs = {} if dtype is None else {"dtype": dtype}
            if quantization_config is not None:  # e.g. a 4-bit judge (judge.load_in_4bit)
                kwargs["quantization_config"] = quantization_config
            if device == "cuda":  # a 7B model on the CPU is impractical; place it whole on this rank's GPU
                from sftlab.model.placement import model_device_map

                kwargs["device_map"] = model_device_map()
            elif device != "cpu":
                kwargs["device_map"] = {"": device}
            try:
                tokenizer = AutoTokenizer.from_pretrained(model)
                lm = AutoModelForCausalLM.from_pretrained(model, **kwargs)
            except OSError as e:
                raise ConfigError(
                    f"{section}.model: cannot load '{model}' ({str(e).splitlines()[0][:160]})"
                ) from None
        self.lm, self.tokenizer = lm.eval(), tokenizer

    @property
    def has_chat_template(self) -> bool:
        """Whether the tokenizer formats chat messages itself."""
        return bool(getattr(self.tokenizer, "chat_template", None))

    def render(self, messages: list[dict]) -> str:
        """The prompt text of ``messages``: the chat template, else a plain role-labelled transcript."""
        if self.has_chat_template:
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        turns = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
        return "\n\n".join(turns) + "\n\nAssistant:"

    def generate(self, prompt: str, sample: bool) -> str:
        """Up to ``max_tokens`` new tokens after ``prompt`` (sampled at ``temperature`` if ``sample``)."""
        import torch
        from transformers import GenerationConfig

        tok = self.tokenizer
        ids = tok(prompt, return_tensors="pt").input_ids.to(self.lm.device)
        config = GenerationConfig(
            max_new_tokens=self._max_tokens,
            do_sample=sample,
            temperature=self._temperature if sample else None,
            top_p=None,
            top_k=None,
            pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id,
            eos_token_id=tok.eos_token_id,
        )
        with torch.no_grad():
            out = self.lm.generate(
                input_ids=ids, attention_mask=torch.ones_like(ids), generation_config=config
            )
        return tok.decode(out[0, ids.shape[1] :], skip_special_tokens=True)

    def complete(self, messages: list[dict]) -> str:
        """The reply to ``messages`` (greedy unless ``temperature`` > 0)."""
        return self.generate(self.render(messages), sample=self._temperature > 0)

    def scrub(self, text: str) -> str:
        """``text`` with anything credential-looking removed (a prompt may have carried one)."""
        from sftlab.config.secrets import redact_text

        return redact_text(text)

    def close(self) -> None:
        """Nothing to release explicitly."""
