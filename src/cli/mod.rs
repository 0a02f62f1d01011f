//! The command line: `serve` (the gRPC service), `inspect` (offline, one JSON line per
//! image), `eval`, `synth`, and the benchmark harness (`load`, `ceiling`). Every server
//! flag has an environment fallback.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::ExitCode,
    sync::Arc,
    time::Duration,
};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::telemetry::{self, LogFormat};
use xray_customs::risk::RiskPolicy;
use xray_engine::{
    draw::draw_detections,
    imaging::{ImageLimits, RawLayout},
    model::{ModelRegistry, OrtRuntime, RegistryOptions, RuntimeArgs},
    pipeline::{BatchingSettings, MAX_SCAN_ID_BYTES, Pipeline, ScanRequest},
};
use xray_service::{KeepImages, Service};
use xray_store_sqlite::SqliteStore;
use xray_transport::{ServerConfig, serve};
use xray_types::Encoding;

#[derive(Debug, Parser)]
#[command(
    name = "xray-screen",
    version,
    about = "Customs X-ray screening: ONNX detection of weapons, drugs and undeclared goods in scanner images"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log line format (level from RUST_LOG, default info).
    #[arg(long, env = "XRAY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the gRPC API (xray.v1 Inspection, Declarations, Review; health, reflection).
    Serve(ServeArgs),
    /// Screen image files offline and print one JSON line per image.
    Inspect(InspectArgs),
    /// Measure a model on labelled images (YOLO labels): per-class AP, mAP, false alarms.
    Eval(EvalArgs),
    /// Generate a synthetic dual-energy X-ray data set with labelled threats.
    Synth(xray_synth::SynthArgs),
    /// Pictures of what the generator makes, for people: a catalogue of the threat families,
    /// or sample scans.
    #[command(subcommand)]
    SynthPictures(xray_synth::pictures::PicturesCommand),
    /// Drive a running server with concurrent clients and report throughput, latency
    /// percentiles, errors and the batch size it formed (optionally against the ceiling).
    Load(xray_load::LoadArgs),
    /// Measure the model's own throughput in-process on ready tensors at several batch sizes.
    Ceiling(CeilingCommand),
}

#[derive(Debug, Args)]
pub struct CeilingCommand {
    /// Model to measure [default: the first model by name].
    #[arg(long)]
    pub model: Option<String>,
    /// Also write the result as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    #[command(flatten)]
    pub args: xray_load::CeilingArgs,
}

/// Where models come from and where they run.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// A model folder (model.toml + ONNX file) or a folder of model folders.
    #[arg(long, env = "XRAY_MODELS_DIR", default_value = "models")]
    pub models_dir: PathBuf,
    /// Model used when a scan names none [default: the first model by name].
    #[arg(long, env = "XRAY_DEFAULT_MODEL")]
    pub default_model: Option<String>,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    /// Refuse to start unless every model runs on the GPU.
    #[arg(long, env = "XRAY_REQUIRE_GPU")]
    pub require_gpu: bool,
    /// Live scans one model may have admitted (decoding or waiting for a batch); beyond it,
    /// RESOURCE_EXHAUSTED at once.
    #[arg(long, env = "XRAY_QUEUE_CAPACITY", default_value_t = 256)]
    pub queue_capacity: usize,
    /// Back-office scans one model may have admitted; beyond it, RESOURCE_EXHAUSTED at once.
    #[arg(long, env = "XRAY_BACKOFFICE_QUEUE_CAPACITY", default_value_t = 256)]
    pub backoffice_queue_capacity: usize,
    /// Longest wait, in microseconds, of a model's oldest queued scan for others to join its
    /// batch while an executor is free [default: each model.toml's max_queue_delay_us, 2000
    /// when unset].
    #[arg(long, env = "XRAY_MAX_QUEUE_DELAY_US")]
    pub max_queue_delay_us: Option<u64>,
    /// Executor threads per model, each owning its own ONNX Runtime session.
    #[arg(long, env = "XRAY_INSTANCES", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub instances: u16,
}

/// Limits on what a scan may be, and the CPU pool that decodes them.
#[derive(Debug, Args)]
pub struct ImageArgs {
    /// Largest encoded image accepted, in bytes.
    #[arg(long, env = "XRAY_MAX_IMAGE_BYTES", default_value_t = ImageLimits::default().max_bytes)]
    pub max_image_bytes: usize,
    /// Largest image accepted, in pixels (width x height), checked from the header.
    #[arg(long, env = "XRAY_MAX_IMAGE_PIXELS", default_value_t = ImageLimits::default().max_pixels)]
    pub max_image_pixels: u64,
    /// Threads decoding and preprocessing scans (0: one per core).
    #[arg(long, env = "XRAY_CPU_THREADS", default_value_t = 0)]
    pub cpu_threads: usize,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// gRPC listen address.
    #[arg(long, env = "XRAY_GRPC_ADDR", default_value = "0.0.0.0:50051")]
    pub grpc_addr: SocketAddr,
    /// HTTP listen address of the review screen (`/`) and the Prometheus metrics (`/metrics`).
    #[arg(long, env = "XRAY_HTTP_ADDR", default_value = "0.0.0.0:8080")]
    pub http_addr: SocketAddr,
    /// Scans one StreamScans stream may have in flight.
    #[arg(long, env = "XRAY_STREAM_MAX_IN_FLIGHT", default_value_t = 64)]
    pub stream_max_in_flight: usize,
    #[command(flatten)]
    pub models: ModelArgs,
    #[command(flatten)]
    pub images: ImageArgs,
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(flatten)]
    pub risk: RiskArgs,
}

/// Where declarations, scans, verdicts and the audit log are kept.
#[derive(Debug, Args)]
pub struct StorageArgs {
    /// Folder of the embedded SQLite database (created if missing).
    #[arg(long, env = "XRAY_DATA_DIR", default_value = "var")]
    pub data_dir: PathBuf,
    /// Which images of scans with a declaration are kept for review.
    #[arg(long, env = "XRAY_KEEP_IMAGES", value_enum, default_value_t = KeepImages::Flagged)]
    pub keep_images: KeepImages,
    /// Days a kept image stays before it is dropped (the scan's record stays); 0: forever.
    #[arg(long, env = "XRAY_IMAGE_RETENTION_DAYS", default_value_t = 90)]
    pub image_retention_days: u32,
}

/// The risk formula's settings (see README, "Risk").
#[derive(Debug, Args)]
pub struct RiskArgs {
    /// What a certain weapon finding adds to the score (0..1).
    #[arg(long, env = "XRAY_RISK_WEAPON_SEVERITY", default_value_t = RiskPolicy::default().weapon_severity)]
    pub risk_weapon_severity: f64,
    /// What a certain drugs finding adds to the score (0..1).
    #[arg(long, env = "XRAY_RISK_DRUGS_SEVERITY", default_value_t = RiskPolicy::default().drugs_severity)]
    pub risk_drugs_severity: f64,
    /// What a certain undeclared-goods finding adds to the score (0..1).
    #[arg(long, env = "XRAY_RISK_UNDECLARED_SEVERITY", default_value_t = RiskPolicy::default().undeclared_severity)]
    pub risk_undeclared_severity: f64,
    /// Scores at or over this go to the YELLOW channel (document check).
    #[arg(long, env = "XRAY_RISK_YELLOW_AT", default_value_t = RiskPolicy::default().yellow_at)]
    pub risk_yellow_at: f64,
    /// Scores at or over this go to the RED channel (physical inspection); any weapon or
    /// drugs finding does too.
    #[arg(long, env = "XRAY_RISK_RED_AT", default_value_t = RiskPolicy::default().red_at)]
    pub risk_red_at: f64,
}

impl RiskArgs {
    pub fn policy(&self) -> anyhow::Result<RiskPolicy> {
        let policy = RiskPolicy {
            weapon_severity: self.risk_weapon_severity,
            drugs_severity: self.risk_drugs_severity,
            undeclared_severity: self.risk_undeclared_severity,
            yellow_at: self.risk_yellow_at,
            red_at: self.risk_red_at,
        };
        policy.check().map_err(anyhow::Error::msg)?;
        Ok(policy)
    }
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Image files: PNG, JPEG, TIFF, or raw little-endian u16 (.raw, with --raw-size).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Model to run [default: the default model].
    #[arg(long)]
    pub model: Option<String>,
    /// Write each image with its detections drawn into this folder (as PNG).
    #[arg(long)]
    pub draw: Option<PathBuf>,
    /// Drop detections under this confidence (on top of the per-class thresholds).
    #[arg(long)]
    pub min_confidence: Option<f32>,
    /// Geometry of .raw files: WIDTHxHEIGHTxCHANNELS, e.g. 1024x768x2 for dual-energy.
    #[arg(long, value_parser = parse_raw_size)]
    pub raw_size: Option<RawLayout>,
    #[command(flatten)]
    pub models: ModelArgs,
    #[command(flatten)]
    pub images: ImageArgs,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A data set: a folder written by `synth`, a YOLO folder (images/ beside labels/,
    /// optionally with data.yaml and classes.txt), or a data.yaml file.
    pub set: PathBuf,
    /// The data.yaml entry to evaluate (val, test, ...).
    #[arg(long, default_value = "val")]
    pub split: String,
    /// Model to measure [default: the default model].
    #[arg(long)]
    pub model: Option<String>,
    /// Lowest score kept for the precision-recall curve (the shipped thresholds still decide
    /// precision, recall and false alarms).
    #[arg(long, default_value_t = 0.001)]
    pub score_floor: f32,
    /// Scans in flight at once.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Also write the full report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    #[command(flatten)]
    pub models: ModelArgs,
    #[command(flatten)]
    pub images: ImageArgs,
}

fn parse_raw_size(s: &str) -> Result<RawLayout, String> {
    let parts: Vec<u32> = s
        .split('x')
        .map(|p| p.parse::<u32>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("{s:?} is not WIDTHxHEIGHTxCHANNELS"))?;
    match parts[..] {
        [width, height, channels] => Ok(RawLayout {
            width,
            height,
            channels,
        }),
        _ => Err(format!("{s:?} is not WIDTHxHEIGHTxCHANNELS")),
    }
}

/// Runs the command; the error, if any, is one sentence for the operator.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    telemetry::init(cli.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match cli.command {
        Command::Serve(args) => runtime.block_on(serve_command(args)),
        Command::Inspect(args) => runtime.block_on(inspect_command(args)),
        Command::Eval(args) => runtime.block_on(eval_command(args)),
        Command::Synth(args) => {
            xray_synth::run(&args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::SynthPictures(command) => {
            xray_synth::pictures::run(&command)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Load(args) => runtime.block_on(load_command(args)),
        Command::Ceiling(command) => ceiling_command(command),
    }
}

async fn load_command(args: xray_load::LoadArgs) -> anyhow::Result<ExitCode> {
    let report = xray_load::run_load(&args).await?;
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    print!("{report}");
    Ok(if report.succeeded > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn ceiling_command(command: CeilingCommand) -> anyhow::Result<ExitCode> {
    let ceiling = xray_load::measure_ceiling(&command.args, command.model.as_deref(), |p| {
        println!(
            "batch {:>2}: {:>8.2} images/s ({:.1} ms a batch, {} runs)",
            p.batch_size, p.images_per_second, p.batch_ms, p.runs
        )
    })?;
    if let Some(best) = ceiling.best() {
        println!(
            "ceiling of {} on {}: {:.2} images/s at batch {}",
            ceiling.model, ceiling.provider, best.images_per_second, best.batch_size
        );
    }
    if let Some(path) = &command.json {
        std::fs::write(path, serde_json::to_string_pretty(&ceiling)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Loads the models and starts the engine over them, as the flags say.
fn build_pipeline(models: &ModelArgs, images: &ImageArgs) -> anyhow::Result<Pipeline> {
    let runtime = OrtRuntime::init(models.runtime.ort_lib.as_deref())?;
    let options = RegistryOptions {
        session: models.runtime.session_options(models.require_gpu),
        default_model: models.default_model.clone(),
        instances: usize::from(models.instances),
    };
    let registry = ModelRegistry::load(runtime, &models.models_dir, &options)?;
    let batching = BatchingSettings {
        max_queue_delay: models.max_queue_delay_us.map(Duration::from_micros),
        queue_bounds: [
            models.queue_capacity.max(1),
            models.backoffice_queue_capacity.max(1),
        ],
    };
    Ok(Pipeline::new(
        registry,
        &batching,
        image_limits(images),
        images.cpu_threads,
    )?)
}

fn image_limits(images: &ImageArgs) -> ImageLimits {
    ImageLimits {
        max_bytes: images.max_image_bytes,
        max_pixels: images.max_image_pixels,
    }
}

async fn serve_command(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = ServerConfig {
        grpc_addr: args.grpc_addr,
        stream_in_flight: args.stream_max_in_flight,
        http_addr: Some(args.http_addr),
        limits: image_limits(&args.images),
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

async fn eval_command(args: EvalArgs) -> anyhow::Result<ExitCode> {
    if !(0.0..=1.0).contains(&args.score_floor) {
        anyhow::bail!("--score-floor {} is outside 0..1", args.score_floor);
    }
    let set = xray_eval::load(&args.set, &args.split)?;
    let pipeline = build_pipeline(&args.models, &args.images)?;
    let options = xray_eval::EvalOptions {
        model: args.model.clone(),
        score_floor: args.score_floor,
        concurrency: args.concurrency,
        progress: true,
    };
    let report = xray_eval::evaluate(&pipeline, &set, &options).await?;
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json).with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!("{report}");
    Ok(if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

async fn inspect_command(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let pipeline = build_pipeline(&args.models, &args.images)?;
    if let Some(dir) = &args.draw {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create --draw folder {}", dir.display()))?;
    }
    let mut failures = 0;
    for file in &args.files {
        let line = match inspect_file(&pipeline, &args, file).await {
            Ok(line) => line,
            Err(e) => {
                failures += 1;
                serde_json::json!({ "file": file, "error": format!("{e:#}") })
            }
        };
        println!("{line}");
    }
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

async fn inspect_file(
    pipeline: &Pipeline,
    args: &InspectArgs,
    file: &Path,
) -> anyhow::Result<serde_json::Value> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let encoding = file
        .extension()
        .and_then(|e| e.to_str())
        .and_then(Encoding::from_extension)
        .filter(|e| *e == Encoding::RawU16);
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.display().to_string());
    let request = ScanRequest {
        scan_id: name.chars().take(MAX_SCAN_ID_BYTES / 4).collect(),
        image: bytes.into(),
        encoding,
        raw: encoding.and(args.raw_size),
        model: args.model.clone(),
        min_confidence: args.min_confidence,
        ..Default::default()
    };
    let (inspection, scan) = pipeline.inspect_with_pixels(request).await?;
    let mut line = serde_json::to_value(&inspection)?;
    line["file"] = serde_json::json!(file);
    if let Some(dir) = &args.draw {
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "scan".into());
        let out = dir.join(format!("{stem}.png"));
        let drawn = draw_detections(&scan, &inspection.detections)
            .context("decoded pixels do not match their size")?;
        drawn
            .save(&out)
            .with_context(|| format!("cannot write {}", out.display()))?;
        line["drawn"] = serde_json::json!(out);
    }
    Ok(line)
}
