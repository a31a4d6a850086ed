//! What the REST API reads of remediation runs: the list with its filters, one run, and the
//! statistics (`rest-api.md` §8). Starting, approving and running remediations is the flow
//! still to come.

use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, NaiveTime, Utc};

use super::wire::{RemediationStatsView, RemediationView};
use crate::clock::Clock;
use crate::model::RemediationFilter;
use crate::protocol::rest::PageOf;
use crate::store::{Store, StoreError};

/// What can go wrong reading remediations.
#[derive(Debug, thiserror::Error)]
pub enum RemediationError {
    /// No run has this id (the original's wording).
    #[error("Remediation log not found")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Remediation runs as the REST API reads them.
#[derive(Debug, Clone)]
pub struct RemediationService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl RemediationService {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// A filtered page, newest first.
    pub async fn list(
        &self,
        filter: &RemediationFilter,
    ) -> Result<PageOf<RemediationView>, RemediationError> {
        let (runs, total) = self.store.list_remediations(filter).await?;
        Ok(PageOf {
            items: runs.into_iter().map(RemediationView::from).collect(),
            total,
            page: filter.page.page,
            page_size: filter.page.page_size,
        })
    }

    /// One run.
    pub async fn get(&self, id: i64) -> Result<RemediationView, RemediationError> {
        self.store
            .remediation(id)
            .await?
            .map(RemediationView::from)
            .ok_or(RemediationError::NotFound)
    }

    /// The statistics, with today and this week counted from 00:00 UTC today and from Monday
    /// 00:00 UTC.
    pub async fn stats(&self) -> Result<RemediationStatsView, RemediationError> {
        let (today, week) = cut_offs(self.clock.now());
        let stats = self.store.remediation_stats(today, week).await?;
        Ok(RemediationStatsView::from(stats))
    }
}

/// 00:00 UTC today and 00:00 UTC on this week's Monday.
pub fn cut_offs(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let today = now.date_naive().and_time(NaiveTime::MIN).and_utc();
    let since_monday = i64::from(now.weekday().num_days_from_monday());
    (today, today - Duration::days(since_monday))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn today_and_the_week_start_at_utc_midnight_and_monday() {
        // 2026-11-27 is a Friday.
        let now = Utc
            .with_ymd_and_hms(2026, 11, 27, 13, 5, 0)
            .single()
            .unwrap_or_default();
        let (today, week) = cut_offs(now);
        assert_eq!(today.to_rfc3339(), "2026-11-27T00:00:00+00:00");
        assert_eq!(week.to_rfc3339(), "2026-11-23T00:00:00+00:00");
        let monday = Utc
            .with_ymd_and_hms(2026, 11, 23, 0, 0, 0)
            .single()
            .unwrap_or_default();
        assert_eq!(cut_offs(monday), (monday, monday));
    }
}
