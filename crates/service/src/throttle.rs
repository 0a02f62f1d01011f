//! Slowing down a source that keeps presenting bad credentials: after a few failures in a
//! window, each further attempt from it waits before it is answered, twice as long each time
//! up to a ceiling. A token is 256 random bits, so this is not what protects it; it keeps a
//! misbehaving or hostile client from turning failed lookups into load, and makes the
//! failures visible in the logs and metrics.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

/// When and how much failed attempts are slowed (`--auth-failures-free`,
/// `--auth-failure-window-secs`, `--auth-max-delay-ms`).
#[derive(Debug, Clone, Copy)]
pub struct ThrottleSettings {
    /// Failures a source may have in the window before its attempts wait.
    pub free_failures: u32,
    /// A source's failures are forgotten once it has had none for this long.
    pub window: Duration,
    /// The longest wait before an attempt is answered.
    pub max_delay: Duration,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        Self {
            free_failures: 5,
            window: Duration::from_secs(60),
            max_delay: Duration::from_secs(5),
        }
    }
}

/// The first wait once a source is past its free failures.
const FIRST_DELAY: Duration = Duration::from_millis(100);

/// Sources remembered at once; past it, the ones quiet longest are forgotten first.
const MAX_SOURCES: usize = 65_536;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

/// Failed attempts by source address.
#[derive(Debug, Default)]
pub struct FailureThrottle {
    settings: ThrottleSettings,
    sources: Mutex<HashMap<IpAddr, Failures>>,
}

impl FailureThrottle {
    pub fn new(settings: ThrottleSettings) -> Self {
        Self {
            settings,
            sources: Mutex::default(),
        }
    }

    fn sources(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Failures>> {
        // The map holds counts only: one a panicking thread left is still usable.
        self.sources
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How long an attempt from `source` waits before it is looked at.
    pub fn delay(&self, source: IpAddr) -> Duration {
        self.delay_at(source, Instant::now())
    }

    fn delay_at(&self, source: IpAddr, now: Instant) -> Duration {
        let Some(f) = self.sources().get(&source).copied() else {
            return Duration::ZERO;
        };
        if now.duration_since(f.last) >= self.settings.window {
            return Duration::ZERO;
        }
        let Some(over) = f.count.checked_sub(self.settings.free_failures) else {
            return Duration::ZERO;
        };
        FIRST_DELAY
            .saturating_mul(1u32.checked_shl(over).unwrap_or(u32::MAX))
            .min(self.settings.max_delay)
    }

    /// Records a failed attempt from `source`.
    pub fn failed(&self, source: IpAddr) {
        self.failed_at(source, Instant::now());
    }

    fn failed_at(&self, source: IpAddr, now: Instant) {
        let window = self.settings.window;
        let mut sources = self.sources();
        if sources.len() >= MAX_SOURCES && !sources.contains_key(&source) {
            sources.retain(|_, f| now.duration_since(f.last) < window);
            if sources.len() >= MAX_SOURCES
                && let Some(quietest) = sources.iter().min_by_key(|(_, f)| f.last).map(|(a, _)| *a)
            {
                sources.remove(&quietest);
            }
        }
        let entry = sources.entry(source).or_insert(Failures {
            count: 0,
            last: now,
        });
        if now.duration_since(entry.last) >= window {
            entry.count = 0;
        }
        entry.count = entry.count.saturating_add(1);
        entry.last = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_waits_after_its_free_failures_doubling_to_the_ceiling_and_is_forgotten() {
        let throttle = FailureThrottle::new(ThrottleSettings {
            free_failures: 2,
            window: Duration::from_secs(60),
            max_delay: Duration::from_millis(500),
        });
        let (bad, good): (IpAddr, IpAddr) = ([10, 0, 0, 1].into(), [10, 0, 0, 2].into());
        let t0 = Instant::now();
        let mut waits = Vec::new();
        for i in 0..7 {
            let at = t0 + Duration::from_secs(i);
            throttle.failed_at(bad, at);
            waits.push(throttle.delay_at(bad, at).as_millis());
        }
        assert_eq!(waits, [0, 100, 200, 400, 500, 500, 500]);
        assert_eq!(throttle.delay_at(good, t0), Duration::ZERO);
        let later = t0 + Duration::from_secs(6 + 60);
        assert_eq!(throttle.delay_at(bad, later), Duration::ZERO);
        throttle.failed_at(bad, later);
        assert_eq!(
            throttle.delay_at(bad, later),
            Duration::ZERO,
            "counting anew"
        );
    }
}
