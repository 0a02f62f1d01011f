//! The command line: `serve` (the gRPC and HTTP service), `inspect` (offline, one JSON line
//! per image), `eval`, `synth`, and the benchmark harness (`load`, `ceiling`). Every server
//! flag has an environment fallback. [`args`] holds the flags; each other file runs one
//! family of commands.

mod args;
mod bench;
mod offline;
mod principals;
mod serve;
mod storage;

use std::{path::PathBuf, process::ExitCode, time::Duration};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use xray_engine::{
    imaging::ImageLimits,
    model::{ModelRegistry, OrtRuntime, RegistryOptions},
    pipeline::{BatchingSettings, Pipeline},
};

use crate::telemetry::{self, LogFormat};
pub use args::{EvalArgs, ImageArgs, InspectArgs, ModelArgs, ServeArgs};

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
    /// Serve the gRPC API (xray.v1 Inspection, Declarations, Review; KServe v2; health,
    /// reflection), the review screen and metrics over HTTPS, and optionally the DICOM door.
    // Boxed: its flags outweigh every other command's.
    Serve(Box<ServeArgs>),
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
    /// Make, list and revoke the principals that call the service (bearer tokens).
    Principals(principals::PrincipalsCommand),
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

/// Runs the command; the error, if any, is one sentence for the operator.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    telemetry::init(cli.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match cli.command {
        Command::Serve(args) => runtime.block_on(serve::serve_command(*args)),
        Command::Inspect(args) => runtime.block_on(offline::inspect_command(args)),
        Command::Eval(args) => runtime.block_on(offline::eval_command(args)),
        Command::Synth(args) => {
            xray_synth::run(&args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::SynthPictures(command) => {
            xray_synth::pictures::run(&command)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Load(args) => runtime.block_on(bench::load_command(args)),
        Command::Ceiling(command) => bench::ceiling_command(command),
        Command::Principals(command) => runtime.block_on(principals::principals_command(command)),
    }
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
        client_share: models.client_queue_share.max(1),
    };
    Ok(Pipeline::new(
        registry,
        &batching,
        image_limits(images),
        images.cpu_threads,
        images.decode_budget_mb.saturating_mul(1 << 20),
    )?)
}

fn image_limits(images: &ImageArgs) -> ImageLimits {
    ImageLimits {
        max_bytes: images.max_image_bytes,
        max_pixels: images.max_image_pixels,
        min_side: images.min_image_side,
    }
}
