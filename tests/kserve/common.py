"""Shared by the tritonclient checks: the server's addresses and token (from the
environment that tests/kserve.rs sets), the test scans, and the assertions both doors make
on the answers."""

import json
import os
import sys
import tomllib
from pathlib import Path

import numpy as np

# The shipped model's own version, as its model.toml says.
MODEL_VERSION = tomllib.loads(
    (Path(__file__).resolve().parents[2] / "models/xray-detector/model.toml").read_text()
)["version"]

GRPC = os.environ["XRAY_GRPC"]
HTTP = os.environ["XRAY_HTTP"]
TOKEN = os.environ["XRAY_TOKEN"]
DECLARATION = os.environ["XRAY_DECLARATION"]
# What xray.v1.Inspection/Inspect found on one scan: the v2 answer must be the same.
EXPECTED = json.loads(os.environ["XRAY_EXPECTED"])
HEADERS = {"authorization": f"Bearer {TOKEN}"}

MODEL = "xray-detector"
TENSOR_MODEL = "xray-detector.tensor"
MAX_BATCH = 16
# The model.toml sets none: the engine's default.
QUEUE_DELAY_US = 2000
SCAN_OUTPUTS = ["boxes", "scores", "class_ids", "class_names", "detection_counts", "alarm"]


def read(path):
    with open(path, "rb") as f:
        return f.read()


PNG = read(EXPECTED["image"])
TIFF = read("test-images/s5000_000007.tiff")
OTHER_PNG = read("test-images/s5000_000003.png")
GARBAGE = b"\x89PNG but not really, just some garbage bytes" * 4


def step(name):
    print(f"- {name}", flush=True)


def scans_array(*scans):
    """Encoded scans as a BYTES tensor of shape [N, 1]."""
    return np.array([[s] for s in scans], dtype=np.object_)


def tensor_batch(n):
    rng = np.random.default_rng(7)
    return rng.random((n, 3, 416, 416), dtype=np.float32)


def refused(what, call, *fragments):
    """Runs call, which must raise; every fragment must be in the error (its message or
    status). Answers the exception."""
    try:
        call()
    except Exception as e:  # tritonclient raises InferenceServerException
        text = f"{e} {getattr(e, 'status', lambda: '')()}"
        for fragment in fragments:
            assert fragment in text, f"{what}: {fragment!r} is not in {text!r}"
        print(f"  refused as it should be: {what}: {text.strip()}", flush=True)
        return e
    raise AssertionError(f"{what}: was not refused")


def check_detections(result, expected=EXPECTED["detections"]):
    """The scan outputs of one scan equal what Inspect found."""
    boxes = result.as_numpy("boxes")
    scores = result.as_numpy("scores")
    names = [n.decode() if isinstance(n, bytes) else n for n in result.as_numpy("class_names")]
    counts = result.as_numpy("detection_counts")
    assert boxes.shape == (len(expected), 4), f"boxes {boxes.shape}, expected {len(expected)}"
    assert list(counts) == [len(expected)], counts
    assert names == [d["class_name"] for d in expected], (names, expected)
    np.testing.assert_allclose(scores, [d["confidence"] for d in expected], atol=1e-5)
    np.testing.assert_allclose(boxes, [d["box"] for d in expected], atol=1e-3)
    assert bool(result.as_numpy("alarm")[0]) == EXPECTED["alarm"]


def check_several(result, n):
    """N scans in one request: the detections of all, and per scan how many."""
    counts = result.as_numpy("detection_counts")
    boxes = result.as_numpy("boxes")
    assert counts.shape == (n,), counts.shape
    assert result.as_numpy("alarm").shape == (n,)
    assert int(counts.sum()) == boxes.shape[0] == result.as_numpy("scores").shape[0], (
        counts,
        boxes.shape,
    )
    return counts


def check_config(config, name):
    """A model configuration as a dict in Triton's JSON form."""
    assert config["name"] == name, config
    assert int(config["max_batch_size"]) == MAX_BATCH, config
    delay = config["dynamic_batching"]["max_queue_delay_microseconds"]
    assert int(delay) == QUEUE_DELAY_US, config
    # The model's own version; the protocol's is a number, as Triton's tools read it.
    assert config["parameters"]["model_version"]["string_value"] == MODEL_VERSION, config
    dims = [[int(d) for d in t["dims"]] for t in config["input"]]
    if name == TENSOR_MODEL:
        assert [t["name"] for t in config["input"]] == ["images"], config
        assert dims == [[3, 416, 416]], config
        assert [t["name"] for t in config["output"]] == ["output0"], config
        assert [int(d) for d in config["output"][0]["dims"]] == [11, 3549], config
        assert config["input"][0]["data_type"] == "TYPE_FP32", config
    else:
        assert [t["name"] for t in config["input"]] == ["SCAN"], config
        assert dims == [[1]], config
        assert config["input"][0]["data_type"] == "TYPE_STRING", config
        assert [t["name"] for t in config["output"]] == SCAN_OUTPUTS, config


def check_metadata(metadata, name):
    """Model metadata as a dict."""
    assert metadata["name"] == name, metadata
    assert metadata["versions"] == ["1"], metadata
    inputs = [(t["name"], t["datatype"], [int(d) for d in t["shape"]]) for t in metadata["inputs"]]
    if name == TENSOR_MODEL:
        assert inputs == [("images", "FP32", [-1, 3, 416, 416])], inputs
        assert metadata["outputs"][0]["name"] == "output0", metadata
    else:
        assert inputs == [("SCAN", "BYTES", [-1, 1])], inputs
        assert [t["name"] for t in metadata["outputs"]] == SCAN_OUTPUTS, metadata


def success_count(stats):
    """The success count of the one model of a statistics answer (as a dict)."""
    (model,) = stats["model_stats"]
    assert model["version"] == "1", model
    return int(model["inference_stats"]["success"].get("count", 0))


def done(name):
    print(f"{name}: every check passed", flush=True)
    sys.exit(0)
