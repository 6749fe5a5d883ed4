"""The one `clinical-mpt` entry point: a dispatch table from command name to the module that runs it.

Each command module exposes `configure(parser)` and `main(args) -> int | None`. Only the module of
the command being run is imported, so `clinical-mpt --help` stays fast and heavy imports (torch,
transformers) happen only when needed.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from clinical_mpt.errors import ClinicalMPTError

# name -> (module, one-line help): the one place a command's --help summary is written
COMMANDS = {
    "teach": ("clinical_mpt.recipes.teach", "stage 1: train one soft prompt (teacher) per source task"),
    "distill": ("clinical_mpt.recipes.distill", "stage 2: distil the teachers into a shared meta-prompt P* and per-task u, v"),
    "adapt": ("clinical_mpt.recipes.adapt", "stage 3: adapt P* to each target task by training u, v (zero/few-shot too)"),
    "evaluate": ("clinical_mpt.recipes.evaluate", "train every configured method on the target tasks (full data, k-shot), generate, score"),
    "run": ("clinical_mpt.recipes.run", "run every stage of a config (teach, distill, adapt, evaluate) and write results.json"),
    "sweep": ("clinical_mpt.recipes.sweep", "choose a method's learning rate on the target tasks' dev split (dev loss after training)"),
    "data": ("clinical_mpt.data.cli", "convert clinical corpora to the canonical format, or generate the synthetic suite"),
    "score": ("clinical_mpt.commands.score", "score a prediction file against a gold file"),
    # the prompt library and serving
    "library": ("clinical_mpt.commands.library", "manage prompt libraries: list, show, add (from a run), remove, verify, export/import peft prompts"),
    "predict": ("clinical_mpt.commands.predict", "predict with a task of the prompt library (a text, or a JSONL file of inputs)"),
    "serve": ("clinical_mpt.commands.serve", "serve the prompt library over HTTP (mixed-task dynamic batching, cached prompt states)"),
    # results and planning
    "report": ("clinical_mpt.commands.report", "write report.md, results.csv and PNG plots for a finished run folder"),
    "roi": ("clinical_mpt.roi", "compare MPT, prompt tuning, LoRA and full fine-tuning on parameters, storage and memory"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The CLI parser; only `command`'s module is imported and configured."""
    parser = argparse.ArgumentParser(
        prog="clinical-mpt",
        description="Parameter-efficient clinical NLP: one frozen LLM, one tiny soft prompt per task "
                    "(multitask prompt distillation and decomposition).",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show full tracebacks on errors")
        if name == command:
            module = importlib.import_module(module_name)
            module.configure(p)
            p.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command)
    args, extra = parser.parse_known_args(argv)
    if extra:  # KEY=VALUE overrides may also come after options such as --out
        if not hasattr(args, "overrides") or any(e.startswith("-") or "=" not in e for e in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.overrides = list(args.overrides) + extra
    code = _run(args)
    if dist := sys.modules.get("clinical_mpt.distributed"):  # imported only by commands that may launch
        dist.exit_launched(code)  # a launched rank ends here, without interpreter finalization
    return code


def _run(args) -> int:
    """The command's exit status: 0, its own, 2 for a ClinicalMPTError, 130 when interrupted."""
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
