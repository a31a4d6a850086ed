//! Reads the expiry (`notAfter`) of an X.509 certificate from its DER encoding, so the agent can
//! report how many days a server certificate has left without an X.509 library.
//!
//! Only the path to the validity field is walked: `Certificate ::= SEQUENCE { tbsCertificate
//! SEQUENCE { [0] version OPTIONAL, serialNumber, signature, issuer, validity SEQUENCE {
//! notBefore, notAfter }, … }, … }`.

use chrono::{DateTime, NaiveDate, Utc};

/// One DER element: its tag and contents, and what follows it.
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let length = rest[..count]
            .iter()
            .fold(0usize, |length, byte| (length << 8) | usize::from(*byte));
        (length, &rest[count..])
    };
    if rest.len() < length {
        return None;
    }
    Some((tag, &rest[..length], &rest[length..]))
}

fn digits(text: &[u8]) -> Option<u32> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// Parses a UTCTime (`YYMMDDHHMMSSZ`, tag 0x17) or GeneralizedTime (`YYYYMMDDHHMMSSZ`, tag 0x18).
fn parse_time(tag: u8, value: &[u8]) -> Option<DateTime<Utc>> {
    let (year, rest) = match tag {
        0x17 => {
            let short = digits(value.get(..2)?)?;
            // RFC 5280: 50–99 are 19xx, 00–49 are 20xx.
            let year = if short >= 50 {
                1900 + short
            } else {
                2000 + short
            };
            (year, value.get(2..)?)
        }
        0x18 => (digits(value.get(..4)?)?, value.get(4..)?),
        _ => return None,
    };
    let field = |index: usize| digits(rest.get(index..index + 2)?);
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, field(0)?, field(2)?)?;
    let time = date.and_hms_opt(field(4)?, field(6)?, field(8)?)?;
    Some(time.and_utc())
}

/// The `notAfter` time of a DER certificate, or `None` when it cannot be read.
pub fn not_after(der: &[u8]) -> Option<DateTime<Utc>> {
    let (0x30, certificate, _) = element(der)? else {
        return None;
    };
    let (0x30, tbs, _) = element(certificate)? else {
        return None;
    };
    let mut rest = tbs;
    let (tag, _, after) = element(rest)?;
    if tag == 0xa0 {
        rest = after; // explicit version
    }
    // serialNumber, signature, issuer
    for _ in 0..3 {
        rest = element(rest)?.2;
    }
    let (0x30, validity, _) = element(rest)? else {
        return None;
    };
    let (_, _, after_not_before) = element(validity)?;
    let (tag, value, _) = element(after_not_before)?;
    parse_time(tag, value)
}

/// Whole days from `now` until `expiry` (negative once expired).
pub fn days_left(expiry: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (expiry - now).num_days()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn der(tag: u8, contents: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        if contents.len() < 0x80 {
            out.push(u8::try_from(contents.len()).unwrap_or(0));
        } else {
            let length = u16::try_from(contents.len()).unwrap_or(0).to_be_bytes();
            out.extend_from_slice(&[0x82, length[0], length[1]]);
        }
        out.extend_from_slice(contents);
        out
    }

    fn certificate(with_version: bool, not_after: (u8, &[u8])) -> Vec<u8> {
        let mut tbs = Vec::new();
        if with_version {
            tbs.extend(der(0xa0, &der(0x02, &[2])));
        }
        tbs.extend(der(0x02, &[0x01, 0x02]));
        tbs.extend(der(0x30, &der(0x06, &[0x2a, 0x86, 0x48])));
        // A long issuer so the long length form is exercised.
        tbs.extend(der(0x30, &der(0x0c, &[b'a'; 200])));
        let mut validity = der(0x17, b"240101000000Z");
        validity.extend(der(not_after.0, not_after.1));
        tbs.extend(der(0x30, &validity));
        tbs.extend(der(0x30, &[]));
        let mut body = der(0x30, &tbs);
        body.extend(der(0x30, &der(0x06, &[0x2a])));
        body.extend(der(0x03, &[0x00, 0xff]));
        der(0x30, &body)
    }

    #[test]
    fn reads_not_after_in_both_time_forms() {
        let expected = NaiveDate::from_ymd_opt(2030, 6, 15)
            .and_then(|date| date.and_hms_opt(12, 30, 5))
            .map(|time| time.and_utc());
        assert_eq!(
            not_after(&certificate(true, (0x17, b"300615123005Z"))),
            expected
        );
        assert_eq!(
            not_after(&certificate(false, (0x18, b"20300615123005Z"))),
            expected
        );
    }

    #[test]
    fn garbage_is_none() {
        assert_eq!(not_after(&[]), None);
        assert_eq!(not_after(&[0x30, 0x05, 0x01]), None);
        assert_eq!(
            not_after(&certificate(true, (0x17, b"30x615123005Z"))),
            None
        );
    }

    #[test]
    fn days_left_counts_whole_days() {
        let now = DateTime::parse_from_rfc3339("2030-06-01T00:00:00Z")
            .map(|time| time.with_timezone(&Utc))
            .unwrap_or_default();
        let expiry = now + chrono::Duration::hours(24 * 14 + 5);
        assert_eq!(days_left(expiry, now), 14);
        assert_eq!(days_left(now - chrono::Duration::hours(30), now), -1);
    }
}
