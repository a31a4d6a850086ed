//! Pure line handling of the log tailer: level detection and Docker json-file lines.

use std::sync::LazyLock;

use regex::Regex;

#[allow(clippy::expect_used)] // a constant pattern, covered by the tests
static LEVEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)DEBUG|INFO|WARNING|WARN|ERROR|FATAL|CRITICAL").expect("valid level pattern")
});

/// The level of a log message (§3.7): the first case-insensitive match of
/// `DEBUG|INFO|WARN|WARNING|ERROR|FATAL|CRITICAL`, with `WARNING` → `WARN` and `CRITICAL` →
/// `FATAL`; `INFO` when none matches.
pub fn detect_level(message: &str) -> &'static str {
    let Some(found) = LEVEL.find(message) else {
        return "INFO";
    };
    match found.as_str().to_ascii_uppercase().as_str() {
        "DEBUG" => "DEBUG",
        "WARN" | "WARNING" => "WARN",
        "ERROR" => "ERROR",
        "FATAL" | "CRITICAL" => "FATAL",
        _ => "INFO",
    }
}

/// A Docker json-file line reduced to its `log` field (without the trailing newline); other
/// lines are returned unchanged.
pub fn docker_message(line: &str) -> String {
    #[derive(serde::Deserialize)]
    struct DockerLine {
        log: String,
    }
    match serde_json::from_str::<DockerLine>(line) {
        Ok(parsed) => parsed.log.trim_end_matches(['\n', '\r']).to_owned(),
        Err(_) => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels() {
        assert_eq!(detect_level("2024-01-01 12:00:00 ERROR boom"), "ERROR");
        assert_eq!(detect_level("warning: disk low"), "WARN");
        assert_eq!(detect_level("[WARN] x"), "WARN");
        assert_eq!(detect_level("critical failure"), "FATAL");
        assert_eq!(detect_level("Fatal: x"), "FATAL");
        assert_eq!(detect_level("debug info error"), "DEBUG");
        assert_eq!(detect_level("nothing here"), "INFO");
        assert_eq!(detect_level("an Error then a DEBUG"), "ERROR");
    }

    #[test]
    fn docker_lines() {
        assert_eq!(
            docker_message(
                r#"{"log":"hello ERROR\n","stream":"stdout","time":"2024-01-01T00:00:00Z"}"#
            ),
            "hello ERROR"
        );
        assert_eq!(docker_message("plain line"), "plain line");
        assert_eq!(docker_message(r#"{"other":1}"#), r#"{"other":1}"#);
    }
}
