//! One inference request of the protocol, whatever the door, into the use cases and back.
//!
//! Each served model is offered twice:
//! - under its own name, taking **encoded scans**: one BYTES input [`SCAN_INPUT`] of N
//!   elements, each a PNG, JPEG or TIFF, screened exactly as `xray.v1.Inspection/Inspect`
//!   screens a scan (decode, letterbox, the model's batcher, postprocess, and risk and
//!   storage when the request names a declaration); the answer holds every scan's
//!   detections, one after another, and how many each had;
//! - under its name and [`TENSOR_SUFFIX`], taking **ready tensors**: one FP32 input
//!   `[N, 3, H, W]` preprocessed by the client as the model's `[input]` says, run through the
//!   same batcher; the answer is the model's raw output `[N, d1, d2]`.

use std::{collections::HashMap, time::Instant};

use xray_engine::pipeline::{ScanRequest, TensorRequest};
use xray_metrics::Protocol;
use xray_service::{
    Caller, Error, Service,
    screening::{Scan, ScanAnswer},
};
use xray_types::{Priority, View};

use super::{
    describe::PROTOCOL_VERSION,
    tensor::{InputTensor, OutputData, OutputTensor},
};

/// The input of a model taking encoded scans.
pub const SCAN_INPUT: &str = "SCAN";

/// What the ready-tensor form of a model adds to its name.
pub const TENSOR_SUFFIX: &str = ".tensor";

/// The outputs of a model taking encoded scans, in the order they are answered.
pub const SCAN_OUTPUTS: [(&str, &str); 6] = [
    ("boxes", "FP32"),
    ("scores", "FP32"),
    ("class_ids", "INT32"),
    ("class_names", "BYTES"),
    ("detection_counts", "INT32"),
    ("alarm", "BOOL"),
];

/// A request parameter's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Bool(bool),
    Int(i64),
    Double(f64),
    Str(String),
}

/// One inference request.
#[derive(Debug, Clone, Default)]
pub struct InferCall {
    pub model: String,
    pub version: String,
    pub id: String,
    pub parameters: HashMap<String, Param>,
    pub inputs: Vec<InputTensor>,
    /// The outputs asked for (empty: all).
    pub outputs: Vec<String>,
    pub deadline: Option<Instant>,
    /// Who sent it, for fair queueing.
    pub client: String,
}

/// Its answer.
#[derive(Debug, Clone)]
pub struct InferAnswer {
    pub model_name: String,
    pub model_version: String,
    pub id: String,
    pub parameters: Vec<(String, Param)>,
    pub outputs: Vec<OutputTensor>,
}

/// The served model a protocol model name means, and whether it asks for its ready-tensor
/// form (`MODEL.tensor`) rather than encoded scans.
pub fn split_name(name: &str) -> (&str, bool) {
    match name.strip_suffix(TENSOR_SUFFIX) {
        Some(model) => (model, true),
        None => (name, false),
    }
}

fn string_param(call: &InferCall, key: &str) -> Result<Option<String>, Error> {
    match call.parameters.get(key) {
        None => Ok(None),
        Some(Param::Str(s)) => Ok(Some(s.clone())),
        Some(other) => Err(Error::Invalid(format!(
            "parameter {key} must be a string, not {other:?}"
        ))),
    }
}

/// Runs one request: encoded scans or ready tensors, by the model name's form.
pub async fn infer(
    service: &Service,
    caller: &Caller,
    call: InferCall,
) -> Result<InferAnswer, Error> {
    if !call.version.is_empty() && call.version != PROTOCOL_VERSION {
        // The protocol's version is always 1; the model's own is accepted too.
        let model = service.model(caller, split_name(&call.model).0)?;
        if call.version != model.version {
            return Err(Error::Invalid(format!(
                "model {} has version {PROTOCOL_VERSION} (its own: {}), not {}",
                model.name, model.version, call.version
            )));
        }
    }
    let (model, tensors) = split_name(&call.model);
    // Owned, so that the call (its tensors) moves on without a copy.
    let model = model.to_string();
    if tensors {
        infer_tensors(service, caller, &model, call).await
    } else {
        infer_scans(service, caller, &model, call).await
    }
}

/// The request's one input, taken out of it.
fn only_input(call: &mut InferCall, model: &str, expected: &str) -> Result<InputTensor, Error> {
    match call.inputs.len() {
        1 => Ok(call.inputs.remove(0)),
        n => Err(Error::Invalid(format!(
            "model {model} takes one input ({expected}); the request has {n}"
        ))),
    }
}

async fn infer_scans(
    service: &Service,
    caller: &Caller,
    model: &str,
    mut call: InferCall,
) -> Result<InferAnswer, Error> {
    let described = service.model(caller, model)?;
    let input = only_input(
        &mut call,
        model,
        "SCAN, BYTES: encoded PNG, JPEG or TIFF scans",
    )?;
    if input.name != SCAN_INPUT {
        return Err(Error::Invalid(format!(
            "model {model} has no input {:?}: its input is {SCAN_INPUT} (BYTES); for ready tensors call model {model}{TENSOR_SUFFIX}",
            input.name
        )));
    }
    let images = input.byte_elements()?;
    if images.is_empty() {
        return Err(Error::Invalid(format!("input {SCAN_INPUT} holds no scan")));
    }
    let scan_id = string_param(&call, "scan_id")?.unwrap_or_else(|| call.id.clone());
    let declaration_id = string_param(&call, "declaration_id")?.unwrap_or_default();
    let portal_id = string_param(&call, "portal_id")?.unwrap_or_default();
    let view = match string_param(&call, "view")?.as_deref() {
        None | Some("") => View::Unspecified,
        Some("single") => View::Single,
        Some("top") => View::Top,
        Some("side") => View::Side,
        Some(other) => {
            return Err(Error::Invalid(format!(
                "parameter view {other:?} is not single, top or side"
            )));
        }
    };
    let min_confidence = match call.parameters.get("min_confidence") {
        None => None,
        Some(Param::Double(v)) => Some(*v as f32),
        Some(Param::Int(v)) => Some(*v as f32),
        Some(other) => {
            return Err(Error::Invalid(format!(
                "parameter min_confidence must be a number, not {other:?}"
            )));
        }
    };
    if !declaration_id.is_empty() && scan_id.is_empty() {
        return Err(Error::Invalid(
            "a scan of a declaration needs an id: set the scan_id parameter (or the request id)"
                .into(),
        ));
    }
    let several = images.len() > 1;
    // A scan only screened is named for the logs; one of a declaration names itself.
    let scan_id = if scan_id.is_empty() {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        format!(
            "v2-{}",
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        )
    } else {
        scan_id
    };
    let scans = images.into_iter().enumerate().map(|(i, image)| {
        let scan_id = if several {
            format!("{scan_id}-{i}")
        } else {
            scan_id.clone()
        };
        Scan {
            request: ScanRequest {
                scan_id,
                declaration_id: declaration_id.clone(),
                portal_id: portal_id.clone(),
                image,
                model: Some(described.name.clone()),
                min_confidence,
                priority: Priority::Live,
                deadline: call.deadline,
                client: call.client.clone(),
                protocol: Protocol::KserveV2,
                ..Default::default()
            },
            view,
            channels: 0,
        }
    });
    // All at once, so that they share batches.
    let answers = futures_util::future::join_all(scans.map(|scan| service.screen(caller, scan)))
        .await
        .into_iter()
        .enumerate()
        .map(|(i, a)| a.map_err(|e| element_error(i, several, e)))
        .collect::<Result<Vec<ScanAnswer>, Error>>()?;

    let mut boxes = Vec::new();
    let mut scores = Vec::new();
    let mut class_ids = Vec::new();
    let mut class_names = Vec::new();
    let mut counts = Vec::new();
    let mut alarms = Vec::new();
    let mut risk = None;
    for answer in &answers {
        let (detections, alarm) = answer.screening.found();
        counts.push(i32::try_from(detections.len()).unwrap_or(i32::MAX));
        alarms.push(alarm);
        for d in detections {
            let b = d.bbox;
            boxes.extend_from_slice(&[b.x1, b.y1, b.x2, b.y2]);
            scores.push(d.confidence);
            // A stored detection names its class: its id is its place in the model's classes.
            let class_id = d.class_id.or_else(|| {
                described
                    .classes
                    .iter()
                    .position(|(n, _)| *n == d.class_name)
            });
            class_ids.push(class_id.and_then(|c| i32::try_from(c).ok()).unwrap_or(-1));
            class_names.push(d.class_name.into_bytes());
        }
        if let Some((_, r)) = &answer.declaration {
            risk = Some(r.clone());
        }
    }
    let k = scores.len() as i64;
    let n = answers.len() as i64;
    let all = [
        (vec![k, 4], OutputData::Fp32(boxes)),
        (vec![k], OutputData::Fp32(scores)),
        (vec![k], OutputData::Int32(class_ids)),
        (vec![k], OutputData::Bytes(class_names)),
        (vec![n], OutputData::Int32(counts)),
        (vec![n], OutputData::Bool(alarms)),
    ];
    let all = SCAN_OUTPUTS
        .iter()
        .zip(all)
        .map(|((name, _), (shape, data))| OutputTensor {
            name: name.to_string(),
            shape,
            data,
        })
        .collect();
    let outputs = select_outputs(&call, model, all)?;
    let mut parameters = Vec::new();
    if let Some(risk) = risk {
        parameters.push((
            "risk_score".to_string(),
            Param::Double(risk.assessment.score),
        ));
        parameters.push((
            "channel".to_string(),
            Param::Str(risk.assessment.channel.as_str().to_string()),
        ));
        parameters.push((
            "risk_sequence".to_string(),
            Param::Int(i64::try_from(risk.sequence).unwrap_or(i64::MAX)),
        ));
    }
    Ok(InferAnswer {
        model_name: described.name,
        model_version: PROTOCOL_VERSION.to_string(),
        id: call.id,
        parameters,
        outputs,
    })
}

/// A failure of one element of a request with several: the sentence says which.
fn element_error(i: usize, several: bool, e: Error) -> Error {
    if !several {
        return e;
    }
    match e {
        Error::Invalid(m) => Error::Invalid(format!("scan {i} of the request: {m}")),
        other => other,
    }
}

/// The outputs asked for, in the order asked (all when none is named).
fn select_outputs(
    call: &InferCall,
    model: &str,
    all: Vec<OutputTensor>,
) -> Result<Vec<OutputTensor>, Error> {
    let mut all = all;
    if call.outputs.is_empty() {
        return Ok(all);
    }
    call.outputs
        .iter()
        .map(|wanted| {
            let at = all.iter().position(|o| &o.name == wanted).ok_or_else(|| {
                Error::Invalid(format!(
                    "model {model} has no output {wanted:?}; it has {}",
                    all.iter()
                        .map(|o| o.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
            Ok(all.swap_remove(at))
        })
        .collect()
}

async fn infer_tensors(
    service: &Service,
    caller: &Caller,
    model: &str,
    mut call: InferCall,
) -> Result<InferAnswer, Error> {
    let described = service.model(caller, model)?;
    let (h, w) = (
        i64::from(described.input_height),
        i64::from(described.input_width),
    );
    let input = only_input(&mut call, model, "FP32 [N, 3, H, W]")?;
    if input.name != described.input_name {
        return Err(Error::Invalid(format!(
            "model {model}{TENSOR_SUFFIX} has no input {:?}: its input is {} (FP32 [N, 3, {h}, {w}])",
            input.name, described.input_name
        )));
    }
    let n = match input.shape.as_slice() {
        [n, 3, hh, ww]
            if *hh == h && *ww == w && *n > 0 && (*n as usize) <= described.max_batch =>
        {
            *n as usize
        }
        shape => {
            return Err(Error::Invalid(format!(
                "input {} has shape {shape:?}; model {model}{TENSOR_SUFFIX} takes [N, 3, {h}, {w}] with N from 1 to {}",
                input.name, described.max_batch
            )));
        }
    };
    let values = input.fp32_elements()?;
    let per_image = values.len() / n;
    let requests = values.chunks_exact(per_image).map(|image| TensorRequest {
        model: Some(described.name.clone()),
        input: image.to_vec(),
        priority: Priority::Live,
        client: call.client.clone(),
        deadline: call.deadline,
        protocol: Protocol::KserveV2,
    });
    let outputs = futures_util::future::join_all(
        requests.map(|request| service.infer_ready(caller, request)),
    )
    .await
    .into_iter()
    .collect::<Result<Vec<_>, Error>>()?;
    let [d1, d2] = described.output_dims;
    let data: Vec<f32> = outputs.into_iter().flat_map(|o| o.data).collect();
    // The one output, under the ONNX file's name.
    let all = vec![OutputTensor {
        name: described.output_name.clone(),
        shape: vec![n as i64, d1 as i64, d2 as i64],
        data: OutputData::Fp32(data),
    }];
    let outputs = select_outputs(&call, &call.model, all)?;
    Ok(InferAnswer {
        model_name: format!("{}{TENSOR_SUFFIX}", described.name),
        model_version: PROTOCOL_VERSION.to_string(),
        id: call.id,
        parameters: Vec::new(),
        outputs,
    })
}
