"""ROI calculator: hand-computed parameter counts, the cost formulas, config reading and the CLI.

Oracles: counts worked out by hand from the public configs, and transformers / peft on tiny shapes.
"""

import json
import math
import subprocess
import sys

import pytest

from clinical_mpt.backbone_shapes import (
    BUILTIN_CONFIGS,
    BackboneShape,
    builtin_shape,
    resolve_backbone,
    shape_from_hf_config,
)
from clinical_mpt.errors import ConfigError
from clinical_mpt.roi import (
    compute_roi,
    format_table,
    gpus_needed,
    human_bytes,
    human_count,
    human_percent,
    kv_cache_bytes,
    lora_parameters,
)

LLAMA_8B = 8_030_261_248
SMOLLM2 = 134_515_008
GPT_OSS_20B = 20_914_757_184

TINY_LLAMA = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 32,
              "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
              "vocab_size": 64, "tie_word_embeddings": False}
TINY_GPT_OSS = {"model_type": "gpt_oss", "architectures": ["GptOssForCausalLM"], "hidden_size": 32,
                "intermediate_size": 24, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                "head_dim": 8, "num_local_experts": 4, "num_experts_per_tok": 2, "vocab_size": 50,
                "tie_word_embeddings": False, "sliding_window": 4,
                "layer_types": ["sliding_attention", "full_attention"]}


# ------------------------------------------------------------------------------------ parameter counts

def test_builtin_totals_match_hand_counts():
    assert builtin_shape("smollm2-135m").total_parameters == SMOLLM2  # the model we actually load
    # Llama-3.1-8B: 2·V·d + 32·(q,o 4096² ·2 + k,v 4096·1024 ·2 + 3·4096·14336 + 2·4096) + 4096
    assert 2 * 128256 * 4096 + 32 * (2 * 4096**2 + 2 * 4096 * 1024 + 3 * 4096 * 14336 + 2 * 4096) + 4096 == LLAMA_8B
    assert builtin_shape("llama-3.1-8b").total_parameters == LLAMA_8B
    assert builtin_shape("meditron3-8b").total_parameters == LLAMA_8B
    gpt = builtin_shape("gpt-oss-20b")
    assert gpt.total_parameters == GPT_OSS_20B  # 20.91B, the model card's figure
    # active: 24·(attention + router + 4 of 32 experts + norms) + LM head + final norm = 3.61B (model card)
    attention = 2 * 2880 * 4096 + 2 * 2880 * 512 + (4096 + 2 * 512 + 2880) + 64
    expert = 2880 * 5760 + 2880 * 2880 + 5760 + 2880
    assert gpt.active_parameters == 24 * (attention + 32 * 2880 + 32 + 4 * expert + 2 * 2880) + 201088 * 2880 + 2880
    assert round(gpt.active_parameters / 1e9, 2) == 3.61


def test_aliases_and_unknown_backbone():
    assert builtin_shape("HuggingFaceTB/SmolLM2-135M-Instruct").name == "smollm2-135m"
    with pytest.raises(ConfigError, match="built-ins: llama-3.1-8b, meditron3-8b, gpt-oss-20b, smollm2-135m"):
        resolve_backbone("no-such-model")


@pytest.mark.parametrize("config", [
    TINY_LLAMA,
    {**TINY_LLAMA, "tie_word_embeddings": True, "attention_bias": True, "mlp_bias": True, "head_dim": 16},
    {**TINY_LLAMA, "model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"]},
    {**TINY_LLAMA, "model_type": "mistral", "architectures": ["MistralForCausalLM"], "head_dim": 8},
    TINY_GPT_OSS,
])
def test_total_parameters_match_transformers(config):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    hf_config = transformers.AutoConfig.for_model(**config)
    with torch.device("meta"):
        model = transformers.AutoModelForCausalLM.from_config(hf_config)
    assert shape_from_hf_config(config).total_parameters == sum(p.numel() for p in model.parameters())


def test_lora_count_matches_peft_on_tiny_models():
    pytest.importorskip("transformers")
    peft = pytest.importorskip("peft")
    import transformers

    for config, modules, params in [(TINY_LLAMA, ["q_proj", "v_proj", "down_proj"], []),
                                    (TINY_GPT_OSS, ["q_proj", "o_proj"], ["gate_up_proj", "down_proj"])]:
        model = transformers.AutoModelForCausalLM.from_config(transformers.AutoConfig.for_model(**config))
        lora = peft.LoraConfig(r=2, target_modules=modules,
                               target_parameters=[f"mlp.experts.{p}" for p in params] or None)
        peft_model = peft.get_peft_model(model, lora)
        trainable = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
        assert lora_parameters(shape_from_hf_config(config), 2, tuple(modules + params)) == trainable


def test_lora_hand_counts():
    llama = builtin_shape("llama-3.1-8b")
    assert lora_parameters(llama, 8, ("q_proj", "k_proj", "v_proj", "o_proj")) == 6_815_744
    assert 32 * 8 * ((4096 + 4096) + (4096 + 1024) + (4096 + 1024) + (4096 + 4096)) == 6_815_744
    assert lora_parameters(llama, 8, ("gate_proj", "up_proj", "down_proj")) == 32 * 8 * 3 * (4096 + 14336)
    # gpt-oss experts: every one of the 32 experts gets its own pair on the fused gate_up (d → 2I)
    assert lora_parameters(builtin_shape("gpt-oss-20b"), 8, ("gate_up_proj",)) == 24 * 32 * 8 * (2880 + 5760)
    with pytest.raises(ConfigError, match="gate_up_proj"):
        lora_parameters(builtin_shape("gpt-oss-20b"), 8, ("gate_proj",))


# -------------------------------------------------------------------------------------- compute_roi

def test_per_task_parameters_fraction_and_storage():
    result = compute_roi(builtin_shape("llama-3.1-8b"), n_tasks=10)
    m = result["methods"]
    assert result["backbone"]["total_parameters"] == LLAMA_8B
    assert m["mpt"]["trainable_parameters_per_task"] == 100 + 4096 == 4196
    assert m["mpt"]["shared_parameters"] == 100 * 4096
    assert m["mpt"]["amortised_parameters_per_task"] == pytest.approx(4196 + 40960)
    assert m["pt"]["trainable_parameters_per_task"] == 409_600
    assert m["lora"]["trainable_parameters_per_task"] == 6_815_744
    assert m["full"]["trainable_parameters_per_task"] == LLAMA_8B
    assert m["mpt"]["trainable_fraction"] * 100 < 0.05  # the paper's "< 0.05 % per target task"
    assert m["full"]["trainable_fraction"] == 1.0
    assert m["mpt"]["storage_bytes_per_task"] == 4196 * 4
    assert m["mpt"]["storage_bytes_total"] == 10 * 4196 * 4 + 409_600 * 4  # P* stored once
    assert m["pt"]["storage_bytes_total"] == 10 * 409_600 * 4
    assert m["lora"]["storage_bytes_total"] == 10 * 6_815_744 * 4
    assert m["full"]["storage_bytes_total"] == 10 * LLAMA_8B * 2
    assert [m[k]["backbone_copies"] for k in ("mpt", "pt", "lora", "full")] == [1, 1, 1, 10]
    rank2 = compute_roi(builtin_shape("llama-3.1-8b"), 1, rank=2)["methods"]["mpt"]
    assert rank2["trainable_parameters_per_task"] == 2 * 4196


def test_serving_memory_and_gpus():
    shape = builtin_shape("llama-3.1-8b")
    m = compute_roi(shape, n_tasks=10, batch_size=8, seq_len=512)["methods"]
    kv_prompt = 8 * (512 + 100) * 2 * 1024 * 2 * 32  # batch·tokens·(K,V)·kv_dim·bf16·layers
    assert m["mpt"]["serving_memory_breakdown"] == {"weights": LLAMA_8B * 2, "kv_cache": kv_prompt,
                                                    "prompts_or_adapters": 10 * 100 * 4096 * 2}
    assert m["lora"]["serving_memory_breakdown"]["kv_cache"] == 8 * 512 * 2 * 1024 * 2 * 32
    assert m["full"]["serving_memory_breakdown"]["weights"] == 10 * LLAMA_8B * 2
    assert m["mpt"]["serving_gpus"] == 1
    assert m["full"]["serving_gpus"] == 3  # 16.1 GB copies, 4 to an 80 GB GPU → ceil(10 / 4)
    assert gpus_needed(10, 16e9, 80e9) == 2 and gpus_needed(3, 100e9, 80e9) == 6 and gpus_needed(1, 1, 80e9) == 1


def test_sliding_window_layers_cap_the_kv_cache():
    shape = shape_from_hf_config(TINY_GPT_OSS)
    assert (shape.num_sliding_layers, shape.sliding_window) == (1, 4)
    # one full layer keeps 10 tokens, the sliding one 4: 2 seqs · 2 (K,V) · kv_dim 16 · 2 B · (10 + 4)
    assert kv_cache_bytes(shape, batch_size=2, tokens=10, dtype_bytes=2) == 2 * 2 * 16 * 2 * 14


def test_training_memory_breakdown():
    shape = builtin_shape("llama-3.1-8b")
    m = compute_roi(shape, n_tasks=3, batch_size=1, seq_len=100)["methods"]
    assert m["mpt"]["training_memory_breakdown"]["trainable_state"] == 16 * 4196 + 4 * 409_600
    assert m["full"]["training_memory_breakdown"]["trainable_state"] == LLAMA_8B * (2 + 8 + 4)  # grads, Adam, master
    per_token_layer = 4 * 4096 + 2 * 4096 + 2 * 1024 + 4 * 14336
    assert m["pt"]["training_memory_breakdown"]["activations"] == 200 * 32 * per_token_layer * 2
    assert m["lora"]["training_memory_breakdown"]["logits"] == 100 * 128256 * 4
    assert m["full"]["training_memory_bytes"] > m["lora"]["training_memory_bytes"]
    assert m["full"]["training_gpus"] == math.ceil(m["full"]["training_memory_bytes"] / 80e9)


def test_cost_only_with_price_and_requests():
    shape = builtin_shape("smollm2-135m")
    assert compute_roi(shape, 2)["methods"]["mpt"]["serving_cost_per_day"] is None
    m = compute_roi(shape, 2, gpu_price_per_hour=2.0, requests_per_day=4000)["methods"]["mpt"]
    assert m["serving_cost_per_day"] == 1 * 24 * 2.0
    assert m["serving_cost_per_1k_requests"] == pytest.approx(48.0 / 4)


@pytest.mark.parametrize("kwargs, field", [
    ({"n_tasks": 0}, "n_tasks"), ({"prompt_length": 0}, "prompt_length"), ({"rank": 0}, "rank"),
    ({"dtype_bytes": 3}, "dtype_bytes"), ({"gpu_memory_gb": 0}, "gpu_memory_gb"),
    ({"requests_per_day": 0}, "requests_per_day"), ({"gpu_price_per_hour": -1.0}, "gpu_price_per_hour"),
    ({"lora_targets": ("qproj",)}, "lora_targets"),
])
def test_bad_inputs_raise_config_error_naming_the_field(kwargs, field):
    args = {"n_tasks": 2, **kwargs}
    with pytest.raises(ConfigError, match=field):
        compute_roi(builtin_shape("smollm2-135m"), **args)


# ---------------------------------------------------------------------------------------- configs

def test_resolve_local_config_json(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(BUILTIN_CONFIGS["llama-3.1-8b"]))
    for where in (tmp_path, tmp_path / "config.json", str(tmp_path)):
        shape = resolve_backbone(where)
        assert shape.total_parameters == LLAMA_8B and shape.name == tmp_path.name
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ConfigError, match="bad.json"):
        resolve_backbone(tmp_path / "bad.json")
    (tmp_path / "bert.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 8}))
    with pytest.raises(ConfigError, match="supported: llama, mistral, qwen2, gpt_oss"):
        resolve_backbone(tmp_path / "bert.json")
    (tmp_path / "short.json").write_text(json.dumps({"model_type": "llama", "hidden_size": 8}))
    with pytest.raises(ConfigError, match="lacks"):
        resolve_backbone(tmp_path / "short.json")
    with pytest.raises(ConfigError, match="no config.json"):
        resolve_backbone(tmp_path / "..")


def test_shape_validation():
    with pytest.raises(ConfigError, match="hidden_size"):
        BackboneShape("x", "X", 0, 1, 1, 1, 1, 1, 1, False)
    with pytest.raises(ConfigError, match="experts_per_token"):
        BackboneShape("x", "X", 8, 8, 1, 1, 1, 8, 8, False, num_experts=2, experts_per_token=3)


# -------------------------------------------------------------------------------------------- output

def test_human_units_and_table():
    assert (human_count(4196), human_count(LLAMA_8B), human_count(512)) == ("4.20K", "8.03B", "512")
    assert (human_bytes(16784), human_bytes(16.06e9), human_bytes(12)) == ("16.8 KB", "16.1 GB", "12 B")
    assert (human_percent(5.2e-7), human_percent(0.5), human_percent(1.0)) == ("0.000052%", "50.0%", "100.0%")
    table = format_table(compute_roi(builtin_shape("llama-3.1-8b"), 5, gpu_price_per_hour=1.0))
    lines = table.splitlines()
    assert any(line.startswith("MPT (rank 1)") and "4.20K" in line for line in lines)
    assert any(line.startswith("Full fine-tuning") and "8.03B" in line for line in lines)
    assert "cost/day" in table and "cost/1k req" not in table


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "clinical_mpt", "roi", *args], capture_output=True, text=True,
                          timeout=60)


def test_cli_json_and_errors():
    proc = _cli("--backbone", "llama-3.1-8b", "--tasks", "4", "--lora-targets", "q_proj,v_proj", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) == {"backbone", "inputs", "methods"} and set(out["methods"]) == {"mpt", "pt", "lora", "full"}
    assert out["backbone"]["total_parameters"] == LLAMA_8B
    assert out["inputs"]["lora_targets"] == ["q_proj", "v_proj"]
    assert out["methods"]["lora"]["trainable_parameters_per_task"] == 32 * 8 * ((4096 + 4096) + (4096 + 1024))
    assert out["methods"]["mpt"]["storage_bytes_total"] == 4 * 4196 * 4 + 409_600 * 4

    bad = _cli("--tasks", "0")
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0 and "--tasks" in bad.stderr
    unknown = _cli("--backbone", "gpt-5", "--tasks", "2")
    assert unknown.returncode == 2 and "smollm2-135m" in unknown.stderr and "Traceback" not in unknown.stderr
