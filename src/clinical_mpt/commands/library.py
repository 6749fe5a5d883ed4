"""`clinical-mpt library`: build, inspect, check and share a prompt library (one soft prompt per task).

    clinical-mpt library list DIR
    clinical-mpt library show DIR TASK
    clinical-mpt library add DIR --from-run RUN [--variant full] [--method mpt|pt|prefix|deep-mpt|...|teacher|teacher-deep] [--tasks a,b] [--teachers]
                             [--min-score X]
    clinical-mpt library add-meta DIR --from-run RUN [--replace]
    clinical-mpt library remove DIR TASK
    clinical-mpt library verify DIR [--backbone NAME]
    clinical-mpt library score DIR CONFIG [KEY=VALUE ...] [--split dev] [--tasks a,b]
    clinical-mpt library export DIR TASK --peft OUT
    clinical-mpt library import DIR --peft CKPT --task NAME --type TYPE [--instruction TEXT]
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from clinical_mpt.tasks.registry import TASK_TYPES


def configure(parser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = sub.add_parser("list", help="one line per task: type, method, prompt length, parameters, score")
    p.add_argument("dir", metavar="DIR", help="library folder")
    p = sub.add_parser("show", help="print a task's config.json")
    p.add_argument("dir", metavar="DIR")
    p.add_argument("task", metavar="TASK")
    p = sub.add_parser("add", help="add the prompts of a finished run (creates DIR if needed)")
    p.add_argument("dir", metavar="DIR")
    p.add_argument("--from-run", required=True, metavar="RUN", help="the --out folder of `clinical-mpt run`")
    p.add_argument("--variant", default="full", help="adaptation setting: full (default), k16-s0, k0, ...")
    p.add_argument("--method", default="mpt",
                   choices=["mpt", "pt", "prefix", "deep-mpt", "deep-mpt-full-prompt", "teacher", "teacher-deep"],
                   help="MPT target prompts (default), pt baselines, the deep targets (prefix, deep-mpt, "
                        "deep-mpt-full-prompt: stored as their composed key/value prefix), or teacher / "
                        "teacher-deep: only the run's input-level / deep source-task teachers (also from a "
                        "run whose targets are not adapted yet)")
    p.add_argument("--tasks", help="comma-separated tasks: target tasks, or source tasks with --method "
                   "teacher|teacher-deep (default: all of the run; --teachers still adds every teacher)")
    p.add_argument("--teachers", action="store_true", help="also add the run's source-task teacher prompts")
    p.add_argument("--replace", action="store_true", help="overwrite entries that already exist")
    p.add_argument("--min-score", type=float, metavar="X",
                   help="refuse an entry whose primary score is below X, at or below its task's majority "
                        "baseline, or not recorded (the others are still added; exit status 1)")
    p = sub.add_parser("add-meta", help="ship a run's distilled meta-prompt in DIR/meta-prompt (for adapt.meta_prompt)")
    p.add_argument("dir", metavar="DIR")
    p.add_argument("--from-run", required=True, metavar="RUN", help="the --out folder of `clinical-mpt run`")
    p.add_argument("--replace", action="store_true", help="overwrite the meta-prompt DIR already ships")
    p = sub.add_parser("remove", help="remove a task's entry")
    p.add_argument("dir", metavar="DIR")
    p.add_argument("task", metavar="TASK")
    p = sub.add_parser("verify", help="check every checksum, format version and (with --backbone) the backbone")
    p.add_argument("dir", metavar="DIR")
    p.add_argument("--backbone", help="also load this backbone and check the library was trained on it")
    p.add_argument("--dtype", default="auto", help="dtype to load --backbone with")
    p = sub.add_parser("score", help="score entries on a split of a config's task suite and record the scores "
                                     "(and the majority baseline) in each entry")
    p.add_argument("dir", metavar="DIR")
    p.add_argument("config", metavar="CONFIG",
                   help="run config: its data.suite holds the tasks; its backbone, data caps and eval settings "
                        "(classification rank/generate, batch size) are used as evaluation uses them")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="override config fields, e.g. data.suite=DIR")
    p.add_argument("--split", default="dev", help="the suite split to score (default: dev)")
    p.add_argument("--tasks", help="comma-separated entries to score (default: every entry)")
    p = sub.add_parser("export", help="write a task's prompt as a peft prompt-tuning adapter (a deep entry: "
                                      "a prefix-tuning adapter)")
    p.add_argument("dir", metavar="DIR")
    p.add_argument("task", metavar="TASK")
    p.add_argument("--peft", required=True, metavar="OUT", help="output adapter folder")
    p = sub.add_parser("import", help="add a peft prompt-tuning checkpoint as a teacher entry (a prefix-tuning "
                                      "one as a deep prefix entry)")
    p.add_argument("dir", metavar="DIR")
    p.add_argument("--peft", required=True, metavar="CKPT", help="peft adapter folder (safetensors)")
    p.add_argument("--task", required=True, help="name of the new entry")
    p.add_argument("--type", required=True, help=f"task type: {', '.join(TASK_TYPES)}")
    p.add_argument("--instruction", help="instruction the prompt was trained with (default: the type's)")
    p.add_argument("--backbone", help="backbone to create DIR for when it does not exist yet")
    p.add_argument("--replace", action="store_true", help="overwrite an existing entry")


def task_names(text: str | None) -> list[str] | None:
    """`--tasks a,b` -> ["a", "b"]; None when the flag was not given."""
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def primary_score(config: dict) -> str:
    """'test f1 0.412' (test first, then dev, then any split) or '-'."""
    from clinical_mpt.library.baseline import primary_score as recorded
    from clinical_mpt.tasks import get_task_type

    found = recorded(config)
    return f"{found[0]} {get_task_type(config['type']).primary_metric} {found[1]:.3f}" if found else "-"


def baseline_note(config: dict) -> str:
    """'  majority 0.200' or '  majority 0.200  AT/BELOW BASELINE' for `library list` ('' if unknown)."""
    from clinical_mpt.library.baseline import baseline_status

    status = baseline_status(config)
    if status is None:
        return ""
    return f"  majority {status['majority']:.3f}" + ("  AT/BELOW BASELINE" if status["below"] else "")


def do_list(args) -> int:
    from clinical_mpt.library import Library

    lib = Library.open(args.dir)
    print(f"{lib.root}: {len(lib.names())} tasks on backbone {lib.backbone_name!r}")
    print(f"{'task':<28}{'type':<15}{'method':<10}{'depth':<7}{'L':>5}{'parameters':>12}  score")
    for name in lib.names():
        cfg = lib.entry_config(name)
        print(f"{name:<28}{cfg['type']:<15}{cfg['method']:<10}{cfg.get('depth', 'input'):<7}{cfg['prompt_length']:>5}"
              f"{cfg['parameters']:>12,}  "
              f"{primary_score(cfg)}{baseline_note(cfg)}")
    return 0


def do_add(args) -> int:
    from clinical_mpt.library import Library
    from clinical_mpt.library.baseline import refusal, warning
    from clinical_mpt.library.from_run import prompts_from_run

    tasks = task_names(args.tasks)
    found = prompts_from_run(args.from_run, args.variant, tasks, args.teachers, args.method)
    added_with = shlex.join(["clinical-mpt", "library", "add", str(args.dir), "--from-run", str(args.from_run),
                             "--variant", args.variant, "--method", args.method]
                            + (["--tasks", args.tasks] if args.tasks else [])
                            + (["--teachers"] if args.teachers else [])
                            + (["--min-score", str(args.min_score)] if args.min_score is not None else []))
    entries, refused = [], 0
    for entry in found.entries:
        if args.min_score is not None and (reason := refusal(entry.config, args.min_score)):
            print(f"refused {entry.name}: {reason}", file=sys.stderr)
            refused += 1
        else:
            entries.append(entry)
    if not entries:
        return 1
    lib = Library.open_or_create(args.dir, found.backbone_name, found.fingerprint)
    for entry in entries:
        entry.config["source"]["added_with"] = added_with
        if note := warning(entry.config):
            print(f"warning: {note}", file=sys.stderr)
        lib.add(entry, replace=args.replace)
        print(f"added {entry.name} ({entry.type}, {entry.config['method']}, L={entry.prompt_length}, "
              f"{entry.parameters:,} parameters)")
    return 1 if refused else 0


def do_verify(args) -> int:
    from clinical_mpt.library import Library

    lib = Library.open(args.dir)
    fingerprint = geometry = None
    if args.backbone:
        from clinical_mpt.backbone import load_backbone
        from clinical_mpt.library.geometry import model_geometry

        backbone = load_backbone(args.backbone, args.dtype)
        fingerprint, geometry = backbone.fingerprint, model_geometry(backbone.model)
    from clinical_mpt.library.meta import meta_problems

    problems = lib.verify(fingerprint, geometry) + meta_problems(lib, fingerprint)  # entries, then the shipped P*
    for p in problems:
        print(f"FAIL {p}")
    checked = "files, versions" + (f" and backbone {args.backbone!r}" if fingerprint else "")
    shipped = " + the meta-prompt" if "meta_prompt" in lib.manifest else ""
    print(f"{lib.root}: {len(lib.names())} entries{shipped}, {len(problems)} problems ({checked} checked)")
    return 1 if problems else 0


def do_score(args) -> int:
    from clinical_mpt.config import load_config
    from clinical_mpt.data.suite import load_suite
    from clinical_mpt.library import Library
    from clinical_mpt.library.baseline import warning
    from clinical_mpt.library.geometry import model_geometry
    from clinical_mpt.library.scoring import score_entry, suite_specs, with_scores
    from clinical_mpt.recipes.common import load_backbone_for

    lib = Library.open(args.dir)
    cfg = load_config(args.config, args.overrides)
    names = task_names(args.tasks) or lib.names()
    entries = list(lib.load_all(None, names).values())  # checksums and versions, before the backbone loads
    specs = suite_specs(load_suite(cfg.data.suite, cfg.data.synth_seed), entries)
    backbone = load_backbone_for(cfg)
    lib.check_backbone(backbone.fingerprint)
    command = shlex.join(["clinical-mpt", "library", "score", str(args.dir), str(args.config),
                          *args.overrides, "--split", args.split] + (["--tasks", args.tasks] if args.tasks else []))
    geometry = model_geometry(backbone.model)
    for entry in entries:
        lib.check_geometry(entry, geometry)
        metrics, majority = score_entry(backbone, entry, specs[entry.name], cfg, args.split)
        scored = with_scores(entry, args.split, metrics, majority, command)
        lib.add(scored, replace=True)
        metric = majority["metric"]
        print(f"{entry.name:<28}{args.split} {metric} {metrics[metric]:.3f}  majority {majority['score']:.3f}  "
              f"(n = {metrics['n']})", flush=True)
        if note := warning(scored.config, (args.split,)):
            print(f"warning: {note}", file=sys.stderr)
    return 0


def do_import(args) -> int:
    from clinical_mpt.library import Library, LibraryError
    from clinical_mpt.library.peft_io import entry_from_peft
    from clinical_mpt.library.store import MANIFEST
    from clinical_mpt.tasks import get_task_type

    get_task_type(args.type)
    if (Path(args.dir) / MANIFEST).exists():
        lib = Library.open(args.dir)
    elif args.backbone:
        from clinical_mpt.backbone import load_backbone

        lib = Library.create(args.dir, args.backbone, load_backbone(args.backbone, "float32").fingerprint.to_dict())
    else:
        raise LibraryError(f"{args.dir}: no library yet; pass --backbone NAME to create one for that backbone")
    command = shlex.join(["clinical-mpt", "library", "import", str(args.dir), "--peft", str(args.peft),
                          "--task", args.task, "--type", args.type])
    from clinical_mpt.library.geometry import named_geometry

    entry = entry_from_peft(args.peft, args.task, args.type, lib.fingerprint, args.instruction, command,
                            named_geometry(lib.backbone_name))
    lib.add(entry, replace=args.replace)
    print(f"imported {args.peft} as {args.task} ({args.type}, {entry.depth}, L={entry.prompt_length})")
    return 0


def main(args) -> int:
    from clinical_mpt.library import Library

    if args.action == "list":
        return do_list(args)
    if args.action == "show":
        print(json.dumps(Library.open(args.dir).entry_config(args.task), indent=2, ensure_ascii=False))
        return 0
    if args.action == "add":
        return do_add(args)
    if args.action == "add-meta":
        from clinical_mpt.library.meta import META_DIR, add_meta_prompt

        lib = add_meta_prompt(args.dir, args.from_run, args.replace)
        print(f"added the meta-prompt of {args.from_run} as {lib.root / META_DIR} "
              f"(adapt from it with adapt.meta_prompt: {lib.root / META_DIR})")
        return 0
    if args.action == "remove":
        Library.open(args.dir).remove(args.task)
        print(f"removed {args.task}")
        return 0
    if args.action == "verify":
        return do_verify(args)
    if args.action == "score":
        return do_score(args)
    if args.action == "export":
        from clinical_mpt.library.peft_io import export_peft

        lib = Library.open(args.dir)
        entry = lib.load(args.task)
        out = export_peft(entry, args.peft, lib.backbone_name)
        print(f"wrote peft {'prefix' if entry.depth == 'deep' else 'prompt'}-tuning adapter {out}")
        return 0
    return do_import(args)
