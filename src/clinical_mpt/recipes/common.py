"""What every recipe needs: CLI arguments, config loading, seeding, the backbone, the tasks, and
stage bookkeeping (a finished stage leaves `stage.json`; it is skipped next time unless --force)."""

from __future__ import annotations

import hashlib
import json
import random
import time
from pathlib import Path

from clinical_mpt.config import RunConfig, dump_config, load_config, to_dict
from clinical_mpt.data.jsonl import atomic_write_text, write_json


def configure(parser) -> None:
    parser.add_argument("config", metavar="CONFIG", help="YAML run config (see configs/)")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                        help="override config fields, e.g. teach.steps=50 prompt.length=20")
    parser.add_argument("--out", help="output folder (default: the config's `out`, runs/<name>)")
    parser.add_argument("--force", action="store_true", help="re-run stages that already finished")
    parser.add_argument("--resume", action="store_true",
                        help="continue interrupted trainings from their last checkpoint (OUT/checkpoints/)")


def setup(args) -> tuple[RunConfig, Path]:
    cfg = load_config(args.config, args.overrides)
    cfg.out = args.out or cfg.out
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "config.yaml", f"# clinical-mpt run {args.config} --out {out}\n" + dump_config(cfg))
    return cfg, out


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    torch.manual_seed(seed)


def load_backbone_for(cfg: RunConfig):
    from clinical_mpt.backbone import load_backbone

    t = time.time()
    backbone = load_backbone(cfg.backbone.name, cfg.backbone.dtype, cfg.backbone.attention)
    print(f"backbone {cfg.backbone.name}: {backbone.num_parameters:,} parameters, {backbone.dtype}, "
          f"loaded in {time.time() - t:.1f}s", flush=True)
    return backbone


def stage_key(cfg: RunConfig, sections: tuple[str, ...]) -> str:
    """Hash of the config sections a stage depends on."""
    d = to_dict(cfg)
    blob = json.dumps({s: d[s] for s in sections} | {"seed": cfg.seed}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def stage_done(folder: Path, key: str) -> bool:
    path = folder / "stage.json"
    if not path.is_file():
        return False
    try:
        return json.loads(path.read_text()).get("key") == key
    except json.JSONDecodeError:
        return False


def artifact_key(folder: Path) -> str | None:
    """The config key recorded in an artifact's config.json (None if absent or unreadable)."""
    try:
        return json.loads((folder / "config.json").read_text()).get("key")
    except (OSError, json.JSONDecodeError):
        return None


def mark_done(folder: Path, key: str, seconds: float, **info) -> None:
    write_json(folder / "stage.json", {"key": key, "seconds": round(seconds, 1), **info})


def train(*args, **kwargs):
    """The shared training loop (imported lazily: it pulls in torch and tqdm)."""
    from clinical_mpt.training import train as _train

    return _train(*args, **kwargs)
