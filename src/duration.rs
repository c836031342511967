//! Humane durations for `--timeout` and similar flags: parsing Go-style
//! `1h30m` / `500ms` / `1.5s` (plus bare seconds) and formatting durations
//! back compactly for messages.

use std::time::Duration;

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// Unit suffixes in nanoseconds. Both the micro sign (U+00B5) and the Greek
/// mu (U+03BC) are accepted because they look identical and Go takes both.
const UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("\u{b5}s", 1_000),
    ("\u{3bc}s", 1_000),
    ("ms", 1_000_000),
    ("s", NANOS_PER_SEC),
    ("m", 60 * NANOS_PER_SEC),
    ("h", 3_600 * NANOS_PER_SEC),
];

/// Parses `4s`, `500ms`, `1.5s`, `2m`, `1h30m`, `1m30.5s`, `0`, or a bare
/// number of seconds such as `4` or `0.25`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let fail = |why: String| format!("invalid duration {s:?}: {why}");

    if s.is_empty() {
        return Err(fail("empty".into()));
    }
    if s.chars().any(char::is_whitespace) {
        return Err(fail("contains whitespace".into()));
    }
    if s.starts_with('-') {
        return Err(fail("negative durations are not allowed".into()));
    }
    if s.starts_with('+') {
        return Err(fail("a leading + is not allowed".into()));
    }

    let is_number_char = |c: char| c.is_ascii_digit() || c == '.';
    // A unit-less number only means seconds when it is the whole input:
    // `1m30` is more likely a typo than a request for 1m30s.
    let bare_seconds = s.chars().all(is_number_char);

    let mut total: u128 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let (number, after) =
            rest.split_at(rest.find(|c| !is_number_char(c)).unwrap_or(rest.len()));
        let (unit, after) = after.split_at(after.find(is_number_char).unwrap_or(after.len()));
        rest = after;

        if number.is_empty() {
            return Err(fail(format!("missing number before unit {unit:?}")));
        }
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if fraction.contains('.') || (whole.is_empty() && fraction.is_empty()) {
            return Err(fail(format!("{number:?} is not a number")));
        }
        let scale = if unit.is_empty() {
            if !bare_seconds {
                return Err(fail(format!(
                    "missing unit after {number:?} (use ns, us, ms, s, m or h)"
                )));
            }
            NANOS_PER_SEC
        } else {
            match UNITS.iter().find(|(name, _)| *name == unit) {
                Some(&(_, scale)) => scale,
                None => {
                    return Err(fail(format!(
                        "unknown unit {unit:?} (use ns, us, ms, s, m or h)"
                    )))
                }
            }
        };
        total = component_nanos(whole, fraction, scale)
            .and_then(|n| total.checked_add(n))
            .ok_or_else(|| fail("too large".into()))?;
    }

    let secs = u64::try_from(total / NANOS_PER_SEC).map_err(|_| fail("too large".into()))?;
    // The remainder is below NANOS_PER_SEC, so it always fits.
    Ok(Duration::new(secs, (total % NANOS_PER_SEC) as u32))
}

/// `whole.fraction` units in nanoseconds, or None on overflow. Fractions
/// finer than a nanosecond are truncated, as Go does.
fn component_nanos(whole: &str, fraction: &str, scale: u128) -> Option<u128> {
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    // 24 digits keep `digits * scale` inside u128 for the largest unit (h);
    // later digits are worth far less than a nanosecond.
    let fraction = &fraction[..fraction.len().min(24)];
    let fraction_nanos = if fraction.is_empty() {
        0
    } else {
        let digits: u128 = fraction.parse().ok()?;
        digits * scale / 10u128.pow(fraction.len() as u32)
    };
    whole.checked_mul(scale)?.checked_add(fraction_nanos)
}

/// Formats a duration compactly for humans: `0s`, `750ns`, `250µs`,
/// `1.5ms`, `500ms`, `4s`, `1.5s`, `2m`, `1m30s`, `1h30m`, `2h0.5s`.
/// Below a minute the largest fitting unit is used with an exact decimal
/// fraction; from a minute up, non-zero hour/minute/second parts are joined.
/// The result always parses back to the same value with [`parse_duration`].
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let nanos = d.subsec_nanos();
    if secs == 0 {
        return match nanos {
            0 => "0s".into(),
            1..=999 => format!("{nanos}ns"),
            1_000..=999_999 => decimal(nanos / 1_000, nanos % 1_000, 3) + "\u{b5}s",
            _ => decimal(nanos / 1_000_000, nanos % 1_000_000, 6) + "ms",
        };
    }
    if secs < 60 {
        return decimal(secs, nanos, 9) + "s";
    }
    let (hours, minutes, seconds) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = String::new();
    if hours > 0 {
        out += &format!("{hours}h");
    }
    if minutes > 0 {
        out += &format!("{minutes}m");
    }
    if seconds > 0 || nanos > 0 {
        out += &(decimal(seconds, nanos, 9) + "s");
    }
    out
}

/// `whole` followed by `fraction` (a value with `digits` decimal places)
/// with trailing zeros dropped.
fn decimal(whole: impl Into<u64>, fraction: u32, digits: usize) -> String {
    let whole = whole.into();
    if fraction == 0 {
        return whole.to_string();
    }
    let fraction = format!("{fraction:0digits$}");
    format!("{whole}.{}", fraction.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn ns(n: u64) -> Duration {
        Duration::from_nanos(n)
    }

    const fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    const fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn parses_valid_durations() {
        let cases = [
            ("0", Duration::ZERO),
            ("0s", Duration::ZERO),
            ("0.0", Duration::ZERO),
            ("000", Duration::ZERO),
            ("4", secs(4)),
            ("0.25", ms(250)),
            (".5", ms(500)),
            ("1.", secs(1)),
            ("4s", secs(4)),
            ("500ms", ms(500)),
            ("1.5s", ms(1_500)),
            (".5s", ms(500)),
            ("1.s", secs(1)),
            ("2m", secs(120)),
            ("1h", secs(3_600)),
            ("1h30m", secs(5_400)),
            ("1m30.5s", ms(90_500)),
            ("1h1m1s1ms1us1ns", ns(3_661_001_001_001)),
            ("1s1s", secs(2)),
            ("30m1h", secs(5_400)),
            ("750ns", ns(750)),
            ("250us", ns(250_000)),
            ("250\u{b5}s", ns(250_000)),
            ("250\u{3bc}s", ns(250_000)),
            ("1.5ms", ns(1_500_000)),
            ("0.5h", secs(1_800)),
            ("1.000000001s", ns(1_000_000_001)),
            ("1.0000000019s", ns(1_000_000_001)),
            ("0.1ns", Duration::ZERO),
            ("0.333333333333333333333333333333h", ns(1_199_999_999_999)),
            ("18446744073709551615", Duration::MAX - ns(999_999_999)),
            ("18446744073709551615.999999999s", Duration::MAX),
            ("18446744073709551615s999999999ns", Duration::MAX),
        ];
        for (input, want) in cases {
            assert_eq!(parse_duration(input), Ok(want), "input {input:?}");
        }
    }

    #[test]
    fn rejects_invalid_durations() {
        let cases = [
            ("", r#"invalid duration "": empty"#),
            (" 4s", r#"invalid duration " 4s": contains whitespace"#),
            ("4 s", r#"invalid duration "4 s": contains whitespace"#),
            ("4s\n", r#"invalid duration "4s\n": contains whitespace"#),
            (
                "-1s",
                r#"invalid duration "-1s": negative durations are not allowed"#,
            ),
            (
                "+1s",
                r#"invalid duration "+1s": a leading + is not allowed"#,
            ),
            (
                "4x",
                r#"invalid duration "4x": unknown unit "x" (use ns, us, ms, s, m or h)"#,
            ),
            (
                "4sec",
                r#"invalid duration "4sec": unknown unit "sec" (use ns, us, ms, s, m or h)"#,
            ),
            (
                "4S",
                r#"invalid duration "4S": unknown unit "S" (use ns, us, ms, s, m or h)"#,
            ),
            (
                "1d",
                r#"invalid duration "1d": unknown unit "d" (use ns, us, ms, s, m or h)"#,
            ),
            (
                "1e3",
                r#"invalid duration "1e3": unknown unit "e" (use ns, us, ms, s, m or h)"#,
            ),
            (
                "1s-2s",
                r#"invalid duration "1s-2s": unknown unit "s-" (use ns, us, ms, s, m or h)"#,
            ),
            (".s", r#"invalid duration ".s": "." is not a number"#),
            (".", r#"invalid duration ".": "." is not a number"#),
            (
                "1.2.3s",
                r#"invalid duration "1.2.3s": "1.2.3" is not a number"#,
            ),
            (
                "s",
                r#"invalid duration "s": missing number before unit "s""#,
            ),
            (
                "ms",
                r#"invalid duration "ms": missing number before unit "ms""#,
            ),
            (
                "1m30",
                r#"invalid duration "1m30": missing unit after "30" (use ns, us, ms, s, m or h)"#,
            ),
            (
                "18446744073709551616",
                r#"invalid duration "18446744073709551616": too large"#,
            ),
            (
                "18446744073709551615s1s",
                r#"invalid duration "18446744073709551615s1s": too large"#,
            ),
            (
                "5124095576030432h",
                r#"invalid duration "5124095576030432h": too large"#,
            ),
            (
                "999999999999999999999999999999999999999999h",
                r#"invalid duration "999999999999999999999999999999999999999999h": too large"#,
            ),
        ];
        for (input, want) in cases {
            assert_eq!(
                parse_duration(input),
                Err(want.to_string()),
                "input {input:?}"
            );
        }
    }

    #[test]
    fn formats_durations() {
        let cases = [
            (Duration::ZERO, "0s"),
            (ns(1), "1ns"),
            (ns(999), "999ns"),
            (ns(1_000), "1\u{b5}s"),
            (ns(1_500), "1.5\u{b5}s"),
            (ns(250_000), "250\u{b5}s"),
            (ns(999_999), "999.999\u{b5}s"),
            (ms(1), "1ms"),
            (ns(1_500_000), "1.5ms"),
            (ns(1_000_001), "1.000001ms"),
            (ms(500), "500ms"),
            (secs(1), "1s"),
            (secs(4), "4s"),
            (ms(1_500), "1.5s"),
            (ns(1_000_000_001), "1.000000001s"),
            (ms(59_999), "59.999s"),
            (secs(60), "1m"),
            (secs(120), "2m"),
            (secs(90), "1m30s"),
            (ms(90_500), "1m30.5s"),
            (secs(3_600), "1h"),
            (secs(5_400), "1h30m"),
            (secs(3_605), "1h5s"),
            (ms(7_200_500), "2h0.5s"),
            (secs(90_061), "25h1m1s"),
            (Duration::MAX, "5124095576030431h15.999999999s"),
        ];
        for (d, want) in cases {
            assert_eq!(format_duration(d), want, "{d:?}");
        }
    }

    #[test]
    fn format_round_trips_through_parse() {
        let mut samples = vec![Duration::ZERO, Duration::MAX, ns(1), ms(999), secs(59)];
        // A fixed linear congruential sequence gives varied magnitudes
        // without pulling in a random-number crate.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..2_000 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let secs = x >> (x % 64);
            samples.push(Duration::new(secs, (x % 1_000_000_000) as u32));
            samples.push(ns(x >> (x % 64)));
        }
        for d in samples {
            let text = format_duration(d);
            assert_eq!(parse_duration(&text), Ok(d), "{d:?} formatted as {text:?}");
        }
    }
}
