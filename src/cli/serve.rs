//! `serve`: TLS (the operator's certificate, or a development one made on first start), the
//! store, the use cases over it, the first administrator on a fresh database, both doors,
//! the models loading behind them, image retention, and a clean stop on SIGTERM or Ctrl-C.

use std::{
    io::Write,
    net::SocketAddr,
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
    process::ExitCode,
    time::Duration,
};

use super::storage::{open_images, open_store};
use anyhow::Context;
use xray_customs::principal::Role;
use xray_service::{
    AccessSettings, Caller, Service, principals::NewPrincipal, throttle::ThrottleSettings,
};
use xray_tls::{DevPki, TlsFiles, dev_files, ensure_dev_pki};
use xray_transport::{ServerConfig, serve};

/// Where the first start writes the admin principal's token, in the data directory.
pub const ADMIN_TOKEN_FILE: &str = "admin.token";

use super::{ServeArgs, build_pipeline, image_limits};

/// How the ports are served, as the flags and the data directory say.
enum Transport {
    /// `--tls-cert`: the operator's certificate.
    Tls(TlsFiles),
    /// No certificate given: the development one in DATA_DIR/tls (loopback only).
    DevTls(DevPki),
    /// `--insecure-plaintext`.
    Plaintext,
}

/// Picks the transport and refuses to listen beyond this machine without a real
/// certificate (the development one names only localhost) unless `--insecure-plaintext`
/// says so; says which it is in one sentence.
fn transport(args: &ServeArgs) -> anyhow::Result<Transport> {
    let security = &args.security;
    let exposed: Vec<String> = [
        ("--grpc-addr", args.grpc_addr),
        ("--http-addr", args.http_addr),
    ]
    .iter()
    .filter(|(_, addr)| !addr.ip().is_loopback())
    .map(|(flag, addr)| format!("{flag} {addr}"))
    .collect();
    if security.insecure_plaintext {
        if !exposed.is_empty() {
            tracing::warn!(
                addresses = %exposed.join(", "),
                "serving beyond this machine without TLS (--insecure-plaintext): tokens, scans and images cross the network unencrypted"
            );
        }
        println!(
            "plaintext on both ports (--insecure-plaintext): tokens, scans and images are not encrypted"
        );
        return Ok(Transport::Plaintext);
    }
    if let (Some(cert), Some(key)) = (&security.tls_cert, &security.tls_key) {
        println!(
            "TLS on both ports with {}{}",
            cert.display(),
            security
                .tls_client_ca
                .as_ref()
                .map(|ca| format!(
                    "; client certificates signed by {} are accepted",
                    ca.display()
                ))
                .unwrap_or_default()
        );
        return Ok(Transport::Tls(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
            client_ca: security.tls_client_ca.clone(),
        }));
    }
    if !exposed.is_empty() {
        anyhow::bail!(
            "{} is not a loopback address, and the development certificate names only localhost: give the server its own certificate (--tls-cert and --tls-key), or pass --insecure-plaintext to serve without TLS and accept the risk",
            exposed.join(" and ")
        );
    }
    let dir = args.storage.data_dir.join("tls");
    let pki = ensure_dev_pki(&dir).with_context(|| {
        format!(
            "cannot make the development certificate in {}",
            dir.display()
        )
    })?;
    println!(
        "TLS on both ports with the development certificate {} (for localhost, {} by the development CA {}: clients trust that CA)",
        pki.server_cert.display(),
        if pki.created { "just made" } else { "made" },
        pki.ca_cert.display()
    );
    Ok(Transport::DevTls(pki))
}

/// On a database with no principal at all, makes `admin` and writes its token to
/// DATA_DIR/admin.token (readable by the owner only), so that a fresh machine can be
/// administered and tried at once.
async fn first_admin(service: &Service, data_dir: &Path) -> anyhow::Result<Option<PathBuf>> {
    let path = data_dir.join(ADMIN_TOKEN_FILE);
    let operator = Caller::Operator("first-start".into());
    if !service.principals(&operator).await?.is_empty() {
        return Ok(path.exists().then_some(path));
    }
    let (_, token) = service
        .add_principal(
            &operator,
            NewPrincipal {
                name: "admin".into(),
                roles: vec![Role::Admin],
                portals: Vec::new(),
                expires_after: None,
            },
        )
        .await?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot write the admin token to {}", path.display()))?;
    writeln!(file, "{token}")?;
    println!(
        "first start: made principal admin; its token is in {} (readable only by you)",
        path.display()
    );
    Ok(Some(path))
}

pub async fn serve_command(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let transport = transport(&args)?;
    let security = &args.security;
    let config = ServerConfig {
        grpc_addr: args.grpc_addr,
        stream_in_flight: args.stream_max_in_flight,
        http_addr: Some(args.http_addr),
        limits: image_limits(&args.images),
        shutdown_grace: Duration::from_secs(args.shutdown_grace),
        tls: match &transport {
            Transport::Tls(files) => Some(files.clone()),
            Transport::DevTls(pki) => Some(dev_files(pki)),
            Transport::Plaintext => None,
        },
        session_idle: Duration::from_secs(security.session_idle_secs),
    };
    let access = AccessSettings {
        cache_ttl: Duration::from_secs(security.auth_cache_secs),
        throttle: ThrottleSettings {
            free_failures: security.auth_failures_free,
            window: Duration::from_secs(security.auth_failure_window_secs),
            max_delay: Duration::from_millis(security.auth_max_delay_ms),
        },
    };
    let policy = args.risk.policy()?;
    let storage = &args.storage;
    // The data folder holds TLS files and the first admin token whatever the database.
    std::fs::create_dir_all(&storage.data_dir).with_context(|| {
        format!(
            "cannot create the data folder {} (--data-dir)",
            storage.data_dir.display()
        )
    })?;
    let store = open_store(&storage.data_dir, &storage.database)?;
    let images = open_images(&storage.data_dir, storage.image_store.as_deref())?;
    let service = Service::new(
        store,
        images,
        policy,
        args.storage.keep_images,
        image_limits(&args.images),
    )?
    .with_access(access)
    .with_dicos_declarations(args.dicom.dicos_declaration_from);
    if let (Some(token), Transport::DevTls(pki)) = (
        first_admin(&service, &args.storage.data_dir).await?,
        &transport,
    ) {
        println!(
            "try: grpcurl -cacert {} -H \"authorization: Bearer $(cat {})\" localhost:{} grpc.health.v1.Health/Check",
            pki.ca_cert.display(),
            token.display(),
            args.grpc_addr.port()
        );
    }
    if let Some(addr) = args.dicom.dicom_addr {
        dicom_door(&args, addr, &service).await?;
    }
    tokio::spawn(keep_images_tidy(
        service.clone(),
        args.storage.image_retention_days,
    ));
    let load = move || build_pipeline(&args.models, &args.images);
    serve(load, service, config, shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

/// Starts the DICOM door on `addr` (loopback unless --insecure-plaintext: it has no TLS).
async fn dicom_door(args: &ServeArgs, addr: SocketAddr, service: &Service) -> anyhow::Result<()> {
    let dicom = &args.dicom;
    if !addr.ip().is_loopback() && !args.security.insecure_plaintext {
        anyhow::bail!(
            "--dicom-addr {addr} is not a loopback address, and the DICOM door has no TLS: scans and reports would cross the network in the clear; listen on 127.0.0.1 behind the site's DICOM TLS proxy, or pass --insecure-plaintext to accept the risk"
        );
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (--dicom-addr)"))?;
    let bound = listener.local_addr()?;
    let settings = xray_dicom_door::DicomSettings {
        addr: bound,
        ae_title: dicom.dicom_ae_title.clone(),
        max_pdu: dicom.dicom_max_pdu,
        max_associations: dicom.dicom_max_associations,
        max_object_bytes: dicom.dicom_max_object_mb.saturating_mul(1 << 20),
        idle_timeout: Duration::from_secs(dicom.dicom_idle_secs),
        tdr_destination: dicom.dicom_tdr_destination.clone(),
    };
    println!("dicom on {bound} as {}", dicom.dicom_ae_title);
    let door_service = service.clone();
    let stopping = service.stopping();
    tokio::spawn(async move {
        if let Err(e) =
            xray_dicom_door::serve_dicom(listener, door_service, settings, stopping).await
        {
            tracing::error!(error = %e, "the DICOM door stopped");
        }
    });
    Ok(())
}

/// At start and hourly: drops kept images past their retention (`days`; 0: never), and
/// sweeps blobs that no scan refers to and that are older than [`ORPHAN_GRACE`].
async fn keep_images_tidy(service: Service, days: u32) {
    let mut hourly = tokio::time::interval(Duration::from_secs(3600));
    loop {
        hourly.tick().await;
        if days > 0 {
            match service.purge_images(days).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(images = n, days, "dropped images past their retention"),
                Err(e) => tracing::warn!(error = %e, "cannot drop images past their retention"),
            }
        }
        match service.sweep_images(ORPHAN_GRACE).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(blobs = n, "swept image blobs that no scan refers to"),
            Err(e) => tracing::warn!(error = %e, "cannot sweep the image store"),
        }
    }
}

/// How old a blob that no scan refers to must be before the sweep deletes it: far longer than
/// any write transaction, so that an image stored just before its scan commits is spared.
const ORPHAN_GRACE: Duration = Duration::from_secs(3600);

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down: finishing scans in flight");
}
