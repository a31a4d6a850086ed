//! Load averages over 1, 5 and 15 minutes, through `sysinfo` (`/proc/loadavg` on Linux).

use super::{CollectorError, round_to};

/// The three load averages.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LoadAverage {
    /// Over one minute.
    pub one: f64,
    /// Over five minutes.
    pub five: f64,
    /// Over fifteen minutes.
    pub fifteen: f64,
}

/// Reads the load averages.
pub fn read() -> Result<LoadAverage, CollectorError> {
    let load = sysinfo::System::load_average()
        .map_err(|error| CollectorError::Sysinfo(error.to_string()))?;
    Ok(LoadAverage {
        one: load.one,
        five: load.five,
        fifteen: load.fifteen,
    })
}

/// The averages rounded to 2 dp as the protocol sends them.
pub fn rounded(load: &LoadAverage) -> [f64; 3] {
    [load.one, load.five, load.fifteen].map(|value| round_to(value, 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_to_two_decimals() {
        let load = LoadAverage {
            one: 3.199_999,
            five: 1.786,
            fifteen: 0.0,
        };
        assert_eq!(rounded(&load), [3.2, 1.79, 0.0]);
    }
}
