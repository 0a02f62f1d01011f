//! The flags of `serve`, `inspect` and `eval`: where models come from and how they run,
//! what a scan may be, storage, the risk formula.

use std::{net::SocketAddr, path::PathBuf};

use clap::Args;
use xray_customs::risk::RiskPolicy;
use xray_engine::{
    imaging::{ImageLimits, RawLayout},
    model::RuntimeArgs,
};
use xray_service::KeepImages;

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
    /// Scans one client (a gRPC connection) may have admitted per model and priority, so that
    /// one client cannot take every place in a queue; beyond it, RESOURCE_EXHAUSTED at once.
    #[arg(long, env = "XRAY_CLIENT_QUEUE_SHARE", default_value_t = 128)]
    pub client_queue_share: usize,
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
    /// Shortest image side accepted, in pixels, checked from the header.
    #[arg(long, env = "XRAY_MIN_IMAGE_SIDE", default_value_t = ImageLimits::default().min_side)]
    pub min_image_side: u32,
    /// Mebibytes that scans being decoded may hold together; each scan's share is read from
    /// its header before it is decoded, and a scan waits while the budget is taken (up to
    /// its deadline). A scan whose decode alone needs more is refused.
    #[arg(long, env = "XRAY_DECODE_BUDGET_MB", default_value_t = 1024)]
    pub decode_budget_mb: u64,
    /// Threads decoding and preprocessing scans (0: one per core).
    #[arg(long, env = "XRAY_CPU_THREADS", default_value_t = 0)]
    pub cpu_threads: usize,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// gRPC listen address. A non-loopback one needs --tls-cert (or --insecure-plaintext).
    #[arg(long, env = "XRAY_GRPC_ADDR", default_value = "127.0.0.1:50051")]
    pub grpc_addr: SocketAddr,
    /// HTTPS listen address of the review screen (`/`) and the Prometheus metrics
    /// (`/metrics`). A non-loopback one needs --tls-cert (or --insecure-plaintext).
    #[arg(long, env = "XRAY_HTTP_ADDR", default_value = "127.0.0.1:8080")]
    pub http_addr: SocketAddr,
    #[command(flatten)]
    pub security: SecurityArgs,
    #[command(flatten)]
    pub dicom: DicomArgs,
    /// Scans one StreamScans stream may have in flight.
    #[arg(long, env = "XRAY_STREAM_MAX_IN_FLIGHT", default_value_t = 64)]
    pub stream_max_in_flight: usize,
    /// Seconds, after SIGTERM or Ctrl-C, for the scans in flight to finish and clients to
    /// close their connections, before the server exits anyway.
    #[arg(long, env = "XRAY_SHUTDOWN_GRACE", default_value_t = 30)]
    pub shutdown_grace: u64,
    #[command(flatten)]
    pub models: ModelArgs,
    #[command(flatten)]
    pub images: ImageArgs,
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(flatten)]
    pub risk: RiskArgs,
}

/// TLS on both ports and how callers are authenticated (README, "Security").
#[derive(Debug, Args)]
pub struct SecurityArgs {
    /// PEM certificate chain both ports serve [default: a development certificate for
    /// localhost, made with its own CA in DATA_DIR/tls on first start].
    #[arg(long, env = "XRAY_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "XRAY_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// PEM bundle of the CA that signs client certificates (mutual TLS): a client that
    /// presents one signed by it is the principal its subject common name names (else its
    /// first DNS name). Clients without a certificate use bearer tokens. [default with the
    /// development certificate: the development CA]
    #[arg(long, env = "XRAY_TLS_CLIENT_CA", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,
    /// Serve both ports without TLS, on any address: tokens, scans and images cross the
    /// network readable by anyone on the path. Only behind a TLS-terminating proxy on the
    /// same host, or for tests. Callers still authenticate.
    #[arg(long, env = "XRAY_INSECURE_PLAINTEXT", conflicts_with = "tls_cert")]
    pub insecure_plaintext: bool,
    /// Seconds without a request after which a review screen session ends (sessions also
    /// end 12 hours after login).
    #[arg(long, env = "XRAY_SESSION_IDLE_SECS", default_value_t = 900, value_parser = clap::value_parser!(u64).range(1..))]
    pub session_idle_secs: u64,
    /// Seconds a token found in the database is trusted without reading it again: the
    /// longest a token revoked by another process (`principals revoke`) stays accepted.
    #[arg(long, env = "XRAY_AUTH_CACHE_SECS", default_value_t = 5)]
    pub auth_cache_secs: u64,
    /// Failed authentications a source address may have within --auth-failure-window-secs
    /// before its further attempts are slowed down.
    #[arg(long, env = "XRAY_AUTH_FAILURES_FREE", default_value_t = 5)]
    pub auth_failures_free: u32,
    /// Seconds after its last failure that a source's failures are forgotten.
    #[arg(long, env = "XRAY_AUTH_FAILURE_WINDOW_SECS", default_value_t = 60)]
    pub auth_failure_window_secs: u64,
    /// Longest wait, in milliseconds, imposed on an attempt from a source past its free
    /// failures (the wait starts at 100 ms and doubles with each failure).
    #[arg(long, env = "XRAY_AUTH_MAX_DELAY_MS", default_value_t = 5000)]
    pub auth_max_delay_ms: u64,
}

/// The DICOM door: a storage SCP for DICOS scanners (README, "DICOS").
#[derive(Debug, Args)]
pub struct DicomArgs {
    /// Listen for DICOM associations (C-ECHO, C-STORE of DX objects) on this address [default:
    /// no DICOM door]. The door has no TLS: a non-loopback address needs
    /// --insecure-plaintext. A scanner's calling AE title must name an active principal with
    /// the scanner role; its scans are for that principal's first portal.
    #[arg(long, env = "XRAY_DICOM_ADDR")]
    pub dicom_addr: Option<SocketAddr>,
    /// The AE title the door answers as (and sends TDRs from).
    #[arg(long, env = "XRAY_DICOM_AE_TITLE", default_value = xray_dicom_door::DEFAULT_AE_TITLE)]
    pub dicom_ae_title: String,
    /// The largest PDU accepted, in bytes, announced at association.
    #[arg(long, env = "XRAY_DICOM_MAX_PDU", default_value_t = xray_dicom_door::DicomSettings::default().max_pdu)]
    pub dicom_max_pdu: u32,
    /// Associations served at once; one more is rejected (transient) so that the scanner
    /// retries.
    #[arg(long, env = "XRAY_DICOM_MAX_ASSOCIATIONS", default_value_t = 8)]
    pub dicom_max_associations: usize,
    /// The largest data set one C-STORE may carry, in MiB (beyond it: status 0xA700).
    #[arg(long, env = "XRAY_DICOM_MAX_OBJECT_MB", default_value_t = 256)]
    pub dicom_max_object_mb: usize,
    /// Seconds an association may stay silent before it is closed.
    #[arg(long, env = "XRAY_DICOM_IDLE_SECS", default_value_t = 60)]
    pub dicom_idle_secs: u64,
    /// Which attribute of a DICOS DX names its declaration when the request names none
    /// (any door: xray.v1, KServe v2, DICOM).
    #[arg(long, env = "XRAY_DICOS_DECLARATION_FROM", value_enum, default_value_t = xray_service::dicos::DeclarationFrom::AccessionNumber)]
    pub dicos_declaration_from: xray_service::dicos::DeclarationFrom,
    /// Where each scan's MACHINE TDR is sent, as a C-STORE: HOST:PORT:AE_TITLE [default:
    /// not sent; it is in the answer to Review/GetScan].
    #[arg(long, env = "XRAY_DICOM_TDR_DESTINATION", value_parser = parse_destination)]
    pub dicom_tdr_destination: Option<xray_dicom_door::Destination>,
}

fn parse_destination(s: &str) -> Result<xray_dicom_door::Destination, String> {
    let bad = || format!("{s:?} is not HOST:PORT:AE_TITLE");
    let (rest, ae_title) = s.rsplit_once(':').ok_or_else(bad)?;
    let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
    let port = port.parse().map_err(|_| bad())?;
    if host.is_empty() || ae_title.is_empty() || ae_title.len() > 16 {
        return Err(format!("{} (an AE title is 1 to 16 characters)", bad()));
    }
    Ok(xray_dicom_door::Destination {
        host: host.to_string(),
        port,
        ae_title: ae_title.to_string(),
    })
}

/// Where declarations, scans, verdicts and the audit log are kept.
#[derive(Debug, Args)]
pub struct StorageArgs {
    /// Folder of the embedded SQLite database, the image store (unless --image-store), the
    /// development TLS files and the first admin token (created if missing).
    #[arg(long, env = "XRAY_DATA_DIR", default_value = "var")]
    pub data_dir: PathBuf,
    #[command(flatten)]
    pub database: super::storage::DatabaseArgs,
    /// Where kept scan images are: a folder, or s3://BUCKET[/PREFIX] for an S3-compatible
    /// bucket that every node shares (configured by the AWS_* environment variables, see
    /// README) [default: DATA_DIR/images].
    #[arg(long, env = "XRAY_IMAGE_STORE")]
    pub image_store: Option<String>,
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
