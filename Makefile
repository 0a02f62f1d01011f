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

.PHONY: setup build serve test fixtures

setup:
	GPU=$(GPU) tools/setup.sh

build: setup
	$(CARGO) build --release --locked $(FEATURES)

serve: build
	./target/release/xray-screen serve $(ARGS)

test: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --all-targets -- -D warnings
	$(CARGO) check --locked --all-targets --features cuda
	$(CARGO) test --locked --all-targets

# Rewrites the ONNX test fixtures (tests/fixtures/models) from tools/make_fixtures.py.
fixtures: setup
	.venv/bin/python tools/make_fixtures.py
