//! The call's deadline from its `grpc-timeout` header.

use std::time::{Duration, Instant};

use tonic::metadata::MetadataMap;

/// The least and the most the server gives up before the client's deadline (a tenth of the
/// timeout in between). Clients and tonic's server transport enforce `grpc-timeout` too, and
/// report a bare CANCELLED when their timer fires first; answering a little earlier makes the
/// client see DEADLINE_EXCEEDED from the server, which says what happened.
pub const DEADLINE_MARGIN: (Duration, Duration) =
    (Duration::from_millis(2), Duration::from_millis(20));

/// The instant by which a call received at `received` is answered, if the client set a
/// timeout: the timeout less the margin.
pub fn deadline(metadata: &MetadataMap, received: Instant) -> Option<Instant> {
    let timeout = parse_grpc_timeout(metadata.get("grpc-timeout")?.to_str().ok()?)?;
    Some(received + timeout.saturating_sub(margin(timeout)))
}

fn margin(timeout: Duration) -> Duration {
    (timeout / 10).clamp(DEADLINE_MARGIN.0, DEADLINE_MARGIN.1)
}

/// `grpc-timeout`: at most 8 digits and a unit (H, M, S, m, u, n), per the gRPC HTTP/2 spec.
fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    let unit = value.chars().last()?;
    let digits = &value[..value.len() - unit.len_utf8()];
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        'H' => Duration::from_secs(amount * 3600),
        'M' => Duration::from_secs(amount * 60),
        'S' => Duration::from_secs(amount),
        'm' => Duration::from_millis(amount),
        'u' => Duration::from_micros(amount),
        'n' => Duration::from_nanos(amount),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit_and_refuses_the_rest() {
        assert_eq!(parse_grpc_timeout("5S"), Some(Duration::from_secs(5)));
        assert_eq!(parse_grpc_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse_grpc_timeout("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_grpc_timeout("7u"), Some(Duration::from_micros(7)));
        assert_eq!(
            parse_grpc_timeout("99999999n"),
            Some(Duration::from_nanos(99_999_999))
        );
        for bad in ["", "S", "123456789S", "12x", "-1S", "1.5S"] {
            assert_eq!(parse_grpc_timeout(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn deadline_is_a_little_before_the_clients() {
        let mut metadata = MetadataMap::new();
        metadata.insert("grpc-timeout", "100m".parse().expect("ascii"));
        let now = Instant::now();
        assert_eq!(
            deadline(&metadata, now),
            Some(now + Duration::from_millis(90))
        );
        assert_eq!(margin(Duration::from_millis(5)), Duration::from_millis(2));
        assert_eq!(margin(Duration::from_secs(5)), Duration::from_millis(20));
        assert_eq!(deadline(&MetadataMap::new(), now), None);
    }
}
