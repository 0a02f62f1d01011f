"""The KServe v2 gRPC protocol as tritonclient's gRPC client speaks it (run by tests/kserve.rs)."""

import queue

import numpy as np
import tritonclient.grpc as grpcclient

from common import (
    DECLARATION, GARBAGE, GRPC, HEADERS, MODEL, OTHER_PNG, PNG, TENSOR_MODEL, TIFF,
    check_config, check_detections, check_metadata, check_several, done, refused,
    scans_array, step, success_count, tensor_batch,
)

client = grpcclient.InferenceServerClient(url=GRPC)


def scan_inputs(*scans, name="SCAN", datatype="BYTES"):
    tensor = grpcclient.InferInput(name, [len(scans), 1], datatype)
    tensor.set_data_from_numpy(scans_array(*scans))
    return [tensor]


def infer(model, inputs, **kwargs):
    return client.infer(model, inputs, headers=HEADERS, **kwargs)


def stats():
    return client.get_inference_statistics(MODEL, headers=HEADERS, as_json=True)


step("liveness and readiness")
assert client.is_server_live(headers=HEADERS)
assert client.is_server_ready(headers=HEADERS)
assert client.is_model_ready(MODEL, headers=HEADERS)
assert client.is_model_ready(TENSOR_MODEL, headers=HEADERS)
assert not client.is_model_ready("no-such-model", headers=HEADERS)

step("server metadata")
metadata = client.get_server_metadata(headers=HEADERS, as_json=True)
assert metadata["name"] == "xray-screen", metadata
for extension in ["model_configuration", "statistics", "parameters", "binary_tensor_data"]:
    assert extension in metadata["extensions"], metadata

step("model metadata and configuration, both forms")
for name in [MODEL, TENSOR_MODEL]:
    check_metadata(client.get_model_metadata(name, headers=HEADERS, as_json=True), name)
    check_config(client.get_model_config(name, headers=HEADERS, as_json=True)["config"], name)

before = success_count(stats())

step("an encoded PNG: the same detections as Inspect")
check_detections(infer(MODEL, scan_inputs(PNG)))

step("a raw dual-energy TIFF")
result = infer(MODEL, scan_inputs(TIFF))
counts = check_several(result, 1)
print(f"  the TIFF has {counts[0]} detections", flush=True)

step("three scans in one request")
counts = check_several(infer(MODEL, scan_inputs(PNG, TIFF, OTHER_PNG)), 3)
print(f"  detections per scan: {counts.tolist()}", flush=True)

step("ready tensors [2, 3, 416, 416]")
tensor = grpcclient.InferInput("images", [2, 3, 416, 416], "FP32")
tensor.set_data_from_numpy(tensor_batch(2))
result = infer(TENSOR_MODEL, [tensor])
assert result.as_numpy("output0").shape == (2, 11, 3549), result.as_numpy("output0").shape

step("a stream with a bad scan in the middle")
answers = queue.Queue()
client.start_stream(callback=lambda result, error: answers.put((result, error)), headers=HEADERS)
for i, scan in enumerate([PNG, GARBAGE, OTHER_PNG]):
    client.async_stream_infer(MODEL, scan_inputs(scan), request_id=f"stream-{i}")
got = [answers.get(timeout=60) for _ in range(3)]
client.stop_stream()
(first, first_error), (_, bad_error), (third, third_error) = got
assert first_error is None, first_error
check_detections(first)
assert bad_error is not None, "the garbage scan was answered"
print(f"  the garbage scan's error: {bad_error}", flush=True)
assert third_error is None, third_error
check_several(third, 1)
assert third.get_response().id == "stream-2"

step("statistics moved")
after = success_count(stats())
# PNG, TIFF, three scans (one request each: a request counts once or per scan), two stream
# scans: at least five more successes.
assert after >= before + 5, (before, after)
print(f"  success count {before} -> {after}", flush=True)

step("refusals")
refused("an unknown model", lambda: infer("no-such-model", scan_inputs(PNG)), "NOT_FOUND")
refused("a wrong input name", lambda: infer(MODEL, scan_inputs(PNG, name="IMAGE")), "INVALID_ARGUMENT", "SCAN")
wrong_type = grpcclient.InferInput("SCAN", [1, 1], "FP32")
wrong_type.set_data_from_numpy(np.zeros((1, 1), dtype=np.float32))
refused("a wrong datatype", lambda: infer(MODEL, [wrong_type]), "INVALID_ARGUMENT", "must be BYTES")
# One image's bytes under a shape of two.
short = grpcclient.InferInput("images", [1, 3, 416, 416], "FP32")
short.set_data_from_numpy(tensor_batch(1))
short.set_shape([2, 3, 416, 416])
refused("a shape that does not match the bytes", lambda: infer(TENSOR_MODEL, [short]), "INVALID_ARGUMENT", "bytes")
refused("the model repository", lambda: client.get_model_repository_index(headers=HEADERS), "UNIMPLEMENTED")
refused("no token", lambda: client.is_server_live(), "UNAUTHENTICATED")
refused("a wrong token", lambda: client.get_server_metadata(headers={"authorization": "Bearer nope"}), "UNAUTHENTICATED")

step("a scan of a declaration answers its risk")
result = infer(
    MODEL,
    scan_inputs(PNG),
    parameters={"declaration_id": DECLARATION, "portal_id": "portal-1", "scan_id": "v2-grpc-1"},
)
check_detections(result)
parameters = result.get_response().parameters
score = parameters["risk_score"].double_param
assert 0.0 <= score <= 1.0, parameters
assert parameters["channel"].string_param in ("green", "yellow", "red"), parameters
assert parameters["risk_sequence"].int64_param > 0, parameters
print(f"  risk {score:.3f}, channel {parameters['channel'].string_param}", flush=True)

client.close()
done("check_grpc")
