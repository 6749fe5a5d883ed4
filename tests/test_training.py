"""The training loop and what every stage may touch: only prompt tensors train, the backbone never
changes; a learnable toy task is learned; a student that reproduces its teacher has ~zero distillation loss."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from clinical_mpt import training
from clinical_mpt.batching import MixtureSampler, TaskData, collate, encode_task
from clinical_mpt.config import DistillConfig, TrainConfig, load_config
from clinical_mpt.prompts import MPTPrompt, SoftPrompt, init_prompt
from clinical_mpt.teacher_cache import compute_teacher_outputs, gather

TINY = Path(__file__).resolve().parents[1] / "configs" / "tiny.yaml"


def _snapshot(model) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _assert_unchanged(model, snapshot: dict) -> None:
    now = model.state_dict()
    assert now.keys() == snapshot.keys()
    for k, v in snapshot.items():
        assert torch.equal(now[k], v), f"backbone weight {k} changed"
    assert all(p.grad is None and not p.requires_grad for p in model.parameters())


def test_lr_schedule_by_hand():
    f = training.lr_lambda(warmup=2, total=12)
    assert [f(s) for s in (0, 1)] == [0.5, 1.0]
    assert f(2) == 1.0
    assert f(7) == pytest.approx(1.0 - 0.9 * 5 / 10)
    assert f(12) == pytest.approx(0.1) and f(50) == pytest.approx(0.1)  # floor
    g = training.lr_lambda(warmup=0, total=4)
    assert g(0) == 1.0 and g(4) == pytest.approx(0.1)


def test_train_updates_only_the_given_parameters_and_logs(tmp_path):
    a = torch.nn.Parameter(torch.ones(3))
    b = torch.nn.Parameter(torch.ones(3))
    cfg = TrainConfig(steps=5, lr=0.1, warmup_steps=1, log_every=2)
    rows = training.train([a], lambda step: (((a - 3) ** 2).sum() + (b ** 2).sum(), {"extra": a.detach().sum()}),
                          cfg, desc="unit", log_path=tmp_path / "sub" / "log.jsonl")
    assert not torch.equal(a, torch.ones(3)) and torch.equal(b.detach(), torch.ones(3))
    assert [r["step"] for r in rows] == [1, 2, 4, 5]
    assert rows[-1]["loss"] < rows[0]["loss"]
    assert all(r["stage"] == "unit" and "lr" in r and "extra" in r for r in rows)
    logged = [json.loads(line) for line in (tmp_path / "sub" / "log.jsonl").read_text().splitlines()]
    assert logged == rows


def test_train_clips_gradients():
    a = torch.nn.Parameter(torch.zeros(4))
    cfg = TrainConfig(steps=1, lr=1.0, warmup_steps=0, grad_clip=1.0, log_every=1)
    seen = {}

    def loss_fn(step):
        def hook(grad):
            seen["norm"] = grad.norm().item()
        a.register_hook(hook)
        return (a * 1000.0).sum(), {}

    training.train([a], loss_fn, cfg, desc="clip")
    assert seen["norm"] == pytest.approx(2000.0)                # raw gradient
    assert a.grad.norm().item() == pytest.approx(1.0, rel=1e-4)  # what the optimizer saw


def test_train_stops_on_a_non_finite_loss():
    a = torch.nn.Parameter(torch.ones(2))
    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        training.train([a], lambda step: (a.sum() * float("nan"), {}), TrainConfig(steps=3), desc="nan")


@pytest.fixture()
def recorded(monkeypatch):
    """Record the parameter list every training loop receives (whichever stage calls it)."""
    calls = []
    real = training.train

    def spy(params, loss_fn, cfg, desc, log_path=None, **kwargs):
        calls.append((desc, training.param_groups(params)[1]))
        return real(params, loss_fn, cfg, desc, log_path, **kwargs)

    monkeypatch.setattr(training, "train", spy)
    monkeypatch.setattr("clinical_mpt.methods.base.train", spy)
    return calls


def _cfg(mini_suite, *extra):
    return load_config(TINY, [f"data.suite={mini_suite}", "data.source_tasks=[]", "data.target_tasks=[]",
                              "teach.steps=2", "distill.train.steps=2", "adapt.train.steps=2", *extra])


def test_stages_train_only_prompt_tensors_and_never_touch_the_backbone(tiny_backbone, mini_suite, tmp_path,
                                                                       recorded):
    from clinical_mpt.artifacts import load_artifact
    from clinical_mpt.recipes.adapt import run_adapt
    from clinical_mpt.recipes.distill import run_distill
    from clinical_mpt.recipes.teach import run_teach

    cfg = _cfg(mini_suite)
    before = _snapshot(tiny_backbone.model)
    run_teach(cfg, tiny_backbone, tmp_path)
    _assert_unchanged(tiny_backbone.model, before)
    assert [d for d, _ in recorded] == ["teach med_ner", "teach problem_nli"]
    for desc, params in recorded:
        assert len(params) == 1 and params[0].shape == (cfg.prompt.length, 64) and params[0].requires_grad
        assert params[0].grad is not None  # it was trained
    teacher, _ = load_artifact(tmp_path / "teachers" / "med_ner", tiny_backbone.fingerprint)
    gen = torch.Generator().manual_seed(cfg.seed)
    initial = init_prompt(tiny_backbone.model.get_input_embeddings().weight, cfg.prompt.length, cfg.prompt.init,
                          tiny_backbone.tokenizer, cfg.prompt.init_text, gen)
    assert not torch.equal(teacher["prompt"], initial)         # the prompt moved ...
    assert torch.equal(teacher["prompt"], recorded[0][1][0].detach())  # ... and that is what was saved

    recorded.clear()
    run_distill(cfg, tiny_backbone, tmp_path)
    _assert_unchanged(tiny_backbone.model, before)
    (desc, params), = recorded
    assert desc == "distill"
    assert [p.shape for p in params] == [(8, 64), (2, 8, 1), (2, 1, 64)]     # P*, u, v
    assert all(p.grad is not None for p in params)

    recorded.clear()
    run_adapt(cfg, tiny_backbone, tmp_path)
    _assert_unchanged(tiny_backbone.model, before)
    assert [d for d, _ in recorded] == ["adapt dose_qa", "adapt drug_mcqa"]
    for _, params in recorded:
        assert [p.shape for p in params] == [(1, 8, 1), (1, 1, 64)]          # u, v only


def test_loss_decreases_on_a_learnable_toy_task(sharp_model):
    from clinical_mpt.backbone import tiny_tokenizer
    from clinical_mpt.methods.base import fit_supervised

    tok = tiny_tokenizer()
    task = TaskData(name="toy", type="qa", instruction=None, examples=[{}] * 4)
    task.encoded = [(tok("Drug: metformin\nAnswer:", add_special_tokens=False).input_ids,
                     tok(" yes", add_special_tokens=False).input_ids + [tok.eos_token_id])] * 4
    prompt = SoftPrompt(init_prompt(sharp_model.get_input_embeddings().weight, 8, "vocab",
                                    generator=torch.Generator().manual_seed(0)))
    cfg = TrainConfig(steps=30, batch_size=4, lr=0.1, warmup_steps=2, log_every=5)
    rows = fit_supervised(sharp_model, prompt, [prompt.weight], task, cfg, seed=0, pad_id=0, desc="toy",
                          log_path=None)
    losses = [r["loss"] for r in rows]
    assert len(losses) == 7
    assert losses[-1] < 0.25 * losses[0], losses
    assert losses[-1] < min(losses[:-1]) + 1e-3, losses


@pytest.fixture(scope="module")
def source_tasks(mini_suite, tiny_backbone):
    from clinical_mpt.data.suite import load_split, load_suite, select_tasks

    specs = select_tasks(load_suite(mini_suite), "source", [])
    return [encode_task(tiny_backbone.tokenizer, load_split(mini_suite, s, "train", 6), 96, 16) for s in specs]


def test_teacher_cache_does_not_depend_on_batching(sharp_model, source_tasks):
    encoded = source_tasks[0].encoded
    prompt = torch.randn(4, 64) * 0.3
    batched = compute_teacher_outputs(sharp_model, prompt, encoded, 0, temperature=2.0, topk=8, batch_size=4)
    single = compute_teacher_outputs(sharp_model, prompt, encoded, 0, temperature=2.0, topk=8, batch_size=1)
    assert len(batched) == len(encoded)
    for (inp, tgt), a, b in zip(encoded, batched, single):
        assert a.logp.shape == a.ids.shape == (len(tgt), 8) and a.hidden.shape == (len(tgt), 64)
        assert torch.equal(a.ids, b.ids)
        assert torch.allclose(a.logp, b.logp, atol=1e-4) and torch.allclose(a.hidden, b.hidden, atol=1e-4)
    full = compute_teacher_outputs(sharp_model, prompt, encoded[:2], 0, temperature=2.0, topk=0)
    assert full[0].ids.shape[1] == 259
    assert torch.allclose(full[0].logp.exp().sum(-1), torch.ones(len(encoded[0][1])), atol=1e-5)


@pytest.mark.parametrize("topk", [0, 16])
def test_a_student_that_reproduces_its_teachers_has_zero_distillation_loss(sharp_model, source_tasks, topk):
    from clinical_mpt.recipes.distill import distill_loss

    g = torch.Generator().manual_seed(0)
    teacher0 = torch.randn(4, 64, generator=g) * 0.3
    u1, v1 = torch.rand(4, generator=g) + 0.5, torch.rand(64, generator=g) + 0.5
    teachers = [teacher0, teacher0 * torch.outer(u1, v1)]   # both reachable as P* o (u_k v_k^T)
    dcfg = DistillConfig(temperature=2.0, teacher_topk=topk)
    cache = [compute_teacher_outputs(sharp_model, p, t.encoded, 0, dcfg.temperature, topk, batch_size=4)
             for p, t in zip(teachers, source_tasks)]
    student = MPTPrompt(teacher0, num_tasks=2)              # u = v = 1: task 0 is teacher 0
    with torch.no_grad():
        student.u[1, :, 0] = u1
        student.v[1, 0, :] = v1
    sampler = MixtureSampler(source_tasks, [0.5, 0.5], seed=0)
    backbone = SimpleNamespace(model=sharp_model)

    def losses(mpt):
        refs = sampler.sample_refs(6)
        batch = collate([source_tasks[k].encoded[j] for k, j in refs], 0)
        task_ids = torch.tensor([k for k, _ in refs])
        assert set(task_ids.tolist()) == {0, 1}, "the batch mixes both tasks"
        return distill_loss(backbone, mpt, batch, refs, task_ids, cache, dcfg)

    for _ in range(2):
        total, parts = losses(student)
        assert set(parts) == {"lm", "kl", "mse"}
        assert parts["kl"].abs() < 1e-5 and parts["mse"] < 1e-8
        assert parts["lm"] > 0 and torch.isclose(total, parts["lm"] + parts["kl"] + parts["mse"])

    with torch.no_grad():
        student.u[0] = torch.randn(4, 1, generator=g) * 3   # task 0 no longer matches its teacher
    _, parts = losses(student)
    assert parts["kl"] > 1e-3 and parts["mse"] > 1e-3


def test_distillation_terms_can_be_switched_off(sharp_model, source_tasks):
    from clinical_mpt.recipes.distill import distill_loss

    mpt = MPTPrompt(torch.randn(4, 64) * 0.3, num_tasks=2)
    refs = [(0, 0), (1, 1)]
    batch = collate([source_tasks[k].encoded[j] for k, j in refs], 0)
    dcfg = DistillConfig(use_kl=False, use_mse=False)
    total, parts = distill_loss(SimpleNamespace(model=sharp_model), mpt, batch, refs, torch.tensor([0, 1]), [], dcfg)
    assert set(parts) == {"lm"} and torch.equal(total.detach(), parts["lm"])


def test_gather_concatenates_rows_in_order(source_tasks, sharp_model):
    cache = [compute_teacher_outputs(sharp_model, torch.randn(3, 64), t.encoded[:3], 0, 1.0, 4) for t in source_tasks]
    out = gather(cache, [(1, 2), (0, 0)])
    assert torch.equal(out.ids, torch.cat([cache[1][2].ids, cache[0][0].ids]))
    assert torch.equal(out.hidden, torch.cat([cache[1][2].hidden, cache[0][0].hidden]))


def test_train_stops_early_on_the_dev_loss_and_restores_the_best_parameters(tmp_path):
    # The training loss pulls a towards 3; the dev loss is lowest at a = 1, so it improves, then worsens.
    a = torch.nn.Parameter(torch.zeros(1))
    seen = []

    def dev_loss():
        seen.append(a.item())
        return float(((a - 1) ** 2).sum())

    cfg = TrainConfig(steps=200, lr=0.05, warmup_steps=0, grad_clip=0, log_every=50, eval_every=2, patience=3)
    rows = training.train([a], lambda step: (((a - 3) ** 2).sum(), {}), cfg, desc="es", dev_loss=dev_loss,
                          log_path=tmp_path / "log.jsonl")
    last = rows[-1]
    assert last["stopped_early"] and last["steps_run"] < 200 and last["step"] == last["steps_run"]
    assert last["steps_run"] == last["best_step"] + 3 * cfg.eval_every      # patience evaluations after the best
    best = min(seen, key=lambda x: (x - 1) ** 2)
    assert a.item() == pytest.approx(best)                                  # the best parameters came back
    assert last["best_dev_loss"] == pytest.approx((best - 1) ** 2, abs=1e-6)
    assert training.summary(rows) == {k: last[k] for k in ("steps_run", "best_step", "best_dev_loss", "stopped_early")}
    logged = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert logged == rows and all("dev_loss" in r for r in rows[1:])


def test_train_without_a_dev_loss_runs_every_step_and_has_no_summary():
    a = torch.nn.Parameter(torch.zeros(1))
    cfg = TrainConfig(steps=6, lr=0.1, warmup_steps=0, log_every=1, eval_every=2)
    rows = training.train([a], lambda step: (((a - 3) ** 2).sum(), {}), cfg, desc="plain")
    assert rows[-1]["step"] == 6 and training.summary(rows) == {}


def test_train_takes_parameter_groups_with_their_own_rates():
    a, b = torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(2))
    cfg = TrainConfig(steps=3, lr=0.1, warmup_steps=0)
    training.train([{"params": [a], "lr": 0.0}, {"params": [b]}],
                   lambda step: (((a - 1) ** 2 + (b - 1) ** 2).sum(), {}), cfg, desc="groups")
    assert torch.equal(a.detach(), torch.zeros(2)) and (b.detach() > 0).all()


def test_early_stopping_survives_a_resume(tmp_path):
    # Kill-free resume: train 4 steps with a checkpoint at 4, then resume to the end; the early-stopping
    # state (best parameters, counters) must come back from the checkpoint.
    from clinical_mpt.checkpoint import load_extra
    from clinical_mpt.early_stopping import EarlyStopping

    stopper = EarlyStopping(patience=2)
    p = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    assert not stopper.update(4, 0.5, [p])
    assert not stopper.update(6, 0.7, [p])
    tensors, state = stopper.state()
    again = EarlyStopping(patience=2)
    again.load(tensors, state)
    assert (again.best_loss, again.best_step, again.bad_evals) == (0.5, 4, 1)
    assert torch.equal(again.best[0], p.detach())
    assert again.update(8, 0.9, [p])                      # the second evaluation without improvement stops

    opt = torch.optim.AdamW([p], lr=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    from clinical_mpt.checkpoint import save_checkpoint
    save_checkpoint(tmp_path, 6, [p], opt, sched, None, stopper.state())
    loaded, loaded_state = load_extra(tmp_path)
    assert loaded_state == state and torch.equal(loaded["best.0"], tensors["best.0"])


def test_teachers_share_one_initial_prompt_and_stages_stop_early_on_dev(tiny_backbone, mini_suite, tmp_path,
                                                                        monkeypatch):
    from clinical_mpt.artifacts import load_artifact
    from clinical_mpt.recipes.distill import run_distill
    from clinical_mpt.recipes.teach import run_teach

    starts, real = [], training.train

    def spy(params, loss_fn, cfg, desc, log_path=None, **kwargs):
        starts.append((desc, [p.detach().clone() for p in training.param_groups(params)[1]], kwargs.get("dev_loss")))
        return real(params, loss_fn, cfg, desc, log_path, **kwargs)

    monkeypatch.setattr(training, "train", spy)
    monkeypatch.setattr("clinical_mpt.methods.base.train", spy)
    cfg = _cfg(mini_suite, "teach.steps=40", "teach.eval_every=1", "teach.patience=1", "teach.lr=3.0",
               "distill.train.steps=40", "distill.train.eval_every=1", "distill.train.patience=1",
               "distill.train.lr=3.0", "distill.dev_examples=2")
    run_teach(cfg, tiny_backbone, tmp_path)
    (d1, p1, dev1), (d2, p2, dev2) = starts
    assert torch.equal(p1[0], p2[0]) and dev1 is not None and dev2 is not None   # one shared initial prompt
    for task in ("med_ner", "problem_nli"):
        _, meta = load_artifact(tmp_path / "teachers" / task, tiny_backbone.fingerprint)
        run = meta["training"]
        assert set(run) == {"steps_run", "best_step", "best_dev_loss", "stopped_early"}
        assert run["steps_run"] <= 40 and run["best_step"] <= run["steps_run"]
    starts.clear()
    run_distill(cfg, tiny_backbone, tmp_path)
    (desc, _, dev), = starts
    assert desc == "distill" and dev is not None
    _, meta = load_artifact(tmp_path / "distill", tiny_backbone.fingerprint)
    assert meta["training"]["steps_run"] <= 40 and meta["tasks_per_batch"] == 2
    assert set(meta["teacher_kept_mass"]) == {"med_ner", "problem_nli"}
    assert all(0 < m <= 1 for m in meta["teacher_kept_mass"].values())


def test_mpt_adaptation_gives_vectors_and_meta_prompt_their_own_rates(tiny_backbone, mini_suite, tmp_path):
    from clinical_mpt.methods.mpt import param_groups, target_prompt

    shared = torch.randn(8, 64)
    meta = {"shared": shared, "u": torch.ones(2, 8, 1), "v": torch.ones(2, 1, 64)}
    cfg = _cfg(mini_suite, "adapt.lr_vectors=0.5", "adapt.lr_meta_prompt=0.01")
    full = target_prompt(meta, ["a", "b"], "mean", train_meta_prompt=True)
    groups = param_groups(full, cfg.adapt)
    assert [(len(g["params"]), g["lr"]) for g in groups] == [(2, 0.5), (1, 0.01)]
    vectors = target_prompt(meta, ["a", "b"], "mean", train_meta_prompt=False)
    groups = param_groups(vectors, _cfg(mini_suite).adapt)
    assert [(len(g["params"]), g["lr"]) for g in groups] == [(2, _cfg(mini_suite).adapt.train.lr)]
