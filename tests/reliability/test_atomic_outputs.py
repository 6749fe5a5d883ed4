"""Atomic outputs: a write that fails at ANY point leaves every file either as it was or complete.

For each writer (results.json, a converted dataset, a library add and replace, a report, a prompt
artifact, a training checkpoint) the test first runs it once without faults to learn the finished
files and how many renames it does, then restores the folder and re-runs it once per crash point:
the n-th `os.replace` raises (disk full, n = 1 .. all), or the write itself fails half-way
(`fsync` / the safetensors writer raises after writing part of the file). After each failure every
file must be byte-identical to its old or its finished version, and no temporary file may remain.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
import torch

FIXTURE_RUN = Path(__file__).resolve().parents[1] / "report" / "fixtures" / "run"
MEDNLI = Path(__file__).resolve().parents[1] / "data" / "fixtures" / "mednli" / "mednli.jsonl"


def snapshot(root: Path) -> dict[str, bytes | None]:
    """{relative path: bytes} of every file under root, and {relative path: None} of every folder."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def restore(root: Path, snap: dict[str, bytes | None]) -> None:
    shutil.rmtree(root)
    root.mkdir()
    for rel, data in snap.items():
        if data is None:
            (root / rel).mkdir(parents=True, exist_ok=True)
        else:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)


class Faults:
    """Counts os.replace calls; makes the n-th one, or the writing of the data, fail with ENOSPC."""

    def __init__(self, monkeypatch):
        self.replaces, self.fail_replace_at, self.fail_write = 0, None, False
        real_replace, real_fsync = os.replace, os.fsync

        def replace(src, dst, *a, **kw):
            self.replaces += 1
            if self.replaces == self.fail_replace_at:
                raise OSError(errno.ENOSPC, "No space left on device (injected)")
            return real_replace(src, dst, *a, **kw)

        def fsync(fd):
            if self.fail_write:
                raise OSError(errno.ENOSPC, "No space left on device (injected)")
            return real_fsync(fd)

        def save_file(tensors, path, *a, **kw):  # safetensors writer: half a file, then the disk is full
            if self.fail_write:
                Path(path).write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{\"partial")
                raise OSError(errno.ENOSPC, "No space left on device (injected)")
            return real_save_file(tensors, path, *a, **kw)

        from safetensors.torch import save_file as real_save_file

        monkeypatch.setattr(os, "replace", replace)
        monkeypatch.setattr(os, "fsync", fsync)
        monkeypatch.setattr("clinical_mpt.artifacts.save_file", save_file)
        monkeypatch.setattr("clinical_mpt.checkpoint.save_file", save_file)
        monkeypatch.setattr("clinical_mpt.library.store.now_iso", lambda: "2025-01-01T00:00:00+00:00")

    def arm(self, replace_at: int | None = None, write: bool = False) -> None:
        self.replaces, self.fail_replace_at, self.fail_write = 0, replace_at, write


@dataclass
class Case:
    root: Path
    write: Callable[[], object]          # the writer; raises (or returns exit code 2) when it fails
    check: Callable[[], None] | None = None  # an extra consistency check after a failure


def failed(write) -> bool:
    try:
        return write() == 2          # CLI-style entry points report errors as exit code 2
    except Exception:
        return True


# ---- the writers under test ----------------------------------------------------------------------

def results_case(tmp_path: Path) -> Case:
    from types import SimpleNamespace

    from clinical_mpt.config import load_config
    from clinical_mpt.recipes.evaluate import write_results

    cfg = load_config(Path(__file__).resolve().parents[2] / "configs" / "tiny.yaml")
    backbone = SimpleNamespace(dtype=torch.float32, fingerprint=SimpleNamespace(to_dict=lambda: {"hidden_size": 64}))
    root = tmp_path / "run"
    root.mkdir()
    (root / "results.json").write_text('{"name": "an older run", "methods": {}}\n')
    methods = {"mpt": {"trainable_parameters": 72, "tasks": {"dose_qa": {"score": 0.5}}, "notes": "x" * 50_000}}
    return Case(root, lambda: write_results(cfg, backbone, root, methods, 12.0))


def dataset_case(tmp_path: Path) -> Case:
    from clinical_mpt.cli import main

    root = tmp_path / "data"
    root.mkdir()
    out = root / "mednli.jsonl"
    return Case(root, lambda: main(["data", "convert", "--format", "mednli", str(MEDNLI), "--out", str(out),
                                    "--skip-unlabeled"]))


def library_case(tmp_path: Path, tiny_library: Path, replace: bool) -> Case:
    from clinical_mpt.library import Library
    from clinical_mpt.library.entry import Entry

    root = Path(shutil.copytree(tiny_library, tmp_path / "library"))
    old = Library.open(root).load("med_ner")
    name = "med_ner" if replace else "med_ner_copy"
    entry = Entry(dict(old.config, task=name), old.prompt + 1.0)

    def check():  # the library stays sound: every entry loads, nothing stray
        lib = Library.open(root)
        assert lib.verify() == []
        assert replace or name not in lib.names()
        if replace:
            assert torch.equal(lib.load(name).prompt, old.prompt)

    return Case(root, lambda: Library.open(root).add(entry, replace=replace), check)


def report_case(tmp_path: Path) -> Case:
    from clinical_mpt.report import write_report

    root = Path(shutil.copytree(FIXTURE_RUN, tmp_path / "run"))
    (root / "report.md").write_text("# an older report\n")
    return Case(root, lambda: write_report(root, plots=False))


def artifact_case(tmp_path: Path) -> Case:
    from clinical_mpt.artifacts import load_artifact, save_artifact
    from clinical_mpt.backbone import Fingerprint
    from clinical_mpt.errors import ArtifactError

    fp = Fingerprint("LlamaForCausalLM", 8, 259, 1000, "0" * 64)
    root = tmp_path / "artifact"
    save_artifact(root, {"prompt": torch.zeros(4, 8)}, {"kind": "teacher"}, fp)
    new = {"prompt": torch.ones(4, 8)}

    def check():  # the pair is old, new, or refused by its checksum - never silently mixed
        try:
            tensors, _ = load_artifact(root, fp)
        except ArtifactError as e:
            assert "checksum does not match" in str(e)
        else:
            assert tensors["prompt"].unique().numel() == 1

    return Case(root, lambda: save_artifact(root, new, {"kind": "teacher"}, fp), check)


def checkpoint_case(tmp_path: Path) -> Case:
    from clinical_mpt.checkpoint import load_checkpoint, save_checkpoint

    root = tmp_path / "ckpt"
    p = torch.nn.Parameter(torch.zeros(3))
    opt = torch.optim.AdamW([p], lr=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    p.grad = torch.ones(3)
    opt.step()
    save_checkpoint(root, 3, [p], opt, sched, {"position": 3})
    opt.step()

    def write():
        torch.manual_seed(0)
        save_checkpoint(root, 6, [p], opt, sched, {"position": 6})

    def check():  # state.json always names a complete, checksum-valid tensor file
        q = torch.nn.Parameter(torch.zeros(3))
        o = torch.optim.AdamW([q], lr=0.1)
        step, sampler = load_checkpoint(root, [q], o, torch.optim.lr_scheduler.LambdaLR(o, lambda s: 1.0))
        assert (step, sampler["position"]) in ((3, 3), (6, 6))

    return Case(root, write, check)


CASES = ["results.json", "converted dataset", "library add", "library replace", "report", "prompt artifact",
         "checkpoint"]


@pytest.fixture
def case(request, tmp_path, tiny_library) -> Case:
    return {
        "results.json": lambda: results_case(tmp_path),
        "converted dataset": lambda: dataset_case(tmp_path),
        "library add": lambda: library_case(tmp_path, tiny_library, replace=False),
        "library replace": lambda: library_case(tmp_path, tiny_library, replace=True),
        "report": lambda: report_case(tmp_path),
        "prompt artifact": lambda: artifact_case(tmp_path),
        "checkpoint": lambda: checkpoint_case(tmp_path),
    }[request.param]()


@pytest.mark.parametrize("case", CASES, indirect=True)
def test_a_failed_write_leaves_old_or_complete_files_and_no_temp_files(case, monkeypatch):
    faults = Faults(monkeypatch)
    before = snapshot(case.root)
    faults.arm()
    assert not failed(case.write)
    done, renames = snapshot(case.root), faults.replaces
    assert done != before and renames >= 1
    assert not [p for p in done if ".tmp" in p or p.endswith(".tmp")], "a successful write left temp files"

    crash_points = [("replace", n) for n in range(1, renames + 1)] + [("write", 0)]
    for kind, n in crash_points:
        restore(case.root, before)
        faults.arm(replace_at=n if kind == "replace" else None, write=kind == "write")
        assert failed(case.write), f"the injected fault ({kind} {n}) did not make the write fail"
        faults.arm()
        after = snapshot(case.root)
        where = f"{kind} #{n}" if kind == "replace" else "write"
        stray = sorted(set(after) - set(before) - set(done))
        assert not stray, f"fault at {where}: left {stray}"
        for rel, data in after.items():
            assert data in (before.get(rel, b"<absent>"), done.get(rel, b"<absent>")), \
                f"fault at {where}: {rel} is neither its old nor its finished version (half-written)"
        if n == 1 or kind == "write":
            assert after == before, f"fault at {where}: the first step failed, yet files changed"
        if case.check:
            case.check()


def test_a_failed_conversion_of_bad_data_writes_nothing(tmp_path):
    """Validation happens before the (atomic) write: a bad row late in the file leaves no output."""
    from clinical_mpt.cli import main

    src = tmp_path / "in.jsonl"
    good = MEDNLI.read_text(encoding="utf-8").splitlines()
    src.write_text("\n".join(good + ['{"pairID": "x", "sentence1": "a", "sentence2": "b", "gold_label": "maybe"}'])
                   + "\n")
    out = tmp_path / "out" / "mednli.jsonl"
    assert main(["data", "convert", "--format", "mednli", str(src), "--out", str(out)]) == 2
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_results_json_is_valid_json_after_every_successful_write(tmp_path):
    """The serializer runs before the file is opened: an unserializable result raises and writes nothing."""
    from clinical_mpt.data.jsonl import write_json

    path = tmp_path / "results.json"
    write_json(path, {"ok": 1})
    with pytest.raises(TypeError):
        write_json(path, {"bad": object()})
    assert json.loads(path.read_text()) == {"ok": 1} and sorted(os.listdir(tmp_path)) == ["results.json"]


def test_atomic_outputs_get_the_usual_file_permissions(tmp_path):
    """Written through a temporary file, yet readable like any new file (0o666 minus the umask)."""
    import os

    from clinical_mpt.data.jsonl import FILE_MODE, write_json

    write_json(tmp_path / "a.json", {"x": 1})
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == FILE_MODE
    mask = os.umask(0)
    os.umask(mask)
    assert FILE_MODE == 0o666 & ~mask
