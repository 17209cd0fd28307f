//! Fitting values against tasks: a robust slope with its uncertainty, the
//! goodness of fit, and the tests for curvature and levelling off.

/// A line fitted to one series.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Fit {
    /// Theil-Sen slope: the median of the slopes between all pairs of points,
    /// so one odd snapshot cannot move it far. With two points, the slope.
    pub slope: f64,
    /// About 95% confidence interval of the slope (Sen's method). Equal to the
    /// slope when there are fewer than three points.
    pub slope_low: f64,
    pub slope_high: f64,
    pub intercept: f64,
    /// Share of the variance the line explains, 1 when there are two points.
    pub r_squared: f64,
    /// A quadratic fits clearly better and curves upwards.
    pub accelerating: bool,
    /// The later snapshots grow much slower than the earlier ones.
    pub levelling_off: bool,
    /// Least-squares parabola a + bx + cx² as [a, b, c], fitted when there are
    /// four points or more.
    pub quadratic: Option<[f64; 3]>,
}

impl Fit {
    /// Widens the slope interval by 1.96 standard errors `error` of the slope
    /// that come from elsewhere (heap sampling), which the scatter between
    /// snapshots does not show.
    pub fn widen(&mut self, error: f64) {
        self.slope_low -= 1.96 * error;
        self.slope_high += 1.96 * error;
    }

    /// Value the fit predicts at `x`: on the parabola when growth is
    /// accelerating, else on the line.
    pub fn predict(&self, x: f64) -> f64 {
        match self.quadratic {
            Some([a, b, c]) if self.accelerating => a + b * x + c * x * x,
            _ => self.intercept + self.slope * x,
        }
    }
}

/// Fits `ys` against `xs`, pairing them up to the shorter length. With fewer
/// than two points, or all `xs` equal, the slope is 0.
pub fn fit(xs: &[f64], ys: &[f64]) -> Fit {
    let n = xs.len().min(ys.len());
    let (xs, ys) = (&xs[..n], &ys[..n]);
    if n < 2 {
        return Fit {
            intercept: ys.first().copied().unwrap_or(0.0),
            r_squared: 1.0,
            ..Fit::default()
        };
    }
    let mut slopes = pairwise_slopes(xs, ys);
    slopes.sort_by(f64::total_cmp);
    let slope = median_sorted(&slopes);
    let mut offsets: Vec<f64> = xs.iter().zip(ys).map(|(x, y)| y - slope * x).collect();
    offsets.sort_by(f64::total_cmp);
    let intercept = median_sorted(&offsets);
    let (slope_low, slope_high) = sen_interval(&slopes, n);
    let mut result = Fit {
        slope,
        slope_low,
        slope_high,
        intercept,
        r_squared: r_squared(xs, ys, slope, intercept),
        accelerating: false,
        levelling_off: false,
        quadratic: None,
    };
    if n >= 4 {
        result.accelerating = accelerating(xs, ys);
        result.levelling_off = levelling_off(xs, ys);
        result.quadratic = quadratic(xs, ys).map(|(a, b, c, _)| [a, b, c]);
    }
    result
}

fn pairwise_slopes(xs: &[f64], ys: &[f64]) -> Vec<f64> {
    let mut slopes = Vec::with_capacity(xs.len() * (xs.len() - 1) / 2);
    for i in 0..xs.len() {
        for j in i + 1..xs.len() {
            let dx = xs[j] - xs[i];
            if dx != 0.0 {
                slopes.push((ys[j] - ys[i]) / dx);
            }
        }
    }
    if slopes.is_empty() {
        slopes.push(0.0);
    }
    slopes
}

fn median_sorted(values: &[f64]) -> f64 {
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// Sen's confidence interval: ranks around the median of the pairwise slopes,
/// from the variance of Kendall's S without ties.
fn sen_interval(sorted: &[f64], n: usize) -> (f64, f64) {
    if n < 3 {
        let only = median_sorted(sorted);
        return (only, only);
    }
    let count = sorted.len() as f64;
    let n = n as f64;
    let c = 1.96 * (n * (n - 1.0) * (2.0 * n + 5.0) / 18.0).sqrt();
    let low = ((count - c) / 2.0).floor().max(0.0) as usize;
    let high = (((count + c) / 2.0).ceil() as usize).min(sorted.len() - 1);
    (sorted[low.min(sorted.len() - 1)], sorted[high])
}

fn r_squared(xs: &[f64], ys: &[f64], slope: f64, intercept: f64) -> f64 {
    if xs.len() < 3 {
        return 1.0;
    }
    let mean = ys.iter().sum::<f64>() / ys.len() as f64;
    let total: f64 = ys.iter().map(|y| (y - mean).powi(2)).sum();
    let residual: f64 = xs
        .iter()
        .zip(ys)
        .map(|(x, y)| (y - intercept - slope * x).powi(2))
        .sum();
    if total == 0.0 {
        return if residual == 0.0 { 1.0 } else { 0.0 };
    }
    (1.0 - residual / total).max(0.0)
}

/// Least-squares line: (intercept, slope, residual sum of squares).
pub fn least_squares(xs: &[f64], ys: &[f64]) -> (f64, f64, f64) {
    let n = xs.len() as f64;
    let mean_x = xs.iter().sum::<f64>() / n;
    let mean_y = ys.iter().sum::<f64>() / n;
    let sxx: f64 = xs.iter().map(|x| (x - mean_x).powi(2)).sum();
    let sxy: f64 = xs
        .iter()
        .zip(ys)
        .map(|(x, y)| (x - mean_x) * (y - mean_y))
        .sum();
    let slope = if sxx == 0.0 { 0.0 } else { sxy / sxx };
    let intercept = mean_y - slope * mean_x;
    let residual = xs
        .iter()
        .zip(ys)
        .map(|(x, y)| (y - intercept - slope * x).powi(2))
        .sum();
    (intercept, slope, residual)
}

/// True when y = a + bx + cx² leaves less than a fifth of the residual of the
/// straight line, c > 0, and the curvature adds at least a fifth to the growth
/// over the observed range.
fn accelerating(xs: &[f64], ys: &[f64]) -> bool {
    let (_, slope, linear_residual) = least_squares(xs, ys);
    let Some((_, b, c, quadratic_residual)) = quadratic(xs, ys) else {
        return false;
    };
    let min_x = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let max_x = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let range = max_x - min_x;
    let curve = c * (max_x * max_x - min_x * min_x);
    let straight = (b * range).abs().max(slope.abs() * range);
    c > 0.0 && quadratic_residual < 0.2 * linear_residual && curve > 0.2 * straight
}

/// Least-squares parabola: (a, b, c, residual sum of squares).
fn quadratic(xs: &[f64], ys: &[f64]) -> Option<(f64, f64, f64, f64)> {
    // Centre and scale x for a well-conditioned 3x3 system.
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let scale = xs.iter().map(|x| (x - mean).abs()).fold(0.0, f64::max);
    if scale == 0.0 {
        return None;
    }
    let us: Vec<f64> = xs.iter().map(|x| (x - mean) / scale).collect();
    let mut m = [[0.0f64; 4]; 3];
    for (u, y) in us.iter().zip(ys) {
        let powers = [1.0, *u, u * u];
        for row in 0..3 {
            for col in 0..3 {
                m[row][col] += powers[row] * powers[col];
            }
            m[row][3] += powers[row] * y;
        }
    }
    let [a, b, c] = solve3(m)?;
    let residual = us
        .iter()
        .zip(ys)
        .map(|(u, y)| (y - a - b * u - c * u * u).powi(2))
        .sum();
    // Back to the original x: y = a + b(x-m)/s + c(x-m)²/s².
    let c_x = c / (scale * scale);
    let b_x = b / scale - 2.0 * c_x * mean;
    let a_x = a - b * mean / scale + c_x * mean * mean;
    Some((a_x, b_x, c_x, residual))
}

fn solve3(mut m: [[f64; 4]; 3]) -> Option<[f64; 3]> {
    for col in 0..3 {
        let pivot = (col..3).max_by(|&i, &j| m[i][col].abs().total_cmp(&m[j][col].abs()))?;
        if m[pivot][col].abs() < 1e-12 {
            return None;
        }
        m.swap(col, pivot);
        let pivot_row = m[col];
        for (row, values) in m.iter_mut().enumerate() {
            if row != col {
                let factor = values[col] / pivot_row[col];
                for (value, pivot_value) in values.iter_mut().zip(pivot_row).skip(col) {
                    *value -= factor * pivot_value;
                }
            }
        }
    }
    Some([m[0][3] / m[0][0], m[1][3] / m[1][1], m[2][3] / m[2][2]])
}

/// True when the slope over the last third of the snapshots is under a fifth
/// of the slope over the first two thirds, and the early slope is positive.
fn levelling_off(xs: &[f64], ys: &[f64]) -> bool {
    let n = xs.len();
    let split = (2 * n).div_ceil(3).clamp(2, n - 1);
    let (_, early, _) = least_squares(&xs[..split], &ys[..split]);
    let (_, late, _) = least_squares(&xs[split - 1..], &ys[split - 1..]);
    early > 0.0 && late < 0.2 * early
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_line_has_its_slope() {
        let xs = [0.0, 1.0, 2.0, 3.0, 4.0];
        let ys = [10.0, 12.0, 14.0, 16.0, 18.0];
        let fit = fit(&xs, &ys);
        assert_eq!(fit.slope, 2.0);
        assert_eq!(fit.intercept, 10.0);
        assert!((fit.r_squared - 1.0).abs() < 1e-12);
        assert!(!fit.accelerating);
        assert!(!fit.levelling_off);
    }

    #[test]
    fn one_outlier_barely_moves_the_slope() {
        let xs = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        let ys = [0.0, 2.0, 40.0, 6.0, 8.0, 10.0];
        let fit = fit(&xs, &ys);
        assert!((fit.slope - 2.0).abs() < 0.5, "slope {}", fit.slope);
    }

    #[test]
    fn quadratic_growth_is_accelerating() {
        let xs: Vec<f64> = (0..7).map(f64::from).collect();
        let ys: Vec<f64> = xs.iter().map(|x| x * x * 10.0 + x).collect();
        assert!(fit(&xs, &ys).accelerating);
    }

    #[test]
    fn accelerating_fit_predicts_on_the_parabola() {
        let xs: Vec<f64> = (0..7).map(f64::from).collect();
        let ys: Vec<f64> = xs.iter().map(|x| x * x * 10.0 + x).collect();
        let predicted = fit(&xs, &ys).predict(100.0);
        assert!((predicted - 100_100.0).abs() < 1.0, "predicted {predicted}");
    }

    #[test]
    fn capped_growth_levels_off() {
        let xs: Vec<f64> = (0..7).map(f64::from).collect();
        let ys = [0.0, 100.0, 200.0, 300.0, 300.0, 300.0, 300.0];
        let fit = fit(&xs, &ys);
        assert!(fit.levelling_off);
        assert!(!fit.accelerating);
    }

    #[test]
    fn one_point_has_zero_slope() {
        let fit = fit(&[5.0], &[7.0]);
        assert_eq!(fit.slope, 0.0);
        assert_eq!(fit.intercept, 7.0);
    }

    #[test]
    fn two_points_give_the_difference_quotient() {
        let fit = fit(&[2000.0, 12000.0], &[96000.0, 576000.0]);
        assert_eq!(fit.slope, 48.0);
        assert_eq!(fit.slope_low, 48.0);
        assert_eq!(fit.slope_high, 48.0);
    }
}
