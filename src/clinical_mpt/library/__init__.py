"""The prompt library: one verified, self-describing soft prompt per clinical task.

    from clinical_mpt.library import Library, resolve_library
    lib = Library.open(resolve_library(None))          # --library, $CLINICAL_MPT_LIBRARY or libraries/default
    entries = lib.load_all(backbone.fingerprint)       # {task: Entry(config, prompt (L, d))}, all verified

See `store.py` for the layout and guarantees, `from_run.py` for building entries from a run,
`peft_io.py` for peft interop, and docs/serving.md.
"""

from clinical_mpt.library.entry import FORMAT_VERSION, Entry, LibraryError, entry_config
from clinical_mpt.library.paths import ENV_VAR, default_library_path, resolve_library
from clinical_mpt.library.store import Library

__all__ = ["FORMAT_VERSION", "Entry", "LibraryError", "entry_config", "Library", "ENV_VAR",
           "default_library_path", "resolve_library"]
