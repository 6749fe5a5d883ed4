"""Soft prompts: a single-task prompt (L x d) and the MPT prompt P* o (u_k v_k^T)."""

from clinical_mpt.prompts.mpt_prompt import MPTPrompt
from clinical_mpt.prompts.soft_prompt import SoftPrompt, init_prompt, new_soft_prompt

__all__ = ["MPTPrompt", "SoftPrompt", "init_prompt", "new_soft_prompt"]
