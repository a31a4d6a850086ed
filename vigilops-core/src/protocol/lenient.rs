//! Deserializers for the formats the original agents actually send: integers written as
//! `1052.0`, and ISO 8601 timestamps with or without an offset (read as UTC without one).

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::fmt;

/// Parses an RFC 3339 / ISO 8601 date-time with 0–9 fraction digits, `Z` or `±HH:MM`, or no
/// offset at all (read as UTC, as the original server did).
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(parsed) = DateTime::parse_from_rfc3339(text) {
        return Some(parsed.with_timezone(&Utc));
    }
    // RFC 3339 requires a `T`; Python's isoformat(sep=" ") and SQL dumps use a space.
    if let Ok(parsed) = DateTime::parse_from_rfc3339(&text.replacen(' ', "T", 1)) {
        return Some(parsed.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return Some(naive.and_utc());
        }
    }
    None
}

struct IntVisitor;

impl Visitor<'_> for IntVisitor {
    type Value = i64;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an integer")
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<i64, E> {
        Ok(value)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<i64, E> {
        i64::try_from(value).map_err(|_| E::custom("integer out of range"))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<i64, E> {
        // 2^63 is exactly representable; anything at or past it does not fit an i64.
        if value.fract() == 0.0 && value.is_finite() && value.abs() < 9.223_372_036_854_776e18 {
            #[allow(clippy::cast_possible_truncation)] // Checked above: integral and in range.
            Ok(value as i64)
        } else {
            Err(E::custom(
                "expected an integer, got a number with a fraction",
            ))
        }
    }
}

/// An integer that may also be written as a number with a zero fraction (`1052.0`).
pub fn int<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    deserializer.deserialize_any(IntVisitor)
}

/// An optional [`int`]; `null` means absent.
pub fn opt_int<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    struct Wrapper(#[serde(deserialize_with = "int")] i64);
    Ok(Option::<Wrapper>::deserialize(deserializer)?.map(|Wrapper(value)| value))
}

/// A required timestamp in any of the forms [`parse_timestamp`] accepts.
pub fn timestamp<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse_timestamp(&text).ok_or_else(|| de::Error::custom(format!("invalid datetime `{text}`")))
}

/// An optional [`timestamp`]; `null` means absent.
pub fn opt_timestamp<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    match Option::<String>::deserialize(deserializer)? {
        None => Ok(None),
        Some(text) => parse_timestamp(&text)
            .map(Some)
            .ok_or_else(|| de::Error::custom(format!("invalid datetime `{text}`"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Option<&str>) {
        let parsed = parse_timestamp(input).map(|dt| dt.to_rfc3339());
        assert_eq!(parsed.as_deref(), expected, "input {input}");
    }

    #[test]
    fn timestamps_in_the_forms_agents_send() {
        check(
            "2026-11-27T01:30:49.968038+00:00",
            Some("2026-11-27T01:30:49.968038+00:00"),
        );
        check(
            "2026-11-27T01:30:49+00:00",
            Some("2026-11-27T01:30:49+00:00"),
        );
        check("2026-11-27T01:30:49Z", Some("2026-11-27T01:30:49+00:00"));
        check(
            "2026-11-27T03:30:49.123456789+02:00",
            Some("2026-11-27T01:30:49.123456789+00:00"),
        );
        check(
            "2026-11-27T01:30:49.5",
            Some("2026-11-27T01:30:49.500+00:00"),
        );
        check("2026-11-27 01:30:49", Some("2026-11-27T01:30:49+00:00"));
        check("yesterday", None);
        check("2026-13-01T00:00:00Z", None);
    }

    #[derive(Deserialize, Debug)]
    struct Ints {
        #[serde(deserialize_with = "int")]
        required: i64,
        #[serde(default, deserialize_with = "opt_int")]
        optional: Option<i64>,
    }

    #[test]
    fn integers_may_carry_a_zero_fraction() {
        let parsed: Ints = serde_json::from_str(r#"{"required":1052.0,"optional":null}"#).unwrap();
        assert_eq!((parsed.required, parsed.optional), (1052, None));
        let parsed: Ints = serde_json::from_str(r#"{"required":7,"optional":3.0}"#).unwrap();
        assert_eq!((parsed.required, parsed.optional), (7, Some(3)));
        assert!(serde_json::from_str::<Ints>(r#"{"required":1.5}"#).is_err());
        assert!(serde_json::from_str::<Ints>(r#"{"required":"7"}"#).is_err());
        assert!(serde_json::from_str::<Ints>(r#"{"required":1e300}"#).is_err());
        assert!(serde_json::from_str::<Ints>(r#"{}"#).is_err());
    }
}
