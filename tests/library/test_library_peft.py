"""peft interop: an exported entry is a peft prompt-tuning adapter that peft itself loads and runs
exactly like our prompted forward; a peft checkpoint imports back as a teacher entry."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from clinical_mpt.backbone import tiny_random_llama
from clinical_mpt.library import Library, LibraryError
from clinical_mpt.library.peft_io import entry_from_peft, export_peft
from clinical_mpt.modeling import prompted_embeds


@pytest.fixture
def lib_copy(tiny_run_and_library, tmp_path) -> Path:
    return Path(shutil.copytree(tiny_run_and_library[1], tmp_path / "lib"))


def test_export_matches_peft_save_pretrained(lib_copy, tmp_path):
    from peft import PromptTuningConfig, get_peft_model

    entry = Library.open(lib_copy).load("dose_qa")
    out = export_peft(entry, tmp_path / "adapter")
    ours = json.loads((out / "adapter_config.json").read_text())
    ref_model = get_peft_model(tiny_random_llama(), PromptTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=8))
    ref_model.save_pretrained(tmp_path / "ref")
    ref = json.loads((tmp_path / "ref" / "adapter_config.json").read_text())
    assert set(ours) == set(ref)
    filled_by_peft_on_load = {"num_layers", "num_attention_heads"}
    assert {k: v for k, v in ours.items() if k not in filled_by_peft_on_load} == \
        {k: v for k, v in ref.items() if k not in filled_by_peft_on_load}
    tensors = load_file(out / "adapter_model.safetensors")
    ref_tensors = load_file(tmp_path / "ref" / "adapter_model.safetensors")
    assert list(tensors) == list(ref_tensors) == ["prompt_embeddings"]
    assert tensors["prompt_embeddings"].shape == ref_tensors["prompt_embeddings"].shape == (8, 64)
    assert torch.equal(tensors["prompt_embeddings"], entry.prompt)


def test_peft_loads_the_export_and_gives_our_logits(lib_copy, tmp_path, tiny_backbone):
    from peft import PeftModel

    entry = Library.open(lib_copy).load("drug_mcqa")
    out = export_peft(entry, tmp_path / "adapter")
    peft_model = PeftModel.from_pretrained(tiny_random_llama(), str(out)).eval()   # same weights as tiny_backbone
    ids = torch.tensor([[5, 80, 81, 99, 120, 33], [7, 8, 9, 10, 11, 12]])
    mask = torch.ones_like(ids)
    with torch.no_grad():
        theirs = peft_model(input_ids=ids, attention_mask=mask).logits                 # (B, L + T, V)
        embeds, full_mask = prompted_embeds(tiny_backbone.model, entry.prompt.expand(2, -1, -1), ids, mask)
        ours = tiny_backbone.model(inputs_embeds=embeds, attention_mask=full_mask).logits
    assert theirs.shape == ours.shape == (2, 8 + 6, 259)
    assert (theirs - ours).abs().max().item() <= 1e-5


def test_import_round_trip_via_the_cli(lib_copy, tmp_path, library_cli):
    lib = Library.open(lib_copy)
    assert library_cli(["export", str(lib_copy), "med_ner", "--peft", str(tmp_path / "adapter")]) == 0
    assert library_cli(["import", str(lib_copy), "--peft", str(tmp_path / "adapter"), "--task", "ner_copy",
                        "--type", "ner"]) == 0
    reopened = Library.open(lib_copy)
    copy = reopened.load("ner_copy")
    assert torch.equal(copy.prompt, lib.load("med_ner").prompt)
    assert copy.config["method"] == "teacher" and copy.config["source"]["peft_checkpoint"]
    assert reopened.verify() == []


def test_import_refuses_pickles_other_widths_and_other_adapters(lib_copy, tmp_path):
    fp = Library.open(lib_copy).fingerprint
    out = export_peft(Library.open(lib_copy).load("med_ner"), tmp_path / "adapter")
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    shutil.copy(out / "adapter_config.json", pickled)
    (pickled / "adapter_model.bin").write_bytes(b"not really a pickle")
    with pytest.raises(LibraryError, match="never loaded"):
        entry_from_peft(pickled, "x", "ner", fp)

    wide = tmp_path / "wide"
    wide.mkdir()
    cfg = json.loads((out / "adapter_config.json").read_text())
    (wide / "adapter_config.json").write_text(json.dumps(dict(cfg, token_dim=32)))
    save_file({"prompt_embeddings": torch.zeros(8, 32)}, wide / "adapter_model.safetensors")
    with pytest.raises(LibraryError, match="hidden size 64"):
        entry_from_peft(wide, "x", "ner", fp)

    lora = tmp_path / "lora"
    shutil.copytree(out, lora)
    (lora / "adapter_config.json").write_text(json.dumps(dict(cfg, peft_type="LORA")))
    with pytest.raises(LibraryError, match="only PROMPT_TUNING"):
        entry_from_peft(lora, "x", "ner", fp)
