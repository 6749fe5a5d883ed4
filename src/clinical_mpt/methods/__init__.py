"""Target-task methods, all trained and evaluated in the same harness (splits, templates, generation,
metrics). Each is one `fit(ctx, task, seed, log_path) -> Fitted` function, registered here."""

from clinical_mpt.methods import deep_mpt, full, lora, mpt, prefix, prompt_tuning, zero_shot
from clinical_mpt.methods.base import Fitted, MethodContext

METHODS = {
    "mpt": mpt.fit,                       # u, v only (r(L + d) parameters per task)
    "mpt-vectors": mpt.fit,               # the same, under the study's variant name
    "mpt-full-prompt": mpt.fit_full_prompt,  # P*, u, v
    "pt": prompt_tuning.fit,              # a fresh L x d prompt per task
    "lora": lora.fit,                     # peft LoRA on the attention projections
    "full": full.fit,                     # every backbone weight
    "zero-shot": zero_shot.fit,           # nothing trained
    "prefix": prefix.fit,                 # a fresh deep K/V prefix per task (P-Tuning v2)
    "deep-mpt": deep_mpt.fit,             # per-layer u, v of the deep meta-prompt
    "deep-mpt-full-prompt": deep_mpt.fit_full_prompt,  # deep P*, u, v
}
NEEDS_META_PROMPT = {"mpt", "mpt-vectors", "mpt-full-prompt", "deep-mpt", "deep-mpt-full-prompt"}

__all__ = ["METHODS", "NEEDS_META_PROMPT", "Fitted", "MethodContext"]
