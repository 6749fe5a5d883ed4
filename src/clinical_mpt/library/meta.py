"""The distilled meta-prompt P* a library ships beside its task entries, so that a new task can be
adapted from it without teaching and distilling again (`adapt.meta_prompt: DIR/meta-prompt`).

    DIR/meta-prompt/config.json          the distill artifact's config.json (kind "meta-prompt", as written
    DIR/meta-prompt/prompt.safetensors   by recipes/distill.py): {"shared" (L, d), "u" (K, L, r), "v" (K, r, d)}
    DIR/manifest.json  "meta_prompt": {"files": {file: sha256}, "tasks", "prompt_length", "rank", "source"}

The folder is a byte-for-byte copy of a run's distill artifact (its own checksum included), so it loads
with artifacts.load_artifact like RUN/distill; the manifest pins both files like an entry's, and
`library verify` checks them, the artifact's checksum and the backbone.

    clinical-mpt library add-meta DIR --from-run RUN [--replace]
"""

from __future__ import annotations

from pathlib import Path

from clinical_mpt.library.entry import LibraryError
from clinical_mpt.library.store import META_DIR, Library, place_folder, sha256_bytes
from clinical_mpt.library.store import META_RECORD as RECORD

FILES = ("config.json", "prompt.safetensors")
META_KEYS = {"shared", "u", "v"}


def read_meta(folder: Path, fingerprint=None) -> tuple[dict, dict]:
    """(tensors, config.json) of a meta-prompt artifact, checksum-verified; LibraryError when it is not one."""
    from clinical_mpt.artifacts import load_artifact
    from clinical_mpt.errors import ArtifactError

    try:
        tensors, config = load_artifact(folder, fingerprint)
    except ArtifactError as e:
        raise LibraryError(str(e)) from None
    if config.get("kind") != "meta-prompt" or set(tensors) != META_KEYS:
        raise LibraryError(f"{folder}: not a distilled meta-prompt (kind {config.get('kind')!r}, tensors "
                           f"{sorted(tensors)}; expected kind 'meta-prompt' with {sorted(META_KEYS)})")
    return tensors, config


def add_meta_prompt(root: str | Path, run: str | Path, replace: bool = False) -> Library:
    """Copy RUN's meta-prompt into ROOT/meta-prompt and pin it in the manifest (creating the library when
    needed); all of it lands, or none of it. -> the Library."""
    from clinical_mpt.library.from_run import read_run_config, run_meta_dir

    source = run_meta_dir(Path(run))
    if not (source / "config.json").is_file():
        raise LibraryError(f"{source}: no distilled meta-prompt here; run the teach and distill stages "
                           f"(`clinical-mpt run CONFIG --out {run}`) first")
    _, config = read_meta(source)
    backbone_name = (read_run_config(Path(run))[0].get("backbone") or {}).get("name", "default")
    lib = Library.open_or_create(root, backbone_name, config["backbone"])
    lib.check_fingerprint(config["backbone"], f"the meta-prompt of {run}")
    if RECORD in lib.manifest and not replace:
        raise LibraryError(f"{lib.root}: already ships a meta-prompt; pass --replace to overwrite it")
    if META_DIR in lib.manifest["entries"]:
        raise LibraryError(f"{lib.root}: an entry is named {META_DIR!r}; remove it first")
    blobs = {name: (source / name).read_bytes() for name in FILES}
    record = {"files": {name: sha256_bytes(data) for name, data in blobs.items()}, "tasks": config.get("tasks", []),
              "prompt_length": config.get("prompt_length"), "rank": config.get("rank"),
              "source": {"run": str(run), "artifact": str(source)}}
    place_folder(lib.root, META_DIR, blobs, lambda: lib.set_record(RECORD, record))
    return lib


def meta_problems(lib: Library, fingerprint=None) -> list[str]:
    """What is wrong with the library's shipped meta-prompt (empty when it ships none or it is sound)."""
    record = lib.manifest.get(RECORD)
    if record is None:
        return []
    folder = lib.root / META_DIR
    if not isinstance(record, dict) or not isinstance(record.get("files"), dict):
        return [f"{lib.root}/manifest.json: '{RECORD}' needs a 'files' object of SHA-256 checksums"]
    for name in FILES:
        try:
            data = (folder / name).read_bytes()
        except OSError:
            return [f"{folder / name}: missing (the manifest lists it)"]
        if record["files"].get(name) != sha256_bytes(data):
            return [f"{folder / name}: SHA-256 does not match the manifest (file changed or corrupt); restore it "
                    f"or re-add it with `clinical-mpt library add-meta {lib.root} --from-run RUN --replace`"]
    try:
        _, config = read_meta(folder)
        lib.check_fingerprint(config["backbone"], f"{folder}: the meta-prompt's training runs")
        if fingerprint is not None:
            lib.check_backbone(fingerprint)
    except LibraryError as e:
        return [str(e)]
    return []
