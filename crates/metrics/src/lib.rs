//! Prometheus metrics of the service (names, units and labels in `docs/metrics.md`), kept in
//! one process-wide registry so that every layer records without plumbing; the transport
//! crate serves it as OpenMetrics text on the HTTP port.

mod stats;

use std::{
    sync::{LazyLock, atomic::AtomicU64},
    time::Duration,
};

pub use stats::{ModelStats, ModelStatsTable, StatDuration};

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

/// How a request ended, as counted in `xray_requests_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Screened; the result went back.
    Success,
    /// Refused at once because its priority level's queue bound was full.
    Rejected,
    /// Its deadline passed before it finished.
    Deadline,
    /// Its client went away before it finished.
    Cancelled,
    /// The request was wrong (bad image, limit broken, unknown model).
    Invalid,
    /// The server failed (inference error, internal error, shutting down).
    Failed,
}

impl Outcome {
    /// The `outcome` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Rejected => "rejected",
            Outcome::Deadline => "deadline",
            Outcome::Cancelled => "cancelled",
            Outcome::Invalid => "invalid",
            Outcome::Failed => "failed",
        }
    }
}

/// The protocol a request came in by (the `protocol` label of `xray_requests_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// The service's own `xray.v1` API (and the offline tools).
    #[default]
    XrayV1,
    /// The KServe v2 / Triton inference protocol.
    KserveV2,
}

impl Protocol {
    /// The `protocol` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::XrayV1 => "xray.v1",
            Protocol::KserveV2 => "kserve-v2",
        }
    }
}

/// The `model` label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModelLabels {
    pub model: String,
}

/// Labels of `xray_requests_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub model: String,
    pub outcome: String,
    pub protocol: String,
}

/// Labels of the queue depth gauge.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabels {
    pub model: String,
    pub priority: String,
}

/// Labels of `xray_dropped_before_run_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DropLabels {
    pub model: String,
    pub reason: String,
}

/// Labels of `xray_verdicts_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VerdictLabels {
    pub model: String,
    pub class: String,
    pub verdict: String,
}

/// Labels of `xray_model_precision`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClassLabels {
    pub model: String,
    pub class: String,
}

/// Labels of `xray_risk_changes_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChannelLabels {
    pub channel: String,
}

/// Labels of `xray_scan_conflicts_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConflictLabels {
    pub reason: String,
}

/// Labels of `xray_auth_failures_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AuthFailureLabels {
    /// The door the attempt came through (grpc, http).
    pub door: String,
    /// Why it failed (malformed, unknown, expired, revoked, certificate, password, session).
    pub reason: String,
}

/// Labels of `xray_tdr_deliveries_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    /// `delivered` or `failed`.
    pub outcome: String,
}

/// Labels of `xray_model_instance_info`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct InstanceLabels {
    pub model: String,
    pub instance: String,
    pub provider: String,
}

type Histograms = Family<ModelLabels, Histogram, fn() -> Histogram>;

/// Every metric the service exports.
pub struct Metrics {
    registry: Registry,
    /// Requests by model and outcome.
    pub requests: Family<RequestLabels, Counter>,
    /// Server-side time of a request from receipt to its answer.
    pub request_seconds: Histograms,
    /// Time a request waited in the batching queue.
    pub queue_seconds: Histograms,
    pub decode_seconds: Histograms,
    pub preprocess_seconds: Histograms,
    /// Time of one batch's model run (observed once per batch).
    pub inference_seconds: Histograms,
    pub postprocess_seconds: Histograms,
    /// Images in each batch run.
    pub batch_size: Family<ModelLabels, Histogram, fn() -> Histogram>,
    /// Requests waiting in the batching queue.
    pub queue_depth: Family<QueueLabels, Gauge>,
    /// Images the model ran (its rate is images per second).
    pub inferred_images: Family<ModelLabels, Counter>,
    /// Requests taken out of the queue without being run.
    pub dropped_before_run: Family<DropLabels, Counter>,
    /// 1 for each model instance, labelled with its execution provider.
    pub instance_info: Family<InstanceLabels, Gauge>,
    /// 1 once every model is loaded and warmed up.
    pub models_ready: Gauge,
    /// Bytes of the decode budget held by decodes in progress.
    pub decode_bytes_held: Gauge,
    /// Inspectors' verdicts on detections.
    pub verdicts: Family<VerdictLabels, Counter>,
    /// Confirmed over judged alarms, from every stored verdict.
    pub model_precision: Family<ClassLabels, Gauge<f64, AtomicU64>>,
    /// Declaration risk changes, by the channel they led to.
    pub risk_changes: Family<ChannelLabels, Counter>,
    /// Time to store a scan and re-compute its declaration's risk (one transaction).
    pub store_write_seconds: Histogram,
    /// Scans refused because their id is stored with other content or another declaration.
    pub scan_conflicts: Family<ConflictLabels, Counter>,
    /// Registrations refused because their id is registered with other content.
    pub declaration_conflicts: Counter,
    /// Calls refused because their credential was not accepted, by door and reason.
    pub auth_failures: Family<AuthFailureLabels, Counter>,
    /// Threat Detection Reports sent to the DICOM destination, by outcome.
    pub tdr_deliveries: Family<DeliveryLabels, Counter>,
    /// Per-model cumulative statistics (the KServe v2 statistics extension).
    pub model_stats: ModelStatsTable,
}

fn seconds_histogram() -> Histogram {
    // 0.25 ms to about 16 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 17))
}

fn batch_histogram() -> Histogram {
    Histogram::new([1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0, 64.0])
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::default();
        let seconds = || Histograms::new_with_constructor(seconds_histogram as fn() -> Histogram);
        let metrics = Metrics {
            requests: Family::default(),
            request_seconds: seconds(),
            queue_seconds: seconds(),
            decode_seconds: seconds(),
            preprocess_seconds: seconds(),
            inference_seconds: seconds(),
            postprocess_seconds: seconds(),
            batch_size: Family::new_with_constructor(batch_histogram as fn() -> Histogram),
            queue_depth: Family::default(),
            inferred_images: Family::default(),
            dropped_before_run: Family::default(),
            instance_info: Family::default(),
            models_ready: Gauge::default(),
            decode_bytes_held: Gauge::default(),
            verdicts: Family::default(),
            model_precision: Family::default(),
            risk_changes: Family::default(),
            store_write_seconds: seconds_histogram(),
            scan_conflicts: Family::default(),
            declaration_conflicts: Counter::default(),
            auth_failures: Family::default(),
            model_stats: ModelStatsTable::default(),
            tdr_deliveries: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "xray_requests",
            "Scan requests by model and outcome (success, rejected, deadline, cancelled, invalid, failed)",
            metrics.requests.clone(),
        );
        let histograms = [
            (
                "xray_request_seconds",
                "Server-side time of a scan from receipt to answer, in seconds",
                &metrics.request_seconds,
            ),
            (
                "xray_queue_seconds",
                "Time a scan waited in the batching queue, in seconds",
                &metrics.queue_seconds,
            ),
            (
                "xray_decode_seconds",
                "Time to decode a scan, in seconds",
                &metrics.decode_seconds,
            ),
            (
                "xray_preprocess_seconds",
                "Time to letterbox a scan into the model input, in seconds",
                &metrics.preprocess_seconds,
            ),
            (
                "xray_inference_seconds",
                "Time of one batch's model run, in seconds (one observation per batch)",
                &metrics.inference_seconds,
            ),
            (
                "xray_postprocess_seconds",
                "Time to decode outputs, apply thresholds and NMS for a scan, in seconds",
                &metrics.postprocess_seconds,
            ),
        ];
        for (name, help, family) in histograms {
            registry.register(name, help, family.clone());
        }
        registry.register(
            "xray_batch_size",
            "Images in each batch the model ran",
            metrics.batch_size.clone(),
        );
        registry.register(
            "xray_queue_depth",
            "Scans waiting in a model's batching queue, by priority",
            metrics.queue_depth.clone(),
        );
        registry.register(
            "xray_inferred_images",
            "Images the model ran; rate() gives images per second",
            metrics.inferred_images.clone(),
        );
        registry.register(
            "xray_dropped_before_run",
            "Scans taken out of the queue without running, by reason (deadline, cancelled)",
            metrics.dropped_before_run.clone(),
        );
        registry.register(
            "xray_model_instance_info",
            "1 per model instance (executor thread and session), labelled with its execution provider",
            metrics.instance_info.clone(),
        );
        registry.register(
            "xray_decode_bytes_held",
            "Bytes of the decode budget (--decode-budget-mb) held by decodes in progress",
            metrics.decode_bytes_held.clone(),
        );
        registry.register(
            "xray_models_ready",
            "1 once every model is loaded and warmed up, 0 before",
            metrics.models_ready.clone(),
        );
        registry.register(
            "xray_verdicts",
            "Inspectors' verdicts on detections, by model, class and verdict (confirmed, false_alarm)",
            metrics.verdicts.clone(),
        );
        registry.register(
            "xray_model_precision",
            "Confirmed over judged alarms of a model's class, from inspectors' verdicts",
            metrics.model_precision.clone(),
        );
        registry.register(
            "xray_risk_changes",
            "Declaration risk changes, by the channel they led to",
            metrics.risk_changes.clone(),
        );
        registry.register(
            "xray_store_write_seconds",
            "Time to store a scan with its detections and re-compute its declaration's risk, in seconds",
            metrics.store_write_seconds.clone(),
        );
        registry.register(
            "xray_scan_conflicts",
            "Scans refused because their scan_id is stored with another image or metadata (other_content) or for another declaration (other_declaration)",
            metrics.scan_conflicts.clone(),
        );
        registry.register(
            "xray_declaration_conflicts",
            "Registrations refused because their declaration id is registered with other content",
            metrics.declaration_conflicts.clone(),
        );
        registry.register(
            "xray_auth_failures",
            "Calls refused because their credential was missing, malformed, unknown, expired or revoked, by door and reason",
            metrics.auth_failures.clone(),
        );
        registry.register(
            "xray_tdr_deliveries",
            "Threat Detection Reports the DICOM door sent to --dicom-tdr-destination, by outcome (delivered, failed)",
            metrics.tdr_deliveries.clone(),
        );
        Metrics {
            registry,
            ..metrics
        }
    }

    /// The whole registry in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    /// Counts one finished request.
    pub fn request(&self, model: &str, outcome: Outcome, protocol: Protocol) {
        self.requests
            .get_or_create(&RequestLabels {
                model: model.to_string(),
                outcome: outcome.as_str().to_string(),
                protocol: protocol.as_str().to_string(),
            })
            .inc();
    }

    /// Counts one inspector's verdict on a detection.
    pub fn verdict(&self, model: &str, class: &str, verdict: &str) {
        self.verdicts
            .get_or_create(&VerdictLabels {
                model: model.to_string(),
                class: class.to_string(),
                verdict: verdict.to_string(),
            })
            .inc();
    }

    /// Sets a class's precision in service.
    pub fn precision(&self, model: &str, class: &str, precision: f64) {
        self.model_precision
            .get_or_create(&ClassLabels {
                model: model.to_string(),
                class: class.to_string(),
            })
            .set(precision);
    }

    /// Counts one scan refused for a reused scan id.
    pub fn scan_conflict(&self, reason: &str) {
        self.scan_conflicts
            .get_or_create(&ConflictLabels {
                reason: reason.to_string(),
            })
            .inc();
    }

    /// Counts one call refused for its credential.
    pub fn auth_failure(&self, door: &str, reason: &str) {
        self.auth_failures
            .get_or_create(&AuthFailureLabels {
                door: door.to_string(),
                reason: reason.to_string(),
            })
            .inc();
    }

    /// Counts one TDR delivery: `delivered` or `failed`.
    pub fn tdr_delivery(&self, outcome: &str) {
        self.tdr_deliveries
            .get_or_create(&DeliveryLabels {
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// TDRs counted with `outcome` so far.
    pub fn tdr_deliveries(&self, outcome: &str) -> u64 {
        self.tdr_deliveries
            .get_or_create(&DeliveryLabels {
                outcome: outcome.to_string(),
            })
            .get()
    }

    /// Counts one registration refused for a reused declaration id.
    pub fn declaration_conflict(&self) {
        self.declaration_conflicts.inc();
    }

    /// Counts one risk change.
    pub fn risk_change(&self, channel: &str) {
        self.risk_changes
            .get_or_create(&ChannelLabels {
                channel: channel.to_string(),
            })
            .inc();
    }

    /// Observes a duration in one of the per-model time histograms.
    pub fn observe(family: &Histograms, model: &str, time: Duration) {
        family
            .get_or_create(&ModelLabels {
                model: model.to_string(),
            })
            .observe(time.as_secs_f64());
    }
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process-wide metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_has_the_documented_names() {
        let m = metrics();
        m.request("unit-test-model", Outcome::Rejected, Protocol::KserveV2);
        Metrics::observe(
            &m.queue_seconds,
            "unit-test-model",
            Duration::from_millis(3),
        );
        let text = m.encode();
        assert!(
            text.contains(
                "xray_requests_total{model=\"unit-test-model\",outcome=\"rejected\",protocol=\"kserve-v2\"} 1"
            ),
            "{text}"
        );
        assert!(text.contains("xray_queue_seconds_count{model=\"unit-test-model\"} 1"));
        assert!(text.contains("# TYPE xray_models_ready gauge"));
    }
}
