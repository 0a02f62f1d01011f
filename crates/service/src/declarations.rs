//! Registering and reading declarations, and the risk feed.

use tokio::sync::mpsc;
use xray_customs::{
    declaration::{Declaration, DeclarationState, RiskChange, now_ms, validate},
    ledger,
    risk::Taxonomies,
    store::Registration,
};

use xray_metrics::metrics;

use crate::{
    Error, Service,
    access::{Call, Caller, authorize},
};

impl Service {
    /// Registers a declaration; the same one again answers the stored one, another with the
    /// same id is a conflict.
    pub async fn register_declaration(
        &self,
        caller: &Caller,
        declaration: Declaration,
    ) -> Result<DeclarationState, Error> {
        let actor = authorize(caller, Call::RegisterDeclaration)?.to_string();
        validate(&declaration).map_err(|e| Error::Invalid(e.0))?;
        let policy = self.policy;
        let id = declaration.id.clone();
        let by = actor.clone();
        let (registration, sent) = self
            .blocking(move |store| {
                // A new declaration has no scans: its risk is the prior's, whatever the models.
                let assess = |s: &DeclarationState| {
                    policy.assess(&s.declaration, &s.scans, &Taxonomies::new())
                };
                let registration = store.transaction(|uow| {
                    Ok::<_, Error>(ledger::register(uow, &declaration, now_ms(), &by, &assess)?)
                })?;
                Ok((registration, declaration))
            })
            .await?;
        match registration {
            Registration::New { state, change } => {
                self.feed.published(&change);
                Ok(*state)
            }
            Registration::Existing(state) if state.declaration == sent => Ok(*state),
            // Other content under a registered id: refused, and kept in the audit log.
            Registration::Existing(_) => {
                self.blocking(move |store| {
                    store.transaction(|uow| {
                        Ok::<_, Error>(ledger::refuse_declaration(uow, &sent, now_ms(), &actor)?)
                    })
                })
                .await?;
                metrics().declaration_conflict();
                Err(Error::DeclarationConflict(id))
            }
        }
    }

    /// A registered declaration with its scans and risk.
    pub async fn declaration(&self, caller: &Caller, id: &str) -> Result<DeclarationState, Error> {
        authorize(caller, Call::ReadDeclaration)?;
        if id.is_empty() {
            return Err(Error::Invalid("id is empty".into()));
        }
        let id = id.to_string();
        self.blocking(move |store| store.declaration(&id)?.ok_or(Error::UnknownDeclaration(id)))
            .await
    }

    /// Risk changes after sequence number `after` (none: from now on), oldest first, for as
    /// long as the receiver is kept; see [`crate::feed::RiskFeed::subscribe`].
    pub fn watch_risk(
        &self,
        caller: &Caller,
        after: Option<u64>,
    ) -> Result<mpsc::Receiver<Result<RiskChange, Error>>, Error> {
        authorize(caller, Call::WatchRisk)?;
        Ok(self.feed.subscribe(after))
    }
}
