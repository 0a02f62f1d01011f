//! The inference protocol's HTTP/REST binding on the HTTP port (`/v2/...`), answering what
//! [`super::grpc`] answers, so that tritonclient's HTTP client and Kubernetes probes work as
//! against Triton. Each route sits behind the HTTP door's authentication; errors are the
//! door's `{"error": "..."}`.
//!
//! An inference body is JSON, or, with the binary-data extension, a JSON header of
//! `Inference-Header-Content-Length` bytes followed by the inputs' raw bytes, each input
//! taking the `binary_data_size` its parameters say. Outputs asked for as binary come back
//! the same way.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use axum::{
    Extension, Json, Router,
    body::Body,
    extract::{ConnectInfo, Path, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use xray_service::{Call, Caller, Error, Service, access::authorize};

use super::{
    describe::{self, ModelView, TensorSpec},
    infer::{self, InferAnswer, InferCall, Param},
    tensor::{InputData, InputTensor, OutputData},
};
use crate::{
    connection::Peer,
    http::{HttpState, WebError},
};

/// The header that says how long the JSON part of a binary-data body is.
pub const HEADER_LENGTH: &str = "inference-header-content-length";

/// The protocol's routes, for the HTTP door's authenticated router.
pub fn routes() -> Router<HttpState> {
    Router::new()
        .route("/v2", get(server_metadata))
        .route("/v2/health/live", get(live))
        .route("/v2/health/ready", get(ready))
        .route("/v2/models/stats", get(all_statistics))
        .route("/v2/models/{model}", get(model_metadata))
        .route("/v2/models/{model}/ready", get(model_ready))
        .route("/v2/models/{model}/config", get(model_config))
        .route("/v2/models/{model}/stats", get(model_statistics))
        .route("/v2/models/{model}/infer", post(infer_latest))
        .route(
            "/v2/models/{model}/versions/{version}/infer",
            post(infer_version),
        )
        .route("/v2/repository/index", post(repository_index))
}

fn bad(message: String) -> WebError {
    WebError(StatusCode::BAD_REQUEST, message)
}

fn view(service: &Service, caller: &Caller, name: &str) -> Result<ModelView, WebError> {
    Ok(describe::view_of(service, caller, name)?)
}

/// Liveness: 200 while the process serves at all.
async fn live(Extension(caller): Extension<Caller>) -> Result<StatusCode, WebError> {
    authorize(&caller, Call::Health)?;
    Ok(StatusCode::OK)
}

/// Readiness: 200 once the models are loaded and until shutdown begins, 503 otherwise (what
/// a Kubernetes readiness probe reads).
async fn ready(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
) -> Result<StatusCode, WebError> {
    authorize(&caller, Call::Health)?;
    if !state.service.is_ready() {
        return Err(Error::NotReady.into());
    }
    if state.service.is_stopping() {
        return Err(WebError(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down".into(),
        ));
    }
    Ok(StatusCode::OK)
}

/// 200 when the model is served and ready; 503 otherwise (tritonclient reads only 200).
async fn model_ready(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> Result<StatusCode, WebError> {
    let (model, _) = infer::split_name(&name);
    if state.service.model_ready(&caller, model)? {
        return Ok(StatusCode::OK);
    }
    Err(WebError(
        StatusCode::SERVICE_UNAVAILABLE,
        format!(
            "model {name:?} is not ready: it is not served here, or the models are still loading"
        ),
    ))
}

async fn server_metadata(Extension(caller): Extension<Caller>) -> Result<Json<Value>, WebError> {
    authorize(&caller, Call::ReadModels)?;
    Ok(Json(json!({
        "name": describe::SERVER_NAME,
        "version": env!("CARGO_PKG_VERSION"),
        "extensions": describe::EXTENSIONS,
    })))
}

fn tensor_metadata(t: &TensorSpec) -> Value {
    json!({ "name": t.name, "datatype": t.datatype, "shape": t.shape() })
}

async fn model_metadata(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> Result<Json<Value>, WebError> {
    let view = view(&state.service, &caller, &name)?;
    Ok(Json(json!({
        "name": view.name,
        "versions": [view.version],
        "platform": view.platform,
        "inputs": view.inputs.iter().map(tensor_metadata).collect::<Vec<_>>(),
        "outputs": view.outputs.iter().map(tensor_metadata).collect::<Vec<_>>(),
    })))
}

/// A tensor of the configuration, with Triton's `TYPE_*` names.
fn config_tensor(t: &TensorSpec) -> Value {
    json!({ "name": t.name, "data_type": format!("TYPE_{}", config_type(t.datatype)), "dims": t.dims })
}

fn config_type(datatype: &str) -> &str {
    // The configuration calls BYTES STRING, as Triton's does.
    match datatype {
        "BYTES" => "STRING",
        other => other,
    }
}

async fn model_config(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> Result<Json<Value>, WebError> {
    let view = view(&state.service, &caller, &name)?;
    Ok(Json(json!({
        "name": view.name,
        "platform": view.platform,
        "max_batch_size": view.max_batch_size,
        "input": view.inputs.iter().map(config_tensor).collect::<Vec<_>>(),
        "output": view.outputs.iter().map(config_tensor).collect::<Vec<_>>(),
        "dynamic_batching": { "max_queue_delay_microseconds": view.max_queue_delay_us },
        "parameters": { "model_version": { "string_value": view.model_version } },
    })))
}

fn duration(d: &xray_metrics::StatDuration) -> Value {
    let (count, ns) = d.get();
    json!({ "count": count, "ns": ns })
}

fn statistics(service: &Service, caller: &Caller, name: &str) -> Result<Json<Value>, WebError> {
    use std::sync::atomic::Ordering::Relaxed;
    let (model, tensors) = infer::split_name(name);
    let stats = service.model_statistics(caller, Some(model).filter(|m| !m.is_empty()))?;
    let model_stats: Vec<Value> = stats
        .into_iter()
        .map(|(m, s)| {
            json!({
                "name": describe::view(&m, tensors).name,
                "version": describe::PROTOCOL_VERSION,
                "last_inference": s.last_inference_ms.load(Relaxed),
                "inference_count": s.inference_count.load(Relaxed),
                "execution_count": s.execution_count.load(Relaxed),
                "inference_stats": {
                    "success": duration(&s.success),
                    "fail": duration(&s.fail),
                    "queue": duration(&s.queue),
                    "compute_input": duration(&s.compute_input),
                    "compute_infer": duration(&s.compute_infer),
                    "compute_output": duration(&s.compute_output),
                },
                "batch_stats": [],
            })
        })
        .collect();
    Ok(Json(json!({ "model_stats": model_stats })))
}

async fn model_statistics(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> Result<Json<Value>, WebError> {
    statistics(&state.service, &caller, &name)
}

async fn all_statistics(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Value>, WebError> {
    statistics(&state.service, &caller, "")
}

async fn repository_index() -> WebError {
    WebError(
        StatusCode::NOT_IMPLEMENTED,
        "the model repository extension is not offered: this server loads the models of --models-dir at start (see the README's KServe v2 section)".into(),
    )
}

async fn infer_latest(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path(model): Path<String>,
    request: Request,
) -> Result<Response, WebError> {
    infer_route(state, caller, model, String::new(), request).await
}

async fn infer_version(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path((model, version)): Path<(String, String)>,
    request: Request,
) -> Result<Response, WebError> {
    infer_route(state, caller, model, version, request).await
}

async fn infer_route(
    state: HttpState,
    caller: Caller,
    model: String,
    version: String,
    request: Request,
) -> Result<Response, WebError> {
    let client = request
        .extensions()
        .get::<ConnectInfo<Peer>>()
        .map_or_else(String::new, |c| c.0.addr.to_string());
    let (parts, body) = request.into_parts();
    let body = read_body(&parts.headers, body, state.max_body).await?;
    let header_length = header_length(&parts.headers)?;
    let request = parse_request(body, header_length)?;
    let (call, binary) = infer_call(request, model, version, client, Instant::now())?;
    let answer = infer::infer(&state.service, &caller, call).await?;
    Ok(infer_response(answer, &binary))
}

/// The body, refused with 413 past `limit` bytes (before reading it when its length says so).
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, WebError> {
    let too_large = |size: String| {
        WebError(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the request body is {size} bytes, over the limit of {limit} bytes (twice --max-image-bytes plus 1 MiB, as on the gRPC port)"
            ),
        )
    };
    if let Some(encoding) = headers
        .get(header::CONTENT_ENCODING)
        .filter(|v| v.as_bytes() != b"identity")
    {
        return Err(WebError(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("the request body is encoded ({encoding:?}); send it uncompressed"),
        ));
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(size) = declared.filter(|&s| s > limit as u64) {
        return Err(too_large(size.to_string()));
    }
    let mut stream = body.into_data_stream();
    // Within the limit by now: one allocation for a body that says its length.
    let mut read = BytesMut::with_capacity(usize::try_from(declared.unwrap_or(0)).unwrap_or(0));
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| bad(format!("the request body could not be read: {e}")))?;
        if read.len() + chunk.len() > limit {
            return Err(too_large(format!("more than {limit}")));
        }
        read.extend_from_slice(&chunk);
    }
    Ok(read.freeze())
}

/// `Inference-Header-Content-Length` of a request (None: the body is all JSON).
fn header_length(headers: &HeaderMap) -> Result<Option<usize>, WebError> {
    headers
        .get(HEADER_LENGTH)
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .ok_or_else(|| {
                    bad(format!(
                        "Inference-Header-Content-Length {v:?} is not a number of bytes"
                    ))
                })
        })
        .transpose()
}

#[derive(Debug, Deserialize)]
struct RequestJson {
    #[serde(default)]
    id: String,
    #[serde(default)]
    parameters: Map<String, Value>,
    inputs: Vec<InputJson>,
    #[serde(default)]
    outputs: Vec<OutputJson>,
}

#[derive(Debug, Deserialize)]
struct InputJson {
    name: String,
    datatype: String,
    shape: Vec<i64>,
    #[serde(default)]
    parameters: Map<String, Value>,
    data: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct OutputJson {
    name: String,
    #[serde(default)]
    parameters: Map<String, Value>,
}

/// A request: its JSON header and the binary data after it.
struct ParsedRequest {
    header: RequestJson,
    binary: Bytes,
}

fn parse_request(body: Bytes, header_length: Option<usize>) -> Result<ParsedRequest, WebError> {
    let json_length = header_length.unwrap_or(body.len());
    if json_length > body.len() {
        return Err(bad(format!(
            "Inference-Header-Content-Length says the JSON header is {json_length} bytes, but the body is {} bytes",
            body.len()
        )));
    }
    let header = serde_json::from_slice::<RequestJson>(&body[..json_length])
        .map_err(|e| bad(format!("the inference request's JSON is malformed: {e}")))?;
    Ok(ParsedRequest {
        header,
        binary: body.slice(json_length..),
    })
}

/// A JSON parameter as the use case takes it.
fn param(key: &str, v: &Value) -> Result<Param, WebError> {
    match v {
        Value::Bool(b) => Ok(Param::Bool(*b)),
        Value::String(s) => Ok(Param::Str(s.clone())),
        Value::Number(n) => Ok(match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Param::Int(i),
            (None, Some(_), _) => Param::Int(i64::MAX),
            (None, None, d) => Param::Double(d.unwrap_or(f64::NAN)),
        }),
        other => Err(bad(format!(
            "parameter {key} is {other}; a parameter is a boolean, a number or a string"
        ))),
    }
}

fn bool_param(
    parameters: &Map<String, Value>,
    key: &str,
    what: &str,
) -> Result<Option<bool>, WebError> {
    match parameters.get(key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(bad(format!(
            "{what}: parameter {key} is {other}, not a boolean"
        ))),
    }
}

/// The leaves of nested JSON lists, in row-major order.
fn flatten<'a>(value: &'a Value, leaves: &mut Vec<&'a Value>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| flatten(v, leaves)),
        leaf => leaves.push(leaf),
    }
}

/// An input's JSON `data` as the tensor's elements.
fn json_data(input: &InputJson, data: &Value) -> Result<InputData, WebError> {
    let mut leaves = Vec::new();
    flatten(data, &mut leaves);
    match input.datatype.as_str() {
        "BYTES" => leaves
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(Bytes::from(s.clone().into_bytes())),
                other => Err(bad(format!(
                    "input {}: BYTES data are strings, not {other}",
                    input.name
                ))),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(InputData::Bytes),
        "FP32" => leaves
            .into_iter()
            .map(|v| {
                v.as_f64().map(|x| x as f32).ok_or_else(|| {
                    bad(format!(
                        "input {}: FP32 data are numbers, not {v}",
                        input.name
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(InputData::Fp32),
        // The use case names the datatype it takes.
        _ => Ok(InputData::Other(
            "JSON data of a datatype this server does not take",
        )),
    }
}

/// Which outputs of an answer go back as binary data.
#[derive(Debug, Default)]
struct BinaryOutputs {
    /// Each output the request names, by its `binary_data` parameter.
    named: HashMap<String, bool>,
    /// The others (all of them, when none is named): the request's `binary_data_output`.
    default: bool,
}

impl BinaryOutputs {
    fn of(&self, output: &str) -> bool {
        self.named.get(output).copied().unwrap_or(self.default)
    }
}

/// The request as the inference use case takes it, and which outputs go back as binary.
fn infer_call(
    request: ParsedRequest,
    model: String,
    version: String,
    client: String,
    now: Instant,
) -> Result<(InferCall, BinaryOutputs), WebError> {
    let ParsedRequest { header, binary } = request;
    let binary_output =
        bool_param(&header.parameters, "binary_data_output", "the request")?.unwrap_or(false);
    let deadline = match header.parameters.get("timeout") {
        None => None,
        // The protocol's timeout is in microseconds.
        Some(v) => Some(
            v.as_u64()
                .map(|us| now + Duration::from_micros(us))
                .ok_or_else(|| {
                    bad(format!(
                        "parameter timeout is {v}, not a number of microseconds"
                    ))
                })?,
        ),
    };
    let parameters = header
        .parameters
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "binary_data_output" | "timeout"))
        .map(|(k, v)| Ok((k.clone(), param(k, v)?)))
        .collect::<Result<HashMap<_, _>, WebError>>()?;

    let mut rest = binary;
    let mut inputs = Vec::with_capacity(header.inputs.len());
    for input in &header.inputs {
        let size = match input.parameters.get("binary_data_size") {
            None => None,
            Some(v) => Some(v.as_u64().ok_or_else(|| {
                bad(format!(
                    "input {}: binary_data_size is {v}, not a number of bytes",
                    input.name
                ))
            })?),
        };
        let data = match (size, &input.data) {
            (Some(_), Some(_)) => {
                return Err(bad(format!(
                    "input {} has both data and binary_data_size; it takes one or the other",
                    input.name
                )));
            }
            (Some(size), None) => {
                let size = usize::try_from(size)
                    .ok()
                    .filter(|&s| s <= rest.len())
                    .ok_or_else(|| {
                        bad(format!(
                            "input {}: binary_data_size {size} is past the end of the binary data ({} bytes left)",
                            input.name,
                            rest.len()
                        ))
                    })?;
                InputData::Raw(rest.split_to(size))
            }
            (None, Some(data)) => json_data(input, data)?,
            (None, None) => {
                return Err(bad(format!(
                    "input {} has neither data nor a binary_data_size parameter",
                    input.name
                )));
            }
        };
        inputs.push(InputTensor {
            name: input.name.clone(),
            datatype: input.datatype.clone(),
            shape: input.shape.clone(),
            data,
        });
    }
    if !rest.is_empty() {
        return Err(bad(format!(
            "{} bytes of binary data follow the last input's; binary_data_size must account for every byte",
            rest.len()
        )));
    }

    let mut named = HashMap::new();
    for output in &header.outputs {
        let what = format!("output {}", output.name);
        let binary = bool_param(&output.parameters, "binary_data", &what)?.unwrap_or(binary_output);
        named.insert(output.name.clone(), binary);
    }
    let call = InferCall {
        model,
        version,
        id: header.id,
        parameters,
        inputs,
        outputs: header.outputs.into_iter().map(|o| o.name).collect(),
        deadline,
        client,
    };
    Ok((
        call,
        BinaryOutputs {
            named,
            default: binary_output,
        },
    ))
}

fn json_param(p: Param) -> Value {
    match p {
        Param::Bool(b) => Value::Bool(b),
        Param::Int(i) => Value::from(i),
        Param::Double(d) => Value::from(d),
        Param::Str(s) => Value::String(s),
    }
}

fn json_values(data: &OutputData) -> Value {
    match data {
        OutputData::Fp32(v) => Value::from(v.iter().map(|&x| f64::from(x)).collect::<Vec<_>>()),
        OutputData::Int32(v) => Value::from(v.clone()),
        OutputData::Bool(v) => Value::from(v.clone()),
        OutputData::Bytes(v) => Value::from(
            v.iter()
                .map(|e| String::from_utf8_lossy(e).into_owned())
                .collect::<Vec<_>>(),
        ),
    }
}

/// The answer: all JSON, or a JSON header followed by the outputs asked for as binary.
fn infer_response(answer: InferAnswer, binary: &BinaryOutputs) -> Response {
    let mut raw = Vec::new();
    let outputs: Vec<Value> = answer
        .outputs
        .into_iter()
        .map(|o| {
            let mut tensor = json!({
                "name": o.name,
                "datatype": o.data.datatype(),
                "shape": o.shape,
            });
            if binary.of(&o.name) {
                let bytes = o.data.raw();
                tensor["parameters"] = json!({ "binary_data_size": bytes.len() });
                raw.extend_from_slice(&bytes);
            } else {
                tensor["data"] = json_values(&o.data);
            }
            tensor
        })
        .collect();
    let any_binary = outputs.iter().any(|o| o.get("parameters").is_some());
    let mut body = json!({
        "model_name": answer.model_name,
        "model_version": answer.model_version,
        "outputs": outputs,
    });
    if !answer.id.is_empty() {
        body["id"] = Value::String(answer.id);
    }
    if !answer.parameters.is_empty() {
        body["parameters"] = Value::Object(
            answer
                .parameters
                .into_iter()
                .map(|(k, v)| (k, json_param(v)))
                .collect(),
        );
    }
    let mut bytes = body.to_string().into_bytes();
    if !any_binary {
        return (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            bytes,
        )
            .into_response();
    }
    let json_length = bytes.len();
    bytes.extend_from_slice(&raw);
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        )],
        bytes,
    )
        .into_response();
    response
        .headers_mut()
        .insert(HEADER_LENGTH, HeaderValue::from(json_length));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(json: &str, binary: &[u8]) -> Result<ParsedRequest, WebError> {
        let mut body = json.as_bytes().to_vec();
        body.extend_from_slice(binary);
        parse_request(Bytes::from(body), Some(json.len()))
    }

    fn call(json: &str, binary: &[u8]) -> Result<(InferCall, BinaryOutputs), WebError> {
        infer_call(
            parsed(json, binary)?,
            "m".into(),
            String::new(),
            String::new(),
            Instant::now(),
        )
    }

    fn accepted<T>(r: Result<T, WebError>) -> T {
        r.unwrap_or_else(|WebError(status, m)| panic!("refused ({status}): {m}"))
    }

    fn message(r: Result<impl std::fmt::Debug, WebError>) -> (StatusCode, String) {
        match r {
            Ok(v) => panic!("expected a refusal, got {v:?}"),
            Err(WebError(status, m)) => (status, m),
        }
    }

    #[test]
    fn binary_inputs_take_their_sizes_in_order_and_nested_json_is_flattened() {
        let json = r#"{"inputs":[
            {"name":"SCAN","datatype":"BYTES","shape":[1,1],"parameters":{"binary_data_size":7}},
            {"name":"x","datatype":"FP32","shape":[2,2],"data":[[1,2],[3.5,4]]}],
            "outputs":[{"name":"boxes","parameters":{"binary_data":true}},{"name":"scores"}],
            "parameters":{"declaration_id":"D-1","min_confidence":0.5,"timeout":1000000}}"#;
        let (call, binary) = accepted(call(json, b"\x03\0\0\0abc"));
        match &call.inputs[0].data {
            InputData::Raw(raw) => assert_eq!(&raw[..], b"\x03\0\0\0abc"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            call.inputs[0].clone().byte_elements().expect("one"),
            [Bytes::from("abc")]
        );
        assert_eq!(
            call.inputs[1].clone().fp32_elements().expect("four"),
            [1.0, 2.0, 3.5, 4.0]
        );
        assert_eq!(call.parameters["declaration_id"], Param::Str("D-1".into()));
        assert_eq!(call.parameters["min_confidence"], Param::Double(0.5));
        assert!(!call.parameters.contains_key("timeout"));
        assert!(call.deadline.is_some());
        assert_eq!(call.outputs, ["boxes", "scores"]);
        assert!(binary.of("boxes"));
        assert!(!binary.of("scores"));
        assert!(
            !binary.of("alarm"),
            "not named: binary_data_output, absent here"
        );
    }

    #[test]
    fn malformed_bodies_are_refused_with_a_sentence() {
        let cases: [(&str, &[u8], &str); 6] = [
            ("{\"inputs\": [", b"", "JSON is malformed"),
            (
                r#"{"inputs":[{"name":"SCAN","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":9}}]}"#,
                b"\x01\0\0\0a",
                "past the end of the binary data",
            ),
            (
                r#"{"inputs":[{"name":"SCAN","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":1}}]}"#,
                b"ab",
                "1 bytes of binary data follow",
            ),
            (
                r#"{"inputs":[{"name":"SCAN","datatype":"BYTES","shape":[1]}]}"#,
                b"",
                "neither data nor",
            ),
            (
                r#"{"inputs":[{"name":"SCAN","datatype":"BYTES","shape":[1],"data":[1]}]}"#,
                b"",
                "BYTES data are strings",
            ),
            (
                r#"{"inputs":[],"parameters":{"x":[1]}}"#,
                b"",
                "a parameter is a boolean",
            ),
        ];
        for (json, binary, expected) in cases {
            let (status, m) = message(call(json, binary));
            assert_eq!(status, StatusCode::BAD_REQUEST, "{m}");
            assert!(m.contains(expected), "{json}: {m}");
        }
        let (status, m) = message(parse_request(Bytes::from_static(b"{}"), Some(10)).map(|_| ()));
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(m.contains("the body is 2 bytes"), "{m}");
    }

    #[tokio::test]
    async fn binary_outputs_follow_the_json_header() {
        let answer = InferAnswer {
            model_name: "m".into(),
            model_version: "1".into(),
            id: "r1".into(),
            parameters: vec![("risk_score".into(), Param::Double(0.5))],
            outputs: vec![
                super::super::tensor::OutputTensor {
                    name: "scores".into(),
                    shape: vec![2],
                    data: OutputData::Fp32(vec![0.5, 1.0]),
                },
                super::super::tensor::OutputTensor {
                    name: "alarm".into(),
                    shape: vec![1],
                    data: OutputData::Bool(vec![true]),
                },
            ],
        };
        let binary = BinaryOutputs {
            named: HashMap::from([("scores".to_string(), true)]),
            default: false,
        };
        let response = infer_response(answer, &binary);
        let length: usize = response.headers()[HEADER_LENGTH]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("a number");
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        let header: Value = serde_json::from_slice(&body[..length]).expect("json");
        assert_eq!(header["outputs"][0]["parameters"]["binary_data_size"], 8);
        assert_eq!(header["outputs"][1]["data"], json!([true]));
        assert_eq!(header["parameters"]["risk_score"], 0.5);
        assert_eq!(header["id"], "r1");
        assert_eq!(&body[length..], OutputData::Fp32(vec![0.5, 1.0]).raw());
    }
}
