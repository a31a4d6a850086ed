//! What both backends share about the AI engine's tables (migration 0006): reading the method
//! and feedback columns back, the recall terms as both backends receive them, and the level
//! filter of the log windows.

use chrono::{DateTime, Utc};

use super::{StoreError, StoreResult};
use crate::model::{AnalysisMethod, InsightFeedback, Verdict};

/// `ai_insights.method` read back.
pub(crate) fn method_from_column(text: &str) -> StoreResult<AnalysisMethod> {
    AnalysisMethod::parse(text)
        .ok_or_else(|| StoreError::Corrupt(format!("insight method `{text}`")))
}

/// A verdict column read back.
pub(crate) fn verdict_from_column(text: Option<&str>) -> StoreResult<Option<Verdict>> {
    text.map(|text| {
        Verdict::parse(text).ok_or_else(|| StoreError::Corrupt(format!("verdict `{text}`")))
    })
    .transpose()
}

/// An insight's feedback columns: (verdict, comment, by, at).
pub(crate) type FeedbackColumns = (
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<DateTime<Utc>>,
);

/// Joins an insight's feedback columns; no verdict means no feedback yet.
pub(crate) fn feedback_from_columns(
    (verdict, comment, by, at): FeedbackColumns,
) -> StoreResult<Option<InsightFeedback>> {
    let Some(verdict) = verdict_from_column(verdict.as_deref())? else {
        return Ok(None);
    };
    let at = at.ok_or_else(|| StoreError::Corrupt("insight feedback without a time".to_owned()))?;
    Ok(Some(InsightFeedback {
        verdict,
        comment,
        by,
        at,
    }))
}

/// The recall terms as the backends receive them: each once, blank ones dropped, NUL characters
/// (which PostgreSQL text cannot hold and which would end an FTS5 string early) made spaces.
pub(crate) fn recall_terms(terms: &[String]) -> Vec<String> {
    let mut cleaned: Vec<String> = terms
        .iter()
        .map(|term| term.replace('\0', " "))
        .filter(|term| !term.trim().is_empty())
        .collect();
    cleaned.sort_unstable();
    cleaned.dedup();
    cleaned
}

/// The levels of a log window as bound: upper-cased, to compare with `upper(level)`.
pub(crate) fn window_levels(levels: &[String]) -> Vec<String> {
    levels.iter().map(|level| level.to_uppercase()).collect()
}

/// The level condition of a log window whose level parameters start at `$first`: nothing when
/// every level is kept. Only placeholders are interpolated; the levels are bound.
pub(crate) fn level_condition(first: usize, count: usize) -> String {
    if count == 0 {
        return String::new();
    }
    let params = (first..first + count)
        .map(|index| format!("${index}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(" AND upper(level) IN ({params})")
}

/// A `LIMIT` value both backends accept: SQLite reads a negative limit as "no limit" and
/// PostgreSQL refuses it, so both read it as zero.
pub(crate) fn non_negative(limit: i64) -> i64 {
    limit.max(0)
}

#[cfg(test)]
mod tests {
    use super::super::codec::shared_part;
    use super::*;

    #[test]
    fn both_backends_run_the_same_ai_statements() {
        let sqlite = include_str!("sqlite/ai.rs");
        let postgres = include_str!("postgres/ai.rs");
        assert!(shared_part(sqlite).len() > 1000);
        assert_eq!(
            shared_part(sqlite),
            shared_part(postgres),
            "sqlite/ai.rs and postgres/ai.rs differ below their encodings"
        );
    }

    #[test]
    fn recall_terms_are_distinct_non_blank_and_nul_free() {
        let terms = ["disk", "", "  ", "disk", "a\0b", "磁盘"].map(str::to_owned);
        assert_eq!(recall_terms(&terms), ["a b", "disk", "磁盘"]);
    }

    #[test]
    fn level_condition_binds_one_placeholder_per_level() {
        assert_eq!(level_condition(5, 0), "");
        assert_eq!(level_condition(5, 2), " AND upper(level) IN ($5, $6)");
        assert_eq!(
            window_levels(&["Error".to_owned(), "warn".to_owned()]),
            ["ERROR", "WARN"]
        );
    }

    #[test]
    fn feedback_needs_a_known_verdict_and_a_time() {
        assert_eq!(
            feedback_from_columns((None, None, None, None)).unwrap(),
            None
        );
        let at = DateTime::from_timestamp(1, 0).unwrap();
        let feedback = feedback_from_columns((Some("correct".to_owned()), None, Some(3), Some(at)))
            .unwrap()
            .unwrap();
        assert_eq!((feedback.verdict, feedback.by), (Verdict::Correct, Some(3)));
        assert!(feedback_from_columns((Some("maybe".to_owned()), None, None, Some(at))).is_err());
        assert!(feedback_from_columns((Some("correct".to_owned()), None, None, None)).is_err());
        assert!(method_from_column("oracle").is_err());
        assert_eq!(
            method_from_column("correlator").unwrap(),
            AnalysisMethod::Correlator
        );
    }
}
