//! `principals`: make, list and revoke the principals that call the service, in the database
//! of `--data-dir`, and issue client certificates for them from the development CA. A new
//! principal's token is printed once; only its hash is kept. Whoever can write the data
//! directory is the administrator here: the audit log names them `cli:<user>`.

use std::{
    io::Write,
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
    process::ExitCode,
    time::Duration,
};

use super::storage::{DatabaseArgs, open_images, open_store};
use anyhow::Context;
use clap::{Args, Subcommand};
use xray_customs::{principal::Role, risk::RiskPolicy};
use xray_engine::imaging::ImageLimits;
use xray_service::{Caller, KeepImages, Service, principals::NewPrincipal};

#[derive(Debug, Args)]
pub struct PrincipalsCommand {
    /// Folder of the database (as `serve --data-dir`).
    #[arg(long, env = "XRAY_DATA_DIR", default_value = "var", global = true)]
    pub data_dir: PathBuf,
    #[command(flatten)]
    pub database: DatabaseArgs,
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
        /// How long until its token (and client certificate) is refused: a number with d,
        /// h, m or s, e.g. 90d [default: it does not expire].
        #[arg(long, value_parser = parse_duration)]
        expires_in: Option<Duration>,
    },
    /// List the principals (no tokens: they are not kept).
    List,
    /// Set the password an inspector or supervisor logs in to the review screen with, read
    /// from the first line of standard input (so that it stays out of the shell's history
    /// and the process list); only its Argon2id hash is kept.
    SetPassword {
        #[arg(long)]
        name: String,
    },
    /// Revoke a principal: its token and client certificates are refused from now on
    /// (by a running server within --auth-cache-secs).
    Revoke {
        #[arg(long)]
        name: String,
    },
    /// Issue a client certificate (mutual TLS) for a principal from the development CA that
    /// `serve` made in DATA_DIR/tls, or from --ca-cert and --ca-key: NAME.pem and NAME.key
    /// in --out.
    ClientCert {
        /// The principal it names (its subject common name).
        #[arg(long)]
        name: String,
        /// Days it is valid.
        #[arg(long, default_value_t = 365)]
        days: u32,
        /// Folder to write it to.
        #[arg(long, default_value = ".")]
        out: PathBuf,
        /// The CA certificate to sign with [default: DATA_DIR/tls/ca.pem].
        #[arg(long, requires = "ca_key")]
        ca_cert: Option<PathBuf>,
        /// The CA's private key [default: DATA_DIR/tls/ca.key].
        #[arg(long, requires = "ca_cert")]
        ca_key: Option<PathBuf>,
    },
}

/// `90d`, `12h`, `30m`, `45s`.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("{s:?} is not a duration such as 90d, 12h, 30m or 45s");
    let (number, unit) = s.split_at(s.len().saturating_sub(1));
    let n: u64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "d" => n.checked_mul(86_400),
        "h" => n.checked_mul(3_600),
        "m" => n.checked_mul(60),
        "s" => Some(n),
        _ => None,
    }
    .ok_or_else(bad)?;
    Ok(Duration::from_secs(seconds))
}

/// Who the audit log names for changes made from this command line.
fn operator() -> Caller {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    Caller::Operator(format!("cli:{user}"))
}

/// Writes `contents` to `path`, readable only by its owner when `secret`.
fn write_file(path: &Path, contents: &str, secret: bool) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(if secret { 0o600 } else { 0o644 })
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| {
        let all: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        format!("{s:?} is not a role ({})", all.join(", "))
    })
}

pub async fn principals_command(command: PrincipalsCommand) -> anyhow::Result<ExitCode> {
    if let PrincipalsAction::ClientCert {
        name,
        days,
        out,
        ca_cert,
        ca_key,
    } = command.action
    {
        let tls = command.data_dir.join("tls");
        let ca_cert = ca_cert.unwrap_or_else(|| tls.join("ca.pem"));
        let ca_key = ca_key.unwrap_or_else(|| tls.join("ca.key"));
        let (cert, key) = xray_tls::issue_client_cert(&ca_cert, &ca_key, &name, days)?;
        std::fs::create_dir_all(&out).with_context(|| format!("cannot make {}", out.display()))?;
        let (cert_path, key_path) = (
            out.join(format!("{name}.pem")),
            out.join(format!("{name}.key")),
        );
        write_file(&cert_path, &cert, false)?;
        write_file(&key_path, &key, true)?;
        println!(
            "client certificate for principal {name} (valid {days} days, signed by {}): {} and {}",
            ca_cert.display(),
            cert_path.display(),
            key_path.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    manage(&command.data_dir, &command.database, command.action).await?;
    Ok(ExitCode::SUCCESS)
}

/// The actions on the database.
async fn manage(
    data_dir: &Path,
    database: &DatabaseArgs,
    action: PrincipalsAction,
) -> anyhow::Result<()> {
    let store = open_store(data_dir, database)?;
    // Principals have no images: the default folder is opened, never written.
    let images = open_images(data_dir, None)?;
    let service = Service::new(
        store,
        images,
        RiskPolicy::default(),
        KeepImages::None,
        ImageLimits::default(),
    )?;
    match action {
        PrincipalsAction::Add {
            name,
            roles,
            portals,
            expires_in,
        } => {
            let new = NewPrincipal {
                name,
                roles,
                portals,
                expires_after: expires_in,
            };
            let (principal, token) = service.add_principal(&operator(), new).await?;
            println!(
                "principal {} added; its token (shown only now):",
                principal.name
            );
            println!("{token}");
        }
        PrincipalsAction::List => {
            for p in service.principals(&operator()).await? {
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
        PrincipalsAction::SetPassword { name } => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("cannot read the password from standard input")?;
            let password = line.trim_end_matches(['\r', '\n']);
            service.set_password(&operator(), &name, password).await?;
            println!("password of principal {name} set");
        }
        PrincipalsAction::Revoke { name } => {
            service.revoke_principal(&operator(), &name).await?;
            println!("principal {name} revoked");
        }
        // Issued above, from files: the database is not needed.
        PrincipalsAction::ClientCert { .. } => {}
    }
    Ok(())
}
