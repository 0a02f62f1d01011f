//! Flags of the `load` and `ceiling` commands.

use std::path::PathBuf;

use clap::Args;

/// `--mode`: how the clients call the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LoadMode {
    /// One Inspect call at a time per client.
    #[default]
    Unary,
    /// One StreamScans stream per client, `--stream-depth` scans in flight on each.
    Stream,
}

/// `--priority` of the scans sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LoadPriority {
    #[default]
    Live,
    Backoffice,
}

/// Where the model for the ceiling comes from and how it runs (as the server runs it).
#[derive(Debug, Clone, Args)]
pub struct CeilingArgs {
    /// A model folder (model.toml + ONNX file) or a folder of model folders.
    #[arg(long, env = "XRAY_MODELS_DIR", default_value = "models")]
    pub models_dir: PathBuf,
    #[command(flatten)]
    pub runtime: xray_engine::model::RuntimeArgs,
    /// Batch sizes to measure (larger than the model's max_batch are skipped).
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8,16")]
    pub batch_sizes: Vec<usize>,
    /// Seconds of model runs at each batch size (after one warm-up run).
    #[arg(long, default_value_t = 5.0)]
    pub ceiling_seconds: f64,
}

/// `xray-screen load`.
#[derive(Debug, Clone, Args)]
pub struct LoadArgs {
    /// The server's gRPC address (https:// for TLS; `serve` has TLS unless it runs with
    /// --insecure-plaintext); several, comma-separated or repeated, for several nodes: the
    /// clients are spread over them in turn.
    #[arg(
        long,
        env = "XRAY_LOAD_TARGET",
        default_value = "https://localhost:50051",
        value_delimiter = ','
    )]
    pub target: Vec<String>,
    /// The server's metrics page, read before and after the run for the batch size it formed
    /// (empty: not read; needs a token of an observer, supervisor or admin); one per node,
    /// comma-separated or repeated, for several nodes (their counts are added up).
    #[arg(
        long,
        env = "XRAY_LOAD_METRICS_URL",
        default_value = "https://localhost:8080/metrics",
        value_delimiter = ','
    )]
    pub metrics_url: Vec<String>,
    /// Bearer token sent with every call and scrape: a scanner's (with --declarations, one
    /// bound to --portal, and a risk-system's role to register them), with observer to read
    /// the metrics.
    #[arg(long, env = "XRAY_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// The CA certificate to trust for https:// addresses (the development CA:
    /// DATA_DIR/tls/ca.pem).
    #[arg(long, env = "XRAY_CA_CERT", default_value = "var/tls/ca.pem")]
    pub ca_cert: PathBuf,
    /// Concurrent clients (each a unary caller or a stream).
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Scans per second to offer in all (open loop, spread over the clients; 0: each client
    /// sends its next scan as soon as the last is answered).
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// Seconds to run (ignored with --count).
    #[arg(long, default_value_t = 30.0)]
    pub duration: f64,
    /// Scans to send in all, instead of a duration.
    #[arg(long)]
    pub count: Option<usize>,
    /// Folder of scans to send, in turn (PNG, JPEG, TIFF).
    #[arg(long, default_value = "test-images")]
    pub images: PathBuf,
    /// Send generated pseudo-colour PNG scans of this size (WIDTHxHEIGHT) instead of a folder.
    #[arg(long, value_parser = parse_size)]
    pub generate: Option<(u32, u32)>,
    #[arg(long, value_enum, default_value_t = LoadMode::Unary)]
    pub mode: LoadMode,
    /// Scans in flight on each stream (--mode stream).
    #[arg(long, default_value_t = 4)]
    pub stream_depth: usize,
    /// Model to ask for [default: the server's default model].
    #[arg(long)]
    pub model: Option<String>,
    #[arg(long, value_enum, default_value_t = LoadPriority::Live)]
    pub priority: LoadPriority,
    /// Spread the scans over this many declarations, registered first (`load-N`), so that
    /// each is stored with its risk re-computed as at a customs portal (0: scans without a
    /// declaration, only screened).
    #[arg(long, default_value_t = 0)]
    pub declarations: usize,
    /// The portal each scan names (the token's scanner must be bound to it).
    #[arg(long, default_value = "load")]
    pub portal: String,
    /// Deadline of each call in milliseconds (sent as grpc-timeout; unary only).
    #[arg(long)]
    pub timeout_ms: Option<u64>,
    /// Measure the model's in-process ceiling first (needs the model files and ONNX Runtime
    /// here) and report the load's throughput as a share of its best.
    #[arg(long)]
    pub ceiling: bool,
    #[command(flatten)]
    pub ceiling_args: CeilingArgs,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

impl LoadArgs {
    /// The servers (nodes) and the credentials to call them with.
    pub fn servers(&self) -> Vec<crate::Target> {
        self.target
            .iter()
            .map(|address| crate::Target {
                address: address.clone(),
                token: self.token.clone(),
                ca_cert: Some(self.ca_cert.clone()),
            })
            .collect()
    }
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once('x')
        .ok_or_else(|| format!("{s:?} is not WIDTHxHEIGHT"))?;
    let parse = |v: &str| {
        v.parse::<u32>()
            .ok()
            .filter(|&n| (1..=20_000).contains(&n))
            .ok_or_else(|| format!("{s:?} is not WIDTHxHEIGHT (1..20000 each)"))
    };
    Ok((parse(w)?, parse(h)?))
}
