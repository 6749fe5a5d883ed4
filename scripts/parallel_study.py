"""Run a study config as many `clinical-mpt` processes at once on one machine, in dependency order,
within a wall-clock deadline: the way to fill one GPU with a small backbone (each process alone keeps an
H200 mostly idle: a 135M-parameter step is bound by kernel launches, not arithmetic).

Every stage and every (method, setting, task) result is keyed by its config, so the processes share the
run folder without colliding and `clinical-mpt run CONFIG` afterwards reuses everything they finished:

    teach shares   clinical-mpt teach CONFIG --depth D --task ...        (source tasks dealt round-robin)
    distill D      clinical-mpt teach CONFIG --depth D && clinical-mpt distill CONFIG --depth D
    M full         clinical-mpt run CONFIG methods=[M] protocol.shots=[] protocol.shot_methods=[]
    M kK-sS        clinical-mpt run CONFIG methods=[M] protocol.full_data=false protocol.shots=[K]
                                       protocol.seeds=[S] protocol.shot_methods=[M]

A job starts once what it reads is finished (a method that starts from P* waits for its depth's
distillation; baselines start at once; rows that share trained artifacts, mpt and mpt-vectors, are one
job), at most --jobs at a time, the most needed first: teachers, distillation, full data, then the
k-shot draws seed by seed. At the deadline (or on SIGINT/SIGTERM) the running jobs are stopped;
OUT/parallel.json records every job's command, state and seconds, and which (method, setting) rows
finished, so a partial run says what it holds. Logs: OUT/logs/<job>.log. The jobs' own results.json
(each holds one row) is removed and OUT/config.yaml is the study's again: `clinical-mpt run CONFIG`
writes results.json afterwards, reusing every finished stage and row by key (rows that did not finish
are trained there; `scripts/collect_results.py OUT` collects every scored (method, setting, task)
record and trains nothing).

--pack DEST writes OUT's small artifacts to DEST/<name>.tar.gz (split into 15 MB parts when larger):
no checkpoints, and no tensor that nothing will read again, i.e. the deep teachers' once their
distillation is done and the deep, prefix and k-shot target prompts of rows already scored; a large
tensor still needed (an unfinished stage or unscored row) is left out with its whole folder, so a
later run retrains it rather than finding a key without its tensor.

    python scripts/parallel_study.py CONFIG [KEY=VALUE ...] [--jobs 12] [--shares 3] [--deadline SECONDS]
                                             [--pack DEST] [--dry-run]
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from clinical_mpt import meta_source, protocol
from clinical_mpt.config import load_config
from clinical_mpt.data.jsonl import write_json
from clinical_mpt.data.suite import load_suite, select_tasks
from clinical_mpt.methods.table import meta_prompt_depths, row
from clinical_mpt.protocol import runs_for, settings

CLI = [sys.executable, "-m", "clinical_mpt"]


@dataclass
class Job:
    name: str
    commands: list[list[str]]        # run one after another; the job fails at the first that fails
    needs: list[str] = field(default_factory=list)
    priority: int = 0                # lower starts first among ready jobs
    rows: list[tuple[str, str]] = field(default_factory=list)  # the (method, setting) results it makes
    state: str = "waiting"           # waiting | running | done | failed | stopped | skipped
    seconds: float = 0.0
    proc: subprocess.Popen | None = None
    step: int = 0
    started: float = 0.0


def plan(config: str, overrides: list[str], shares: int) -> list[Job]:
    """The jobs of a study config, with their dependencies and priorities."""
    cfg = load_config(config, overrides)
    base = [config, *overrides]
    jobs: list[Job] = []
    sources = [s["name"] for s in select_tasks(load_suite(cfg.data.suite, cfg.data.synth_seed), "source",
                                                cfg.data.source_tasks)]
    depths = [d for d in meta_prompt_depths(cfg.methods) if not (d == "input" and meta_source.given(cfg))]
    for depth in depths:  # (an input P* named by adapt.meta_prompt is not distilled here)
        deal = [sources[i::shares] for i in range(shares) if sources[i::shares]]
        names = [f"teach-{depth}-{i}" for i in range(len(deal))]
        for name, tasks in zip(names, deal):
            jobs.append(Job(name, [[*CLI, "teach", *base, "--depth", depth, *[a for t in tasks for a in ("--task", t)]]],
                            priority=0))
        jobs.append(Job(f"distill-{depth}", [[*CLI, "teach", *base, "--depth", depth],
                                             [*CLI, "distill", *base, "--depth", depth]], names, priority=1))
    shot_methods = cfg.protocol.shot_methods or cfg.methods
    for s in settings(cfg.protocol):
        groups: dict[str, list[str]] = {}  # rows that evaluate the same trained artifacts run in one job
        for m in cfg.methods:
            if runs_for(m, s, shot_methods):
                groups.setdefault(row(m).artifact_owner, []).append(m)
        for methods in groups.values():
            depth = row(methods[0]).meta_prompt
            needs = [f"distill-{depth}"] if depth in depths else []
            if s.shots is None:
                sets = ["protocol.shots=[]", "protocol.shot_methods=[]"]
                priority = 2
            else:
                sets = ["protocol.full_data=false", f"protocol.shots=[{s.shots}]", f"protocol.seeds=[{s.seed}]",
                        f"protocol.shot_methods=[{','.join(methods)}]"]
                priority = 3 + cfg.protocol.seeds.index(s.seed)
            jobs.append(Job(f"{'+'.join(methods)}-{s.name}", [[*CLI, "run", *base, f"methods=[{','.join(methods)}]",
                                                              *sets]], needs, priority,
                            rows=[(m, s.name) for m in methods]))
    return jobs


def shown(command: list[str]) -> str:
    """A job's command as a user would type it."""
    return shlex.join(["clinical-mpt", *command[3:]])


def start(job: Job, logs: Path, env: dict) -> None:
    log = open(logs / f"{job.name}.log", "a")
    log.write(f"$ {shlex.join(job.commands[job.step])}\n")
    log.flush()
    job.proc = subprocess.Popen(job.commands[job.step], stdout=log, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)  # its own process group: stopped as a whole


def stop(running: list[Job], grace: float = 15.0) -> None:
    """SIGTERM every running job's process group, then SIGKILL what is left after `grace` seconds."""
    for job in running:
        job.seconds, job.state = round(time.time() - job.started, 1), "stopped"
        try:
            os.killpg(job.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    end = time.time() + grace
    for job in running:
        try:
            job.proc.wait(timeout=max(0.1, end - time.time()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(job.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def schedule(jobs: list[Job], logs: Path, max_jobs: int, deadline: float, env: dict, poll: float = 1.0) -> None:
    """Start ready jobs (most needed first) until all end or the deadline passes; then stop the rest."""
    began = time.time()
    by_name = {j.name: j for j in jobs}
    while True:
        now = time.time()
        for j in [j for j in jobs if j.state == "running"]:
            code = j.proc.poll()
            if code is None:
                continue
            j.seconds = round(now - j.started, 1)
            if code != 0:
                j.state = "failed"
                print(f"[{now - began:6.0f}s] {j.name} FAILED (exit {code}): see {logs / (j.name + '.log')}", flush=True)
            elif j.step + 1 < len(j.commands):
                j.step += 1
                start(j, logs, env)
            else:
                j.state = "done"
                print(f"[{now - began:6.0f}s] {j.name} done in {j.seconds:.0f}s", flush=True)
        for j in [j for j in jobs if j.state == "waiting"]:  # a failed need: it can never run
            if any(by_name[n].state in ("failed", "skipped") for n in j.needs):
                j.state = "skipped"
        if now >= deadline:
            stop([j for j in jobs if j.state == "running"])
            for j in jobs:
                if j.state == "waiting":
                    j.state = "skipped"
            print(f"[{time.time() - began:6.0f}s] deadline: stopped the jobs still running", flush=True)
            return
        running = sum(j.state == "running" for j in jobs)
        ready = sorted((j for j in jobs if j.state == "waiting" and all(by_name[n].state == "done" for n in j.needs)),
                       key=lambda j: j.priority)
        for j in ready[:max(0, max_jobs - running)]:
            j.state, j.started = "running", time.time()
            start(j, logs, env)
            print(f"[{time.time() - began:6.0f}s] {j.name} started", flush=True)
        if all(j.state not in ("waiting", "running") for j in jobs):
            return
        time.sleep(poll)


def summary(jobs: list[Job], seconds: float) -> dict:
    finished = sorted(f"{m} {s}" for j in jobs if j.state == "done" for m, s in j.rows)
    missing = sorted(f"{m} {s}" for j in jobs if j.state != "done" for m, s in j.rows)
    return {"seconds": round(seconds, 1), "finished_rows": finished, "missing_rows": missing,
            "jobs": [{"name": j.name, "state": j.state, "seconds": j.seconds, "needs": j.needs,
                      "commands": [shown(c) for c in j.commands]} for j in jobs]}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes at once (default: CPU count)")
    p.add_argument("--shares", type=int, default=3, help="processes the teachers of each depth are split over")
    p.add_argument("--deadline", type=float, default=0, help="stop what is still running after this many "
                                                                "seconds (0 = none)")
    p.add_argument("--pack", metavar="DEST", help="then pack the run's small artifacts into DEST/<name>.tar.gz")
    p.add_argument("--dry-run", action="store_true", help="print the jobs and exit")
    args = p.parse_args()
    began = time.time()
    cfg = load_config(args.config, args.overrides)
    out = Path(cfg.out or f"runs/{cfg.name}")
    jobs = plan(args.config, args.overrides, max(1, args.shares))
    for j in jobs:
        print(f"{j.name:<34} needs {', '.join(j.needs) or '-':<26} " + " && ".join(shown(c) for c in j.commands))
    if args.dry_run:
        return 0
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"), "PYTHONUNBUFFERED": "1"}

    def interrupted(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, interrupted)
    try:
        schedule(jobs, logs, args.jobs, began + args.deadline if args.deadline else float("inf"), env)
    except KeyboardInterrupt as e:
        print(f"interrupted ({e or 'SIGINT'}): stopping the jobs still running", flush=True)
        stop([j for j in jobs if j.state == "running"])
        for j in jobs:
            if j.state == "waiting":
                j.state = "skipped"
    finally:
        report = summary(jobs, time.time() - began)
        write_json(out / "parallel.json", report)
        restore_run_files(cfg, args.config, out)
    print(f"{len(report['finished_rows'])} (method, setting) rows finished, {len(report['missing_rows'])} not; "
          f"{out / 'parallel.json'}; `clinical-mpt run {args.config}` writes results.json, reusing them", flush=True)
    if args.pack:
        for path in pack(out, Path(args.pack)):
            print(f"packed {path} ({path.stat().st_size / 1e6:.1f} MB)", flush=True)
    return 0 if not report["missing_rows"] and all(j.state == "done" for j in jobs) else 1


def restore_run_files(cfg, config: str, out: Path) -> None:
    """Each `run` job wrote its own one-row results.json and its overrides into config.yaml: remove the
    first (results.json comes from `clinical-mpt run CONFIG`), and make the second the study's again."""
    from clinical_mpt.recipes.common import write_run_config

    (out / "results.json").unlink(missing_ok=True)
    write_run_config(out, config, cfg)


BIG = 1_000_000  # bytes: a tensor larger than this is packed only while something still needs it


def needed_elsewhere(out: Path, artifact: Path) -> bool | None:
    """Whether a stage or row finished that makes this artifact's tensor unnecessary: True when it is
    used up (deep teachers after their distillation; a target prompt after its row was scored), False
    when it is still needed, None for anything else (always packed whole)."""
    if artifact.relative_to(out).parts[0] == "teachers-deep":
        return (out / "distill-deep" / "stage.json").is_file()
    run = protocol.artifact_run(out, artifact)
    if run is None or artifact.parent != protocol.artifact_dir(out, *run):  # not one task's folder
        return None
    method, setting = run
    return (out / "eval" / method / setting.name / artifact.name / "metrics.json").is_file()


def packed_files(out: Path) -> list[Path]:
    """The files of a run folder worth keeping (see --pack)."""
    keep = []
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        rel = path.relative_to(out)
        if rel.parts[0] == "checkpoints" or path.name.endswith(".tmp"):
            continue
        folder = path.parent
        tensor = folder / "prompt.safetensors"
        if tensor.is_file() and (folder / "config.json").is_file():
            large = tensor.stat().st_size > BIG or any(p.startswith("k") and "-s" in p for p in rel.parts[:-1])
            used_up = needed_elsewhere(out, folder)
            if large and used_up is False:
                continue  # still needed but too large to carry: the folder is retrained
            if large and used_up and path == tensor:
                continue  # its key and metrics stay; the tensor is read no more
        keep.append(path)
    return keep


def pack(out: Path, dest: Path, part_bytes: int = 15_000_000) -> list[Path]:
    """DEST/<run name>.tar.gz of `packed_files` (paths as given in `out`), split into parts when larger."""
    import tarfile

    dest.mkdir(parents=True, exist_ok=True)
    archive = dest / f"{out.name}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in packed_files(out):
            tar.add(path, arcname=str(path))
    if archive.stat().st_size <= part_bytes:
        return [archive]
    data, parts = archive.read_bytes(), []
    for i in range(0, len(data), part_bytes):
        parts.append(dest / f"{archive.name}.part-{i // part_bytes:02d}")
        parts[-1].write_bytes(data[i:i + part_bytes])
    archive.unlink()
    return parts  # cat DEST/<name>.tar.gz.part-* | tar -xz


if __name__ == "__main__":
    sys.exit(main())
