"""The live prompt library of `clinical-mpt serve`: library changes reach the server while it runs.

    live = LiveLibrary(root, engine, batcher, interval_s=2.0)
    live.start()        # remember the library as loaded, then poll it every interval_s
    live.reload()       # re-read and re-verify every entry now (POST /v1/library/reload)
    live.stop()

Every poll compares the library's signature (the manifest's bytes and the size and modification
time of every file in its entry folders) with the last one loaded; a difference triggers a reload.
A reload reads one consistent snapshot: the manifest, then every listed entry through
`Library.load` (SHA-256 of each file, format, backbone fingerprint), then the manifest again, and
starts over if it changed meanwhile (an add or remove ran during the read). When an entry fails
verification the second manifest read waits SETTLE_S first: `library add` renames the entry folder
into place a moment before it rewrites the manifest, so an entry being replaced can look wrong for
that moment. Entries that still fail are refused, each with a log line naming it and why; all other
entries are served.
A manifest that cannot be read at all leaves the served tasks as they were.

The snapshot is handed to the engine on the batcher's model thread between two batches
(`DynamicBatcher.call`): a batch in flight finishes with the prompts it started with, removed
tasks answer 404 from then on and their cached prompt states are dropped, unchanged tasks keep theirs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from clinical_mpt.library import Library, LibraryError
from clinical_mpt.library.geometry import model_geometry
from clinical_mpt.library.store import MANIFEST
from clinical_mpt.serve.engine import TaskPrompt

log = logging.getLogger("clinical_mpt.serve")
SNAPSHOT_ATTEMPTS = 5     # reads of a library that keeps changing before the last one is used
SETTLE_S = 0.2            # after a refused entry, how long to wait for an add / remove in progress to finish
APPLY_TIMEOUT_S = 120.0   # longest wait for the model thread to finish its batch and take the new tasks


@dataclass
class Snapshot:
    """The verified tasks of one consistent read of a library, and the entries refused."""

    manifest_sha256: str
    tasks: list[TaskPrompt]
    refused: dict[str, str] = field(default_factory=dict)  # task -> why


def manifest_bytes(root: Path) -> bytes:
    try:
        return (root / MANIFEST).read_bytes()
    except OSError as e:
        raise LibraryError(f"{root / MANIFEST}: unreadable ({e.strerror})") from None


def library_signature(root: Path) -> str:
    """Changes whenever the manifest or a file of an entry folder does (hidden temporary folders of
    an add in progress are skipped). Cheap: one read of the manifest and one stat per file."""
    try:
        parts = [hashlib.sha256(manifest_bytes(root)).hexdigest()]
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            for f in sorted(folder.iterdir()):
                st = f.stat()
                parts.append(f"{folder.name}/{f.name}:{st.st_size}:{st.st_mtime_ns}")
    except (OSError, LibraryError):  # a folder removed while listed: the next poll sees the result
        return "unreadable"
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def read_entries(lib: Library, fingerprint, only: set[str] | None,
                 geometry: tuple[int, int, int] | None = None) -> tuple[list[TaskPrompt], dict[str, str]]:
    """(every listed entry that verifies, {refused entry: why}); `only` limits the names served;
    `geometry` (layers, kv_heads, head_dim) refuses a deep entry whose prefix does not fit the backbone."""
    tasks, refused = [], {}
    for name in lib.names():
        if only is not None and name not in only:
            continue
        try:
            tasks.append(TaskPrompt.from_entry(lib.load(name, fingerprint, geometry)))
        except LibraryError as e:
            refused[name] = str(e)
    return tasks, refused


def load_snapshot(root: Path, fingerprint, only: set[str] | None = None,
                  geometry: tuple[int, int, int] | None = None) -> Snapshot:
    """One consistent, verified read of the library at `root` (see the module doc). LibraryError
    when the manifest itself cannot be read."""
    for _ in range(SNAPSHOT_ATTEMPTS):
        before = manifest_bytes(root)
        tasks, refused = read_entries(Library.open(root), fingerprint, only, geometry)
        if refused:
            time.sleep(SETTLE_S)
        if manifest_bytes(root) == before:
            break
    return Snapshot(hashlib.sha256(before).hexdigest(), tasks, refused)


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


class LiveLibrary:
    """Keeps `engine` serving what the library at `root` holds (see the module doc)."""

    def __init__(self, root: str | Path, engine, batcher, interval_s: float | None = 2.0,
                 only: list[str] | None = None):
        self.root, self.engine, self.batcher = Path(root), engine, batcher
        self.interval_s, self.only = interval_s, set(only) if only is not None else None
        self.signature: str | None = None
        self.manifest_sha256: str | None = None
        self.loaded_at: str | None = None
        self.refused: dict[str, str] = {}
        self._lock = threading.Lock()          # one reload at a time (poller and HTTP)
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Record the library the engine was loaded from, then poll it (when interval_s is set)."""
        self.signature = library_signature(self.root)
        self.manifest_sha256 = hashlib.sha256(manifest_bytes(self.root)).hexdigest()
        self.loaded_at = now_iso()
        if self.interval_s and self._thread is None:
            self._stopped.clear()
            self._thread = threading.Thread(target=self._poll, name="clinical-mpt-library", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def status(self) -> dict:
        return {"manifest_sha256": self.manifest_sha256, "loaded_at": self.loaded_at,
                "tasks": sorted(self.engine.tasks), "refused": sorted(self.refused)}

    def reload(self) -> dict:
        """Re-read and re-verify every entry, then serve the result -> status plus the changes.
        LibraryError (the served tasks unchanged) when the manifest cannot be read."""
        with self._lock:
            signature = library_signature(self.root)
            try:
                snap = load_snapshot(self.root, self.engine.backbone.fingerprint, self.only,
                                     model_geometry(self.engine.backbone.model))
            except LibraryError as e:
                self.signature = signature  # polls retry once the library changes again
                log.error("library %s not reloaded; still serving %d tasks: %s", self.root, len(self.engine.tasks), e)
                raise
            for name, why in sorted(snap.refused.items()):
                log.error("library: refused entry %s: %s", name, why)
            changes = self.batcher.call(lambda: self.engine.update_tasks(snap.tasks)).result(APPLY_TIMEOUT_S)
            self.signature, self.manifest_sha256, self.refused = signature, snap.manifest_sha256, snap.refused
            self.loaded_at = now_iso()
            log.info("library: serving %d tasks (added: %s; removed: %s; changed: %s; refused: %s)",
                     len(snap.tasks), *(", ".join(changes[k]) or "-" for k in ("added", "removed", "changed")),
                     ", ".join(sorted(snap.refused)) or "-")
            return {**self.status(), **changes}

    def _poll(self) -> None:
        while not self._stopped.wait(self.interval_s):
            try:
                if library_signature(self.root) != self.signature:
                    self.reload()
            except LibraryError:  # reload logged it
                pass
            except Exception as e:  # logged; the server keeps serving and polling
                log.error("library poll failed: %s: %s", type(e).__name__, e)
