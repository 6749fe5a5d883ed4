"""Backbone shapes for the ROI calculator: parameter counts from a HF `config.json`, no weights needed.

A `BackboneShape` holds the handful of numbers that decide how many parameters a decoder-only LM has,
how big its KV cache is and how many parameters a LoRA adapter on it has. It is read from a HF
`config.json` dict (`shape_from_hf_config`: llama, mistral, qwen2, gpt_oss) or taken from the
built-in table `BUILTIN_CONFIGS` (abridged copies of the public configs). `total_parameters` is
exact for these architectures: it matches `sum(p.numel() for p in model.parameters())` of the HF
model built from the same config (tests/test_roi.py checks this against transformers on tiny shapes).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from clinical_mpt.errors import ConfigError

SUPPORTED_MODEL_TYPES = ("llama", "mistral", "qwen2", "gpt_oss")


@dataclass(frozen=True)
class BackboneShape:
    """The shape of a decoder-only causal LM (RMSNorm, rotary positions, gated MLP).

    d = hidden_size, I = intermediate_size (per expert for MoE), q_dim = num_attention_heads·head_dim,
    kv_dim = num_kv_heads·head_dim. Dense MLP: gate, up (d→I) and down (I→d). MoE (num_experts > 0,
    gpt-oss layout): a router (d→E) and E experts each with a fused gate_up (d→2I) and a down (I→d),
    of which `experts_per_token` run for each token.
    """

    name: str
    architecture: str  # e.g. "LlamaForCausalLM"
    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_attention_heads: int
    num_kv_heads: int
    head_dim: int
    vocab_size: int
    tie_word_embeddings: bool
    num_experts: int = 0  # 0 for dense models
    experts_per_token: int = 0  # 0 for dense models
    qkv_bias: bool = False  # biases on q/k/v (qwen2, gpt-oss)
    o_bias: bool = False  # bias on the attention output projection (gpt-oss)
    mlp_bias: bool = False  # biases on gate/up/down (llama `mlp_bias`) or on router + experts (gpt-oss)
    attention_sinks: bool = False  # one learned sink logit per attention head (gpt-oss)
    sliding_window: int = 0  # window of the sliding-attention layers (0: none)
    num_sliding_layers: int = 0  # how many layers use the sliding window (their KV cache is capped)

    def __post_init__(self):
        for field in ("hidden_size", "intermediate_size", "num_layers", "num_attention_heads", "num_kv_heads",
                      "head_dim", "vocab_size"):
            if not isinstance(getattr(self, field), int) or getattr(self, field) < 1:
                raise ConfigError(f"backbone {self.name!r}: {field} must be a positive integer, "
                                  f"got {getattr(self, field)!r}")
        if self.num_experts < 0 or not 0 <= self.experts_per_token <= self.num_experts:
            raise ConfigError(f"backbone {self.name!r}: need 0 <= experts_per_token <= num_experts, got "
                              f"{self.experts_per_token} of {self.num_experts}")
        if self.num_experts and not self.experts_per_token:
            raise ConfigError(f"backbone {self.name!r}: an MoE model needs experts_per_token >= 1")
        if not 0 <= self.num_sliding_layers <= self.num_layers:
            raise ConfigError(f"backbone {self.name!r}: num_sliding_layers must be within 0..num_layers")

    @property
    def is_moe(self) -> bool:
        return self.num_experts > 0

    @property
    def q_dim(self) -> int:
        return self.num_attention_heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        return self.num_kv_heads * self.head_dim

    @property
    def embedding_parameters(self) -> int:
        """The input embedding table, V·d (the LM head adds another V·d unless tied)."""
        return self.vocab_size * self.hidden_size

    @property
    def attention_parameters(self) -> int:
        """One layer's attention: q, k, v, o weights (+ biases, + sinks)."""
        d, q, kv = self.hidden_size, self.q_dim, self.kv_dim
        n = d * q + 2 * d * kv + q * d
        n += (q + 2 * kv) if self.qkv_bias else 0
        n += d if self.o_bias else 0
        n += self.num_attention_heads if self.attention_sinks else 0
        return n

    @property
    def expert_parameters(self) -> int:
        """One expert of one MoE layer: gate_up d·2I and down I·d (+ their biases). 0 for dense models."""
        if not self.is_moe:
            return 0
        d, i = self.hidden_size, self.intermediate_size
        return d * 2 * i + i * d + ((2 * i + d) if self.mlp_bias else 0)

    @property
    def mlp_parameters(self) -> int:
        """One layer's MLP: dense gate/up/down, or router + all experts for MoE."""
        d, i = self.hidden_size, self.intermediate_size
        if not self.is_moe:
            return 3 * d * i + ((2 * i + d) if self.mlp_bias else 0)
        router = self.num_experts * d + (self.num_experts if self.mlp_bias else 0)
        return router + self.num_experts * self.expert_parameters

    @property
    def total_parameters(self) -> int:
        """Embedding + LM head (unless tied) + L·(attention + MLP + 2 norms of d) + final norm d."""
        d = self.hidden_size
        per_layer = self.attention_parameters + self.mlp_parameters + 2 * d
        head = 0 if self.tie_word_embeddings else self.embedding_parameters
        return self.embedding_parameters + head + self.num_layers * per_layer + d

    @property
    def active_parameters(self) -> int:
        """Parameters used per token, model-card convention: all weights except the experts that do not
        run and except the input-embedding table (a lookup, not a matmul; kept when tied to the LM head).
        gpt-oss-20b: 3.61B, as in OpenAI's model card."""
        idle_experts = self.num_layers * (self.num_experts - self.experts_per_token) * self.expert_parameters
        lookup = 0 if self.tie_word_embeddings else self.embedding_parameters
        return self.total_parameters - idle_experts - lookup

    def to_dict(self) -> dict:
        """The fields plus `total_parameters` and `active_parameters` (JSON-ready)."""
        return {**asdict(self), "total_parameters": self.total_parameters,
                "active_parameters": self.active_parameters}


def shape_from_hf_config(config: dict, name: str | None = None) -> BackboneShape:
    """A `BackboneShape` from a HF `config.json` dict (model_type llama, mistral, qwen2 or gpt_oss).

    Defaults follow transformers when a key is missing: num_key_value_heads = num_attention_heads,
    head_dim = hidden_size // num_attention_heads, tie_word_embeddings = False.
    """
    if not isinstance(config, dict):
        raise ConfigError("a backbone config must be a JSON object (the model's config.json)")
    model_type = config.get("model_type")
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise ConfigError(f"backbone config has model_type {model_type!r}; supported: "
                          f"{', '.join(SUPPORTED_MODEL_TYPES)}")
    try:
        hidden, heads = int(config["hidden_size"]), int(config["num_attention_heads"])
        layers = int(config["num_hidden_layers"])
        shape = dict(
            intermediate_size=int(config["intermediate_size"]), vocab_size=int(config["vocab_size"]),
            num_kv_heads=int(config.get("num_key_value_heads") or heads),
            head_dim=int(config.get("head_dim") or hidden // heads),
        )
    except KeyError as e:
        raise ConfigError(f"backbone config lacks {e.args[0]!r}") from None
    except (TypeError, ValueError, OverflowError) as e:
        raise ConfigError(f"backbone config has a non-integer size: {e}") from None
    except ZeroDivisionError:
        raise ConfigError("backbone config: num_attention_heads must be > 0") from None
    architectures = config.get("architectures") or [model_type]
    if not isinstance(architectures, list):
        raise ConfigError("backbone config: 'architectures' must be a list of class names")
    attention_bias = bool(config.get("attention_bias", model_type == "gpt_oss"))
    window = int(config.get("sliding_window") or 0)
    return BackboneShape(
        name=name or str(config.get("_name_or_path") or model_type), architecture=str(architectures[0]),
        hidden_size=hidden, num_layers=layers, num_attention_heads=heads,
        tie_word_embeddings=bool(config.get("tie_word_embeddings", False)),
        num_experts=int(config.get("num_local_experts") or 0) if model_type == "gpt_oss" else 0,
        experts_per_token=int(config.get("num_experts_per_tok") or config.get("experts_per_token") or 0)
        if model_type == "gpt_oss" else 0,
        qkv_bias=attention_bias or model_type == "qwen2",
        o_bias=attention_bias and model_type != "qwen2",
        mlp_bias=model_type == "gpt_oss" or bool(config.get("mlp_bias", False)),
        attention_sinks=model_type == "gpt_oss",
        sliding_window=window, num_sliding_layers=_sliding_layers(config, model_type, layers) if window else 0,
        **shape,
    )


def active_sliding_window(config: dict) -> int:
    """The window of an HF config whose layers (some or all) attend within a sliding window, else 0."""
    window = int(config.get("sliding_window") or 0)
    layers = int(config.get("num_hidden_layers") or 0)
    return window if window and _sliding_layers(config, str(config.get("model_type", "")), layers) else 0


def _sliding_layers(config: dict, model_type: str, layers: int) -> int:
    """How many layers attend within `sliding_window` (their KV cache never grows past it)."""
    if config.get("layer_types"):
        return sum(t == "sliding_attention" for t in config["layer_types"])
    if model_type == "mistral":
        return layers
    if model_type == "qwen2" and config.get("use_sliding_window"):
        return max(0, layers - int(config.get("max_window_layers") or 0))
    return 0


# Abridged public HF configs: only the keys that decide the shape (copied from each model's config.json).
_LLAMA_31_8B = {  # meta-llama/Llama-3.1-8B, config.json
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096,
    "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
    "vocab_size": 128256, "tie_word_embeddings": False, "attention_bias": False, "mlp_bias": False,
}
BUILTIN_CONFIGS = {
    "llama-3.1-8b": _LLAMA_31_8B,
    # OpenMeditron/Meditron3-8B, config.json: Llama-3.1-8B continued-pretrained and fine-tuned, same shape.
    "meditron3-8b": dict(_LLAMA_31_8B),
    "gpt-oss-20b": {  # openai/gpt-oss-20b, config.json (MoE experts ship in MXFP4; see docs/roi.md)
        "architectures": ["GptOssForCausalLM"], "model_type": "gpt_oss", "hidden_size": 2880,
        "intermediate_size": 2880, "num_hidden_layers": 24, "num_attention_heads": 64, "num_key_value_heads": 8,
        "head_dim": 64, "num_local_experts": 32, "num_experts_per_tok": 4, "vocab_size": 201088,
        "tie_word_embeddings": False, "attention_bias": True, "sliding_window": 128,
        "layer_types": ["sliding_attention", "full_attention"] * 12,
    },
    "smollm2-135m": {  # HuggingFaceTB/SmolLM2-135M(-Instruct), config.json: the embedded default backbone
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 576,
        "intermediate_size": 1536, "num_hidden_layers": 30, "num_attention_heads": 9, "num_key_value_heads": 3,
        "head_dim": 64, "vocab_size": 49152, "tie_word_embeddings": True, "attention_bias": False,
        "mlp_bias": False,
    },
}
# Hub ids and project names that mean a built-in shape (nothing is fetched; these only pick the table row).
ALIASES = {
    "meta-llama/llama-3.1-8b": "llama-3.1-8b", "meta-llama/llama-3.1-8b-instruct": "llama-3.1-8b",
    "openmeditron/meditron3-8b": "meditron3-8b", "openai/gpt-oss-20b": "gpt-oss-20b",
    "huggingfacetb/smollm2-135m": "smollm2-135m", "huggingfacetb/smollm2-135m-instruct": "smollm2-135m",
    "default": "smollm2-135m",
}


def builtin_shape(name: str) -> BackboneShape:
    """The built-in shape called `name` (a key of BUILTIN_CONFIGS or ALIASES, any case)."""
    key = ALIASES.get(name.lower(), name.lower())
    if key not in BUILTIN_CONFIGS:
        raise ConfigError(f"unknown backbone {name!r}; built-ins: {', '.join(BUILTIN_CONFIGS)}")
    return shape_from_hf_config(BUILTIN_CONFIGS[key], name=key)


def resolve_backbone(name_or_path: str | Path) -> BackboneShape:
    """A built-in shape by name, or the shape in a local model directory / `config.json` file.

    A local path wins over a built-in of the same name. Unknown names raise ConfigError listing the
    built-ins; an unreadable or malformed config.json raises ConfigError naming the file.
    """
    path = Path(name_or_path)
    if path.is_dir():
        path = path / "config.json"
        if not path.is_file():
            raise ConfigError(f"{path.parent} has no config.json; built-in backbones: {', '.join(BUILTIN_CONFIGS)}")
    if path.is_file():
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ConfigError(f"cannot read backbone config {path}: {e}") from None
        if not isinstance(config, dict):
            raise ConfigError(f"{path}: a config.json must hold a JSON object")
        name = config.get("_name_or_path") or path.resolve().parent.name
        try:
            return shape_from_hf_config(config, name=str(name))
        except ConfigError as e:
            raise ConfigError(f"{path}: {e}") from None
    return builtin_shape(str(name_or_path))
