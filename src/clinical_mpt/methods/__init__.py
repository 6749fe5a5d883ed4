"""Target-task methods, all trained and evaluated in the same harness (splits, templates, generation,
metrics). Each is one module with `fit(ctx, task, seed, log_path) -> Fitted` (base.py) and one row of
the method table (table.py), the only list of methods; recipes/fit.py runs every method the same way.

This package init stays torch-free (the config reads the table); import the method modules directly.
"""

from clinical_mpt.methods.table import METHOD_NAMES, NEEDS_META_PROMPT, TABLE, Row, row

__all__ = ["METHOD_NAMES", "NEEDS_META_PROMPT", "TABLE", "Row", "row"]
