//! Number formatting shared by verdict reasons and reports: the way people write
//! latencies, percentages and rates.

use std::time::Duration;

/// A duration the way people write it: `850 µs`, `12.3 ms`, `2 s`, `1.5 min`.
pub fn duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs >= 60.0 {
        format!("{} min", trim(secs / 60.0, 1))
    } else if secs >= 1.0 {
        format!("{} s", trim(secs, 1))
    } else {
        ms(secs * 1000.0)
    }
}

/// Milliseconds with precision that suits the size: `0.31 ms`, `12.3 ms`, `287 ms`.
pub fn ms(value: f64) -> String {
    if !value.is_finite() {
        return "n/a".into();
    }
    if value >= 10_000.0 {
        format!("{} s", trim(value / 1000.0, 1))
    } else if value >= 100.0 {
        format!("{value:.0} ms")
    } else if value >= 10.0 {
        format!("{value:.1} ms")
    } else {
        format!("{value:.2} ms")
    }
}

/// A number without its unit, with the same precision rules as [`ms`].
pub fn ms_bare(value: f64) -> String {
    if !value.is_finite() {
        "n/a".into()
    } else if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// A signed relative change: `+35 %`, `−65 %`, `+1.2 %`.
pub fn signed_percent(fraction: f64) -> String {
    signed_percent_finer(fraction, 0)
}

/// [`signed_percent`] with `more` decimals than it would write: for a change
/// that would otherwise read as the limit it was compared with (`+10.4 %`
/// past a budget of `+10 %`, not `+10 %`).
pub fn signed_percent_finer(fraction: f64, more: usize) -> String {
    let p = fraction * 100.0;
    let decimals = if p.abs() >= 10.0 { 0 } else { 1 } + more;
    let body = format!("{:.*}", decimals, p.abs());
    let sign = if p < 0.0 && !body.trim_start_matches(['0', '.']).is_empty() {
        "−"
    } else {
        "+"
    };
    format!("{sign}{body} %")
}

/// An unsigned percentage with up to two decimals: `0.1 %`, `12 %`.
pub fn percent(fraction: f64) -> String {
    let p = fraction * 100.0;
    if p == 0.0 {
        "0 %".into()
    } else if p >= 10.0 {
        format!("{p:.0} %")
    } else if p >= 0.1 {
        format!("{} %", trim(p, 2))
    } else {
        format!("{} %", trim(p, 3))
    }
}

/// A rate in requests per second: `1,040`, `12.5`.
pub fn rate(value: f64) -> String {
    if !value.is_finite() {
        "n/a".into()
    } else if value >= 100.0 {
        thousands(value.round() as u64)
    } else {
        trim(value, 1)
    }
}

/// An integer with thousands separators: `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn trim(value: f64, decimals: usize) -> String {
    let s = format!("{value:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// An amount of `currency` as people read it: `$0.41`, `€0.000123`.
pub fn money(value: f64, currency: crate::cost::Currency) -> String {
    use rust_decimal::prelude::FromPrimitive;
    match rust_decimal::Decimal::from_f64(value) {
        Some(amount) if value.is_finite() => crate::cost::Money::new(amount, currency).to_string(),
        _ => "n/a".into(),
    }
}

/// A ratio at or above which a change reads as a multiple (`×2.50`) rather than
/// a percentage (`+150 %`): the one rule of every relative change in a report.
pub const MULTIPLE_FROM: f64 = 2.0;

/// A multiple with three significant digits: `×2.50`, `×15.8`, `×168`.
fn multiple(ratio: f64) -> String {
    let digits = if ratio < 10.0 {
        2
    } else if ratio < 100.0 {
        1
    } else {
        0
    };
    format!("×{ratio:.digits$}")
}

/// A ratio change and its interval as `[point, low, high]`, by one rule for the
/// whole report: a point at or above [`MULTIPLE_FROM`] (head at least twice base)
/// reads as a multiple (`×2.50`, `×15.8`), anything below as a signed percentage
/// (`+35 %`, `−65 %`; decreases are always percentages), and both bounds follow
/// their point's form. An infinite bound reads `unbounded`.
pub fn ratio_change(point: f64, low: f64, high: f64) -> [String; 3] {
    let times = point.is_finite() && point >= MULTIPLE_FROM;
    let one = |ratio: f64| {
        if !ratio.is_finite() {
            "unbounded".to_string()
        } else if times {
            multiple(ratio)
        } else {
            signed_percent(ratio - 1.0)
        }
    };
    [one(point), one(low), one(high)]
}

/// A relative change without an interval (`0.35` is `+35 %`, `1.5` is `×2.50`),
/// by the rule of [`ratio_change`].
pub fn relative_change(fraction: f64) -> String {
    let [point, _, _] = ratio_change(1.0 + fraction, 1.0 + fraction, 1.0 + fraction);
    point
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_people_write() {
        assert_eq!(duration(Duration::from_millis(500)), "500 ms");
        assert_eq!(duration(Duration::from_secs(2)), "2 s");
        assert_eq!(duration(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(ms(0.314), "0.31 ms");
        assert_eq!(ms(41.83), "41.8 ms");
        assert_eq!(ms(287.4), "287 ms");
        assert_eq!(signed_percent(0.35), "+35 %");
        assert_eq!(signed_percent(-0.654), "−65 %");
        assert_eq!(signed_percent(0.012), "+1.2 %");
        assert_eq!(signed_percent(-0.0001), "+0.0 %");
        assert_eq!(percent(0.001), "0.1 %");
        assert_eq!(percent(0.0), "0 %");
        assert_eq!(rate(1040.2), "1,040");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn ratios_from_two_read_as_multiples_below_as_percentages() {
        assert_eq!(
            ratio_change(1.35, 1.28, 1.41),
            ["+35 %", "+28 %", "+41 %"].map(String::from)
        );
        // Just below ×2: still a percentage, bounds too (even one above 2).
        assert_eq!(
            ratio_change(1.99, 1.5, 2.6),
            ["+99 %", "+50 %", "+160 %"].map(String::from)
        );
        // From ×2: a multiple, and its bounds follow its form (even one below 2).
        assert_eq!(
            ratio_change(2.5, 1.8, 3.1),
            ["×2.50", "×1.80", "×3.10"].map(String::from)
        );
        assert_eq!(
            ratio_change(9.78, 8.9, 10.7),
            ["×9.78", "×8.90", "×10.7"].map(String::from)
        );
        // The report that mixed `×15.8` with `+878 %`: both are multiples now.
        assert_eq!(ratio_change(15.8, 15.0, 16.6)[0], "×15.8");
        assert_eq!(ratio_change(9.78, 9.0, 10.5)[0], "×9.78");
        assert_eq!(
            ratio_change(168.5, 106.6, f64::INFINITY),
            ["×168", "×107", "unbounded"].map(String::from)
        );
        // Decreases are percentages, however large.
        assert_eq!(
            ratio_change(0.35, 0.3, 0.4),
            ["−65 %", "−70 %", "−60 %"].map(String::from)
        );
        assert_eq!(ratio_change(0.01, 0.005, 0.02)[0], "−99 %");
    }

    #[test]
    fn a_relative_change_follows_the_same_rule() {
        assert_eq!(relative_change(0.35), "+35 %");
        assert_eq!(relative_change(-0.65), "−65 %");
        assert_eq!(relative_change(1.5), "×2.50");
        assert_eq!(relative_change(8.78), "×9.78");
    }
}
