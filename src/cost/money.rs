//! Money: an exact decimal amount with its currency. Never `f64` dollars.
//!
//! A Lambda request costs fractions of a micro-dollar, so amounts are
//! [`rust_decimal::Decimal`] (96-bit mantissa, scale up to 28): a price of
//! `$0.0000166667` per GB-s times 0.125 GB times 0.1 s is exact, and so is its sum
//! over a million requests. Amounts of different currencies never mix: arithmetic
//! across currencies is an error, not a silent conversion.

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use super::CostError;

/// An ISO 4217 currency code (`USD`, `EUR`): three ASCII capital letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    /// US dollars, the currency of AWS list prices.
    pub const USD: Currency = Currency(*b"USD");

    /// The code as text.
    pub fn code(&self) -> &str {
        // Only ever built from three ASCII capitals, so always valid UTF-8.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }

    /// The symbol used in reports (`$` for USD, else the code and a space).
    pub fn symbol(&self) -> String {
        match self.code() {
            "USD" => "$".to_string(),
            "EUR" => "€".to_string(),
            "GBP" => "£".to_string(),
            other => format!("{other} "),
        }
    }
}

impl FromStr for Currency {
    type Err = CostError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = s.trim().as_bytes();
        match bytes {
            [a, b, c] if bytes.iter().all(u8::is_ascii_alphabetic) => Ok(Currency([
                a.to_ascii_uppercase(),
                b.to_ascii_uppercase(),
                c.to_ascii_uppercase(),
            ])),
            _ => Err(CostError::BadCurrency(s.to_string())),
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// An exact amount of one currency. Serialised as `{"amount": "0.0000002", "currency": "USD"}`
/// (the amount is a string so no JSON reader rounds it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Money {
    /// The exact amount; its scale is the number of decimal places kept.
    pub amount: Decimal,
    /// The currency of `amount`.
    pub currency: Currency,
}

impl Money {
    /// `amount` of `currency`.
    pub fn new(amount: Decimal, currency: Currency) -> Money {
        Money { amount, currency }
    }

    /// Zero of `currency`.
    pub fn zero(currency: Currency) -> Money {
        Money::new(Decimal::ZERO, currency)
    }

    /// Parse a price as people write it: `$2.00`, `2`, `0.0000166667`, `USD 3.5`.
    /// The currency is `default` unless the text names another.
    pub fn parse(text: &str, default: Currency) -> Result<Money, CostError> {
        let t = text.trim();
        let (currency, number) = if let Some(rest) = t.strip_prefix('$') {
            (Currency::USD, rest)
        } else if t.len() > 3 && t.as_bytes()[..3].iter().all(u8::is_ascii_alphabetic) {
            (t[..3].parse()?, &t[3..])
        } else {
            (default, t)
        };
        let number = number.trim().replace('_', "");
        let amount = Decimal::from_str_exact(&number)
            .or_else(|_| Decimal::from_scientific(&number))
            .map_err(|_| CostError::BadAmount(text.to_string()))?;
        if amount.is_sign_negative() {
            return Err(CostError::BadAmount(text.to_string()));
        }
        Ok(Money::new(amount.normalize(), currency))
    }

    /// The sum, or an error when the currencies differ.
    pub fn checked_add(self, other: Money) -> Result<Money, CostError> {
        self.same_currency(other)?;
        self.amount
            .checked_add(other.amount)
            .map(|amount| Money::new(amount, self.currency))
            .ok_or(CostError::Overflow)
    }

    /// The amount times a plain number.
    pub fn checked_mul(self, factor: Decimal) -> Result<Money, CostError> {
        self.amount
            .checked_mul(factor)
            .map(|amount| Money::new(amount, self.currency))
            .ok_or(CostError::Overflow)
    }

    /// The amount divided by a plain number; `None` when dividing by zero.
    pub fn checked_div(self, divisor: Decimal) -> Option<Money> {
        self.amount
            .checked_div(divisor)
            .map(|amount| Money::new(amount, self.currency))
    }

    /// `self / other` as a plain number (a ratio of two amounts of one currency).
    pub fn ratio(self, other: Money) -> Result<Option<Decimal>, CostError> {
        self.same_currency(other)?;
        Ok(self.amount.checked_div(other.amount))
    }

    /// The amount rounded to `places` decimal places (half away from zero).
    pub fn round(self, places: u32) -> Money {
        Money::new(
            self.amount
                .round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero),
            self.currency,
        )
    }

    /// The amount as `f64`, for statistics over rounds (never for sums of money).
    pub fn to_f64(self) -> f64 {
        use rust_decimal::prelude::ToPrimitive;
        self.amount.to_f64().unwrap_or(f64::NAN)
    }

    fn same_currency(self, other: Money) -> Result<(), CostError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(CostError::CurrencyMismatch(self.currency, other.currency))
        }
    }
}

/// Shown with enough significant digits for tiny amounts: `$2.08e-7` is written
/// `$0.000000208`, `$12.5` as `$12.50`.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sym = self.currency.symbol();
        let abs = self.amount.abs();
        let sign = if self.amount.is_sign_negative() && !abs.is_zero() {
            "-"
        } else {
            ""
        };
        let shown = if abs >= Decimal::ONE || abs.is_zero() {
            abs.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
        } else {
            // Three significant digits below one unit.
            let mut places = 2u32;
            let mut probe = abs * Decimal::from(100);
            while probe < Decimal::from(100) && places < 28 {
                probe *= Decimal::TEN;
                places += 1;
            }
            abs.round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero)
                .normalize()
        };
        let text = if shown.scale() < 2 {
            format!("{shown:.2}")
        } else {
            shown.to_string()
        };
        write!(f, "{sign}{sym}{text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(s: &str) -> Money {
        Money::parse(s, Currency::USD).unwrap()
    }

    #[test]
    fn parses_prices_as_written() {
        assert_eq!(usd("$2.00").amount, Decimal::from(2));
        assert_eq!(usd("0.0000166667").amount.to_string(), "0.0000166667");
        let eur = Money::parse("EUR 3.5", Currency::USD).unwrap();
        assert_eq!(eur.currency.code(), "EUR");
        assert!(Money::parse("-1", Currency::USD).is_err());
        assert!(Money::parse("two dollars", Currency::USD).is_err());
        assert!(Money::parse("", Currency::USD).is_err());
    }

    #[test]
    fn arithmetic_is_exact_and_currency_safe() {
        let a = usd("0.0000166667");
        let b = usd("0.0000002");
        assert_eq!(a.checked_add(b).unwrap().amount.to_string(), "0.0000168667");
        let eur = Money::parse("EUR 1", Currency::USD).unwrap();
        assert!(matches!(
            a.checked_add(eur),
            Err(CostError::CurrencyMismatch(..))
        ));
        assert!(a.checked_div(Decimal::ZERO).is_none());
    }

    #[test]
    fn displays_tiny_and_large_amounts() {
        assert_eq!(usd("0.000000208333").to_string(), "$0.000000208");
        assert_eq!(usd("12.5").to_string(), "$12.50");
        assert_eq!(usd("0.2").to_string(), "$0.20");
        assert_eq!(usd("0.123456").to_string(), "$0.123");
        assert_eq!(usd("0").to_string(), "$0.00");
        assert_eq!(usd("1234.567").to_string(), "$1234.57");
    }

    #[test]
    fn serialises_amount_as_string() {
        let json = serde_json::to_string(&usd("0.0000002")).unwrap();
        assert_eq!(json, r#"{"amount":"0.0000002","currency":"USD"}"#);
        let back: Money = serde_json::from_str(&json).unwrap();
        assert_eq!(back, usd("0.0000002"));
    }
}
