//! `serve`: the store, the use cases over it, both doors, the models loading behind them,
//! image retention, and a clean stop on SIGTERM or Ctrl-C.

use std::{process::ExitCode, sync::Arc, time::Duration};

use anyhow::Context;
use xray_service::Service;
use xray_store_sqlite::SqliteStore;
use xray_transport::{ServerConfig, serve};

use super::{ServeArgs, build_pipeline, image_limits};

/// Refuses to listen beyond this machine without `--insecure-plaintext`: the ports have no
/// TLS and no authentication yet. With it, says so once at start.
fn exposure(args: &ServeArgs) -> anyhow::Result<()> {
    let exposed: Vec<String> = [
        ("--grpc-addr", args.grpc_addr),
        ("--http-addr", args.http_addr),
    ]
    .iter()
    .filter(|(_, addr)| !addr.ip().is_loopback())
    .map(|(flag, addr)| format!("{flag} {addr}"))
    .collect();
    if exposed.is_empty() {
        return Ok(());
    }
    if !args.insecure_plaintext {
        anyhow::bail!(
            "{} is not a loopback address, and this server has no TLS and no authentication yet: anyone who reaches the port could send scans, read stored images and submit verdicts; listen on 127.0.0.1 (the default) behind a TLS-terminating, authenticating proxy, or pass --insecure-plaintext to accept the risk",
            exposed.join(" and ")
        );
    }
    tracing::warn!(
        addresses = %exposed.join(", "),
        "listening beyond this machine without TLS or authentication (--insecure-plaintext)"
    );
    Ok(())
}

pub async fn serve_command(args: ServeArgs) -> anyhow::Result<ExitCode> {
    exposure(&args)?;
    let config = ServerConfig {
        grpc_addr: args.grpc_addr,
        stream_in_flight: args.stream_max_in_flight,
        http_addr: Some(args.http_addr),
        limits: image_limits(&args.images),
        shutdown_grace: Duration::from_secs(args.shutdown_grace),
    };
    let policy = args.risk.policy()?;
    let store = SqliteStore::open(&args.storage.data_dir).with_context(|| {
        format!(
            "cannot open the database in {} (--data-dir)",
            args.storage.data_dir.display()
        )
    })?;
    tracing::info!(database = %store.path().display(), "storage opened");
    let service = Service::new(
        Arc::new(store),
        policy,
        args.storage.keep_images,
        image_limits(&args.images),
    )?;
    if args.storage.image_retention_days > 0 {
        tokio::spawn(purge_images(
            service.clone(),
            args.storage.image_retention_days,
        ));
    }
    let load = move || build_pipeline(&args.models, &args.images);
    serve(load, service, config, shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

/// Drops kept images past their retention, at start and hourly.
async fn purge_images(service: Service, days: u32) {
    let mut hourly = tokio::time::interval(Duration::from_secs(3600));
    loop {
        hourly.tick().await;
        match service.purge_images(days).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(images = n, days, "dropped images past their retention"),
            Err(e) => tracing::warn!(error = %e, "cannot drop images past their retention"),
        }
    }
}

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
