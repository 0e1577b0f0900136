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
    let p = fraction * 100.0;
    let body = if p.abs() >= 10.0 {
        format!("{:.0}", p.abs())
    } else {
        format!("{:.1}", p.abs())
    };
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

/// A ratio change and its interval as `[point, low, high]`: percentages
/// (`+35 %`), or multiples (`×15.2`) once head is ten times base or more, where
/// `+1395 %` would be hard to read. An infinite bound reads `unbounded`.
pub fn ratio_change(point: f64, low: f64, high: f64) -> [String; 3] {
    let times = point.is_finite() && point >= 10.0;
    let one = |ratio: f64| {
        if !ratio.is_finite() {
            "unbounded".to_string()
        } else if times {
            let digits = if ratio < 10.0 {
                2
            } else if ratio < 100.0 {
                1
            } else {
                0
            };
            format!("×{ratio:.digits$}")
        } else {
            signed_percent(ratio - 1.0)
        }
    };
    [one(point), one(low), one(high)]
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
    fn large_ratios_read_as_multiples() {
        assert_eq!(
            ratio_change(1.35, 1.28, 1.41),
            ["+35 %", "+28 %", "+41 %"].map(String::from)
        );
        assert_eq!(
            ratio_change(14.95, 5.24, 42.63),
            ["×14.9", "×5.24", "×42.6"].map(String::from)
        );
        assert_eq!(
            ratio_change(168.5, 106.6, f64::INFINITY),
            ["×168", "×107", "unbounded"].map(String::from)
        );
    }
}
