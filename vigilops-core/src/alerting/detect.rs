//! Detectors beyond fixed thresholds, as pure functions over `(timestamp, value)` samples:
//! a robust per-series baseline (median/MAD, seasonal by time of day when there is history) and
//! a trend forecast (Theil–Sen) that says when a series will cross a limit.
//!
//! Both ignore non-finite values, accept samples in any order, and refuse to answer rather than
//! guess: too little data is an error, and a trend that noise could explain is no forecast.

use chrono::{DateTime, Duration, Utc};
use thiserror::Error;

use crate::stats::{MAD_TO_SIGMA, median, median_and_mad};

/// One reading of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// When the value was recorded.
    pub at: DateTime<Utc>,
    /// The reading; NaN and infinities are ignored by every detector.
    pub value: f64,
}

impl Sample {
    /// A sample at `at` with `value`.
    pub fn new(at: DateTime<Utc>, value: f64) -> Self {
        Self { at, value }
    }
}

/// Why a detector gave no answer.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum DetectError {
    /// Fewer usable (finite, in-window) samples than the detector needs.
    #[error("not enough samples: {have} usable, {need} needed")]
    NotEnoughSamples {
        /// Usable samples found.
        have: usize,
        /// Samples required.
        need: usize,
    },
    /// The value to judge is NaN or infinite.
    #[error("the current value is not a finite number")]
    NonFiniteValue,
}

/// Settings of [`baseline`].
#[derive(Debug, Clone, PartialEq)]
pub struct BaselineConfig {
    /// The rolling window used when there is not enough seasonal history.
    pub window: Duration,
    /// Usable samples needed before judging anything.
    pub min_samples: usize,
    /// How many robust standard deviations away counts as anomalous.
    pub sensitivity: f64,
    /// History span needed before comparing with the same time of day on previous days.
    pub seasonal_min_history: Duration,
    /// Half-width of the time-of-day window taken from each previous day.
    pub seasonal_half_width: Duration,
    /// How many previous days the seasonal comparison looks back at most.
    pub seasonal_max_days: u32,
    /// Lower bound of the spread as a fraction of |expected|, so a flat series does not make
    /// every tiny wiggle an anomaly.
    pub min_relative_spread: f64,
    /// Absolute lower bound of the spread, for series that sit at zero.
    pub min_absolute_spread: f64,
}

impl Default for BaselineConfig {
    fn default() -> Self {
        Self {
            window: Duration::hours(1),
            min_samples: 10,
            sensitivity: 3.5,
            seasonal_min_history: Duration::days(2),
            seasonal_half_width: Duration::minutes(30),
            seasonal_max_days: 7,
            min_relative_spread: 0.01,
            min_absolute_spread: 1e-6,
        }
    }
}

/// Where the expectation of a [`baseline`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaselineSource {
    /// The samples of the rolling window just before the judged value.
    Rolling,
    /// The same time of day on this many previous days.
    Seasonal {
        /// Previous days that contributed samples.
        days: u32,
    },
}

/// Which side of the band a value fell on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deviation {
    /// Inside the expected band.
    Normal,
    /// Above the band.
    High,
    /// Below the band.
    Low,
}

/// The verdict of [`baseline`] on one value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BaselineVerdict {
    /// The robust expectation (median of the reference samples).
    pub expected: f64,
    /// Lower edge of the normal band.
    pub lower: f64,
    /// Upper edge of the normal band.
    pub upper: f64,
    /// Signed distance from `expected` in robust standard deviations.
    pub score: f64,
    /// Whether the value is inside the band.
    pub deviation: Deviation,
    /// Where the expectation came from.
    pub source: BaselineSource,
}

/// Judges `current` against the robust baseline of `history` (samples strictly before it).
///
/// With at least `seasonal_min_history` of history, the reference is the samples from the same
/// time-of-day window on previous days (so a nightly backup is not an anomaly every night); it
/// falls back to the rolling window when those are too few.
pub fn baseline(
    history: &[Sample],
    current: Sample,
    config: &BaselineConfig,
) -> Result<BaselineVerdict, DetectError> {
    if !current.value.is_finite() {
        return Err(DetectError::NonFiniteValue);
    }
    let usable: Vec<Sample> = history
        .iter()
        .copied()
        .filter(|sample| sample.value.is_finite() && sample.at < current.at)
        .collect();
    let need = config.min_samples.max(1);

    let seasonal = seasonal_reference(&usable, current.at, config);
    let (reference, source) = match seasonal {
        Some((values, days)) if values.len() >= need => (values, BaselineSource::Seasonal { days }),
        _ => {
            let start = current.at - config.window;
            let values: Vec<f64> = usable
                .iter()
                .filter(|sample| sample.at >= start)
                .map(|sample| sample.value)
                .collect();
            (values, BaselineSource::Rolling)
        }
    };
    if reference.len() < need {
        return Err(DetectError::NotEnoughSamples {
            have: reference.len(),
            need,
        });
    }
    let (expected, mad) =
        median_and_mad(&reference).ok_or(DetectError::NotEnoughSamples { have: 0, need })?;
    let spread = (mad * MAD_TO_SIGMA)
        .max(config.min_relative_spread * expected.abs())
        .max(config.min_absolute_spread);
    let score = (current.value - expected) / spread;
    let half_band = config.sensitivity * spread;
    let (lower, upper) = (expected - half_band, expected + half_band);
    // Judged against the band edges (not the score) so the verdict and the band never disagree.
    let deviation = if current.value > upper {
        Deviation::High
    } else if current.value < lower {
        Deviation::Low
    } else {
        Deviation::Normal
    };
    Ok(BaselineVerdict {
        expected,
        lower,
        upper,
        score,
        deviation,
        source,
    })
}

/// The values from the same time-of-day window on previous days, and how many days gave some;
/// `None` when the history is shorter than `seasonal_min_history`.
fn seasonal_reference(
    usable: &[Sample],
    at: DateTime<Utc>,
    config: &BaselineConfig,
) -> Option<(Vec<f64>, u32)> {
    let oldest = usable.iter().map(|sample| sample.at).min()?;
    if at - oldest < config.seasonal_min_history {
        return None;
    }
    let mut values = Vec::new();
    let mut days = 0;
    for day in 1..=config.seasonal_max_days {
        let center = at - Duration::days(i64::from(day));
        let before = values.len();
        values.extend(
            usable
                .iter()
                .filter(|sample| (sample.at - center).abs() <= config.seasonal_half_width)
                .map(|sample| sample.value),
        );
        if values.len() > before {
            days += 1;
        }
    }
    Some((values, days))
}

/// Settings of [`forecast`].
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastConfig {
    /// How far back samples are taken.
    pub lookback: Duration,
    /// Usable samples needed (after the last reset) before forecasting.
    pub min_samples: usize,
    /// At most this many of the most recent samples are used (Theil–Sen is quadratic).
    pub max_samples: usize,
    /// Share of sample pairs whose slope must agree in sign with the fitted slope. Pure noise
    /// agrees about half the time, so this is what keeps noise from forecasting.
    pub min_agreement: f64,
    /// A drop between consecutive samples larger than this share of the earlier value is a
    /// reset (cleanup, counter wrap): only the samples after the last one describe the current
    /// trend. Relative, so it means the same for percentages, megabytes and counters.
    pub reset_drop_ratio: f64,
}

impl Default for ForecastConfig {
    fn default() -> Self {
        Self {
            lookback: Duration::hours(6),
            min_samples: 12,
            max_samples: 240,
            min_agreement: 0.8,
            reset_drop_ratio: 0.1,
        }
    }
}

/// What [`forecast`] expects of a series relative to a limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Forecast {
    /// The fitted trend is already at or past the limit.
    AlreadyReached {
        /// The fitted value at `now`.
        fitted: f64,
    },
    /// The trend crosses the limit at `at`.
    Reaches {
        /// When the fitted line meets the limit.
        at: DateTime<Utc>,
        /// Time from `now` to `at`.
        within: Duration,
        /// Fitted slope, in units per hour.
        slope_per_hour: f64,
    },
    /// The trend is flat or moves away from the limit.
    NotApproaching {
        /// Fitted slope, in units per hour.
        slope_per_hour: f64,
    },
    /// The samples have no trend that noise could not explain.
    NoClearTrend {
        /// Share of sample pairs agreeing with the fitted slope's sign.
        agreement: f64,
    },
}

impl Forecast {
    /// Whether the limit is reached within `horizon` from now (or already is).
    pub fn reaches_within(&self, horizon: Duration) -> bool {
        match self {
            Forecast::AlreadyReached { .. } => true,
            Forecast::Reaches { within, .. } => *within <= horizon,
            Forecast::NotApproaching { .. } | Forecast::NoClearTrend { .. } => false,
        }
    }
}

/// Seconds per hour, as a float for slopes.
const SECONDS_PER_HOUR: f64 = 3600.0;

/// Fits a robust linear trend (Theil–Sen) to the recent samples and tells when it meets `limit`
/// (from below when the series is under it, from above when it is over it at the start).
///
/// Samples after `now` or before `now - lookback`, and non-finite ones, are ignored; so is
/// everything before the last drop larger than `reset_drop_ratio` of the value before it.
pub fn forecast(
    samples: &[Sample],
    limit: f64,
    now: DateTime<Utc>,
    config: &ForecastConfig,
) -> Result<Forecast, DetectError> {
    let need = config.min_samples.max(3);
    let start = now - config.lookback;
    let mut usable: Vec<Sample> = samples
        .iter()
        .copied()
        .filter(|sample| sample.value.is_finite() && sample.at >= start && sample.at <= now)
        .collect();
    usable.sort_by_key(|sample| sample.at);
    if let Some(reset) = usable.windows(2).rposition(|pair| {
        pair[0].value - pair[1].value > config.reset_drop_ratio * pair[0].value.abs()
    }) {
        usable.drain(..=reset);
    }
    if usable.len() > config.max_samples {
        usable.drain(..usable.len() - config.max_samples);
    }
    if usable.len() < need {
        return Err(DetectError::NotEnoughSamples {
            have: usable.len(),
            need,
        });
    }
    let origin = usable[0].at;
    let points: Vec<(f64, f64)> = usable
        .iter()
        .map(|sample| (hours_between(origin, sample.at), sample.value))
        .collect();

    let mut slopes = Vec::with_capacity(points.len() * (points.len() - 1) / 2);
    for (i, &(x1, y1)) in points.iter().enumerate() {
        for &(x2, y2) in &points[i + 1..] {
            if x2 > x1 {
                slopes.push((y2 - y1) / (x2 - x1));
            }
        }
    }
    let pairs = slopes.len();
    let Some(slope) = median(&mut slopes) else {
        // Every sample has the same timestamp: there is no time axis to fit.
        return Err(DetectError::NotEnoughSamples { have: 1, need });
    };
    let agreeing = if slope > 0.0 {
        slopes.iter().filter(|s| **s > 0.0).count()
    } else if slope < 0.0 {
        slopes.iter().filter(|s| **s < 0.0).count()
    } else {
        slopes.iter().filter(|s| **s == 0.0).count()
    };
    // `pairs` is at least 1 here because the median exists.
    let agreement = agreeing as f64 / pairs as f64;

    let mut intercepts: Vec<f64> = points.iter().map(|(x, y)| y - slope * x).collect();
    let intercept = median(&mut intercepts).unwrap_or(points[0].1);
    let now_x = hours_between(origin, now);
    let fitted = intercept + slope * now_x;
    let rising_towards = points[0].1 <= limit;

    let reached = if rising_towards {
        fitted >= limit
    } else {
        fitted <= limit
    };
    if reached && agreement >= config.min_agreement {
        return Ok(Forecast::AlreadyReached { fitted });
    }
    if slope == 0.0 || (slope > 0.0) != rising_towards {
        return Ok(Forecast::NotApproaching {
            slope_per_hour: slope,
        });
    }
    if agreement < config.min_agreement {
        return Ok(Forecast::NoClearTrend { agreement });
    }
    let hours = (limit - fitted) / slope;
    let seconds = hours * SECONDS_PER_HOUR;
    // Beyond ~300 years (or past what chrono can represent) is not approaching in any useful
    // sense, and the bound keeps the conversions below from overflowing.
    let at = (seconds.is_finite() && seconds <= 1e10)
        .then(|| Duration::try_seconds(seconds.ceil() as i64))
        .flatten()
        .and_then(|within| now.checked_add_signed(within).map(|at| (at, within)));
    Ok(match at {
        Some((at, within)) => Forecast::Reaches {
            at,
            within,
            slope_per_hour: slope,
        },
        None => Forecast::NotApproaching {
            slope_per_hour: slope,
        },
    })
}

/// `to - from` in fractional hours.
fn hours_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_milliseconds() as f64 / (SECONDS_PER_HOUR * 1000.0)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap()
    }

    /// One sample per minute, ending one minute before `end`.
    fn minutely(end: DateTime<Utc>, values: &[f64]) -> Vec<Sample> {
        let n = values.len() as i64;
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Sample::new(end - Duration::minutes(n - i as i64), *v))
            .collect()
    }

    /// Deterministic noise in [-1, 1].
    fn noise(i: usize) -> f64 {
        let x = (i as f64 * 12.9898).sin() * 43758.5453;
        (x - x.floor()) * 2.0 - 1.0
    }

    #[test]
    fn baseline_refuses_empty_history_and_nan_value() {
        let config = BaselineConfig::default();
        let now = t0();
        assert_eq!(
            baseline(&[], Sample::new(now, 1.0), &config),
            Err(DetectError::NotEnoughSamples { have: 0, need: 10 })
        );
        let history = minutely(now, &[1.0; 30]);
        assert_eq!(
            baseline(&history, Sample::new(now, f64::NAN), &config),
            Err(DetectError::NonFiniteValue)
        );
    }

    #[test]
    fn baseline_ignores_nan_samples_when_counting() {
        let config = BaselineConfig::default();
        let now = t0();
        let mut values = vec![f64::NAN; 20];
        values.extend([5.0; 5]);
        let history = minutely(now, &values);
        assert_eq!(
            baseline(&history, Sample::new(now, 5.0), &config),
            Err(DetectError::NotEnoughSamples { have: 5, need: 10 })
        );
    }

    #[test]
    fn baseline_flags_spike_in_noisy_series_but_not_noise() {
        let config = BaselineConfig::default();
        let now = t0();
        let values: Vec<f64> = (0..60).map(|i| 50.0 + 2.0 * noise(i)).collect();
        let history = minutely(now, &values);

        let calm = baseline(&history, Sample::new(now, 51.0), &config).unwrap();
        assert_eq!(calm.deviation, Deviation::Normal);
        assert_eq!(calm.source, BaselineSource::Rolling);
        assert!((calm.expected - 50.0).abs() < 1.0, "{calm:?}");
        assert!(calm.lower < 51.0 && 51.0 < calm.upper);

        let spike = baseline(&history, Sample::new(now, 80.0), &config).unwrap();
        assert_eq!(spike.deviation, Deviation::High);
        assert!(spike.score > 3.5);
        let dip = baseline(&history, Sample::new(now, 20.0), &config).unwrap();
        assert_eq!(dip.deviation, Deviation::Low);
        assert!(dip.score < -3.5);
    }

    #[test]
    fn baseline_is_robust_to_outliers_in_history() {
        let config = BaselineConfig::default();
        let now = t0();
        let mut values: Vec<f64> = (0..60).map(|i| 10.0 + noise(i) * 0.5).collect();
        values[10] = 1000.0;
        values[40] = -1000.0;
        let history = minutely(now, &values);
        let verdict = baseline(&history, Sample::new(now, 10.2), &config).unwrap();
        assert_eq!(verdict.deviation, Deviation::Normal);
        assert!((verdict.expected - 10.0).abs() < 0.5);
        assert!(
            verdict.upper < 15.0,
            "outliers must not widen the band: {verdict:?}"
        );
    }

    #[test]
    fn baseline_on_constant_series_uses_the_spread_floor() {
        let config = BaselineConfig::default();
        let now = t0();
        let history = minutely(now, &[100.0; 30]);
        let same = baseline(&history, Sample::new(now, 100.0), &config).unwrap();
        assert_eq!(same.deviation, Deviation::Normal);
        assert_eq!(same.score, 0.0);
        // 1 % of 100 is the spread: 3.5 % away is the edge.
        let slight = baseline(&history, Sample::new(now, 103.0), &config).unwrap();
        assert_eq!(slight.deviation, Deviation::Normal);
        let far = baseline(&history, Sample::new(now, 104.0), &config).unwrap();
        assert_eq!(far.deviation, Deviation::High);

        let zeros = minutely(now, &[0.0; 30]);
        let verdict = baseline(&zeros, Sample::new(now, 1.0), &config).unwrap();
        assert!(verdict.score.is_finite());
        assert_eq!(verdict.deviation, Deviation::High);
    }

    #[test]
    fn baseline_follows_a_level_step_once_the_window_has_moved() {
        let config = BaselineConfig::default();
        let now = t0();
        // Two hours at 20 then the last 40 minutes at 60.
        let mut values = vec![20.0; 80];
        values.extend(vec![60.0; 40]);
        let history = minutely(now, &values);
        // Most of the last hour is at 60 now, so 60 is normal again.
        let verdict = baseline(&history, Sample::new(now, 60.0), &config).unwrap();
        assert_eq!(verdict.expected, 60.0);
        assert_eq!(verdict.deviation, Deviation::Normal);
    }

    #[test]
    fn baseline_ignores_samples_at_or_after_the_judged_one() {
        let config = BaselineConfig::default();
        let now = t0();
        let mut history = minutely(now, &[5.0; 20]);
        history.extend((0..50).map(|i| Sample::new(now + Duration::minutes(i), 500.0)));
        let verdict = baseline(&history, Sample::new(now, 5.0), &config).unwrap();
        assert_eq!(verdict.expected, 5.0);
    }

    /// Three days of a daily pattern: 10 all day, 90 between 02:00 and 03:00 (a nightly job).
    fn nightly_job_history(end: DateTime<Utc>) -> Vec<Sample> {
        let minutes = 3 * 24 * 60;
        (0..minutes)
            .map(|i| {
                let at = end - Duration::minutes(minutes - i);
                let hour =
                    (at - at.date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc()).num_hours();
                let base = if hour == 2 { 90.0 } else { 10.0 };
                Sample::new(at, base + noise(i as usize))
            })
            .collect()
    }

    #[test]
    fn baseline_is_seasonal_with_enough_history() {
        let config = BaselineConfig::default();
        let job_time = t0() + Duration::days(3) + Duration::minutes(150);
        let history = nightly_job_history(job_time);
        let during_job = baseline(&history, Sample::new(job_time, 90.0), &config).unwrap();
        assert_eq!(during_job.source, BaselineSource::Seasonal { days: 3 });
        assert_eq!(during_job.deviation, Deviation::Normal, "{during_job:?}");

        // The same value at noon is an anomaly: noon is normally 10.
        let noon = t0() + Duration::days(3) + Duration::hours(12);
        let history = nightly_job_history(noon);
        let at_noon = baseline(&history, Sample::new(noon, 90.0), &config).unwrap();
        assert_eq!(at_noon.deviation, Deviation::High);
    }

    #[test]
    fn baseline_without_seasonal_history_would_flag_the_nightly_job() {
        let config = BaselineConfig {
            seasonal_min_history: Duration::days(30),
            ..BaselineConfig::default()
        };
        // Ten minutes into the job, the last hour is mostly 10.
        let job_time = t0() + Duration::days(3) + Duration::minutes(130);
        let history = nightly_job_history(job_time);
        let verdict = baseline(&history, Sample::new(job_time, 90.0), &config).unwrap();
        assert_eq!(verdict.source, BaselineSource::Rolling);
        assert_eq!(verdict.deviation, Deviation::High);
    }

    #[test]
    fn baseline_falls_back_to_rolling_when_previous_days_have_gaps() {
        let config = BaselineConfig::default();
        let now = t0() + Duration::days(3);
        // One sample three days ago (so the history is long) and one recent hour.
        let mut history = vec![Sample::new(
            now - Duration::days(3) - Duration::hours(5),
            1.0,
        )];
        history.extend(minutely(now, &[42.0; 60]));
        let verdict = baseline(&history, Sample::new(now, 42.0), &config).unwrap();
        assert_eq!(verdict.source, BaselineSource::Rolling);
        assert_eq!(verdict.expected, 42.0);
    }

    fn disk_series(
        now: DateTime<Utc>,
        minutes: usize,
        start: f64,
        per_hour: f64,
        jitter: f64,
    ) -> Vec<Sample> {
        (0..minutes)
            .map(|i| {
                let at = now - Duration::minutes((minutes - 1 - i) as i64);
                let value = start + per_hour * i as f64 / 60.0 + jitter * noise(i);
                Sample::new(at, value)
            })
            .collect()
    }

    #[test]
    fn forecast_predicts_when_a_steady_rise_reaches_the_limit() {
        let now = t0();
        // ~60 % now, rising 2 %/h with ±0.2 jitter: 100 % in ~20 h.
        let samples = disk_series(now, 180, 54.0, 2.0, 0.2);
        let result = forecast(&samples, 100.0, now, &ForecastConfig::default()).unwrap();
        let Forecast::Reaches {
            within,
            slope_per_hour,
            at,
        } = result
        else {
            panic!("expected a forecast, got {result:?}");
        };
        assert!((slope_per_hour - 2.0).abs() < 0.1, "{slope_per_hour}");
        let hours = within.num_minutes() as f64 / 60.0;
        assert!((hours - 20.0).abs() < 1.0, "{hours}");
        assert_eq!(at, now + within);
        assert!(result.reaches_within(Duration::hours(24)));
        assert!(!result.reaches_within(Duration::hours(12)));
    }

    #[test]
    fn forecast_of_pure_noise_is_no_trend() {
        let now = t0();
        let samples = disk_series(now, 180, 70.0, 0.0, 3.0);
        let result = forecast(&samples, 100.0, now, &ForecastConfig::default()).unwrap();
        assert!(
            matches!(
                result,
                Forecast::NoClearTrend { .. } | Forecast::NotApproaching { .. }
            ),
            "{result:?}"
        );
        assert!(!result.reaches_within(Duration::hours(1_000_000)));
    }

    #[test]
    fn forecast_of_constant_series_is_not_approaching() {
        let now = t0();
        let samples = disk_series(now, 60, 70.0, 0.0, 0.0);
        let result = forecast(&samples, 100.0, now, &ForecastConfig::default()).unwrap();
        assert_eq!(
            result,
            Forecast::NotApproaching {
                slope_per_hour: 0.0
            }
        );
    }

    #[test]
    fn forecast_of_falling_series_towards_a_higher_limit_is_not_approaching() {
        let now = t0();
        let samples = disk_series(now, 120, 80.0, -1.0, 0.0);
        let result = forecast(&samples, 100.0, now, &ForecastConfig::default()).unwrap();
        assert!(
            matches!(result, Forecast::NotApproaching { slope_per_hour } if slope_per_hour < 0.0)
        );
    }

    #[test]
    fn forecast_works_downwards_to_a_lower_limit() {
        let now = t0();
        // Free space 50 GB falling 5 GB/h: zero in ~10 h (minus the 2 h already elapsed).
        let samples = disk_series(now, 121, 50.0, -5.0, 0.0);
        let result = forecast(&samples, 0.0, now, &ForecastConfig::default()).unwrap();
        let Forecast::Reaches { within, .. } = result else {
            panic!("{result:?}");
        };
        assert_eq!(within.num_hours(), 8);
    }

    #[test]
    fn forecast_near_the_end_of_time_does_not_overflow() {
        let now = DateTime::<Utc>::MAX_UTC - Duration::hours(1);
        let samples = disk_series(now, 60, 10.0, 1.0, 0.0);
        let result = forecast(&samples, 100.0, now, &ForecastConfig::default()).unwrap();
        assert!(
            matches!(result, Forecast::NotApproaching { slope_per_hour } if slope_per_hour > 0.0)
        );
    }

    #[test]
    fn forecast_reports_a_limit_already_reached() {
        let now = t0();
        let samples = disk_series(now, 60, 99.0, 3.0, 0.0);
        let result = forecast(&samples, 100.0, now, &ForecastConfig::default()).unwrap();
        assert!(matches!(result, Forecast::AlreadyReached { fitted } if fitted >= 100.0));
        assert!(result.reaches_within(Duration::zero()));
    }

    #[test]
    fn forecast_needs_enough_samples() {
        let now = t0();
        let config = ForecastConfig::default();
        assert_eq!(
            forecast(&[], 100.0, now, &config),
            Err(DetectError::NotEnoughSamples { have: 0, need: 12 })
        );
        let mut samples = disk_series(now, 11, 50.0, 10.0, 0.0);
        samples.push(Sample::new(now, f64::NAN));
        samples.push(Sample::new(now - Duration::hours(7), 1.0));
        samples.push(Sample::new(now + Duration::hours(1), 1.0));
        assert_eq!(
            forecast(&samples, 100.0, now, &config),
            Err(DetectError::NotEnoughSamples { have: 11, need: 12 })
        );
    }

    #[test]
    fn forecast_refuses_samples_that_share_one_timestamp() {
        let now = t0();
        let samples: Vec<Sample> = (0..20).map(|i| Sample::new(now, f64::from(i))).collect();
        assert!(matches!(
            forecast(&samples, 100.0, now, &ForecastConfig::default()),
            Err(DetectError::NotEnoughSamples { .. })
        ));
    }

    #[test]
    fn forecast_restarts_after_a_reset() {
        let now = t0();
        // Rising fast for two hours, then a cleanup drops it to 30 and it stays flat.
        let mut samples = disk_series(now - Duration::hours(1), 120, 60.0, 15.0, 0.0);
        samples.extend(disk_series(now, 59, 30.0, 0.0, 0.0));
        let result = forecast(&samples, 100.0, now, &ForecastConfig::default()).unwrap();
        assert_eq!(
            result,
            Forecast::NotApproaching {
                slope_per_hour: 0.0
            }
        );

        // Too soon after the reset there is no forecast at all.
        let mut samples = disk_series(now - Duration::minutes(5), 120, 60.0, 15.0, 0.0);
        samples.extend(disk_series(now, 5, 30.0, 0.0, 0.0));
        assert!(matches!(
            forecast(&samples, 100.0, now, &ForecastConfig::default()),
            Err(DetectError::NotEnoughSamples { have: 5, .. })
        ));
    }

    #[test]
    fn forecast_resets_are_relative_to_the_series_scale() {
        let now = t0();
        // 500 GB used, growing 2 GB/h, with 20 GB log rotations every hour: 4 % drops are
        // not resets, so the overall trend (2 - 20 = -18 GB/h) is seen, not a fresh start.
        let samples: Vec<Sample> = (0..180)
            .map(|i| {
                let at = now - Duration::minutes(179 - i);
                let value = 500_000.0 + 2_000.0 * i as f64 / 60.0 - 20_000.0 * (i / 60) as f64;
                Sample::new(at, value)
            })
            .collect();
        let config = ForecastConfig {
            min_agreement: 0.5,
            ..ForecastConfig::default()
        };
        let result = forecast(&samples, 1_000_000.0, now, &config).unwrap();
        assert!(
            matches!(result, Forecast::NotApproaching { slope_per_hour } if slope_per_hour < 0.0),
            "{result:?}"
        );
        // A counter falling back to zero is a reset whatever its scale.
        let mut counter: Vec<Sample> = (0..60)
            .map(|i| Sample::new(now - Duration::minutes(119 - i), 1e9 + 1e6 * i as f64))
            .collect();
        counter
            .extend((0..60).map(|i| Sample::new(now - Duration::minutes(59 - i), 1e3 * i as f64)));
        let result = forecast(&counter, 1e8, now, &ForecastConfig::default()).unwrap();
        let Forecast::Reaches { slope_per_hour, .. } = result else {
            panic!("{result:?}");
        };
        assert!((slope_per_hour - 60_000.0).abs() < 1e-3, "{slope_per_hour}");
    }

    #[test]
    fn forecast_is_robust_to_a_few_wild_samples() {
        let now = t0();
        let mut samples = disk_series(now, 120, 40.0, 1.0, 0.0);
        samples[30].value = 99.0;
        samples[31].value = 5.0;
        samples[90].value = 0.0;
        let config = ForecastConfig {
            reset_drop_ratio: f64::INFINITY,
            ..ForecastConfig::default()
        };
        let result = forecast(&samples, 100.0, now, &config).unwrap();
        let Forecast::Reaches { slope_per_hour, .. } = result else {
            panic!("{result:?}");
        };
        assert!((slope_per_hour - 1.0).abs() < 1e-9);
    }

    #[test]
    fn forecast_accepts_samples_in_any_order() {
        let now = t0();
        let samples = disk_series(now, 60, 50.0, 2.0, 0.1);
        let mut shuffled = samples.clone();
        shuffled.reverse();
        shuffled.swap(3, 40);
        let config = ForecastConfig::default();
        assert_eq!(
            forecast(&samples, 100.0, now, &config),
            forecast(&shuffled, 100.0, now, &config)
        );
    }

    proptest! {
        #[test]
        fn baseline_never_panics_and_band_contains_expected(
            values in prop::collection::vec(prop_oneof![-1e6..1e6f64, Just(f64::NAN)], 0..80),
            current in -1e6..1e6f64,
        ) {
            let now = t0();
            let history = minutely(now, &values);
            if let Ok(verdict) = baseline(&history, Sample::new(now, current), &BaselineConfig::default()) {
                prop_assert!(verdict.lower <= verdict.expected && verdict.expected <= verdict.upper);
                prop_assert!(verdict.score.is_finite());
                let inside = verdict.lower <= current && current <= verdict.upper;
                prop_assert_eq!(inside, verdict.deviation == Deviation::Normal);
            }
        }

        #[test]
        fn baseline_judges_a_value_inside_its_history_range_of_a_constant_series_normal(
            level in -1e6..1e6f64,
        ) {
            let now = t0();
            let history = minutely(now, &[level; 20]);
            let verdict = baseline(&history, Sample::new(now, level), &BaselineConfig::default()).unwrap();
            prop_assert_eq!(verdict.deviation, Deviation::Normal);
        }

        #[test]
        fn forecast_recovers_an_exact_linear_slope(
            start in 0.0..50.0f64,
            per_hour in 0.1..10.0f64,
        ) {
            let now = t0();
            let samples = disk_series(now, 60, start, per_hour, 0.0);
            let result = forecast(&samples, 1e4, now, &ForecastConfig::default()).unwrap();
            match result {
                Forecast::Reaches { slope_per_hour, .. } => {
                    prop_assert!((slope_per_hour - per_hour).abs() < 1e-6 * per_hour.max(1.0));
                }
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }

        #[test]
        fn forecast_is_invariant_to_a_vertical_shift(
            values in prop::collection::vec(0.0..100.0f64, 12..60),
            shift in -50.0..50.0f64,
        ) {
            let now = t0();
            // No agreement guard, so every input yields a slope to compare.
            let config = ForecastConfig {
                reset_drop_ratio: f64::INFINITY,
                min_agreement: 0.0,
                ..ForecastConfig::default()
            };
            let samples = minutely(now, &values);
            let shifted: Vec<Sample> = samples.iter().map(|s| Sample::new(s.at, s.value + shift)).collect();
            let slope = |f: Result<Forecast, DetectError>| match f {
                Ok(Forecast::Reaches { slope_per_hour, .. } | Forecast::NotApproaching { slope_per_hour }) => Some(slope_per_hour),
                _ => None,
            };
            let a = slope(forecast(&samples, 1e6, now, &config));
            let b = slope(forecast(&shifted, 1e6, now, &config));
            if let (Some(a), Some(b)) = (a, b) {
                prop_assert!((a - b).abs() < 1e-6);
            }
        }
    }
}
