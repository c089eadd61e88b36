"""python benchmarks/plain_trl_sft.py --model DIR --data FILE.jsonl [--steps N ...]

The reference for `sftlab bench`: QLoRA SFT with nothing but transformers + peft + TRL +
bitsandbytes, the settings passed on the command line (sftlab bench passes those of its training config). It
deliberately imports nothing from sftlab. Prints one line ``BENCH {json}`` with the real
(non-padding) tokens trained, the wall and CPU seconds of ``trainer.train()``, the rate and, on CUDA,
the peak allocated/reserved memory.
"""

import argparse
import json
import time

import torch
from datasets import load_dataset
from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig
from trl import SFTConfig, SFTTrainer


def main() -> None:
    """Train for ``--steps`` optimizer steps and print the throughput line."""
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True, help="JSONL of prompt/completion records")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--r", type=int, default=16)
    p.add_argument("--alpha", type=int, default=32)
    p.add_argument("--dropout", type=float, default=0.05)
    p.add_argument("--targets", default="q_proj,k_proj,v_proj,o_proj")
    p.add_argument("--lr", type=float, default=5e-3)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--grad-accum", type=int, default=1)
    p.add_argument("--max-length", type=int, default=512)
    p.add_argument("--dtype", default="float32")
    p.add_argument("--gradient-checkpointing", action="store_true")
    p.add_argument("--packing", action="store_true")
    p.add_argument("--attn", default="sdpa", help="attn_implementation: sdpa | eager | flash_attention_2")
    p.add_argument("--liger", action="store_true", help="use_liger_kernel (needs liger_kernel)")
    p.add_argument("--seed", type=int, default=42)
    a = p.parse_args()

    cuda = torch.cuda.is_available()
    bf16 = cuda and torch.cuda.is_bf16_supported()
    tok = AutoTokenizer.from_pretrained(a.model)
    tok.pad_token = tok.pad_token or tok.eos_token
    tok.padding_side = "right"
    bnb = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16,
    )
    model = AutoModelForCausalLM.from_pretrained(
        a.model,
        dtype=getattr(torch, a.dtype),
        quantization_config=bnb,
        device_map={"": torch.cuda.current_device()} if cuda else None,
        attn_implementation=a.attn,
    )
    model.config.use_cache = False
    model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=a.gradient_checkpointing)
    model = get_peft_model(
        model,
        LoraConfig(
            r=a.r,
            lora_alpha=a.alpha,
            lora_dropout=a.dropout,
            target_modules=a.targets.split(","),
            bias="none",
            task_type="CAUSAL_LM",
        ),
    )
    args = SFTConfig(
        output_dir="/tmp/plain_trl_sft",
        max_steps=a.steps,
        learning_rate=a.lr,
        lr_scheduler_type="cosine",
        warmup_steps=0.3,
        optim="paged_adamw_8bit",
        weight_decay=0.001,
        max_grad_norm=0.3,
        per_device_train_batch_size=a.batch,
        gradient_accumulation_steps=a.grad_accum,
        gradient_checkpointing=a.gradient_checkpointing,
        max_length=a.max_length,
        packing=a.packing,
        include_num_input_tokens_seen="all" if a.packing else "non_padding",
        logging_steps=5,
        seed=a.seed,
        data_seed=a.seed,
        bf16=bf16,
        use_cpu=not cuda,
        completion_only_loss=True,
        eval_strategy="no",
        save_strategy="no",
        report_to="none",
        use_liger_kernel=a.liger,
    )
    data = load_dataset("json", data_files=a.data, split="train")
    trainer = SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tok)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    started, cpu_started = time.perf_counter(), time.process_time()
    trainer.train()
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    tokens = int(trainer.state.num_input_tokens_seen)
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    out = {
        "tokens": tokens,
        "seconds": seconds,
        "tokens_per_s": tokens / seconds,
        "cpu_seconds": cpu_seconds,
        "final_loss": losses[-1] if losses else None,
    }
    if cuda:
        out["peak_allocated_gib"] = torch.cuda.max_memory_allocated() / 2**30
        out["peak_reserved_gib"] = torch.cuda.max_memory_reserved() / 2**30
    print("BENCH " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
