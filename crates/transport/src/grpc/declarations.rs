//! The `xray.v1.Declarations` service.

use std::pin::Pin;

use tokio_stream::{Stream, StreamExt, wrappers::ReceiverStream};
use tonic::{Request, Response, Status};
use xray_proto::{self as proto, declarations_server::Declarations};
use xray_service::{Error, Service};

use super::{
    authenticate::caller,
    convert_customs::{declaration, declaration_view, risk_change},
    status::status,
};

/// Serves RegisterDeclaration, GetDeclaration and WatchRisk.
pub struct DeclarationsService {
    service: Service,
}

impl DeclarationsService {
    pub fn new(service: Service) -> Self {
        Self { service }
    }
}

type RiskStream = Pin<Box<dyn Stream<Item = Result<proto::RiskChange, Status>> + Send>>;

#[tonic::async_trait]
impl Declarations for DeclarationsService {
    async fn register_declaration(
        &self,
        request: Request<proto::RegisterDeclarationRequest>,
    ) -> Result<Response<proto::DeclarationView>, Status> {
        let caller = caller(&request);
        let sent = request
            .into_inner()
            .declaration
            .ok_or_else(|| status(Error::Invalid("declaration is missing".into())))?;
        let state = self
            .service
            .register_declaration(&caller, declaration(sent).map_err(status)?)
            .await
            .map_err(status)?;
        Ok(Response::new(declaration_view(&state)))
    }

    async fn get_declaration(
        &self,
        request: Request<proto::GetDeclarationRequest>,
    ) -> Result<Response<proto::DeclarationView>, Status> {
        let caller = caller(&request);
        let state = self
            .service
            .declaration(&caller, &request.into_inner().id)
            .await
            .map_err(status)?;
        Ok(Response::new(declaration_view(&state)))
    }

    type WatchRiskStream = RiskStream;

    async fn watch_risk(
        &self,
        request: Request<proto::WatchRiskRequest>,
    ) -> Result<Response<Self::WatchRiskStream>, Status> {
        let caller = caller(&request);
        let changes = self
            .service
            .watch_risk(&caller, request.into_inner().after_sequence)
            .map_err(status)?;
        let stream =
            ReceiverStream::new(changes).map(|change| change.map(risk_change).map_err(status));
        Ok(Response::new(Box::pin(stream)))
    }
}
