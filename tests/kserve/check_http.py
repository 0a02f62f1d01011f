"""The KServe v2 HTTP/REST protocol as tritonclient's HTTP client speaks it, and the
malformed bodies it never sends, over plain http.client (run by tests/kserve.rs)."""

import http.client
import json

import numpy as np
import tritonclient.http as httpclient

from common import (
    DECLARATION, GARBAGE, HEADERS, HTTP, MODEL, OTHER_PNG, PNG, SCAN_OUTPUTS, TENSOR_MODEL,
    TIFF, TOKEN, check_config, check_detections, check_metadata, check_several, done,
    refused, step, success_count, tensor_batch,
)

client = httpclient.InferenceServerClient(url=HTTP)


def scan_inputs(*scans, name="SCAN", datatype="BYTES"):
    tensor = httpclient.InferInput(name, [len(scans), 1], datatype)
    tensor.set_data_from_numpy(np.array([[s] for s in scans], dtype=np.object_))
    return [tensor]


def infer(model, inputs, **kwargs):
    # A copy: tritonclient writes Inference-Header-Content-Length into the dict it is given.
    return client.infer(model, inputs, headers=dict(HEADERS), **kwargs)


def stats():
    return client.get_inference_statistics(MODEL, headers=HEADERS)


def raw(method, path, body=b"", headers=None, auth=True):
    """One request over http.client: (status, decoded JSON body or None, headers)."""
    connection = http.client.HTTPConnection(HTTP, timeout=60)
    all_headers = {"content-type": "application/json", **(headers or {})}
    if auth:
        all_headers["authorization"] = f"Bearer {TOKEN}"
    connection.request(method, path, body=body, headers=all_headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    try:
        parsed = json.loads(data) if data else None
    except ValueError:
        parsed = None
    return response.status, parsed, response


def refused_raw(what, status, fragment, *args, **kwargs):
    got, body, _ = raw(*args, **kwargs)
    assert got == status, f"{what}: status {got}, expected {status}: {body}"
    assert body and fragment in body["error"], f"{what}: {fragment!r} not in {body}"
    print(f"  refused as it should be: {what}: {got} {body['error']}", flush=True)


step("liveness and readiness (as a Kubernetes probe with a bearer header sees them)")
assert client.is_server_live(headers=HEADERS)
assert client.is_server_ready(headers=HEADERS)
assert client.is_model_ready(MODEL, headers=HEADERS)
assert client.is_model_ready(TENSOR_MODEL, headers=HEADERS)
assert not client.is_model_ready("no-such-model", headers=HEADERS)
assert raw("GET", "/v2/health/live")[0] == 200
assert raw("GET", "/v2/health/ready")[0] == 200
assert raw("GET", "/v2/health/ready", auth=False)[0] == 401

step("server metadata")
metadata = client.get_server_metadata(headers=HEADERS)
assert metadata["name"] == "xray-screen", metadata
for extension in ["model_configuration", "statistics", "parameters", "binary_tensor_data"]:
    assert extension in metadata["extensions"], metadata

step("model metadata and configuration, both forms")
for name in [MODEL, TENSOR_MODEL]:
    check_metadata(client.get_model_metadata(name, headers=HEADERS), name)
    check_config(client.get_model_config(name, headers=HEADERS), name)

before = success_count(stats())

step("an encoded PNG, outputs as binary: the same detections as Inspect")
result = infer(MODEL, scan_inputs(PNG))
assert result.get_response()["outputs"][0]["parameters"]["binary_data_size"] > 0
check_detections(result)

step("the same, outputs as JSON data, through the versioned route")
version = client.get_model_metadata(MODEL, headers=HEADERS)["versions"][0]
json_outputs = [httpclient.InferRequestedOutput(n, binary_data=False) for n in SCAN_OUTPUTS]
result = infer(MODEL, scan_inputs(PNG), outputs=json_outputs, model_version=version)
assert all("data" in o for o in result.get_response()["outputs"]), result.get_response()
check_detections(result)

step("a raw dual-energy TIFF")
counts = check_several(infer(MODEL, scan_inputs(TIFF)), 1)
print(f"  the TIFF has {counts[0]} detections", flush=True)

step("three scans in one request")
counts = check_several(infer(MODEL, scan_inputs(PNG, TIFF, OTHER_PNG)), 3)
print(f"  detections per scan: {counts.tolist()}", flush=True)

step("ready tensors [2, 3, 416, 416] as binary, and [1, 3, 416, 416] as JSON numbers")
tensor = httpclient.InferInput("images", [2, 3, 416, 416], "FP32")
batch = tensor_batch(2)
tensor.set_data_from_numpy(batch)
binary_out = infer(TENSOR_MODEL, [tensor]).as_numpy("output0")
assert binary_out.shape == (2, 11, 3549), binary_out.shape
tensor = httpclient.InferInput("images", [1, 3, 416, 416], "FP32")
tensor.set_data_from_numpy(batch[:1], binary_data=False)
json_out = infer(
    TENSOR_MODEL, [tensor], outputs=[httpclient.InferRequestedOutput("output0", binary_data=False)]
).as_numpy("output0")
assert json_out.shape == (1, 11, 3549), json_out.shape
# The same image by either encoding: the same output.
np.testing.assert_allclose(json_out[0], binary_out[0], rtol=1e-4, atol=1e-3)

step("statistics moved")
after = success_count(stats())
assert after >= before + 5, (before, after)
print(f"  success count {before} -> {after}", flush=True)

step("refusals through tritonclient")
refused("an unknown model", lambda: infer("no-such-model", scan_inputs(PNG)), "404")
refused("unknown model metadata", lambda: client.get_model_metadata("no-such-model", headers=HEADERS), "404")
refused("a wrong input name", lambda: infer(MODEL, scan_inputs(PNG, name="IMAGE")), "400", "SCAN")
wrong_type = httpclient.InferInput("SCAN", [1, 1], "FP32")
wrong_type.set_data_from_numpy(np.zeros((1, 1), dtype=np.float32))
refused("a wrong datatype", lambda: infer(MODEL, [wrong_type]), "400", "must be BYTES")
short = httpclient.InferInput("images", [1, 3, 416, 416], "FP32")
# One image's bytes under a shape of two.
short.set_data_from_numpy(tensor_batch(1))
short.set_shape([2, 3, 416, 416])
refused("a shape that does not match the bytes", lambda: infer(TENSOR_MODEL, [short]), "400", "bytes")
refused("a garbage scan", lambda: infer(MODEL, scan_inputs(GARBAGE)), "400")
refused("the model repository", lambda: client.get_model_repository_index(headers=HEADERS), "501")
refused("no token", lambda: client.get_server_metadata(), "401")
refused("a wrong token", lambda: client.get_server_metadata(headers={"authorization": "Bearer nope"}), "401")

step("malformed bodies")
path = f"/v2/models/{MODEL}/infer"
refused_raw("bad JSON", 400, "malformed", "POST", path, b'{"inputs": [')
refused_raw("no inputs field", 400, "inputs", "POST", path, b"{}")
header = json.dumps(
    {"inputs": [{"name": "SCAN", "datatype": "BYTES", "shape": [1, 1],
                 "parameters": {"binary_data_size": 1000}}]}
).encode()
refused_raw(
    "a header length past the body", 400, "the body is", "POST", path, header,
    {"inference-header-content-length": str(len(header) + 1)},
)
refused_raw(
    "binary_data_size past the end", 400, "past the end", "POST", path, header + b"\x04\0\0\0abcd",
    {"inference-header-content-length": str(len(header))},
)
lying = header.replace(b"1000", b"8")
refused_raw(
    "a BYTES length prefix past the end", 400, "past the end", "POST", path,
    lying + b"\xff\0\0\0abcd", {"inference-header-content-length": str(len(lying))},
)
refused_raw(
    "JSON data of the wrong type", 400, "strings", "POST", path,
    json.dumps({"inputs": [{"name": "SCAN", "datatype": "BYTES", "shape": [1], "data": [1.5]}]}).encode(),
)
refused_raw("an unknown model", 404, "no-such-model", "POST", "/v2/models/no-such-model/infer",
            json.dumps({"inputs": [{"name": "SCAN", "datatype": "BYTES", "shape": [1], "data": ["x"]}]}).encode())

step("a body over the limit: 413 before it is sent")
connection = http.client.HTTPConnection(HTTP, timeout=60)
connection.putrequest("POST", path)
connection.putheader("authorization", f"Bearer {TOKEN}")
connection.putheader("content-length", str(10**10))
connection.endheaders()
response = connection.getresponse()
body = json.loads(response.read())
assert response.status == 413, (response.status, body)
assert "over the limit" in body["error"], body
print(f"  {response.status} {body['error']}", flush=True)
connection.close()

step("a scan of a declaration answers its risk")
result = infer(
    MODEL,
    scan_inputs(PNG),
    parameters={"declaration_id": DECLARATION, "portal_id": "portal-1", "scan_id": "v2-http-1"},
)
check_detections(result)
parameters = result.get_response()["parameters"]
assert 0.0 <= parameters["risk_score"] <= 1.0, parameters
assert parameters["channel"] in ("green", "yellow", "red"), parameters
assert int(parameters["risk_sequence"]) > 0, parameters
print(f"  risk {parameters['risk_score']:.3f}, channel {parameters['channel']}", flush=True)

client.close()
done("check_http")
