//! Robust statistics shared by the detectors (`alerting::detect`) and the evidence builders
//! (`ai::evidence`): the median and the median absolute deviation. Pure, no I/O.

/// The factor that makes the MAD estimate the standard deviation of normal data.
pub const MAD_TO_SIGMA: f64 = 1.4826;

/// Median of the values (sorted in place). `None` when empty.
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[middle - 1] + values[middle]) / 2.0
    } else {
        values[middle]
    })
}

/// Median and MAD (unscaled) of the values. `None` when empty.
pub fn median_and_mad(values: &[f64]) -> Option<(f64, f64)> {
    let mut sorted = values.to_vec();
    let center = median(&mut sorted)?;
    let mut deviations: Vec<f64> = values.iter().map(|v| (v - center).abs()).collect();
    let mad = median(&mut deviations)?;
    Some((center, mad))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_handles_odd_even_and_empty() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn mad_is_the_median_distance_from_the_median() {
        assert_eq!(
            median_and_mad(&[1.0, 2.0, 3.0, 4.0, 100.0]),
            Some((3.0, 1.0))
        );
        assert_eq!(median_and_mad(&[]), None);
    }
}
