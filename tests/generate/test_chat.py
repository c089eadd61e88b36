"""``sftlab chat``'s session: streamed text ends exactly on the answer, every decoding method streams,
answers equal ``generate_answers`` (single and multi-turn), and /reset, /exit work from any input."""

from __future__ import annotations

import io
import json

import pytest

from sftlab.generate.streaming import TextStream


@pytest.fixture(scope="module")
def tiny(cache_dir):
    """tiny LLaMA, unquantized, through the loader chat uses (no adapter: the session is the subject)."""
    from hydra import compose, initialize_config_dir

    from sftlab.config.paths import CONF_DIR
    from sftlab.config.registry import register_configs
    from sftlab.model.pretrained import load_for_inference

    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(
            "chat", [f"paths.cache_dir={cache_dir}", "paths.output_dir=unused", "quantization=none"]
        )
    model, tok = load_for_inference(cfg.model, cfg.quantization)
    return cfg, model, tok


def _gen(cfg, method: str, **values):
    from omegaconf import OmegaConf

    from sftlab.config.paths import CONF_DIR

    gen = OmegaConf.merge(cfg.generation, OmegaConf.load(CONF_DIR / "generation" / f"{method}.yaml"))
    gen.max_new_tokens = 10
    for key, value in values.items():
        gen[key] = value
    return gen


def test_stream_holds_back_unfinished_characters_and_ends_on_the_answer(tiny):
    _, _, tok = tiny
    text = " ¿Qué año es? Ñandú, café…  "
    ids = tok(text, add_special_tokens=False).input_ids
    pieces: list[str] = []
    stream = TextStream(tok, [tok.eos_token_id], pieces.append)
    for i in ids:
        stream.add(i)
        assert "\ufffd" not in "".join(pieces)  # half of a multi-byte character is never shown
    stream.add(tok.eos_token_id)
    stream.add(ids[0])  # after EOS: ignored
    answer = tok.decode(ids, skip_special_tokens=True).strip()
    stream.finish(answer)
    assert "".join(pieces) == answer and len(pieces) > 3  # streamed piece by piece


@pytest.mark.parametrize("method", ["contrastive", "greedy", "top_k", "beam"])
def test_session_streams_and_equals_generate_answers(tiny, method):
    """Streamed text == the returned answer == what generate_answers (the judge's path) answers,
    for a two-turn conversation, with every kind of decoding."""
    from sftlab.generate.chat import ChatSession
    from sftlab.generate.methods import generate_answers
    from sftlab.generate.suites import SuitePrompt

    cfg, model, tok = tiny
    gen = _gen(cfg, method, num_attempts=1)
    session = ChatSession(model, tok, gen, cfg.model)
    turns, streamed, writes = [], [], []
    for question in ("Hola, ¿quién eres?", "¿Y qué sabes del IVA?"):
        pieces: list[str] = []
        turns.append(session.reply(question, write=pieces.append))
        streamed.append("".join(pieces))
        writes.append(len(pieces))
    rows = generate_answers(
        model,
        tok,
        [SuitePrompt("s", "x", "c", ["Hola, ¿quién eres?", "¿Y qué sabes del IVA?"], [None, None])],
        gen,
        cfg.model,
    )
    assert [t["answer"] for t in turns] == [r["answer"] for r in rows]
    assert streamed == [t["answer"] for t in turns]
    if method != "beam":  # token by token as they come (beam search knows its tokens at the end)
        assert max(writes) > 1, writes
    assert turns[1]["prompt"].startswith(turns[0]["prompt"]) and "[/INST]" in turns[1]["prompt"]


def test_commands_reset_and_exit_from_piped_lines(tiny, tmp_path):
    from sftlab.generate.chat import ChatSession, converse

    cfg, model, tok = tiny
    session = ChatSession(model, tok, _gen(cfg, "greedy"), cfg.model)
    out = io.StringIO()
    transcript = tmp_path / "transcript.jsonl"
    lines = ["Hola", "", "/reset", "Hola", "/olvida", "/exit", "no se contesta"]
    assert converse(session, iter(lines), out, interactive=False, transcript=transcript) == 2
    first, second = out.getvalue().split("unknown command /olvida")[0].splitlines()
    assert first == second  # /reset: the same question starts a fresh, identically seeded conversation
    rows = [json.loads(line) for line in transcript.read_text().splitlines()]
    assert [r["turn"] for r in rows] == [1, 2] and rows[0]["prompt"] == rows[1][
        "prompt"
    ] == "[INST] Hola [/INST]"
    assert session.history == [("Hola", rows[1]["answer"])]


@pytest.mark.parametrize(
    "text", ["¿Cuál es la capital de Ecuador?", 'Di "hola", ¿sí?', "It's", "a\\b\\", "${no}", "x=y, [z]"]
)
def test_a_prompt_is_taken_as_typed(text):
    """`sftlab chat chat.prompt=<any text>`: the shell drops quotes; the CLI quotes it for Hydra."""
    from sftlab.cli import _quote_free_text
    from sftlab.config.compose import compose

    cfg = compose("chat", ["paths.output_dir=unused", _quote_free_text(f"chat.prompt={text}")])
    assert cfg.chat.prompt == text
