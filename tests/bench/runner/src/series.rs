//! Pure arithmetic over the load benchmarks' time series: events binned per second, the mean
//! rate of the steady part, and the least-squares slope of memory over time.

/// Events per whole second: bin `i` counts the offsets (seconds since the start) in
/// `[i, i + 1)`, for the first `seconds` seconds; offsets outside are ignored.
pub fn per_second(offsets: impl IntoIterator<Item = f64>, seconds: usize) -> Vec<u64> {
    let mut bins = vec![0u64; seconds];
    for offset in offsets {
        if offset >= 0.0 && offset < seconds as f64 {
            bins[offset as usize] += 1;
        }
    }
    bins
}

/// The mean of `bins[skip..]`: the steady rate once the first `skip` seconds (the start-up
/// burst and the client's first 429) are left out; `None` when nothing is left.
pub fn steady_mean(bins: &[u64], skip: usize) -> Option<f64> {
    let steady = bins.get(skip..).filter(|s| !s.is_empty())?;
    Some(steady.iter().sum::<u64>() as f64 / steady.len() as f64)
}

/// The mean rate per whole `window` of per-second `bins` (the last, partial window left out),
/// each placed at its window's middle: what a limit counted in windows of that length sees.
pub fn per_window(bins: &[u64], window: usize) -> Vec<(f64, f64)> {
    if window == 0 {
        return Vec::new();
    }
    bins.chunks_exact(window)
        .enumerate()
        .map(|(n, chunk)| {
            let middle = (n * window) as f64 + window as f64 / 2.0;
            (middle, chunk.iter().sum::<u64>() as f64 / window as f64)
        })
        .collect()
}

/// The least-squares slope of `value` over `t` (`(t, value)` points), in value units per
/// unit of `t`; `None` for fewer than two distinct times.
pub fn slope(points: &[(f64, f64)]) -> Option<f64> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mean_t = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_v = points.iter().map(|p| p.1).sum::<f64>() / n;
    let (mut covariance, mut variance) = (0.0, 0.0);
    for (t, v) in points {
        covariance += (t - mean_t) * (v - mean_v);
        variance += (t - mean_t) * (t - mean_t);
    }
    (variance > 0.0).then(|| covariance / variance)
}

/// The points from the middle of the run on (`t >= last t / 2`): the part after warm-up.
pub fn second_half(points: &[(f64, f64)]) -> &[(f64, f64)] {
    let Some(last) = points.last() else {
        return points;
    };
    let half = last.0 / 2.0;
    let start = points.partition_point(|p| p.0 < half);
    &points[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_seconds_are_grouped_in_windows_then_each_point_is_its_windows_mean_rate() {
        let bins = [150, 100, 50, 160, 90, 50, 300];
        assert_eq!(per_window(&bins, 3), vec![(1.5, 100.0), (4.5, 100.0)]);
        assert_eq!(per_window(&bins, 1).len(), bins.len());
        assert!(per_window(&bins, 0).is_empty());
    }

    #[test]
    fn when_offsets_fall_in_seconds_then_each_second_counts_its_own() {
        let bins = per_second([0.0, 0.5, 0.999, 1.0, 2.7, 2.9, -0.1, 3.0, 7.5], 3);
        assert_eq!(bins, vec![3, 1, 2]);
    }

    #[test]
    fn when_the_start_is_skipped_then_the_mean_is_of_the_steady_part() {
        assert_eq!(steady_mean(&[500, 90, 100, 110], 1), Some(100.0));
        assert_eq!(steady_mean(&[500, 90], 2), None);
        assert_eq!(steady_mean(&[], 0), None);
    }

    #[test]
    fn when_memory_grows_linearly_then_the_slope_is_its_rate() {
        // 2 MiB a minute, sampled every second, with alternating noise of 0.5 MiB.
        let points: Vec<(f64, f64)> = (0..600)
            .map(|s| {
                let t = f64::from(s);
                let noise = if s % 2 == 0 { 0.5 } else { -0.5 };
                (t, 40.0 + 2.0 * t / 60.0 + noise)
            })
            .collect();
        let per_second = slope(&points).expect("a slope");
        assert!((per_second * 60.0 - 2.0).abs() < 0.01, "{per_second}");
    }

    #[test]
    fn when_memory_is_flat_or_points_are_too_few_then_the_slope_is_zero_or_none() {
        let flat: Vec<(f64, f64)> = (0..10).map(|s| (f64::from(s), 30.0)).collect();
        assert_eq!(slope(&flat), Some(0.0));
        assert_eq!(slope(&[(1.0, 3.0)]), None);
        assert_eq!(slope(&[(1.0, 3.0), (1.0, 4.0)]), None);
    }

    #[test]
    fn when_the_second_half_is_taken_then_it_starts_at_half_the_last_time() {
        let points: Vec<(f64, f64)> = (0..=10).map(|s| (f64::from(s), 0.0)).collect();
        let half = second_half(&points);
        assert_eq!(half.first().map(|p| p.0), Some(5.0));
        assert_eq!(half.len(), 6);
        assert!(second_half(&[]).is_empty());
    }
}
