"""Each command's one-line --help summary is written once, in `clinical_mpt.cli.COMMANDS`: no command
module keeps its own copy to drift from it (the modules are read, not imported, so torch stays unloaded)."""

import importlib.util
import re
from pathlib import Path

from clinical_mpt.cli import COMMANDS


def test_command_modules_keep_no_help_copy():
    for name, (module, summary) in COMMANDS.items():
        assert summary.strip(), name
        source = Path(importlib.util.find_spec(module).origin).read_text(encoding="utf-8")
        assert not re.search(r"^HELP\s*=", source, re.MULTILINE), (
            f"{module} defines HELP; the summary of `clinical-mpt {name}` lives in cli.COMMANDS")
