//! What a load run reports, as text for people and JSON for tools.

use std::{collections::BTreeMap, fmt, time::Duration};

use super::Ceiling;

/// Latency percentiles of the successful calls, in milliseconds.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

impl Latency {
    /// Percentiles (nearest rank) of `samples`; None when empty.
    pub fn of(samples: &mut [Duration]) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        samples.sort_unstable();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let rank = |p: f64| {
            let i = (p * samples.len() as f64).ceil() as usize;
            ms(samples[i.clamp(1, samples.len()) - 1])
        };
        let mean = samples.iter().map(|d| ms(*d)).sum::<f64>() / samples.len() as f64;
        Some(Self {
            p50: rank(0.50),
            p90: rank(0.90),
            p99: rank(0.99),
            max: ms(samples[samples.len() - 1]),
            mean,
        })
    }
}

/// What the server's own metrics say about the run (differences of two scrapes).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ServerView {
    pub batches: f64,
    pub images_inferred: f64,
    pub mean_batch_size: Option<f64>,
    /// Scans stored, and the mean time their store transaction took (None: none stored).
    pub stored: f64,
    pub mean_store_write_ms: Option<f64>,
}

/// The outcome of a load run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoadReport {
    pub target: String,
    pub mode: String,
    pub concurrency: usize,
    /// The offered rate in scans per second (None: as fast as the clients go).
    pub offered_rate: Option<f64>,
    pub seconds: f64,
    pub sent: usize,
    pub succeeded: usize,
    /// Successful scans per second of the run.
    pub images_per_second: f64,
    pub latency_ms: Option<Latency>,
    /// Failed calls by gRPC code.
    pub errors: BTreeMap<String, usize>,
    pub server: Option<ServerView>,
    pub ceiling: Option<Ceiling>,
    /// images_per_second over the best ceiling point.
    pub ratio_to_ceiling: Option<f64>,
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let offered = self
            .offered_rate
            .map(|r| format!(", {r:.2} scans/s offered"))
            .unwrap_or_default();
        writeln!(
            f,
            "load: {} clients ({}{offered}) against {} for {:.1} s: {} sent, {} succeeded",
            self.concurrency, self.mode, self.target, self.seconds, self.sent, self.succeeded
        )?;
        writeln!(f, "throughput: {:.2} images/s", self.images_per_second)?;
        if let Some(l) = &self.latency_ms {
            writeln!(
                f,
                "latency ms: p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}  mean {:.1}",
                l.p50, l.p90, l.p99, l.max, l.mean
            )?;
        }
        if self.errors.is_empty() {
            writeln!(f, "errors: none")?;
        } else {
            let list: Vec<String> = self
                .errors
                .iter()
                .map(|(c, n)| format!("{c} {n}"))
                .collect();
            writeln!(f, "errors: {}", list.join(", "))?;
        }
        if let Some(s) = &self.server {
            match s.mean_batch_size {
                Some(mean) => writeln!(
                    f,
                    "server: mean batch size {mean:.2} over {} batches, {} images inferred",
                    s.batches, s.images_inferred
                )?,
                None => writeln!(f, "server: no batches ran")?,
            }
            if let Some(ms) = s.mean_store_write_ms {
                writeln!(
                    f,
                    "server: {} scans stored, {ms:.1} ms a store write on average",
                    s.stored
                )?;
            }
        }
        if let Some(c) = &self.ceiling {
            writeln!(
                f,
                "ceiling of {} on {} (in-process, same run):",
                c.model, c.provider
            )?;
            for p in &c.points {
                writeln!(
                    f,
                    "  batch {:>2}: {:>8.2} images/s ({:.1} ms a batch, {} runs)",
                    p.batch_size, p.images_per_second, p.batch_ms, p.runs
                )?;
            }
        }
        if let (Some(ratio), Some(best)) = (
            self.ratio_to_ceiling,
            self.ceiling.as_ref().and_then(Ceiling::best),
        ) {
            writeln!(
                f,
                "ratio: {:.1}% of the best ceiling ({:.2} images/s at batch {})",
                ratio * 100.0,
                best.images_per_second,
                best.batch_size
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let l = Latency::of(&mut samples).expect("samples");
        assert_eq!((l.p50, l.p90, l.p99, l.max), (50.0, 90.0, 99.0, 100.0));
        assert!(Latency::of(&mut []).is_none());
    }
}
