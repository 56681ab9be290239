//! Order statistics over a figure's trials, and the ratio of two figures.

/// A figure's trials summed up: the extremes, the median, and how many trials there were.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Summary {
    pub(crate) n: usize,
    pub(crate) min: f64,
    pub(crate) median: f64,
    pub(crate) max: f64,
}

/// The trials sorted, NaN left out (a trial that measured nothing is not a figure).
fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    v.sort_by(f64::total_cmp);
    v
}

/// The `p`-th percentile (0–100) by linear interpolation between the closest ranks; `None` for
/// no value or `p` outside 0–100.
pub(crate) fn percentile(values: &[f64], p: f64) -> Option<f64> {
    let v = sorted(values);
    if v.is_empty() || !(0.0..=100.0).contains(&p) {
        return None;
    }
    let rank = p / 100.0 * (v.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    Some(v[lo] + (v[hi] - v[lo]) * (rank - lo as f64))
}

/// min, median (the mean of the two middle values for an even count), max; `None` for no value.
pub(crate) fn summary(values: &[f64]) -> Option<Summary> {
    let v = sorted(values);
    Some(Summary {
        n: v.len(),
        min: *v.first()?,
        median: percentile(&v, 50.0)?,
        max: *v.last()?,
    })
}

/// `a / b` of two medians; `None` when either is missing or `b` is 0 (no ratio to a figure of
/// nothing).
pub(crate) fn ratio(a: Option<Summary>, b: Option<Summary>) -> Option<f64> {
    let (a, b) = (a?, b?);
    (b.median != 0.0).then(|| a.median / b.median)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_an_odd_count_takes_the_middle_value() {
        let s = summary(&[5.0, 1.0, 3.0]).unwrap();
        assert_eq!(
            s,
            Summary {
                n: 3,
                min: 1.0,
                median: 3.0,
                max: 5.0
            }
        );
    }

    #[test]
    fn summary_of_an_even_count_takes_the_mean_of_the_middle_two() {
        let s = summary(&[4.0, 1.0, 2.0, 10.0]).unwrap();
        assert_eq!((s.n, s.min, s.median, s.max), (4, 1.0, 3.0, 10.0));
    }

    #[test]
    fn summary_of_nothing_is_none_and_nan_is_left_out() {
        assert_eq!(summary(&[]), None);
        assert_eq!(summary(&[f64::NAN]), None);
        let s = summary(&[f64::NAN, 2.0]).unwrap();
        assert_eq!((s.n, s.median), (1, 2.0));
    }

    #[test]
    fn percentiles_interpolate_between_ranks() {
        let v: Vec<f64> = (1..=11).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&v, 50.0), Some(6.0));
        assert_eq!(percentile(&v, 90.0), Some(10.0));
        assert_eq!(percentile(&v, 100.0), Some(11.0));
        assert_eq!(percentile(&[0.0, 10.0], 25.0), Some(2.5));
        assert_eq!(percentile(&v, 101.0), None);
        assert_eq!(percentile(&v, -1.0), None);
    }

    #[test]
    fn ratio_of_medians_and_none_against_zero() {
        let a = summary(&[1.0, 2.0, 3.0]);
        let b = summary(&[4.0, 8.0, 100.0]);
        assert_eq!(ratio(a, b), Some(0.25));
        assert_eq!(ratio(b, a), Some(4.0));
        assert_eq!(ratio(a, summary(&[0.0])), None);
        assert_eq!(ratio(a, None), None);
    }
}
