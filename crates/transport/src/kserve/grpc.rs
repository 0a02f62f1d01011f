//! `inference.GRPCInferenceService` on the gRPC port: each call translated into the use cases
//! through [`super::infer`] and [`super::describe`], errors mapped once (`grpc/status.rs`).
//! The repository, shared-memory, trace and log calls answer UNIMPLEMENTED with a sentence.

use std::{collections::HashMap, pin::Pin, time::Instant};

use tokio::sync::mpsc;
use tokio_stream::{Stream, wrappers::ReceiverStream};
use tonic::{Request, Response, Status, Streaming};
use xray_proto::inference::{
    self as pb, grpc_inference_service_server::GrpcInferenceService, infer_parameter,
    model_infer_request, model_infer_response, model_metadata_response,
};
use xray_service::{Call, Caller, Error, Service, access::authorize};

use super::{
    describe::{self, ModelView},
    infer::{self, InferAnswer, InferCall, Param},
    tensor::{InputData, InputTensor},
};
use crate::grpc::{
    authenticate::caller, deadline::deadline, inspection::client_of, status::status,
};

/// Serves the inference protocol over the use cases.
pub struct InferenceService {
    service: Service,
}

impl InferenceService {
    pub fn new(service: Service) -> Self {
        Self { service }
    }

    fn view(&self, caller: &Caller, name: &str) -> Result<ModelView, Status> {
        describe::view_of(&self.service, caller, name).map_err(status)
    }
}

fn param(p: &pb::InferParameter) -> Result<Param, Error> {
    use infer_parameter::ParameterChoice as C;
    match &p.parameter_choice {
        Some(C::BoolParam(b)) => Ok(Param::Bool(*b)),
        Some(C::Int64Param(i)) => Ok(Param::Int(*i)),
        Some(C::Uint64Param(u)) => Ok(Param::Int(i64::try_from(*u).unwrap_or(i64::MAX))),
        Some(C::DoubleParam(d)) => Ok(Param::Double(*d)),
        Some(C::StringParam(s)) => Ok(Param::Str(s.clone())),
        None => Err(Error::Invalid("a parameter has no value".into())),
    }
}

fn wire_param(p: Param) -> pb::InferParameter {
    use infer_parameter::ParameterChoice as C;
    pb::InferParameter {
        parameter_choice: Some(match p {
            Param::Bool(b) => C::BoolParam(b),
            Param::Int(i) => C::Int64Param(i),
            Param::Double(d) => C::DoubleParam(d),
            Param::Str(s) => C::StringParam(s),
        }),
    }
}

/// The protocol's request as the inference use case takes it.
fn infer_call(
    r: pb::ModelInferRequest,
    deadline: Option<Instant>,
    client: String,
) -> Result<InferCall, Error> {
    let parameters = r
        .parameters
        .iter()
        .map(|(k, v)| Ok((k.clone(), param(v)?)))
        .collect::<Result<HashMap<_, _>, Error>>()?;
    let raw = !r.raw_input_contents.is_empty();
    if raw && r.raw_input_contents.len() != r.inputs.len() {
        return Err(Error::Invalid(format!(
            "raw_input_contents has {} entries for {} inputs; it needs one per input",
            r.raw_input_contents.len(),
            r.inputs.len()
        )));
    }
    let mut raw_contents = r.raw_input_contents.into_iter();
    let inputs = r
        .inputs
        .into_iter()
        .map(|t: model_infer_request::InferInputTensor| {
            let data = match (raw_contents.next(), t.contents) {
                (Some(bytes), _) => InputData::Raw(bytes),
                (None, Some(c)) if !c.bytes_contents.is_empty() => {
                    InputData::Bytes(c.bytes_contents.into_iter().map(Into::into).collect())
                }
                (None, Some(c)) if !c.fp32_contents.is_empty() => InputData::Fp32(c.fp32_contents),
                (None, Some(_)) => InputData::Other("contents of an unsupported type"),
                (None, None) => InputData::Bytes(Vec::new()),
            };
            InputTensor {
                name: t.name,
                datatype: t.datatype,
                shape: t.shape,
                data,
            }
        })
        .collect();
    Ok(InferCall {
        model: r.model_name,
        version: r.model_version,
        id: r.id,
        parameters,
        inputs,
        outputs: r.outputs.into_iter().map(|o| o.name).collect(),
        deadline,
        client,
    })
}

/// The use case's answer on the wire: every output's values in `raw_output_contents`, as
/// tritonclient reads them.
fn infer_response(a: InferAnswer) -> pb::ModelInferResponse {
    let mut raw = Vec::with_capacity(a.outputs.len());
    let outputs = a
        .outputs
        .into_iter()
        .map(|o| {
            raw.push(o.data.raw().into());
            model_infer_response::InferOutputTensor {
                name: o.name,
                datatype: o.data.datatype().to_string(),
                shape: o.shape,
                parameters: HashMap::new(),
                contents: None,
            }
        })
        .collect();
    pb::ModelInferResponse {
        model_name: a.model_name,
        model_version: a.model_version,
        id: a.id,
        parameters: a
            .parameters
            .into_iter()
            .map(|(k, v)| (k, wire_param(v)))
            .collect(),
        outputs,
        raw_output_contents: raw,
    }
}

fn tensor_metadata(t: &describe::TensorSpec) -> model_metadata_response::TensorMetadata {
    model_metadata_response::TensorMetadata {
        name: t.name.clone(),
        datatype: t.datatype.to_string(),
        shape: t.shape(),
    }
}

fn data_type(datatype: &str) -> pb::DataType {
    match datatype {
        "BOOL" => pb::DataType::TypeBool,
        "INT32" => pb::DataType::TypeInt32,
        "FP32" => pb::DataType::TypeFp32,
        _ => pb::DataType::TypeString,
    }
}

fn model_config(view: &ModelView) -> pb::ModelConfig {
    pb::ModelConfig {
        name: view.name.clone(),
        platform: view.platform.to_string(),
        max_batch_size: view.max_batch_size,
        input: view
            .inputs
            .iter()
            .map(|t| pb::ModelInput {
                name: t.name.clone(),
                data_type: data_type(t.datatype) as i32,
                dims: t.dims.clone(),
                ..Default::default()
            })
            .collect(),
        output: view
            .outputs
            .iter()
            .map(|t| pb::ModelOutput {
                name: t.name.clone(),
                data_type: data_type(t.datatype) as i32,
                dims: t.dims.clone(),
                ..Default::default()
            })
            .collect(),
        parameters: [(
            "model_version".to_string(),
            pb::ModelParameter {
                string_value: view.model_version.clone(),
            },
        )]
        .into(),
        scheduling_choice: Some(pb::model_config::SchedulingChoice::DynamicBatching(
            pb::ModelDynamicBatching {
                max_queue_delay_microseconds: view.max_queue_delay_us,
                ..Default::default()
            },
        )),
        ..Default::default()
    }
}

fn duration(d: &xray_metrics::StatDuration) -> pb::StatisticDuration {
    let (count, ns) = d.get();
    pb::StatisticDuration { count, ns }
}

fn unimplemented(what: &str) -> Status {
    Status::unimplemented(format!(
        "{what} is not offered: this server loads the models of --models-dir at start and keeps tensors in its own memory (see the README's KServe v2 section)"
    ))
}

type InferStream = Pin<Box<dyn Stream<Item = Result<pb::ModelStreamInferResponse, Status>> + Send>>;

/// Requests one stream may have in flight at once.
const STREAM_IN_FLIGHT: usize = 64;

#[tonic::async_trait]
impl GrpcInferenceService for InferenceService {
    async fn server_live(
        &self,
        request: Request<pb::ServerLiveRequest>,
    ) -> Result<Response<pb::ServerLiveResponse>, Status> {
        authorize(&caller(&request), Call::Health).map_err(status)?;
        Ok(Response::new(pb::ServerLiveResponse { live: true }))
    }

    async fn server_ready(
        &self,
        request: Request<pb::ServerReadyRequest>,
    ) -> Result<Response<pb::ServerReadyResponse>, Status> {
        authorize(&caller(&request), Call::Health).map_err(status)?;
        let ready = self.service.is_ready() && !self.service.is_stopping();
        Ok(Response::new(pb::ServerReadyResponse { ready }))
    }

    async fn model_ready(
        &self,
        request: Request<pb::ModelReadyRequest>,
    ) -> Result<Response<pb::ModelReadyResponse>, Status> {
        let caller = caller(&request);
        let name = request.into_inner().name;
        let (model, _) = infer::split_name(&name);
        let ready = self.service.model_ready(&caller, model).map_err(status)? && !name.is_empty();
        Ok(Response::new(pb::ModelReadyResponse { ready }))
    }

    async fn server_metadata(
        &self,
        request: Request<pb::ServerMetadataRequest>,
    ) -> Result<Response<pb::ServerMetadataResponse>, Status> {
        authorize(&caller(&request), Call::ReadModels).map_err(status)?;
        Ok(Response::new(pb::ServerMetadataResponse {
            name: describe::SERVER_NAME.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            extensions: describe::EXTENSIONS.iter().map(|e| e.to_string()).collect(),
        }))
    }

    async fn model_metadata(
        &self,
        request: Request<pb::ModelMetadataRequest>,
    ) -> Result<Response<pb::ModelMetadataResponse>, Status> {
        let caller = caller(&request);
        let view = self.view(&caller, &request.into_inner().name)?;
        Ok(Response::new(pb::ModelMetadataResponse {
            name: view.name.clone(),
            versions: vec![view.version.clone()],
            platform: view.platform.to_string(),
            inputs: view.inputs.iter().map(tensor_metadata).collect(),
            outputs: view.outputs.iter().map(tensor_metadata).collect(),
        }))
    }

    async fn model_infer(
        &self,
        request: Request<pb::ModelInferRequest>,
    ) -> Result<Response<pb::ModelInferResponse>, Status> {
        let (caller, client) = (caller(&request), client_of(&request));
        let deadline = deadline(request.metadata(), Instant::now());
        let call = infer_call(request.into_inner(), deadline, client).map_err(status)?;
        let answer = infer::infer(&self.service, &caller, call)
            .await
            .map_err(status)?;
        Ok(Response::new(infer_response(answer)))
    }

    type ModelStreamInferStream = InferStream;

    async fn model_stream_infer(
        &self,
        request: Request<Streaming<pb::ModelInferRequest>>,
    ) -> Result<Response<Self::ModelStreamInferStream>, Status> {
        let (caller, client) = (caller(&request), client_of(&request));
        authorize(&caller, Call::ReadModels).map_err(status)?;
        let mut inbound = request.into_inner();
        let (results, outbound) = mpsc::channel(STREAM_IN_FLIGHT);
        let service = self.service.clone();
        tokio::spawn(async move {
            let stopping = service.stopping();
            tokio::pin!(stopping);
            loop {
                let message = tokio::select! {
                    m = inbound.message() => m,
                    _ = &mut stopping => break,
                };
                let request = match message {
                    Ok(Some(r)) => r,
                    Ok(None) => break,
                    Err(s) => {
                        let _ = results.send(Err(s)).await;
                        break;
                    }
                };
                // One request at a time, in order: a stream's answers keep its order.
                let id = request.id.clone();
                let answer = match infer_call(request, None, client.clone()) {
                    Ok(call) => infer::infer(&service, &caller, call).await,
                    Err(e) => Err(e),
                };
                // A failed request does not end the stream: its error goes in its answer.
                let message = match answer {
                    Ok(a) => pb::ModelStreamInferResponse {
                        error_message: String::new(),
                        infer_response: Some(infer_response(a)),
                    },
                    Err(e) => pb::ModelStreamInferResponse {
                        error_message: status(e).message().to_string(),
                        infer_response: Some(pb::ModelInferResponse {
                            id,
                            ..Default::default()
                        }),
                    },
                };
                if results.send(Ok(message)).await.is_err() {
                    break;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(outbound))))
    }

    async fn model_config(
        &self,
        request: Request<pb::ModelConfigRequest>,
    ) -> Result<Response<pb::ModelConfigResponse>, Status> {
        let caller = caller(&request);
        let view = self.view(&caller, &request.into_inner().name)?;
        Ok(Response::new(pb::ModelConfigResponse {
            config: Some(model_config(&view)),
        }))
    }

    async fn model_statistics(
        &self,
        request: Request<pb::ModelStatisticsRequest>,
    ) -> Result<Response<pb::ModelStatisticsResponse>, Status> {
        let caller = caller(&request);
        let name = request.into_inner().name;
        let (model, tensors) = infer::split_name(&name);
        let stats = self
            .service
            .model_statistics(&caller, Some(model).filter(|m| !m.is_empty()))
            .map_err(status)?;
        let model_stats = stats
            .into_iter()
            .map(|(m, s)| {
                use std::sync::atomic::Ordering::Relaxed;
                pb::ModelStatistics {
                    name: describe::view(&m, tensors).name,
                    version: describe::PROTOCOL_VERSION.to_string(),
                    last_inference: s.last_inference_ms.load(Relaxed),
                    inference_count: s.inference_count.load(Relaxed),
                    execution_count: s.execution_count.load(Relaxed),
                    inference_stats: Some(pb::InferStatistics {
                        success: Some(duration(&s.success)),
                        fail: Some(duration(&s.fail)),
                        queue: Some(duration(&s.queue)),
                        compute_input: Some(duration(&s.compute_input)),
                        compute_infer: Some(duration(&s.compute_infer)),
                        compute_output: Some(duration(&s.compute_output)),
                        ..Default::default()
                    }),
                    ..Default::default()
                }
            })
            .collect();
        Ok(Response::new(pb::ModelStatisticsResponse { model_stats }))
    }

    async fn repository_index(
        &self,
        _: Request<pb::RepositoryIndexRequest>,
    ) -> Result<Response<pb::RepositoryIndexResponse>, Status> {
        Err(unimplemented("the model repository extension"))
    }

    async fn repository_model_load(
        &self,
        _: Request<pb::RepositoryModelLoadRequest>,
    ) -> Result<Response<pb::RepositoryModelLoadResponse>, Status> {
        Err(unimplemented("loading a model at run time"))
    }

    async fn repository_model_unload(
        &self,
        _: Request<pb::RepositoryModelUnloadRequest>,
    ) -> Result<Response<pb::RepositoryModelUnloadResponse>, Status> {
        Err(unimplemented("unloading a model at run time"))
    }

    async fn system_shared_memory_status(
        &self,
        _: Request<pb::SystemSharedMemoryStatusRequest>,
    ) -> Result<Response<pb::SystemSharedMemoryStatusResponse>, Status> {
        Err(unimplemented("system shared memory"))
    }

    async fn system_shared_memory_register(
        &self,
        _: Request<pb::SystemSharedMemoryRegisterRequest>,
    ) -> Result<Response<pb::SystemSharedMemoryRegisterResponse>, Status> {
        Err(unimplemented("system shared memory"))
    }

    async fn system_shared_memory_unregister(
        &self,
        _: Request<pb::SystemSharedMemoryUnregisterRequest>,
    ) -> Result<Response<pb::SystemSharedMemoryUnregisterResponse>, Status> {
        Err(unimplemented("system shared memory"))
    }

    async fn cuda_shared_memory_status(
        &self,
        _: Request<pb::CudaSharedMemoryStatusRequest>,
    ) -> Result<Response<pb::CudaSharedMemoryStatusResponse>, Status> {
        Err(unimplemented("CUDA shared memory"))
    }

    async fn cuda_shared_memory_register(
        &self,
        _: Request<pb::CudaSharedMemoryRegisterRequest>,
    ) -> Result<Response<pb::CudaSharedMemoryRegisterResponse>, Status> {
        Err(unimplemented("CUDA shared memory"))
    }

    async fn cuda_shared_memory_unregister(
        &self,
        _: Request<pb::CudaSharedMemoryUnregisterRequest>,
    ) -> Result<Response<pb::CudaSharedMemoryUnregisterResponse>, Status> {
        Err(unimplemented("CUDA shared memory"))
    }

    async fn trace_setting(
        &self,
        _: Request<pb::TraceSettingRequest>,
    ) -> Result<Response<pb::TraceSettingResponse>, Status> {
        Err(unimplemented(
            "the trace extension (logs go to stderr; RUST_LOG sets them)",
        ))
    }

    async fn log_settings(
        &self,
        _: Request<pb::LogSettingsRequest>,
    ) -> Result<Response<pb::LogSettingsResponse>, Status> {
        Err(unimplemented(
            "the logging extension (RUST_LOG sets the log level at start)",
        ))
    }
}
