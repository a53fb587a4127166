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

// Allocation-free accumulation: the probe refits thousands of samples on the JS thread
// (every new sample a scrape sees), so this loop is the probe's hot spot.
function weightedLeastSquares(xs: number[][], y: number[], w: Float64Array): number[] | null {
  const p = xs[0].length + 1;
  const ata = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  const atb = new Array<number>(p).fill(0);
  for (let i = 0; i < y.length; i++) {
    const x = xs[i];
    const wi = w[i];
    for (let r = 0; r < p; r++) {
      const xr = r === 0 ? 1 : x[r - 1];
      atb[r] += wi * xr * y[i];
      for (let c = 0; c < p; c++) ata[r][c] += wi * xr * (c === 0 ? 1 : x[c - 1]);
    }
  }
  return solve(ata, atb);
}

/** Median of non-negative values, sorted in place as numbers (a typed-array sort, no comparator). */
function medianInPlace(values: Float64Array): number {
  values.sort();
  const mid = values.length >> 1;
  return values.length % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

/**
 * Fits y ≈ intercept + Σ coefficients·x. Huber weights (k = 1.345 robust sigmas) make a
 * few outliers — a GC mid-sample, a trim — count little. Null when the columns do not vary.
 */
export function robustFit(xs: number[][], y: number[], iterations = 8): Fit | null {
  return drain(robustFitSteps(xs, y, iterations));
}

/** Runs steps to their end, without yielding to anyone: the synchronous form of a `*Steps` generator. */
export function drain<T>(steps: Generator<unknown, T, void>): T {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

/** A generator's steps, each yielded as `name`: how a caller labels the turns it hands back. */
export function* named<T>(name: string, steps: Generator<unknown, T, void>): Generator<string, T, void> {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
    yield name;
  }
}

/**
 * robustFit() an iteration at a time: yields after each reweighting (at 3600 samples one costs
 * about 0.5 ms; the whole fit 8-10 ms), so a caller can hand the event loop back in between.
 */
export function* robustFitSteps(xs: number[][], y: number[], iterations = 8): Generator<void, Fit | null, void> {
  if (y.length < xs[0]?.length + 2 || y.length === 0) return null;
  const w = new Float64Array(y.length).fill(1);
  const residuals = new Float64Array(y.length);
  const magnitudes = new Float64Array(y.length);
  let beta: number[] | null = null;
  for (let it = 0; it < iterations; it++) {
    beta = weightedLeastSquares(xs, y, w);
    if (!beta) return null;
    for (let i = 0; i < y.length; i++) magnitudes[i] = Math.abs((residuals[i] = y[i] - predict(beta, xs[i])));
    const sigma = 1.4826 * medianInPlace(magnitudes);
    if (sigma === 0) break;
    const k = 1.345 * sigma;
    for (let i = 0; i < y.length; i++) {
      const r = Math.abs(residuals[i]);
      w[i] = r <= k ? 1 : k / r;
    }
    yield;
  }
  if (!beta) return null;
  let wSum = 0;
  let weighted = 0;
  for (let i = 0; i < y.length; i++) {
    wSum += w[i];
    weighted += w[i] * y[i];
  }
  const mean = weighted / wSum;
  let total = 0;
  let residual = 0;
  for (let i = 0; i < y.length; i++) {
    total += w[i] * (y[i] - mean) ** 2;
    residual += w[i] * (y[i] - predict(beta, xs[i])) ** 2;
  }
  return { intercept: beta[0], coefficients: beta.slice(1), r2: total === 0 ? 1 : Math.max(0, 1 - residual / total), n: y.length };
}

function predict(beta: number[], x: number[]): number {
  let sum = beta[0];
  for (let i = 0; i < x.length; i++) sum += beta[i + 1] * x[i];
  return sum;
}
