//! Host uptime from `/proc/uptime`.

use std::path::Path;

use super::{CollectorError, read_text};

/// Reads `<proc_root>/uptime`: whole seconds since boot.
pub fn read(proc_root: &Path) -> Result<u64, CollectorError> {
    let path = proc_root.join("uptime");
    parse_uptime(&read_text(&path)?).ok_or_else(|| CollectorError::Parse {
        path: path.display().to_string(),
        reason: "no leading seconds value".to_owned(),
    })
}

/// The first field of `/proc/uptime` (seconds since boot, with a fraction), truncated.
pub fn parse_uptime(text: &str) -> Option<u64> {
    let seconds: f64 = text.split_ascii_whitespace().next()?.parse().ok()?;
    if !seconds.is_finite() || seconds < 0.0 {
        return None;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // Checked non-negative.
    Some(seconds as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_first_field() {
        assert_eq!(parse_uptime("1344.98 333.98\n"), Some(1344));
        assert_eq!(parse_uptime("0.50 0.10"), Some(0));
        assert_eq!(parse_uptime(""), None);
        assert_eq!(parse_uptime("-5 1"), None);
        assert_eq!(parse_uptime("up 1"), None);
    }

    #[test]
    fn reads_this_machine() {
        assert!(read(Path::new("/proc")).expect("uptime") > 0);
    }
}
