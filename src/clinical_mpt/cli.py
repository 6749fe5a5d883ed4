"""The one `clinical-mpt` entry point: a dispatch table from command name to the module that runs it.

Each command module exposes `HELP` (one line), `configure(parser)` and `main(args) -> int | None`.
Modules are imported only when their command runs, so `clinical-mpt --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from clinical_mpt.errors import ClinicalMPTError

COMMANDS = {
    # the three MPT stages and their orchestration
    "teach": "clinical_mpt.recipes.teach",
    "distill": "clinical_mpt.recipes.distill",
    "adapt": "clinical_mpt.recipes.adapt",
    "evaluate": "clinical_mpt.recipes.evaluate",
    "run": "clinical_mpt.recipes.run",
    # data and metrics
    "data": "clinical_mpt.data.cli",
    "score": "clinical_mpt.tasks.score_cli",
    # planning
    "roi": "clinical_mpt.roi",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clinical-mpt",
        description="Parameter-efficient clinical NLP: one frozen LLM, one tiny soft prompt per task "
                    "(multitask prompt distillation and decomposition).",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show full tracebacks on errors")
        module.configure(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    args = build_parser().parse_args(argv)
    try:
        return int(args._module.main(args) or 0)
    except ClinicalMPTError as e:
        if args.debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
