"""Soft prompts: a single-task prompt (L x d) and the MPT prompt P* o (u_k v_k^T), at the input or, deep,
as per-layer key/value prefixes."""

from clinical_mpt.prompts.deep_mpt_prompt import DeepMPTPrompt
from clinical_mpt.prompts.deep_prompt import DeepPrompt, new_deep_prompt
from clinical_mpt.prompts.mpt_prompt import MPTPrompt
from clinical_mpt.prompts.soft_prompt import SoftPrompt, init_prompt, new_soft_prompt

__all__ = ["DeepMPTPrompt", "DeepPrompt", "MPTPrompt", "SoftPrompt", "init_prompt", "new_deep_prompt",
           "new_soft_prompt"]
