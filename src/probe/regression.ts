/**
 * Robust linear regression (Huber-weighted iteratively reweighted least squares) with an
 * intercept. Small and dependency-free: the probe fits at most a few thousand samples.
 */
export interface Fit {
  intercept: number;
  /** One coefficient per regressor column. */
  coefficients: number[];
  /** Weighted R² of the final fit: 1 perfect, 0 no better than the mean. */
  r2: number;
  n: number;
}

/** Solves the normal equations A x = b for a small dense system; null when singular. */
function solve(a: number[][], b: number[]): number[] | null {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let row = col + 1; row < n; row++) if (Math.abs(m[row][col]) > Math.abs(m[pivot][col])) pivot = row;
    if (Math.abs(m[pivot][col]) < 1e-12) return null;
    [m[col], m[pivot]] = [m[pivot], m[col]];
    for (let row = 0; row < n; row++) {
      if (row === col) continue;
      const factor = m[row][col] / m[col][col];
      for (let k = col; k <= n; k++) m[row][k] -= factor * m[col][k];
    }
  }
  return m.map((row, i) => row[n] / row[i]);
}

function weightedLeastSquares(xs: number[][], y: number[], w: number[]): number[] | null {
  const p = xs[0].length + 1;
  const ata = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  const atb = new Array<number>(p).fill(0);
  for (let i = 0; i < y.length; i++) {
    const row = [1, ...xs[i]];
    for (let r = 0; r < p; r++) {
      atb[r] += w[i] * row[r] * y[i];
      for (let c = 0; c < p; c++) ata[r][c] += w[i] * row[r] * row[c];
    }
  }
  return solve(ata, atb);
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/**
 * Fits y ≈ intercept + Σ coefficients·x. Huber weights (k = 1.345 robust sigmas) make a
 * few outliers — a GC mid-sample, a trim — count little. Null when the columns do not vary.
 */
export function robustFit(xs: number[][], y: number[], iterations = 8): Fit | null {
  if (y.length < xs[0]?.length + 2 || y.length === 0) return null;
  let w = new Array<number>(y.length).fill(1);
  let beta: number[] | null = null;
  for (let it = 0; it < iterations; it++) {
    beta = weightedLeastSquares(xs, y, w);
    if (!beta) return null;
    const residuals = y.map((yi, i) => yi - predict(beta!, xs[i]));
    const sigma = 1.4826 * median(residuals.map(Math.abs));
    if (sigma === 0) break;
    const k = 1.345 * sigma;
    w = residuals.map((r) => (Math.abs(r) <= k ? 1 : k / Math.abs(r)));
  }
  if (!beta) return null;
  const wSum = w.reduce((a, b) => a + b, 0);
  const mean = y.reduce((a, yi, i) => a + w[i] * yi, 0) / wSum;
  let total = 0;
  let residual = 0;
  for (let i = 0; i < y.length; i++) {
    total += w[i] * (y[i] - mean) ** 2;
    residual += w[i] * (y[i] - predict(beta, xs[i])) ** 2;
  }
  return { intercept: beta[0], coefficients: beta.slice(1), r2: total === 0 ? 1 : Math.max(0, 1 - residual / total), n: y.length };
}

function predict(beta: number[], x: number[]): number {
  return beta[0] + x.reduce((sum, xi, i) => sum + beta[i + 1] * xi, 0);
}
