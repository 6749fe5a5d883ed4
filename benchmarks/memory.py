"""Peak resident memory of one training step (PT, PT with gradient checkpointing, and LoRA rank 8)
vs inference, same batch.

Each measurement runs in its own child process and reads the OS's peak RSS of that child
(`resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`), so the figures do not include each other.

    python benchmarks/memory.py [--backbone default]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from _common import emit, parser

CHILD = r"""
import sys, json, os, resource, torch
sys.path.insert(0, {src!r}); sys.path.insert(0, {bench!r})
from _common import make_batch
from clinical_mpt.backbone import load_backbone
from clinical_mpt.losses import lm_loss
from clinical_mpt.modeling import answer_hidden_and_logits
from clinical_mpt.prompts import SoftPrompt, init_prompt
mode, name, dtype = sys.argv[1], sys.argv[2], sys.argv[3]
bb = load_backbone(name, dtype)
model = bb.model
batch = make_batch(bb.fingerprint.vocab_size, 8, 128)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
ids = torch.zeros(8, dtype=torch.long)
if mode == "load":
    pass
elif mode == "inference":
    prompt = SoftPrompt(init_prompt(model.get_input_embeddings().weight, 100, "vocab"))
    with torch.no_grad():
        answer_hidden_and_logits(model, prompt, ids, batch)
elif mode in ("pt", "pt_checkpointed"):
    if mode == "pt_checkpointed":
        from clinical_mpt.backbone import enable_gradient_checkpointing
        enable_gradient_checkpointing(model)
    prompt = SoftPrompt(init_prompt(model.get_input_embeddings().weight, 100, "vocab"))
    opt = torch.optim.AdamW([prompt.weight])
    _, logits, t = answer_hidden_and_logits(model, prompt, ids, batch)
    lm_loss(logits, t).backward(); opt.step()
elif mode == "lora":
    from peft import LoraConfig, get_peft_model
    pm = get_peft_model(model, LoraConfig(r=8, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]))
    params = [p for p in pm.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params)
    _, logits, t = answer_hidden_and_logits(pm.get_base_model(), None, ids, batch)
    lm_loss(logits, t).backward(); opt.step()
print(json.dumps({{"after_load_kb": before, "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}))
"""


def measure(mode: str, backbone: str, dtype: str) -> dict:
    here = os.path.dirname(os.path.abspath(__file__))
    code = CHILD.format(src=os.path.join(here, "..", "src"), bench=here)
    out = subprocess.run([sys.executable, "-c", code, mode, backbone, dtype], capture_output=True, text=True,
                         check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    args = parser(__doc__).parse_args()
    m = {mode: measure(mode, args.backbone, args.dtype) for mode in ("load", "inference", "pt", "pt_checkpointed", "lora")}
    peak = {k: v["peak_kb"] / 1024 for k, v in m.items()}
    # the model's own footprint (and GGUF de-quantisation at load) is common to all; compare the step's extra too
    extra = {k: (v["peak_kb"] - m["load"]["peak_kb"]) / 1024 for k, v in m.items()}
    emit({"benchmark": "memory", "backbone": args.backbone, "batch": 8, "prompt_length": 100, "input_length": 128,
          "peak_mb": peak, "extra_over_load_mb": extra,
          "pt_over_lora": peak["pt"] / peak["lora"], "pt_over_inference": peak["pt"] / peak["inference"],
          "pt_checkpointed_over_inference": peak["pt_checkpointed"] / peak["inference"],
          "note": "ru_maxrss of a child process per mode; loading the GGUF default de-quantises weights, "
                  "so 'load' sets a floor shared by every mode"})


if __name__ == "__main__":
    main()
