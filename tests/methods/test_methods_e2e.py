"""Every target method through the real CLI on tiny-random-llama: full data and a 2-shot protocol over
two seeds; parameter accounting checked against hand computation from the model's config."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
METHODS = ["zero-shot", "pt", "lora", "full", "mpt-vectors", "mpt-full-prompt"]
TARGETS = ["dose_qa", "drug_mcqa"]
L, RANK, LORA_R = 8, 1, 4


@pytest.fixture(scope="module")
def run_out(mini_suite, tmp_path_factory) -> Path:
    """The run folder of every method at full data and 2-shot (its distilled P* serves the MPT sweep)."""
    out = tmp_path_factory.mktemp("methods")
    args = [f"data.suite={mini_suite}", "data.source_tasks=[]", "data.target_tasks=[]",
            f"methods=[{','.join(METHODS)}]", f"baselines.lora.rank={LORA_R}",
            "protocol.shots=[2]", "protocol.seeds=[0,1]", "protocol.shot_methods=[pt,lora,mpt-vectors]"]
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    proc = subprocess.run([sys.executable, "-m", "clinical_mpt", "run", "configs/tiny.yaml", *args, "--out", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def results(run_out) -> dict:
    return json.loads((run_out / "results.json").read_text())


def hand_counts(backbone) -> dict:
    """Trainable parameters per task, from the model config alone."""
    c = backbone.model.config
    d, layers = c.hidden_size, c.num_hidden_layers
    head = c.hidden_size // c.num_attention_heads
    q, kv = c.num_attention_heads * head, c.num_key_value_heads * head
    # LoRA on q, k, v, o: r * (in + out) per module
    lora = layers * LORA_R * ((d + q) + (d + kv) + (d + kv) + (q + d))
    return {"zero-shot": 0, "pt": L * d, "lora": lora, "full": backbone.num_parameters,
            "mpt-vectors": RANK * (L + d), "mpt-full-prompt": L * d + RANK * (L + d)}


def test_every_method_scores_every_target(results):
    assert set(results["methods"]) == set(METHODS)
    for name, m in results["methods"].items():
        assert set(m["tasks"]) == set(TARGETS), name
        for task in m["tasks"].values():
            assert 0.0 <= task["score"] <= 1.0
        assert m["average"] == pytest.approx(statistics.fmean(t["score"] for t in m["tasks"].values()))


def test_parameter_accounting_matches_hand_computation(results, tiny_backbone):
    expected = hand_counts(tiny_backbone)
    total = results["backbone"]["num_parameters"]
    assert total == tiny_backbone.num_parameters
    for name, m in results["methods"].items():
        assert m["trainable_parameters"] == expected[name], name
        assert m["trainable_fraction"] == pytest.approx(expected[name] / total), name
    prompt_methods = ("pt", "mpt-vectors", "mpt-full-prompt")
    for name in prompt_methods:  # fp32 tensors stored per task
        assert results["methods"][name]["bytes_per_task"] == 4 * expected[name], name
    assert results["methods"]["lora"]["bytes_per_task"] == 4 * expected["lora"]
    assert results["methods"]["full"]["bytes_per_task"] == 4 * total  # the tiny backbone is fp32


def test_k_shot_is_mean_and_std_over_seeds(results):
    for name in ("pt", "lora", "mpt-vectors"):
        shot = results["methods"][name]["shots"]["2"]
        for task in TARGETS:
            scores = shot["tasks"][task]["scores"]
            assert len(scores) == 2, (name, task)
            assert shot["tasks"][task]["score"] == pytest.approx(statistics.fmean(scores))
            assert shot["tasks"][task]["std"] == pytest.approx(statistics.pstdev(scores))
        assert shot["std"] >= 0.0
    for name in ("zero-shot", "full", "mpt-full-prompt"):  # not in protocol.shot_methods
        assert results["methods"][name]["shots"] == {}, name


def _cli(*args) -> subprocess.CompletedProcess:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "clinical_mpt", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)


def test_sweep_picks_the_learning_rate_with_the_lowest_dev_loss(mini_suite, tmp_path):
    suite = [f"data.suite={mini_suite}", "data.source_tasks=[]", "data.target_tasks=[]"]
    proc = _cli("sweep", "configs/tiny.yaml", *suite, "--method", "pt", "--lr", "0.001", "--lr", "1.0",
                "--task", "dose_qa", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads((tmp_path / "sweeps" / "pt.json").read_text())
    assert record["tasks"] == ["dose_qa"] and record["setting"] == "full"
    losses = {float(lr): v["mean"] for lr, v in record["lrs"].items()}
    assert set(losses) == {0.001, 1.0} and losses[0.001] != losses[1.0]
    assert record["best_lr"] == min(losses, key=losses.get)
    assert not (tmp_path / "targets").exists()  # trainings live under sweeps/, never in the run's folders
    assert (tmp_path / "sweeps" / "pt" / "lr1" / "targets" / "pt" / "full" / "dose_qa" / "prompt.safetensors").is_file()
    # a later sweep with another rate extends the record; one with another training config replaces it
    proc = _cli("sweep", "configs/tiny.yaml", *suite, "--method", "pt", "--lr", "0.1", "--task", "dose_qa",
                "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert set(json.loads((tmp_path / "sweeps" / "pt.json").read_text())["lrs"]) == {"0.001", "1", "0.1"}
    proc = _cli("sweep", "configs/tiny.yaml", *suite, "baselines.pt.steps=2", "--method", "pt", "--lr", "0.1",
                "--task", "dose_qa", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert set(json.loads((tmp_path / "sweeps" / "pt.json").read_text())["lrs"]) == {"0.1"}


def test_sweep_of_one_lr_field_keeps_the_others_at_the_config(run_out, mini_suite):
    """--lr-field adapt.lr_meta_prompt: P*'s rate varies, u, v train at the config's rate in every training."""
    suite = [f"data.suite={mini_suite}", "data.source_tasks=[]", "data.target_tasks=[]"]
    proc = _cli("sweep", "configs/tiny.yaml", *suite, "--method", "mpt-full-prompt", "--lr-field", "adapt.lr_meta_prompt",
                "--lr", "0.0001", "--lr", "1.0", "--task", "dose_qa", "--out", str(run_out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "mpt-full-prompt@adapt.lr_meta_prompt: best lr" in proc.stdout
    record = json.loads((run_out / "sweeps" / "mpt-full-prompt@adapt.lr_meta_prompt.json").read_text())
    assert record["fields"] == ["adapt.lr_meta_prompt"] and set(record["lrs"]) == {"0.0001", "1"}
    folder = run_out / "sweeps" / "mpt-full-prompt@adapt.lr_meta_prompt"
    logs = {lr: [json.loads(x) for x in (folder / f"lr{lr}" / "adapt" / "full-metaprompt" / "log.jsonl").open()]
            for lr in ("0.0001", "1")}
    # the logged rate is u, v's group: the same schedule under both P* rates, at the config's adapt.train.lr
    assert [r["lr"] for r in logs["0.0001"]] == [r["lr"] for r in logs["1"]]
    assert record["lrs"]["0.0001"]["dose_qa"] != record["lrs"]["1"]["dose_qa"]  # P*'s rate did change the training


def test_sweep_errors_are_one_line(mini_suite, tmp_path):
    suite = [f"data.suite={mini_suite}", "data.source_tasks=[]", "data.target_tasks=[]"]
    proc = _cli("sweep", "configs/tiny.yaml", *suite, "--method", "zero-shot", "--lr", "0.1", "--out", str(tmp_path))
    assert proc.returncode == 2 and "trains nothing" in proc.stderr and "Traceback" not in proc.stderr
    proc = _cli("sweep", "configs/tiny.yaml", *suite, "--method", "mpt", "--lr-field", "baselines.pt.lr", "--lr", "0.1",
                "--out", str(tmp_path))
    assert proc.returncode == 2 and "not a learning-rate field of mpt" in proc.stderr and "Traceback" not in proc.stderr
    proc = _cli("sweep", "configs/tiny.yaml", *suite, "--method", "mpt", "--lr", "0.1", "--out", str(tmp_path))
    assert proc.returncode == 2 and "distill" in proc.stderr and "Traceback" not in proc.stderr
