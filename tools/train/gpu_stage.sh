#!/usr/bin/env bash
# One fine-tuning stage on a CUDA machine, in one command and inside a fixed time: generates the
# training and validation sets with an xray-screen binary, fine-tunes the shipped model on the GPU
# for MINUTES, and leaves model.onnx, train_log.json and stage.log in OUT_DIR. The binary is the
# only thing built here: the GPU machine needs Python with torch, numpy, pillow, tqdm, onnx and
# onnxruntime, and no Rust. See tools/train/README.md ("On a CUDA GPU").
#
#   XRAY_BIN=.gpu/xray-screen MINUTES=5 DEADLINE_S=570 tools/train/gpu_stage.sh
#
# Every knob is an environment variable (defaults in brackets):
#   XRAY_BIN     xray-screen binary that writes the data sets [.gpu/xray-screen]
#   OUT_DIR      where the results go [$OUT/gpu-stage when $OUT is set, else runs/gpu-stage]
#   DATA_DIR     scratch folder for the generated scans [/tmp/xray-gpu-data]
#   TRAIN_SEEDS  training-set seeds, TRAIN_COUNT scans each ["1000 1001"], [5000]
#   VAL_COUNT    validation scans (seed 2000, as in the Makefile) [300]
#   INIT         model the stage starts from [models/xray-detector/model.onnx]
#   DEPTH        residual blocks a CSP unit of INIT, which train.py must match [4, the shipped model's]
#   MINUTES      training time budget; the LR schedule anneals over it [5]
#   DEADLINE_S   the whole stage's limit in seconds, when it has one: MINUTES is cut so that
#                training, validation and export end about 90 s before it [none]
#   EPOCHS       upper bound on epochs [100]
#   BATCH, LR    batch size and AdamW peak learning rate [32], [1e-3]
#   DEVICE       cuda, or cpu to rehearse the stage where there is no GPU [cuda]
#   PYTHON       interpreter with the packages above [python3]
#   EXTRA_ARGS   further train.py flags, e.g. "--imgsz 512"
set -euo pipefail

XRAY_BIN=${XRAY_BIN:-.gpu/xray-screen}
if [[ -n "${OUT:-}" ]]; then OUT_DIR=${OUT_DIR:-$OUT/gpu-stage}; else OUT_DIR=${OUT_DIR:-runs/gpu-stage}; fi
DATA_DIR=${DATA_DIR:-/tmp/xray-gpu-data}
TRAIN_SEEDS=${TRAIN_SEEDS:-1000 1001}
TRAIN_COUNT=${TRAIN_COUNT:-5000}
VAL_COUNT=${VAL_COUNT:-300}
INIT=${INIT:-models/xray-detector/model.onnx}
DEPTH=${DEPTH:-4}
MINUTES=${MINUTES:-5}
DEADLINE_S=${DEADLINE_S:-0}
EPOCHS=${EPOCHS:-100}
BATCH=${BATCH:-32}
LR=${LR:-1e-3}
DEVICE=${DEVICE:-cuda}
PYTHON=${PYTHON:-python3}
EXTRA_ARGS=${EXTRA_ARGS:-}

mkdir -p "$OUT_DIR" "$DATA_DIR"
start=$(date +%s)
stamp() { echo "[gpu_stage +$(($(date +%s) - start)) s] $*"; }

stage() {

# What the machine offers, for the log: DataLoader workers pass batches through /dev/shm, and a
# small one (a container's 64 MB default) breaks them; EXTRA_ARGS="--workers 0" then works.
echo "cores: $(nproc); memory: $(free -g | awk '/^Mem:/ {print $2 " GiB"}'); /dev/shm free: $(df -h --output=avail /dev/shm 2>/dev/null | tail -1)"
[[ -x "$XRAY_BIN" ]] || { echo "gpu_stage: no executable xray-screen at $XRAY_BIN (set XRAY_BIN)" >&2; exit 2; }
[[ -f "$INIT" ]] || { echo "gpu_stage: no model to start from at $INIT (set INIT)" >&2; exit 2; }
"$PYTHON" - "$DEVICE" <<'EOF'
import sys
import torch
want = sys.argv[1]
seen = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
print(f"torch {torch.__version__}, CUDA device: {seen}")
if want == "cuda" and not torch.cuda.is_available():
    sys.exit("gpu_stage: DEVICE=cuda but PyTorch sees no GPU (DEVICE=cpu rehearses the stage)")
EOF

# The sets are the Makefile's (same seeds, same generator), so the result is comparable with the
# CPU stages; PNGs only, since training reads the pseudo-colour images.
train_dirs=()
for seed in $TRAIN_SEEDS; do
  stamp "generating $TRAIN_COUNT training scans, seed $seed"
  "$XRAY_BIN" synth --no-raw --quiet --seed "$seed" --count "$TRAIN_COUNT" --out "$DATA_DIR/train-$seed"
  train_dirs+=("$DATA_DIR/train-$seed")
done
stamp "generating $VAL_COUNT validation scans, seed 2000"
"$XRAY_BIN" synth --no-raw --quiet --seed 2000 --count "$VAL_COUNT" --out "$DATA_DIR/val"

if ((DEADLINE_S > 0)); then
  # Data generation takes however long the machine needs; the training budget gets what is left.
  left=$((DEADLINE_S - ($(date +%s) - start) - 90))
  ((left >= 60)) || { echo "gpu_stage: only $left s left for training before DEADLINE_S" >&2; exit 3; }
  MINUTES=$("$PYTHON" -c "print(round(min($MINUTES, $left / 60), 2))")
fi
stamp "training on $DEVICE for $MINUTES min from $INIT"
# --width 1.0 --depth DEPTH: INIT's architecture, which --init must match.
# shellcheck disable=SC2086 # EXTRA_ARGS is a list of flags
PYTHONUNBUFFERED=1 "$PYTHON" "$(dirname "$0")/train.py" --device "$DEVICE" \
  --data "${train_dirs[@]}" --val "$DATA_DIR/val" --out "$OUT_DIR" --width 1.0 --depth "$DEPTH" \
  --init "$INIT" --minutes "$MINUTES" --epochs "$EPOCHS" --batch "$BATCH" --lr "$LR" --seed 5 $EXTRA_ARGS
# The checkpoint (optimizer state included) is several times the ONNX file; --init continues
# from model.onnx just as well.
rm -f "$OUT_DIR/last.pt"
stamp "done: $OUT_DIR/model.onnx"
}

# A pipeline, not `exec > >(tee ...)`: the script then ends only once the log is complete.
stage 2>&1 | tee "$OUT_DIR/stage.log"
exit "${PIPESTATUS[0]}"
