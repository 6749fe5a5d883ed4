"""Where the prompt library is when `--library` is not given.

Order: the `--library` argument; the `CLINICAL_MPT_LIBRARY` environment variable; the shipped
`libraries/default` folder of the source checkout (the package is installed editable).
"""

from __future__ import annotations

import os
from pathlib import Path

import clinical_mpt
from clinical_mpt.library.entry import LibraryError
from clinical_mpt.library.store import MANIFEST

ENV_VAR = "CLINICAL_MPT_LIBRARY"


def default_library_path() -> Path:
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    return Path(clinical_mpt.__file__).resolve().parents[2] / "libraries" / "default"


def resolve_library(path: str | Path | None) -> Path:
    """The library folder to use; LibraryError with the ways to fix it when there is none."""
    chosen = Path(path) if path else default_library_path()
    if not (chosen / MANIFEST).is_file():
        how = "--library" if path else (f"${ENV_VAR}" if os.environ.get(ENV_VAR) else "the default location")
        raise LibraryError(f"no prompt library at {chosen} (from {how}); pass --library DIR, set {ENV_VAR}, "
                           "or build one with `clinical-mpt library add DIR --from-run RUN`")
    return chosen
