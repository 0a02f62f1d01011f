//! `principals`: make, list and revoke the principals that call the service, in the database
//! of `--data-dir`. A new principal's token is printed once; only its hash is kept.

use std::{path::PathBuf, process::ExitCode, sync::Arc};

use anyhow::Context;
use clap::{Args, Subcommand};
use xray_customs::{principal::Role, risk::RiskPolicy};
use xray_engine::imaging::ImageLimits;
use xray_service::{KeepImages, Service, principals::NewPrincipal};
use xray_store_sqlite::SqliteStore;

/// Who the audit log names for changes made from the command line.
const ACTOR: &str = "cli";

#[derive(Debug, Args)]
pub struct PrincipalsCommand {
    /// Folder of the database (as `serve --data-dir`).
    #[arg(long, env = "XRAY_DATA_DIR", default_value = "var", global = true)]
    pub data_dir: PathBuf,
    #[command(subcommand)]
    pub action: PrincipalsAction,
}

#[derive(Debug, Subcommand)]
pub enum PrincipalsAction {
    /// Make a principal and print its bearer token (shown once; only its hash is kept).
    Add {
        /// Its name: letters, digits, '.', '_' and '-'.
        #[arg(long)]
        name: String,
        /// A role (scanner, inspector, risk-system, supervisor, admin, observer); repeat for more.
        #[arg(long = "role", value_parser = parse_role, required = true)]
        roles: Vec<Role>,
        /// A portal a scanner may send scans for; repeat for more (scanners only).
        #[arg(long = "portal")]
        portals: Vec<String>,
        /// Days until its token is refused [default: it does not expire].
        #[arg(long)]
        expires_days: Option<u32>,
    },
    /// List the principals (no tokens: they are not kept).
    List,
    /// Revoke a principal: its token is refused from now on.
    Revoke {
        #[arg(long)]
        name: String,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| {
        let all: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        format!("{s:?} is not a role ({})", all.join(", "))
    })
}

pub async fn principals_command(command: PrincipalsCommand) -> anyhow::Result<ExitCode> {
    let store = SqliteStore::open(&command.data_dir).with_context(|| {
        format!(
            "cannot open the database in {} (--data-dir)",
            command.data_dir.display()
        )
    })?;
    let service = Service::new(
        Arc::new(store),
        RiskPolicy::default(),
        KeepImages::None,
        ImageLimits::default(),
    )?;
    match command.action {
        PrincipalsAction::Add {
            name,
            roles,
            portals,
            expires_days,
        } => {
            let new = NewPrincipal {
                name,
                roles,
                portals,
                expires_days,
            };
            let (principal, token) = service.add_principal(new, ACTOR).await?;
            println!(
                "principal {} added; its token (shown only now):",
                principal.name
            );
            println!("{token}");
        }
        PrincipalsAction::List => {
            for p in service.principals().await? {
                let roles: Vec<&str> = p.roles.iter().map(|r| r.as_str()).collect();
                let state = match (p.revoked_ms, p.expires_ms) {
                    (Some(at), _) => format!("revoked at {at} ms"),
                    (None, Some(at)) => format!("expires at {at} ms"),
                    (None, None) => "active".to_string(),
                };
                println!(
                    "{}\t{}\t{}\t{state}",
                    p.name,
                    roles.join(","),
                    p.portals.join(",")
                );
            }
        }
        PrincipalsAction::Revoke { name } => {
            service.revoke_principal(&name, ACTOR).await?;
            println!("principal {name} revoked");
        }
    }
    Ok(ExitCode::SUCCESS)
}
