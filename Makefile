# The two commands for a fresh machine:
#   make serve   set everything up and run the service with its default model
#   make test    set everything up and run the whole test suite (what CI runs)
# GPU=1 installs the CUDA build of ONNX Runtime and builds with --features cuda.

CARGO ?= cargo
GPU ?= 0
FEATURES := $(if $(filter 1,$(GPU)),--features cuda,)
# The CUDA and cuDNN libraries that GPU=1 installs next to ONNX Runtime.
NVIDIA_LIBS := $(shell ls -d $(CURDIR)/.ort/python/nvidia/*/lib 2>/dev/null | tr '\n' ':')
export LD_LIBRARY_PATH := $(NVIDIA_LIBS)$(LD_LIBRARY_PATH)

.PHONY: perf-analyzer setup setup-browser build serve test fixtures train-own model-data model-train model-thresholds model-eval model-known-misses model gpu-bin bench ceiling

setup:
	GPU=$(GPU) tools/setup.sh

# Debian's chromium and chromium-driver, for the review screen's browser test.
setup-browser:
	tools/setup-browser.sh

build: setup
	$(CARGO) build --release --locked $(FEATURES)

serve: build
	./target/release/xray-screen serve $(ARGS)

test: setup setup-browser .venv-train/installed
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings
	$(CARGO) check --locked --workspace --all-targets --features cuda
	tools/test-with-postgres.sh $(CARGO) test --locked --workspace --all-targets

# Triton's perf_analyzer against a running server, from a Debian 13 root (see the script).
perf-analyzer:
	tools/perf-analyzer.sh $(ARGS)

# Rewrites the ONNX test fixtures (tests/fixtures/models) from tools/make_fixtures.py.
fixtures: setup
	.venv/bin/python tools/make_fixtures.py

# The default model, rebuilt from nothing (the shipped weights took 18.5 hours of training on 2
# CPU cores: stages 1 to 6, 9 and 10 with AVX512-BF16, stages 7, 8 and 11 in float32 on AVX2-only cores,
# where --bf16 falls back to float32 and training ran 4-10 images/s instead of 10-18): the
# synthetic data sets, training, thresholds from the validation sets, the held-out evaluation
# that MODEL_CARD.md reports, and test-images/KNOWN_MISSES. Training runs in the shipped
# model's eleven stages: 8 epochs, resumed to 20, resumed to 38 (each a new cosine schedule,
# --resume; a checkpoint is kept every epoch), then eight fine-tuning runs on both training
# sets, each started from the export before it (--init; the last three grow the network to two,
# three, then four residual blocks a CSP unit, --depth 2 --init-depth 1 and so on). Seeds: training 1000 and 1001, validation 2000 and
# benign-only validation 2001 (for choosing thresholds), held-out 3000 and benign-only held-out
# 4000 (never used in training or for choosing thresholds). Stages 1 to 11 were trained on scans
# of generator 1.1.0 (`synth` before 2.0.0: build commit 40fc41c to make those sets again, and
# pass MODEL_SYNTH=path/to/that/xray-screen); stage 12 (0.13.0) fine-tunes on generator 2.0.0's
# sets (seeds 1100, 2100, 2101, 3100, 4100), on which thresholds are chosen and the held-out
# results measured; generator 1.1.0's held-out sets are evaluated beside them.
MODEL_SYNTH ?= ./target/release/xray-screen
SYNTH1 := $(MODEL_SYNTH) synth --no-raw --quiet
TRAIN_MINUTES ?= 85
MODEL := models/xray-detector
SYNTH := ./target/release/xray-screen synth --no-raw --quiet
TRAIN_EPOCHS ?= 8
TRAIN_EPOCHS_TOTAL ?= 20
TRAIN_EPOCHS_FINAL ?= 38
FINETUNE_EPOCHS ?= 8
FINETUNE2_EPOCHS ?= 9
FINETUNE3_EPOCHS ?= 9
FINETUNE4_EPOCHS ?= 4
FINETUNE5_EPOCHS ?= 5
DEEP_EPOCHS ?= 6
DEEP3_EPOCHS ?= 8
DEEP4_EPOCHS ?= 3
TRAIN := .venv-train/bin/python tools/train/train.py --val data/synth-val --width 1.0

model-data: build
	$(SYNTH1) --seed 1000 --count 5000 --out data/synth-train
	$(SYNTH1) --seed 1001 --count 5000 --out data/synth-train-2
	$(SYNTH1) --seed 2000 --count 300 --out data/synth-val
	$(SYNTH1) --seed 2001 --count 600 --benign-fraction 1 --out data/synth-val-benign
	$(SYNTH1) --seed 3000 --count 1000 --out data/synth-heldout
	$(SYNTH1) --seed 4000 --count 500 --benign-fraction 1 --out data/synth-benign
	$(SYNTH) --seed 1100 --count 4000 --out data/synth2-train
	$(SYNTH) --seed 2100 --count 300 --out data/synth2-val
	$(SYNTH) --seed 2101 --count 600 --benign-fraction 1 --out data/synth2-val-benign
	$(SYNTH) --seed 3100 --count 1000 --out data/synth2-heldout
	$(SYNTH) --seed 4100 --count 500 --benign-fraction 1 --out data/synth2-benign

.venv-train/installed: tools/train/requirements.txt
	python3 -m venv .venv-train
	.venv-train/bin/pip install --quiet --disable-pip-version-check -r tools/train/requirements.txt
	touch $@

model-train: .venv-train/installed
	$(TRAIN) --data data/synth-train --out runs/xray-detector --epochs $(TRAIN_EPOCHS) --seed 1
	$(TRAIN) --data data/synth-train --out runs/xray-detector --epochs $(TRAIN_EPOCHS_TOTAL) --seed 1 --resume
	$(TRAIN) --data data/synth-train --out runs/xray-detector --epochs $(TRAIN_EPOCHS_FINAL) --seed 1 --resume
	$(TRAIN) --data data/synth-train data/synth-train-2 --out runs/xray-detector-ft \
		--epochs $(FINETUNE_EPOCHS) --lr 1e-3 --seed 2 --init runs/xray-detector/model.onnx
	$(TRAIN) --data data/synth-train data/synth-train-2 --out runs/xray-detector-ft2 \
		--epochs $(FINETUNE2_EPOCHS) --lr 4e-4 --seed 3 --bf16 --init runs/xray-detector-ft/model.onnx
	$(TRAIN) --data data/synth-train data/synth-train-2 --out runs/xray-detector-ft3 \
		--epochs $(FINETUNE3_EPOCHS) --lr 3e-4 --seed 4 --bf16 --init runs/xray-detector-ft2/model.onnx
	$(TRAIN) --data data/synth-train data/synth-train-2 --out runs/xray-detector-ft4 \
		--epochs $(FINETUNE4_EPOCHS) --lr 3e-4 --seed 8 --repeat-thresh 0.3 --init runs/xray-detector-ft3/model.onnx
	$(TRAIN) --data data/synth-train data/synth-train-2 --out runs/xray-detector-ft5 \
		--epochs $(FINETUNE5_EPOCHS) --lr 3e-4 --seed 9 --repeat-thresh 0.3 --init runs/xray-detector-ft4/model.onnx
	$(TRAIN) --data data/synth-train data/synth-train-2 --out runs/xray-detector-deep \
		--epochs $(DEEP_EPOCHS) --lr 3e-4 --seed 11 --repeat-thresh 0.3 --bf16 \
		--depth 2 --init-depth 1 --init runs/xray-detector-ft5/model.onnx
	$(TRAIN) --data data/synth-train data/synth-train-2 --out runs/xray-detector-deep3 \
		--epochs $(DEEP3_EPOCHS) --lr 3e-4 --seed 12 --repeat-thresh 0.3 --bf16 \
		--depth 3 --init-depth 2 --init runs/xray-detector-deep/model.onnx
	$(TRAIN) --data data/synth-train data/synth-train-2 --out runs/xray-detector-deep4 \
		--epochs $(DEEP4_EPOCHS) --lr 3e-4 --seed 13 --repeat-thresh 0.3 --bf16 \
		--depth 4 --init-depth 3 --init runs/xray-detector-deep3/model.onnx
	.venv-train/bin/python tools/train/train.py --data data/synth2-train --val data/synth2-val \
		--width 1.0 --depth 4 --init runs/xray-detector-deep4/model.onnx --out runs/xray-detector-13 \
		--minutes $(TRAIN_MINUTES) --lr 6e-4 --seed 21 --bf16 --repeat-thresh 0.3
	cp runs/xray-detector-13/model.onnx $(MODEL)/model.onnx

# Sets the thresholds in model.toml from the validation sets (weapon false alarms capped on
# benign scans, best F1 elsewhere).
model-thresholds: .venv-train/installed
	.venv-train/bin/python tools/train/thresholds.py --model $(MODEL)/model.onnx --val data/synth2-val \
		--benign data/synth2-val-benign --model-toml $(MODEL)/model.toml --write

model-eval: build
	./target/release/xray-screen eval data/synth2-heldout --models-dir $(MODEL) --json $(MODEL)/eval-heldout.json
	./target/release/xray-screen eval data/synth2-benign --models-dir $(MODEL) --json $(MODEL)/eval-benign.json
	./target/release/xray-screen eval data/synth-heldout --models-dir $(MODEL) --json $(MODEL)/eval-heldout-gen1.json
	./target/release/xray-screen eval data/synth-benign --models-dir $(MODEL) --json $(MODEL)/eval-benign-gen1.json

# Rewrites test-images/KNOWN_MISSES from what the model in $(MODEL) finds there.
model-known-misses: build
	python3 tools/known_misses.py

model: model-data model-train model-thresholds model-eval model-known-misses

# The detector trained on your own licensed data (README, "Training on your own data"):
#   make train-own DATA=path/to/data.yaml OUT=models/my-detector [ARGS="--minutes 60 --map gun=firearm"]
# fine-tunes the shipped model, writes OUT/model.onnx, OUT/model.toml with thresholds chosen on
# the validation split, and OUT/eval-val.json (xray-screen eval on it).
OUT ?= models/my-detector
train-own: build .venv-train/installed
	@test -n "$(DATA)" || { echo "make train-own: give DATA=path/to/data.yaml (see README)" >&2; exit 2; }
	.venv-train/bin/python tools/train/own_data.py --data $(DATA) --out $(OUT) $(ARGS)

# A stripped copy of the binary for tools/train/gpu_stage.sh, to take to a GPU machine that has
# PyTorch but no Rust (about 16 MB; x86-64, glibc 2.34 or later).
gpu-bin: build
	mkdir -p .gpu
	cp target/release/xray-screen .gpu/xray-screen
	strip .gpu/xray-screen

# Benchmarks (see BENCHMARKS.md): criterion benches, then a server under load with the
# model's in-process ceiling measured in the same run.
bench: build
	$(CARGO) bench -p xray-engine --bench preprocess --bench postprocess --bench executor
	$(CARGO) bench -p xray-synth --bench synth
	MODELS=$(MODEL) tools/bench.sh

ceiling: build
	./target/release/xray-screen ceiling --models-dir $(MODEL)
