"""A prompt library on disk: one folder per task plus a manifest that pins every file and the backbone.

    DIR/manifest.json            {"format_version", "backbone": {"name", "fingerprint"},
                                  "entries": {task: {"type", "method", "files": {file: sha256}}}, ...}
    DIR/<task>/config.json       see clinical_mpt.library.entry
    DIR/<task>/prompt.safetensors    {"prompt": (L, d)}, or a deep entry's {"prefix": (layers, 2, kv, L, hd)}
    DIR/meta-prompt/             optional: the distilled P* its entries were adapted from (library/meta.py)

The manifest is the source of truth: a folder it does not list is not an entry. Loading verifies,
before returning anything, every file's SHA-256, the format versions and the backbone fingerprint;
tensors are read with safetensors only (never unpickled). Adding writes the entry under a temporary
name, renames it into place and then rewrites the manifest atomically; any failure rolls back, so
an interrupted add leaves neither an entry nor a temporary folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from clinical_mpt.data.jsonl import atomic_write_text
from clinical_mpt.library.entry import (
    FORMAT_VERSION,
    Entry,
    LibraryError,
    check_entry,
    check_name,
    geometry_problem,
    now_iso,
    tensor_key,
)
from clinical_mpt.tasks.base import TASK_NAME

MANIFEST = "manifest.json"
CONFIG = "config.json"
TENSORS = "prompt.safetensors"
META_DIR, META_RECORD = "meta-prompt", "meta_prompt"  # the shipped P* and its manifest record (library/meta.py)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_json(path: Path, data: bytes | None = None) -> dict:
    try:
        obj = json.loads((path.read_bytes() if data is None else data).decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise LibraryError(f"{path}: unreadable JSON ({e})") from None
    if not isinstance(obj, dict):
        raise LibraryError(f"{path}: expected a JSON object")
    return obj


def manifest_problem(manifest: dict) -> str | None:
    """What is wrong with a manifest's entries (None when sound). Entry names must be folder names
    inside the library (a name such as '../x' would read files outside it); each entry needs a
    'files' object of checksums; the backbone fingerprint must be an object."""
    if not isinstance(manifest["backbone"].get("fingerprint", {}), dict):
        return "'backbone.fingerprint' must be an object"
    for name, record in manifest["entries"].items():
        if not TASK_NAME.match(name):
            return f"entry {name!r} is not a task name (letters, digits, '_', '.', '-'; no paths)"
        if not isinstance(record, dict) or not isinstance(record.get("files"), dict):
            return f"entry {name!r} needs a 'files' object of SHA-256 checksums"
    return None


def _dump(obj: dict) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


def place_folder(root: Path, name: str, blobs: dict[str, bytes], commit) -> None:
    """Write `blobs` {file name: bytes} as the folder root/name atomically, then run `commit()` (the
    manifest write that makes it visible): whatever instant the process dies, the folder is the old one
    or the new one, never a mix. The files are written in a temporary folder, the old folder is moved
    aside, the new one renamed into place, and on any error (commit included) the old one comes back."""
    final = root / name
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{name}-", dir=root))
    old = root / f".old-{name}-{uuid.uuid4().hex[:8]}"
    moved_old = placed = False
    try:
        os.chmod(tmp, 0o755)  # mkdtemp makes 0700; a library is meant to be shared read-only
        for filename, data in blobs.items():
            (tmp / filename).write_bytes(data)
        if final.exists():
            os.replace(final, old)
            moved_old = True
        os.replace(tmp, final)
        placed = True
        commit()
    except BaseException:
        if placed:
            shutil.rmtree(final, ignore_errors=True)
        if moved_old:
            os.replace(old, final)
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)


class Library:
    """A prompt library folder. Open with `Library.open(dir)`; create with `Library.create(...)`."""

    def __init__(self, root: Path, manifest: dict):
        self.root = Path(root)
        self.manifest = manifest

    # ---- opening -------------------------------------------------------------------------------
    @classmethod
    def open(cls, root: str | Path) -> "Library":
        root = Path(root)
        path = root / MANIFEST
        if not path.is_file():
            raise LibraryError(f"{root}: not a prompt library (no {MANIFEST}); create one with "
                               f"`clinical-mpt library add {root} --from-run RUN`")
        manifest = _read_json(path)
        if manifest.get("format_version") != FORMAT_VERSION:
            raise LibraryError(f"{path}: unknown library format version {manifest.get('format_version')!r} "
                               f"(this clinical-mpt reads version {FORMAT_VERSION})")
        if not isinstance(manifest.get("entries"), dict) or not isinstance(manifest.get("backbone"), dict):
            raise LibraryError(f"{path}: needs 'backbone' and 'entries' objects")
        problem = manifest_problem(manifest)
        if problem:
            raise LibraryError(f"{path}: {problem}; the manifest was edited or is corrupt")
        return cls(root, manifest)

    @classmethod
    def create(cls, root: str | Path, backbone_name: str, fingerprint: dict) -> "Library":
        """A new, empty library (refuses to overwrite an existing one)."""
        root = Path(root)
        if (root / MANIFEST).exists():
            raise LibraryError(f"{root}: a library already exists here")
        manifest = {"format_version": FORMAT_VERSION, "kind": "clinical-mpt prompt library",
                    "backbone": {"name": backbone_name, "fingerprint": dict(fingerprint)},
                    "entries": {}, "created_at": now_iso(), "updated_at": now_iso()}
        root.mkdir(parents=True, exist_ok=True)
        atomic_write_text(root / MANIFEST, _dump(manifest))
        os.chmod(root / MANIFEST, 0o644)
        return cls(root, manifest)

    @classmethod
    def open_or_create(cls, root: str | Path, backbone_name: str, fingerprint: dict) -> "Library":
        if (Path(root) / MANIFEST).exists():
            lib = cls.open(root)
            lib.check_fingerprint(fingerprint, f"the prompts for {root}")
            return lib
        return cls.create(root, backbone_name, fingerprint)

    # ---- reading -------------------------------------------------------------------------------
    @property
    def backbone_name(self) -> str:
        return self.manifest["backbone"].get("name", "default")

    @property
    def fingerprint(self) -> dict:
        return self.manifest["backbone"].get("fingerprint", {})

    def names(self) -> list[str]:
        return sorted(self.manifest["entries"])

    def check_fingerprint(self, fingerprint: dict, what: str) -> None:
        """Refuse `what` unless `fingerprint` (a dict) is this library's backbone fingerprint."""
        for key, value in self.fingerprint.items():
            if fingerprint.get(key) != value:
                raise LibraryError(f"{what} belong to a different backbone than the library {self.root}: "
                                   f"{key} is {fingerprint.get(key)!r}, the library has {value!r}")

    def check_backbone(self, fingerprint) -> None:
        """Refuse a loaded backbone (its `Fingerprint`) that the library was not trained on."""
        problem = fingerprint.mismatch(self.fingerprint)
        if problem:
            raise LibraryError(f"{self.root}: the library was trained on a different backbone: {problem}; "
                               f"it was made for {self.backbone_name!r}")

    def _verified_bytes(self, name: str, filename: str) -> bytes:
        if name not in self.manifest["entries"]:
            raise LibraryError(f"{self.root}: no entry {name!r}; entries: {', '.join(self.names()) or '(none)'}")
        expected = self.manifest["entries"][name].get("files", {}).get(filename)
        path = self.root / name / filename
        try:
            data = path.read_bytes()
        except OSError:
            raise LibraryError(f"{path}: missing (the manifest lists it)") from None
        if expected != sha256_bytes(data):
            raise LibraryError(f"{path}: SHA-256 does not match the manifest (file changed or corrupt); "
                               f"restore it or remove the entry with `clinical-mpt library remove`")
        return data

    def entry_config(self, name: str) -> dict:
        """config.json of an entry, checksum-verified."""
        return _read_json(self.root / name / CONFIG, self._verified_bytes(name, CONFIG))

    def check_geometry(self, entry: Entry, geometry: tuple[int, int, int]) -> None:
        """Refuse a deep entry whose prefix does not fit a backbone of `geometry` (layers, kv_heads, head_dim)."""
        problem = geometry_problem(entry.config, geometry)
        if problem:
            raise LibraryError(f"{self.root / entry.name}: {problem}")

    def load(self, name: str, fingerprint=None, geometry: tuple[int, int, int] | None = None) -> Entry:
        """One entry, fully verified; `fingerprint` (a backbone Fingerprint) adds the backbone check and
        `geometry` (the backbone's (layers, kv_heads, head_dim), prompts.deep_prompt.kv_geometry) the
        check that a deep entry's prefix fits its attention layers."""
        where = str(self.root / name)
        config = self.entry_config(name)
        data = self._verified_bytes(name, TENSORS)
        try:
            tensors = load_safetensors(data)
        except (SafetensorError, ValueError) as e:
            raise LibraryError(f"{where}/{TENSORS}: unreadable safetensors file ({e})") from None
        key = tensor_key(config)
        if set(tensors) != {key}:
            raise LibraryError(f"{where}/{TENSORS}: expected exactly the tensor {key!r} (config.json depth "
                               f"{config.get('depth', 'input')!r}), found {sorted(tensors)}")
        prompt = tensors[key].float()
        check_entry(config, prompt, where)
        if config["task"] != name:
            raise LibraryError(f"{where}: config.json names task {config['task']!r}, not {name!r}")
        self.check_fingerprint(config["backbone"], f"{where}: the prompt's training runs")
        if prompt.ndim == 2 and prompt.shape[1] != self.fingerprint.get("hidden_size", prompt.shape[1]):
            raise LibraryError(f"{where}: prompt width {prompt.shape[1]} differs from the backbone's hidden size "
                               f"{self.fingerprint['hidden_size']}")
        if fingerprint is not None:
            self.check_backbone(fingerprint)
        entry = Entry(config, prompt)
        if geometry is not None:
            self.check_geometry(entry, geometry)
        return entry

    def load_all(self, fingerprint=None, names: list[str] | None = None,
                 geometry: tuple[int, int, int] | None = None) -> dict[str, Entry]:
        """Every (or the named) entries; all are verified before any is returned (no partial load)."""
        names = self.names() if names is None else list(names)
        return {name: self.load(name, fingerprint, geometry) for name in names}

    def verify(self, fingerprint=None, geometry: tuple[int, int, int] | None = None) -> list[str]:
        """Every problem of the entries (empty when they are sound), including stray folders; the shipped
        meta-prompt's own checks are library/meta.meta_problems (`library verify` runs both)."""
        problems = []
        for name in self.names():
            try:
                self.load(name, fingerprint, geometry)
            except LibraryError as e:
                problems.append(str(e))
        listed = set(self.names()) | ({META_DIR} if META_RECORD in self.manifest else set())
        for child in sorted(self.root.iterdir()):
            if child.is_dir() and child.name not in listed:
                problems.append(f"{child}: folder is not listed in the manifest (not an entry; remove it)")
        return problems

    # ---- writing -------------------------------------------------------------------------------
    def _write_manifest(self, entries: dict) -> None:
        manifest = dict(self.manifest, entries=entries, updated_at=now_iso())
        atomic_write_text(self.root / MANIFEST, _dump(manifest))
        os.chmod(self.root / MANIFEST, 0o644)
        self.manifest = manifest

    def set_record(self, key: str, value: dict) -> None:
        """Write a manifest record beside the entries (e.g. the shipped meta-prompt, library/meta.py)."""
        self.manifest[key] = value
        self._write_manifest(self.manifest["entries"])

    def add(self, entry: Entry, replace: bool = False) -> None:
        """Add (or with `replace`, overwrite) an entry atomically: all of it lands, or none of it."""
        name = check_name(entry.name)
        check_entry(entry.config, entry.prompt, f"entry {name}")
        self.check_fingerprint(entry.config["backbone"], f"entry {name}")
        if name in self.manifest["entries"] and not replace:
            raise LibraryError(f"{self.root}: entry {name!r} exists; remove it first or pass --replace")
        tensor = entry.prompt.detach().float().contiguous().cpu()
        blobs = {TENSORS: save_safetensors({tensor_key(entry.config): tensor}),
                 CONFIG: _dump(entry.config).encode("utf-8")}
        files = {filename: sha256_bytes(data) for filename, data in blobs.items()}
        record = {"type": entry.type, "method": entry.config["method"], "depth": entry.depth, "files": files}
        place_folder(self.root, name, blobs,
                     lambda: self._write_manifest(dict(self.manifest["entries"], **{name: record})))

    def remove(self, name: str) -> None:
        """Drop an entry from the manifest (atomically), then delete its folder."""
        if name not in self.manifest["entries"]:
            raise LibraryError(f"{self.root}: no entry {name!r}; entries: {', '.join(self.names()) or '(none)'}")
        self._write_manifest({k: v for k, v in self.manifest["entries"].items() if k != name})
        shutil.rmtree(self.root / check_name(name), ignore_errors=True)

