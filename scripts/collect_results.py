"""Write RUN/results.json from the (method, setting, task) records already scored in RUN/eval/.

`clinical-mpt evaluate` writes results.json when every configured evaluation has finished. When a
long run is split over several processes (each evaluating some methods into the same RUN folder),
or stopped early, this collects what was scored, with the same aggregation, and nothing is trained.

    python scripts/collect_results.py RUN [--config RUN/config.yaml]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from clinical_mpt.backbone import resolve_dtype
from clinical_mpt.config import load_config, to_dict
from clinical_mpt.data.jsonl import write_json
from clinical_mpt.recipes.evaluate import aggregate, print_table


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", type=Path)
    p.add_argument("--config", type=Path, help="the run's config (default RUN/config.yaml)")
    args = p.parse_args()
    run = args.run_dir
    records = [json.loads(f.read_text()) for f in sorted(run.glob("eval/*/*/*/metrics.json"))]
    meta = json.loads((run / "distill" / "config.json").read_text())
    fingerprint = meta["backbone"]
    cfg = load_config(args.config or run / "config.yaml")
    results = {"name": cfg.name, "backbone": {"name": cfg.backbone.name, "dtype": str(resolve_dtype(cfg.backbone.dtype)).split(".")[-1],
                                          **fingerprint},
               "split": cfg.eval.split, "methods": aggregate(records, fingerprint["num_parameters"]),
               "config": to_dict(cfg), "seconds": round(sum(r.get("seconds", 0) for r in records), 1),
               "collected": {"records": len(records), "at": time.strftime("%Y-%m-%d %H:%M:%S")}}
    write_json(run / "results.json", results)
    print_table(results)
    print(f"\nwrote {run / 'results.json'} from {len(records)} scored records")


if __name__ == "__main__":
    main()
