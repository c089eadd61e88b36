"""python src/sftlab/assets/tokenizer/make_tokenizer.py

Trains the small byte-level BPE tokenizer that the tiny stand-in models ship with, on the
project's own bundled Spanish text, and saves it next to this script. Byte-level means any
text (accents, ñ, ¿, ¡, emoji) is encodable; the vocabulary is small so tiny models stay tiny.
Run once; the result is committed. Deterministic for the same input files.
"""

from __future__ import annotations

import json
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data"
VOCAB_SIZE = 2048
SPECIALS = ["<unk>", "<s>", "</s>"]


def corpus() -> list[str]:
    """Every text field of the bundled JSONL files, plus the chat-format markers."""
    texts = ["[INST] <<SYS>>\n<</SYS>>\n\n [/INST]", "User: \nAssistant:"]
    for path in sorted(DATA.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.extend(str(v) for v in json.loads(line).values())
    return texts


def main() -> None:
    """Train the tokenizer and save it (tokenizer.json + tokenizer_config.json) here."""
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
    fast.save_pretrained(str(HERE))
    print(f"saved {len(fast)}-token tokenizer to {HERE}")


if __name__ == "__main__":
    main()
