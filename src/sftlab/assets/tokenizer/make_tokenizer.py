"""python src/sftlab/assets/tokenizer/make_tokenizer.py

Trains the small byte-level BPE tokenizer that the tiny stand-in models ship with and saves it
next to this script, with LLaMA-2-chat's chat template. Byte-level means any text (accents, ñ,
¿, ¡, emoji) is encodable; the vocabulary is small so tiny models stay tiny. The result is
committed; running the script again rewrites the same files byte for byte (a test checks it).

The training texts are frozen in ``corpus.jsonl`` (one JSON string per line): the chat-format
markers and every text field of the bundled data as it was when the tokenizer was first built.
The bundled data has been edited since; training on it would change the vocabulary and with it
every tiny model, so the corpus is kept apart from the data it came from.

The chat template is the one of meta-llama/Llama-2-7b-chat-hf (its tokenizer_config.json),
verbatim, so ``model.prompt_format=chat_template`` runs offline and renders exactly what
``model.prompt_format=llama2_chat`` writes by hand (tests/generate/test_prompt_formats.py).
"""

from __future__ import annotations

import json
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus.jsonl"
VOCAB_SIZE = 2048
SPECIALS = ["<unk>", "<s>", "</s>"]
# meta-llama/Llama-2-7b-chat-hf, tokenizer_config.json "chat_template" (a raw string: the
# backslash-n pairs are Jinja string escapes, as in the original).
LLAMA2_CHAT_TEMPLATE = (
    r"{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    r"{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
    r"{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
    r"{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    r"{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    r"{% endif %}{% if loop.index0 == 0 and system_message != false %}"
    r"{% set content = '<<SYS>>\n' + system_message + '\n<</SYS>>\n\n' + message['content'] %}"
    r"{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}"
    r"{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
    r"{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}"
)


def corpus() -> list[str]:
    """The frozen training texts (``corpus.jsonl``)."""
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line]


def build() -> PreTrainedTokenizerFast:
    """Train the tokenizer on the corpus and attach the chat template."""
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus(), trainer)
    # Like LLaMA's tokenizer: a BOS in front of every encoded text, no EOS.
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", tok.token_to_id("<s>"))]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>", model_max_length=1024
    )
    fast.chat_template = LLAMA2_CHAT_TEMPLATE
    return fast


def main(out: Path = HERE) -> None:
    """Train the tokenizer and save it (tokenizer.json, tokenizer_config.json, chat_template.jinja)."""
    fast = build()
    fast.save_pretrained(str(out))
    print(f"saved {len(fast)}-token tokenizer to {out}")


if __name__ == "__main__":
    main()
