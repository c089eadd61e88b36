"""distributed=ddp|fsdp: the arguments that reach TRL/accelerate and bitsandbytes, the refusals,
the per-GPU memory estimate under sharding, and FSDP2 sharding of our LoRA model over gloo.

accelerate 1.16 turns FSDP on only for multi-accelerator runs, so the trainer cannot shard on
CPU; the gloo test applies torch's ``fully_shard`` (what accelerate calls) to the model our
loading and LoRA preparation build, trains two steps, and gathers the adapter as the pipeline does.
"""

from __future__ import annotations

import os
import types

import pytest
import torch

from sftlab.config.errors import ConfigError
from sftlab.memory.estimate import Settings, estimate, shapes_from_model
from sftlab.memory.preflight import settings_from_cfg
from sftlab.model.loading import architecture_config, meta_model
from sftlab.model.precision import resolve_precision
from sftlab.model.quantization import build_bnb_config
from sftlab.train.distributed import check, fsdp_training_args, layer_classes
from sftlab.train.trainer import build_sft_config


def _sft_config(cfg, tmp_path, layers):
    precision = resolve_precision(cfg.model.dtype, cfg.quantization.bnb_4bit_compute_dtype, cfg.training.bf16)
    args = fsdp_training_args(cfg.distributed, cfg.training.gradient_checkpointing, layers)
    return build_sft_config(cfg.training, str(tmp_path / "ckpt"), precision, False, None, args)


def test_fsdp_reaches_sft_config_with_fsdp_checkpointing(compose, tmp_path):
    cfg = compose("distributed=fsdp", "eval=none", "training.gradient_checkpointing=true")
    model = meta_model(architecture_config(cfg.model))
    sft = _sft_config(cfg, tmp_path, layer_classes(model))
    assert sft.fsdp is True
    plugin = sft.fsdp_plugin_args  # what transformers hands accelerate's FullyShardedDataParallelPlugin
    assert plugin["fsdp_version"] == 2
    assert plugin["auto_wrap_policy"] == "TRANSFORMER_BASED_WRAP"
    assert plugin["transformer_cls_names_to_wrap"] == "LlamaDecoderLayer"
    assert plugin["cpu_ram_efficient_loading"] is True
    # training.gradient_checkpointing=true becomes FSDP's own checkpointing, not the trainer's
    # (transformers refuses both at once)
    assert plugin["activation_checkpointing"] is True and sft.gradient_checkpointing is False


def test_ddp_and_none_leave_sft_config_alone(compose, tmp_path):
    for group in ("none", "ddp"):
        cfg = compose(f"distributed={group}", "training.gradient_checkpointing=true")
        sft = _sft_config(cfg, tmp_path, ["LlamaDecoderLayer"])
        assert not sft.fsdp and sft.fsdp_plugin_args is None and sft.gradient_checkpointing is True


def test_explicit_wrap_class_wins(compose, tmp_path):
    cfg = compose("distributed=fsdp", "distributed.fsdp.transformer_layer_cls_to_wrap=[MyLayer]")
    assert (
        _sft_config(cfg, tmp_path, ["LlamaDecoderLayer"]).fsdp_plugin_args["transformer_cls_names_to_wrap"]
        == "MyLayer"
    )


def test_4bit_weights_are_stored_in_the_compute_dtype_under_fsdp(compose):
    cfg = compose("quantization=nf4")
    assert (
        build_bnb_config(cfg.quantization, "bfloat16", sharded=True).bnb_4bit_quant_storage == torch.bfloat16
    )
    assert (
        build_bnb_config(cfg.quantization, "bfloat16").bnb_4bit_quant_storage == torch.uint8
    )  # DDP: unchanged


@pytest.mark.parametrize(
    "overrides, processes, cuda, key",
    [
        (["quantization=int8", "eval=none"], 2, True, "quantization=int8"),
        (["eval=none"], 1, True, "WORLD_SIZE=1"),
        (["eval=none"], 2, False, "needs CUDA"),
        ([], 2, True, "eval=none"),
        (["eval=none", "distributed.fsdp.state_dict_type=LOCAL"], 2, True, "state_dict_type"),
    ],
)
def test_fsdp_refuses_what_cannot_work(compose, overrides, processes, cuda, key):
    cfg = compose("distributed=fsdp", *overrides)
    with pytest.raises(ConfigError, match=key) as err:
        check(cfg, processes=processes, cuda=cuda)
    assert "\n" not in str(err.value)


def test_fsdp_qlora_on_two_gpus_passes_the_checks(compose):
    check(compose("distributed=fsdp", "eval=none"), processes=2, cuda=True)
    check(compose("distributed=ddp"), processes=1, cuda=False)  # a warning only


def test_the_estimate_divides_state_by_two_gpus_not_activations(compose):
    cfg = compose("model=llama2_7b_chat", "quantization=none", "distributed=fsdp", "preflight.world_size=2")
    config = architecture_config(cfg.model)
    s2 = settings_from_cfg(cfg, "cuda", None)
    assert s2.shards == 2
    shapes = shapes_from_model(config, meta_model(config), set(s2.lora_targets))
    one, two = estimate(shapes, Settings(**{**vars(s2), "shards": 1})), estimate(shapes, s2)
    for name in (
        "base weights (bfloat16)",
        "LoRA parameters",
        "LoRA gradients",
        "optimizer (paged_adamw_8bit)",
    ):
        assert two.term(name).bytes == pytest.approx(one.term(name).bytes / 2, abs=1)
    for name in ("activations", "logits + loss", "CUDA context"):
        assert two.term(name).bytes == one.term(name).bytes
    # two layers gathered whole: 2/32 of the 7B's bf16 linear weights... plus the embeddings' share
    gathered = two.term("FSDP gathered layers").bytes
    assert 2 / 32 * 0.9 < gathered / one.term("base weights (bfloat16)").bytes < 2 / 32 * 1.1
    assert one.total > two.total > one.total / 2


def test_a_4bit_model_is_held_whole_at_load_time(compose):
    cfg = compose("model=llama2_7b_chat", "distributed=fsdp", "preflight.world_size=4")
    config = architecture_config(cfg.model)
    s = settings_from_cfg(cfg, "cuda", None)
    est = estimate(shapes_from_model(config, meta_model(config), set(s.lora_targets)), s)
    held = est.term("base weights (nf4)").bytes + est.term("embeddings/norms/lm_head").bytes
    whole = estimate(
        shapes_from_model(config, meta_model(config), set(s.lora_targets)),
        Settings(**{**vars(s), "shards": 1}),
    )
    whole_weights = whole.term("base weights (nf4)").bytes + whole.term("embeddings/norms/lm_head").bytes
    assert held + est.term("4-bit load before sharding").bytes == pytest.approx(whole_weights, abs=4)


def test_ddp_does_not_divide(compose, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert settings_from_cfg(compose("distributed=ddp"), "cuda", None).shards == 1
    assert settings_from_cfg(compose("distributed=fsdp"), "cuda", None).shards == 4


def _fsdp_worker(rank: int, world: int, init_file: str, model_dir: str, out_dir: str) -> None:
    """One gloo rank: our LoRA model (fp32 adapters), sharded by FSDP2, two optimizer steps."""
    import torch.distributed as dist
    from peft import LoraConfig
    from torch.distributed.fsdp import fully_shard

    from sftlab.model.loading import load_model
    from sftlab.train.distributed import full_adapter_state
    from sftlab.train.trainer import keep_adapter_fp32, prepare_peft_model

    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world))
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    torch.manual_seed(0)
    model_cfg = types.SimpleNamespace(revision=None, trust_remote_code=False, name="tiny_llama")
    # bf16 base + fp32 LoRA: FSDP2 needs one dtype among trainable params only
    model = load_model(model_cfg, model_dir, None, "bfloat16", sharded=True)
    lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    model = prepare_peft_model(model, lora, quantized=False, gradient_checkpointing=False)
    for param in model.parameters():  # LoRA B starts at 0: give it values so shards differ
        if param.requires_grad:
            torch.nn.init.normal_(param, std=0.02)
    keep_adapter_fp32(model)
    before = {k: v.clone() for k, v in full_adapter_state(model).items()}
    for layer in model.base_model.model.model.layers:
        fully_shard(layer)
    fully_shard(model)
    sharded = [p for p in model.parameters() if p.requires_grad]
    local = sum(p.to_local().numel() for p in sharded)
    opt = torch.optim.AdamW(sharded, lr=1e-2)
    ids = torch.randint(0, 1000, (2, 16), generator=torch.Generator().manual_seed(rank))
    losses = []
    for _ in range(2):
        out = model(input_ids=ids, labels=ids)
        out.loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(float(out.loss))
    after = full_adapter_state(model)
    torch.save(
        {
            "local": local,
            "total": sum(v.numel() for v in after.values()),
            "dtypes": sorted({str(v.dtype) for v in after.values()}),
            "moved": all(not torch.equal(before[k], after[k]) for k in after),
            "after": after,
            "losses": losses,
            "dtensor": all(type(p).__name__ == "DTensor" for p in sharded),
        },
        f"{out_dir}/rank{rank}.pt",
    )
    dist.destroy_process_group()


@pytest.mark.slow
def test_fsdp2_shards_our_lora_model_over_gloo(compose, tmp_path):
    """2 CPU processes: our loaded LoRA model is sharded, trains, and gathers one whole adapter."""
    import torch.multiprocessing as mp

    from sftlab.model.loading import resolve_source

    model_dir = resolve_source(compose("model=tiny_llama").model)  # built once in the cache
    out = tmp_path / "ranks"
    out.mkdir()
    mp.spawn(_fsdp_worker, args=(2, str(tmp_path / "init"), model_dir, str(out)), nprocs=2, join=True)
    r0, r1 = (torch.load(out / f"rank{r}.pt") for r in (0, 1))
    assert r0["dtensor"] and r1["dtensor"]  # the trainable params really are sharded
    assert r0["local"] + r1["local"] == r0["total"]  # each rank holds its half of the adapter
    assert 0 < r0["local"] < r0["total"]
    assert r0["dtypes"] == ["torch.float32"]  # fp32 LoRA next to a bf16 base: FSDP2 accepts it
    assert r0["moved"] and r0["losses"] != r1["losses"]  # trained, on different data per rank
    for name, tensor in r0["after"].items():  # the gathered adapter is the same on both ranks
        assert torch.equal(tensor, r1["after"][name])


def test_runs_are_tagged_with_their_strategy(compose, monkeypatch):
    from sftlab.train.distributed import tags

    monkeypatch.setenv("WORLD_SIZE", "1")
    assert tags(compose("distributed=fsdp")) == {}
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert tags(compose("distributed=fsdp")) == {"ddp.world_size": "2", "distributed": "fsdp"}
    assert tags(compose())["distributed"] == "ddp"  # torchrun without distributed=: plain DDP, as before
