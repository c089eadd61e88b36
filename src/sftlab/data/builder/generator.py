"""The builder's generator LLM: ``generator.*`` settings -> a chat client of :mod:`sftlab.generate.llm_client`.

The backends (and their timeouts, retries, key handling) are the ones the rubric judge uses;
what the builder adds is its config keys, the offline ``fake`` backend
(:mod:`sftlab.data.builder.fake_generator`), recording replies, and what a failed request means
for a build.
"""

from __future__ import annotations

from sftlab.config.errors import ConfigError
from sftlab.generate.llm_client import ChatRequestError, HFLocalClient, OpenAICompatibleClient

BACKENDS = ("openai_compatible", "hf_local", "fake")


def _backend(gen_cfg, pairs_per_chunk: int):
    if gen_cfg.backend == "openai_compatible":
        return OpenAICompatibleClient.from_config("generator", gen_cfg, max_retries=gen_cfg.request_retries)
    if gen_cfg.backend == "hf_local":
        return HFLocalClient(
            "generator",
            model=gen_cfg.model,
            temperature=gen_cfg.temperature,
            max_tokens=gen_cfg.max_tokens,
            device=gen_cfg.device,
        )
    if gen_cfg.backend == "fake":
        from sftlab.data.builder.fake_generator import FakeClient

        return FakeClient(pairs_per_chunk, getattr(gen_cfg, "replies", None))
    raise ConfigError(f"generator.backend: '{gen_cfg.backend}' is not one of {', '.join(BACKENDS)}")


def make_client(gen_cfg, pairs_per_chunk: int = 3):
    """The client for ``generator.backend``, recording its replies when ``generator.record_replies`` is set."""
    if getattr(gen_cfg, "replies", None) and gen_cfg.backend != "fake":
        raise ConfigError("generator.replies: replaying recorded replies needs generator=fake")
    client = _backend(gen_cfg, pairs_per_chunk)
    if getattr(gen_cfg, "record_replies", None):
        from sftlab.data.builder.fake_generator import RecordingClient

        client = RecordingClient(client, gen_cfg.record_replies)
    return client


def ask(client, messages: list[dict]) -> str:
    """The generator's reply; a request that still fails after the client's retries ends the build.

    Chunks finished before it are on disk, so the error says that rerunning resumes.
    """
    try:
        return client.complete(messages)
    except ChatRequestError as e:
        if e.kind in ("auth", "status"):  # the server answered: fix the key or request first
            raise
        raise ChatRequestError(
            f"{e}; finished chunks are kept, rerun to resume", e.kind, e.detail, e.status_code
        ) from None
