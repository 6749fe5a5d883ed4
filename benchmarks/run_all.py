"""`make bench`: run every benchmark on the default backbone, collect their JSON in benchmarks/results.json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# (script, its own arguments); the results are keyed by the script name plus those arguments
BENCHMARKS = [("train_step.py", []), ("train_step.py", ["--compile"]), ("memory.py", []), ("scaling.py", []),
              ("inference.py", []), ("deep.py", []), ("serving.py", [])]


def main() -> None:
    results = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "results": {}}
    for script, extra in BENCHMARKS:
        path = os.path.join(HERE, script)
        name = " ".join([script, *extra])
        start = time.time()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        out = subprocess.run([sys.executable, path, *extra, *sys.argv[1:]], capture_output=True, text=True)
        if out.returncode != 0:
            results["results"][name] = {"error": out.stderr.strip().splitlines()[-1:]}
            continue
        results["results"][name] = json.loads(out.stdout[out.stdout.index("{"):])
        results["results"][name]["wall_seconds"] = round(time.time() - start, 1)
    with open(os.path.join(HERE, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
