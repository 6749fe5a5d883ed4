"""Property-based: every reader of a user-editable file (run config and overrides, suite.json, prompt
library manifest / entry config / tensors, prompt artifacts, training checkpoints, results.json for
`report`, peft adapters) and the server's input check, fed random or mutated content, either works
or raises the project's own error (ClinicalMPTError) - never KeyError, TypeError, AttributeError...

Mutations are of two kinds: byte edits (truncation, insertion, random bytes) and structural JSON
edits (a value anywhere replaced by a random JSON value, a key deleted or added). Where a checksum
guards a file, the checksum is updated too, so the parser behind it is exercised.
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
import tempfile
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from clinical_mpt.errors import ClinicalMPTError
from fuzz_bytes import fuzz_settings, mutated_bytes

REPO = Path(__file__).resolve().parents[2]
FUZZ = fuzz_settings(60)

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8)
SPECIAL = [b"\n", b" ", b'"', b",", b":", b"{", b"}", b"[", b"]", b"0", b"-", b"\\u", b"\\ud800", b"\xff", b"\xc3",
           b"null", b"true", b"1e999", b"NaN", b"9" * 30]


def _slots(obj, path=()):
    """Every (path) to a value inside nested dicts/lists, the root included."""
    yield path
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _slots(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _slots(v, path + (i,))


@st.composite
def mutated_json(draw, original):
    """`original` after 1-3 structural edits: replace a value, delete a key/item, add a key."""
    obj = copy.deepcopy(original)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(_slots(obj))))
        if not path:
            obj = draw(JSON_VALUES)
            continue
        parent = obj
        for p in path[:-1]:
            parent = parent[p]
        op = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if op == "replace":
            parent[path[-1]] = draw(JSON_VALUES)
        elif op == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = draw(JSON_VALUES)
    return obj


def mutated(original: bytes):
    return mutated_bytes(original, SPECIAL)


def mutated_file(data, path: Path) -> bytes:
    """Draw new content for the JSON or binary file at `path` (structural edits for JSON files)."""
    original = path.read_bytes()
    if path.suffix == ".json" and data.draw(st.booleans(), label="structural"):
        obj = data.draw(mutated_json(json.loads(original)), label="json")
        return json.dumps(obj, allow_nan=True).encode()
    return data.draw(mutated(original), label="bytes")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---- run configs ----------------------------------------------------------------------------------

@FUZZ
@given(data=st.data())
def test_config_files_raise_only_config_errors(data):
    from clinical_mpt.config import RunConfig, load_config

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run.yaml"
        path.write_bytes(data.draw(mutated((REPO / "configs" / "tiny.yaml").read_bytes())))
        try:
            assert isinstance(load_config(path), RunConfig)
        except ClinicalMPTError:
            pass


KEYS = ["teach.steps", "prompt.length", "adapt.shots", "methods", "protocol.shots", "data.max_train_examples",
        "distill.lambda", "backbone.dtype", "teach", "eval.split", "x.y", "", "a..b", "teach.steps.x"]


@FUZZ
@given(key=st.sampled_from(KEYS) | st.text(max_size=15),
       value=st.sampled_from(["0", "-1", "[", "{a: 1}", "1e999", "nan", "~", "[1, x]", "true", ""]) | st.text(max_size=15))
def test_overrides_raise_only_config_errors(key, value):
    from clinical_mpt.config import load_config

    try:
        load_config(REPO / "configs" / "tiny.yaml", [f"{key}={value}"])
    except ClinicalMPTError:
        pass


# ---- suite.json ------------------------------------------------------------------------------------

@FUZZ
@given(data=st.data())
def test_suite_json_raises_only_project_errors(mini_suite, data):
    from clinical_mpt.data.suite import load_split, load_suite, select_tasks

    with tempfile.TemporaryDirectory() as tmp:
        suite = Path(shutil.copytree(mini_suite, Path(tmp) / "suite"))
        (suite / "suite.json").write_bytes(mutated_file(data, suite / "suite.json"))
        try:
            spec = load_suite(suite)
            for role in ("source", "target"):
                for t in select_tasks(spec, role, []):
                    load_split(suite, t, "dev")
        except ClinicalMPTError:
            pass


# ---- prompt library --------------------------------------------------------------------------------

@FUZZ
@given(data=st.data())
def test_library_files_raise_only_library_errors(tiny_library, data):
    """Mutate the manifest, or an entry's config.json / prompt.safetensors with its checksum updated."""
    from clinical_mpt.library import Library

    with tempfile.TemporaryDirectory() as tmp:
        lib = Path(shutil.copytree(tiny_library, Path(tmp) / "lib"))
        victim = data.draw(st.sampled_from(["manifest.json", "med_ner/config.json", "med_ner/prompt.safetensors",
                                            "dose_qa/config.json"]), label="file")
        new = mutated_file(data, lib / victim)
        (lib / victim).write_bytes(new)
        if victim != "manifest.json":  # keep the checksum valid so the parser itself is reached
            manifest = json.loads((lib / "manifest.json").read_text())
            task, filename = victim.split("/")
            manifest["entries"][task]["files"][filename] = sha256(new)
            (lib / "manifest.json").write_text(json.dumps(manifest))
        try:
            library = Library.open(lib)
            library.load_all()
            library.verify()
        except ClinicalMPTError:
            pass


# ---- prompt artifacts and checkpoints ---------------------------------------------------------------

@pytest.fixture(scope="module")
def artifact_dir(tmp_path_factory) -> Path:
    from clinical_mpt.artifacts import save_artifact
    from clinical_mpt.backbone import Fingerprint

    folder = tmp_path_factory.mktemp("artifact")
    save_artifact(folder, {"u": torch.randn(1, 8, 1), "v": torch.randn(1, 1, 64)}, {"kind": "target", "task": "t"},
                  Fingerprint("LlamaForCausalLM", 64, 259, 1000, "0" * 64))
    return folder


@FUZZ
@given(data=st.data())
def test_prompt_artifacts_raise_only_artifact_errors(artifact_dir, data):
    from clinical_mpt.artifacts import load_artifact
    from clinical_mpt.backbone import Fingerprint

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(shutil.copytree(artifact_dir, Path(tmp) / "a"))
        victim = folder / data.draw(st.sampled_from(["config.json", "prompt.safetensors"]), label="file")
        victim.write_bytes(mutated_file(data, victim))
        if victim.name == "prompt.safetensors":
            cfg = json.loads((folder / "config.json").read_text())
            cfg["files"]["prompt.safetensors"] = sha256(victim.read_bytes())
            (folder / "config.json").write_text(json.dumps(cfg))
        try:
            load_artifact(folder, Fingerprint("LlamaForCausalLM", 64, 259, 1000, "0" * 64))
        except ClinicalMPTError:
            pass


def _training_state():
    p = torch.nn.Parameter(torch.zeros(4))
    opt = torch.optim.AdamW([p], lr=0.1)
    return p, opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)


@pytest.fixture(scope="module")
def checkpoint_dir(tmp_path_factory) -> Path:
    from clinical_mpt.checkpoint import save_checkpoint

    folder = tmp_path_factory.mktemp("ckpt")
    p, opt, sched = _training_state()
    p.grad = torch.ones(4)
    opt.step()
    sched.step()
    save_checkpoint(folder, 5, [p], opt, sched, {"steps": 5, "rng": [1, 2, 3]})
    return folder


@FUZZ
@given(data=st.data())
def test_checkpoints_raise_only_artifact_errors(checkpoint_dir, data):
    from clinical_mpt.checkpoint import load_checkpoint

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(shutil.copytree(checkpoint_dir, Path(tmp) / "c"))
        tensors = next(folder.glob("ckpt-*.safetensors"))
        victim = data.draw(st.sampled_from([folder / "state.json", tensors]), label="file")
        victim.write_bytes(mutated_file(data, victim))
        if victim == tensors:
            state = json.loads((folder / "state.json").read_text())
            state["sha256"] = sha256(tensors.read_bytes())
            (folder / "state.json").write_text(json.dumps(state))
        p, opt, sched = _training_state()
        try:
            load_checkpoint(folder, [p], opt, sched)
        except ClinicalMPTError:
            pass


def test_a_checkpoint_made_with_another_config_is_refused_clearly(checkpoint_dir):
    """Resuming after changing e.g. the prompt length: one clear error, not a shape traceback."""
    from clinical_mpt.checkpoint import load_checkpoint
    from clinical_mpt.errors import ArtifactError

    p = torch.nn.Parameter(torch.zeros(6))              # the checkpoint holds a (4,) tensor
    opt = torch.optim.AdamW([p], lr=0.1)
    with pytest.raises(ArtifactError, match="does not fit this training .*resume with the config it was made with"):
        load_checkpoint(checkpoint_dir, [p], opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0))


# ---- results.json -> report ------------------------------------------------------------------------

@FUZZ
@given(data=st.data())
def test_report_inputs_raise_only_project_errors(data):
    from clinical_mpt.report import write_report

    fixture = REPO / "tests" / "report" / "fixtures" / "run"
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        run.mkdir()
        shutil.copy(fixture / "results.json", run / "results.json")
        (run / "results.json").write_bytes(mutated_file(data, run / "results.json"))
        try:
            write_report(run, plots=False)
        except ClinicalMPTError:
            pass


# ---- peft adapters ---------------------------------------------------------------------------------

@FUZZ
@given(data=st.data())
def test_peft_adapters_raise_only_library_errors(tiny_library, tmp_path_factory, data):
    from clinical_mpt.library import Library
    from clinical_mpt.library.peft_io import entry_from_peft, export_peft

    lib = Library.open(tiny_library)
    with tempfile.TemporaryDirectory() as tmp:
        out = export_peft(lib.load("med_ner"), Path(tmp) / "peft")
        victim = data.draw(st.sampled_from(sorted(out.iterdir())), label="file")
        victim.write_bytes(mutated_file(data, victim))
        try:
            entry_from_peft(out, "imported", "ner", lib.fingerprint)
        except ClinicalMPTError:
            pass


# ---- server inputs ---------------------------------------------------------------------------------

VALID_INPUTS = {
    "ner": {"text": "Pt started on metformin 500 mg."},
    "nli": {"premise": "Admitted with pneumonia.", "hypothesis": "The patient has pneumonia."},
    "qa": {"context": "Heparin 5000 units.", "question": "What dose?"},
    "mcqa": {"question": "Which drug?", "options": {"A": "heparin", "B": "aspirin"}, "context": "c"},
}


@fuzz_settings(240, campaign_factor=4)
@given(data=st.data())
def test_request_inputs_raise_only_input_errors(data):
    from clinical_mpt.serve.inputs import check_input, input_chars

    type_ = data.draw(st.sampled_from(sorted(VALID_INPUTS)), label="type")
    inp = data.draw(mutated_json(VALID_INPUTS[type_]) | JSON_VALUES, label="input")
    try:
        checked = check_input(type_, inp)
    except ClinicalMPTError:
        return
    assert isinstance(input_chars(checked), int)
    for value in checked.values():  # what passes can be tokenized
        json.dumps(value, ensure_ascii=False).encode("utf-8")
