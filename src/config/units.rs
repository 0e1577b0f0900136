//! Units people write in `tailgate.yml` and on the command line: durations
//! (`500ms`, `1.5s`, `1m`) and percentages (`0.1%`, `+10%`).
//!
//! The parsers are strict on purpose: a bare `5` could mean seconds or
//! milliseconds and a bare `0.1` could mean 0.1 % or 10 %, so both are errors
//! that say what to write instead. Error messages are complete sentences meant
//! to be shown after "error: ".

use std::time::Duration;

use super::model::Fraction;

/// Help shown with every duration error.
pub const DURATION_HELP: &str = "write a number with a unit, e.g. `500ms` or `2s`";

/// Help shown with every percentage error.
pub const PERCENT_HELP: &str = "write a percentage with `%`, e.g. write 10% not 0.1 or 10";

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// Units accepted after a duration's number, with their length in nanoseconds.
const DURATION_UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("\u{b5}s", 1_000),  // µs, MICRO SIGN
    ("\u{3bc}s", 1_000), // μs, GREEK SMALL LETTER MU
    ("ms", 1_000_000),
    ("s", NANOS_PER_SEC),
    ("m", 60 * NANOS_PER_SEC),
    ("h", 3_600 * NANOS_PER_SEC),
];

/// The longest duration accepted: a year. Longer ones are typos, and adding them
/// to a clock reading could overflow.
const MAX_SECS: u64 = 365 * 24 * 3600;

/// At most this many fraction digits are used (the rest is below a nanosecond).
const MAX_FRACTION_DIGITS: usize = 18;

/// A non-negative decimal number split at its point: `"1.5"` -> `("1", "5")`.
/// `None` if `s` is not digits with at most one point and at least one digit.
fn split_decimal(s: &str) -> Option<(&str, &str)> {
    let (int, frac) = match s.split_once('.') {
        Some((int, frac)) => (int, frac),
        None => (s, ""),
    };
    let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
        return None;
    }
    Some((int, frac))
}

/// Parse a duration such as `500ms`, `2s`, `1.5s`, `1m`, `250us`, `250µs` or `1h`.
///
/// Units: `ns`, `us` (or `µs`), `ms`, `s`, `m`, `h`. The number is a decimal with
/// an optional fraction; it cannot be negative. A bare number is refused because
/// its unit would be a guess.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let text = s.trim();
    let shown = format!("{s:?}");
    if text.is_empty() {
        return Err("the duration is empty".to_string());
    }
    if let Some(rest) = text.strip_prefix('-') {
        let valid = !rest.starts_with('-') && parse_duration(rest).is_ok();
        return Err(if valid {
            format!("{shown} is a negative duration")
        } else {
            format!("{shown} is not a duration")
        });
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number = number.strip_prefix('+').unwrap_or(number);
    let unit = unit.trim_start();
    if unit.is_empty() {
        return Err(if split_decimal(number).is_some() {
            format!("{shown} has no unit")
        } else {
            format!("{shown} is not a duration")
        });
    }
    let Some((int, frac)) = split_decimal(number) else {
        return Err(format!("{shown} is not a duration"));
    };
    let Some(&(_, unit_nanos)) = DURATION_UNITS.iter().find(|(name, _)| *name == unit) else {
        return Err(format!(
            "{shown} is not a duration: unknown unit {unit:?} (known: ns, us, ms, s, m, h)"
        ));
    };
    let too_large = || format!("{shown} is too long (the limit is 8760h, a year)");
    let mut nanos: u128 = 0;
    for digit in int.bytes() {
        nanos = nanos
            .checked_mul(10)
            .and_then(|n| n.checked_add(u128::from(digit - b'0')))
            .ok_or_else(too_large)?;
    }
    nanos = nanos.checked_mul(unit_nanos).ok_or_else(too_large)?;
    let frac = frac.get(..MAX_FRACTION_DIGITS).unwrap_or(frac);
    if !frac.is_empty() {
        let mut value: u128 = 0;
        let mut scale: u128 = 1;
        for digit in frac.bytes() {
            value = value * 10 + u128::from(digit - b'0');
            scale *= 10;
        }
        nanos = nanos
            .checked_add(value * unit_nanos / scale)
            .ok_or_else(too_large)?;
    }
    let secs = u64::try_from(nanos / NANOS_PER_SEC)
        .ok()
        .filter(|s| *s < MAX_SECS || (*s == MAX_SECS && nanos.is_multiple_of(NANOS_PER_SEC)))
        .ok_or_else(too_large)?;
    let subsec = u32::try_from(nanos % NANOS_PER_SEC).map_err(|_| too_large())?;
    Ok(Duration::new(secs, subsec))
}

/// Parse a percentage with an optional sign (`10%`, `+10%`, `-10%`, `0.1%`) into a
/// signed fraction (`-10%` -> `-0.10`).
pub fn parse_signed_percent(s: &str) -> Result<f64, String> {
    let text = s.trim();
    let shown = format!("{s:?}");
    let Some(number) = text.strip_suffix('%') else {
        return Err(
            if split_decimal(text.trim_start_matches(['+', '-'])).is_some() {
                format!("{shown} has no `%`")
            } else {
                format!("{shown} is not a percentage")
            },
        );
    };
    let number = number.trim_end();
    let (negative, digits) = if let Some(rest) = number.strip_prefix('-') {
        (true, rest)
    } else {
        (false, number.strip_prefix('+').unwrap_or(number))
    };
    if split_decimal(digits).is_none() {
        return Err(format!("{shown} is not a percentage"));
    }
    let value: f64 = digits
        .parse()
        .map_err(|_| format!("{shown} is not a percentage"))?;
    if !value.is_finite() {
        return Err(format!("{shown} is too large"));
    }
    let fraction = value / 100.0;
    Ok(if negative { -fraction } else { fraction })
}

/// Parse a non-negative percentage (`10%`, `+10%`, `0.1%`) into a [`Fraction`]
/// (`10%` -> `Fraction(0.10)`). A bare number is refused: is `0.1` 0.1 % or 10 %?
pub fn parse_percent(s: &str) -> Result<Fraction, String> {
    let value = parse_signed_percent(s)?;
    if value < 0.0 {
        return Err(format!("{s:?} is negative"));
    }
    Ok(Fraction(value))
}

/// Show a duration the way people write them: `500ms`, `2s`, `1.5s`, `250us`.
pub fn format_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        "0s".to_string()
    } else if nanos.is_multiple_of(NANOS_PER_SEC) {
        format!("{}s", d.as_secs())
    } else if nanos >= NANOS_PER_SEC {
        format!("{}s", d.as_secs_f64())
    } else if nanos.is_multiple_of(1_000_000) {
        format!("{}ms", nanos / 1_000_000)
    } else if nanos >= 1_000_000 {
        format!("{}ms", nanos as f64 / 1e6)
    } else if nanos.is_multiple_of(1_000) {
        format!("{}us", nanos / 1_000)
    } else {
        format!("{nanos}ns")
    }
}

/// Show a fraction as a percentage: `Fraction(0.1)` -> `10%`.
pub fn format_percent(f: Fraction) -> String {
    let p = f.percent();
    // Round away float noise such as 0.1 * 100 = 10.000000000000002.
    let rounded = (p * 1e9).round() / 1e9;
    format!("{rounded}%")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn durations_in_every_unit() {
        assert_eq!(parse_duration("500ms"), Ok(ms(500)));
        assert_eq!(parse_duration("2s"), Ok(ms(2000)));
        assert_eq!(parse_duration("1.5s"), Ok(ms(1500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("250µs"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("250μs"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("7ns"), Ok(Duration::from_nanos(7)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration(" 2 s "), Ok(ms(2000)));
        assert_eq!(parse_duration(".5s"), Ok(ms(500)));
        assert_eq!(parse_duration("2.s"), Ok(ms(2000)));
        assert_eq!(parse_duration("+2s"), Ok(ms(2000)));
    }

    #[test]
    fn fractions_are_exact() {
        assert_eq!(parse_duration("0.1s"), Ok(ms(100)));
        assert_eq!(
            parse_duration("1.001ms"),
            Ok(Duration::from_nanos(1_001_000))
        );
        assert_eq!(
            parse_duration("0.0000000000000000000001s"),
            Ok(Duration::ZERO)
        );
    }

    #[test]
    fn bad_durations_say_what_is_wrong() {
        assert_eq!(parse_duration("5"), Err("\"5\" has no unit".to_string()));
        assert_eq!(
            parse_duration("1.5"),
            Err("\"1.5\" has no unit".to_string())
        );
        assert_eq!(
            parse_duration("-1s"),
            Err("\"-1s\" is a negative duration".to_string())
        );
        assert_eq!(
            parse_duration("fast"),
            Err("\"fast\" is not a duration".to_string())
        );
        assert!(parse_duration("5 parsecs")
            .unwrap_err()
            .contains("unknown unit \"parsecs\""));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("ms").is_err());
        assert!(parse_duration("1.2.3s").is_err());
        assert!(parse_duration("1e3ms").is_err());
        assert!(parse_duration("NaNs").is_err());
        assert!(parse_duration("1s2").is_err());
    }

    #[test]
    fn huge_durations_overflow_into_an_error() {
        for s in [
            "99999999999999h",
            "18446744073709551616s",
            "999999999999999999999999999999999999999999999999h",
        ] {
            assert!(parse_duration(s).unwrap_err().contains("too long"), "{s}");
        }
        assert_eq!(parse_duration("8760h"), Ok(Duration::from_secs(MAX_SECS)));
        assert!(parse_duration("8760.1h").is_err());
    }

    #[test]
    fn percentages() {
        assert_eq!(parse_percent("10%"), Ok(Fraction(0.10)));
        assert_eq!(parse_percent("+10%"), Ok(Fraction(0.10)));
        assert_eq!(parse_percent("0.1%"), Ok(Fraction(0.001)));
        assert_eq!(parse_percent("0%"), Ok(Fraction(0.0)));
        assert_eq!(parse_percent("150 %"), Ok(Fraction(1.5)));
        assert_eq!(parse_signed_percent("-10%"), Ok(-0.10));
        assert_eq!(parse_signed_percent("+2.5%"), Ok(0.025));
    }

    #[test]
    fn bad_percentages() {
        assert_eq!(parse_percent("0.1"), Err("\"0.1\" has no `%`".to_string()));
        assert_eq!(parse_percent("10"), Err("\"10\" has no `%`".to_string()));
        assert_eq!(parse_percent("-5%"), Err("\"-5%\" is negative".to_string()));
        assert_eq!(
            parse_percent("ten%"),
            Err("\"ten%\" is not a percentage".to_string())
        );
        assert!(parse_percent("%").is_err());
        assert!(parse_percent("1e2%").is_err());
        assert!(parse_percent("+-1%").is_err());
        assert!(parse_percent("inf%").is_err());
        let huge = format!("{}%", "9".repeat(400));
        assert!(parse_percent(&huge).unwrap_err().contains("too large"));
    }

    #[test]
    fn formatting_round_trips() {
        assert_eq!(format_duration(ms(500)), "500ms");
        assert_eq!(format_duration(ms(2000)), "2s");
        assert_eq!(format_duration(ms(1500)), "1.5s");
        assert_eq!(format_duration(Duration::from_micros(250)), "250us");
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(format_percent(Fraction(0.1)), "10%");
        assert_eq!(format_percent(Fraction(0.001)), "0.1%");
    }
}
