//! Order statistics over samples: medians and nearest-rank percentiles.

use std::time::Duration;

/// Sorted samples of one measurement.
#[derive(Debug, Clone)]
pub struct Samples(Vec<f64>);

impl Samples {
    /// Sorts `values` (NaN is not expected: every value is a measured time or size).
    pub fn new(mut values: Vec<f64>) -> Samples {
        values.sort_by(f64::total_cmp);
        Samples(values)
    }

    /// Durations in milliseconds.
    pub fn millis(durations: impl IntoIterator<Item = Duration>) -> Samples {
        Samples::new(
            durations
                .into_iter()
                .map(|d| d.as_secs_f64() * 1000.0)
                .collect(),
        )
    }

    /// How many samples.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The median: the middle sample, or the mean of the two middle ones.
    pub fn median(&self) -> f64 {
        let n = self.0.len();
        assert!(n > 0, "no samples");
        if n % 2 == 1 {
            self.0[n / 2]
        } else {
            (self.0[n / 2 - 1] + self.0[n / 2]) / 2.0
        }
    }

    /// The nearest-rank percentile: the smallest sample with at least `p`% at or below it.
    pub fn percentile(&self, p: f64) -> f64 {
        let n = self.0.len();
        assert!(n > 0, "no samples");
        let rank = ((p / 100.0) * n as f64).ceil() as usize;
        self.0[rank.clamp(1, n) - 1]
    }

    /// The smallest sample.
    pub fn min(&self) -> f64 {
        self.0[0]
    }

    /// The largest sample.
    pub fn max(&self) -> f64 {
        self.0[self.0.len() - 1]
    }

    /// The arithmetic mean.
    pub fn mean(&self) -> f64 {
        self.0.iter().sum::<f64>() / self.0.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(Samples::new(vec![3.0, 1.0, 2.0]).median(), 2.0);
        assert_eq!(Samples::new(vec![4.0, 1.0, 3.0, 2.0]).median(), 2.5);
    }

    #[test]
    fn nearest_rank_percentiles() {
        let samples = Samples::new((1..=100).map(f64::from).collect());
        assert_eq!(samples.percentile(50.0), 50.0);
        assert_eq!(samples.percentile(90.0), 90.0);
        assert_eq!(samples.percentile(99.0), 99.0);
        assert_eq!(samples.percentile(100.0), 100.0);
        assert_eq!(samples.max(), 100.0);
        let few = Samples::new(vec![5.0, 1.0, 9.0]);
        assert_eq!(few.percentile(99.0), 9.0);
        assert_eq!(few.percentile(0.0), 1.0);
    }
}
