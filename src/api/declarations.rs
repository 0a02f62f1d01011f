//! The `xray.v1.Declarations` service.

use std::pin::Pin;

use tokio_stream::{Stream, StreamExt, wrappers::ReceiverStream};
use tonic::{Request, Response, Status};

use super::{
    convert_customs::{declaration, declaration_view, risk_change},
    proto::{self, declarations_server::Declarations},
};
use crate::customs::{Customs, CustomsError};

/// Serves RegisterDeclaration, GetDeclaration and WatchRisk.
pub struct DeclarationsService {
    customs: Customs,
}

impl DeclarationsService {
    pub fn new(customs: Customs) -> Self {
        Self { customs }
    }
}

type RiskStream = Pin<Box<dyn Stream<Item = Result<proto::RiskChange, Status>> + Send>>;

#[tonic::async_trait]
impl Declarations for DeclarationsService {
    async fn register_declaration(
        &self,
        request: Request<proto::RegisterDeclarationRequest>,
    ) -> Result<Response<proto::DeclarationView>, Status> {
        let sent = request
            .into_inner()
            .declaration
            .ok_or_else(|| CustomsError::Invalid("declaration is missing".into()))?;
        let state = self.customs.register(declaration(sent)?).await?;
        Ok(Response::new(declaration_view(&state)))
    }

    async fn get_declaration(
        &self,
        request: Request<proto::GetDeclarationRequest>,
    ) -> Result<Response<proto::DeclarationView>, Status> {
        let id = request.into_inner().id;
        if id.is_empty() {
            return Err(CustomsError::Invalid("id is empty".into()).into());
        }
        let state = self.customs.declaration(&id).await?;
        Ok(Response::new(declaration_view(&state)))
    }

    type WatchRiskStream = RiskStream;

    async fn watch_risk(
        &self,
        request: Request<proto::WatchRiskRequest>,
    ) -> Result<Response<Self::WatchRiskStream>, Status> {
        let changes = self.customs.watch(request.into_inner().after_sequence);
        let stream = ReceiverStream::new(changes)
            .map(|change| change.map(risk_change).map_err(Status::from));
        Ok(Response::new(Box::pin(stream)))
    }
}
