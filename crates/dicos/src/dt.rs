//! Unix milliseconds to a DICOM DT value, without a calendar crate: the one conversion the
//! TDR needs.

/// Formats `unix_ms` (UTC) as a DICOM DT value `YYYYMMDDHHMMSS.FFF`.
pub(crate) fn unix_ms_to_dt(unix_ms: i64) -> String {
    let secs = unix_ms.div_euclid(1000);
    let ms = unix_ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}.{ms:03}",
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's algorithm: 400-year eras starting in March, so leap days fall last).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::unix_ms_to_dt;

    #[test]
    fn formats_known_instants() {
        assert_eq!(unix_ms_to_dt(0), "19700101000000.000");
        // 2024-02-29T12:34:56.789Z, a leap day.
        assert_eq!(unix_ms_to_dt(1_709_210_096_789), "20240229123456.789");
        assert_eq!(unix_ms_to_dt(-1), "19691231235959.999");
    }
}
