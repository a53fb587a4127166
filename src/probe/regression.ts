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

/** A regression's data, flat: row i's regressor c at x[i * columns + c]. Typed arrays, so the thousands of
 *  rows a fit holds across its turns are two objects for the garbage collector to move, not thousands. */
export interface Design {
  x: Float64Array;
  columns: number;
  y: Float64Array;
}

/** Rows of regressors and their values as a Design (the same doubles). */
export function designOf(xs: number[][], y: number[]): Design {
  const columns = xs[0]?.length ?? 0;
  const x = new Float64Array(y.length * columns);
  for (let i = 0; i < y.length; i++) for (let c = 0; c < columns; c++) x[i * columns + c] = xs[i][c];
  return { x, columns, y: Float64Array.from(y) };
}

// Rows accumulated per turn: a reweighting over 3600 rows took 0.3-0.5 ms warm but several ms in a
// process's first report (the code not yet optimized), so the rows go in bounded runs.
const ROWS_PER_TURN = 1200;

// Allocation-free accumulation of rows [from, to) into the normal equations: the probe refits
// thousands of samples on the JS thread, so this loop is the probe's hot spot.
function accumulate(d: Design, w: Float64Array, from: number, to: number, ata: number[][], atb: number[]): void {
  const p = d.columns + 1;
  for (let i = from; i < to; i++) {
    const row = i * d.columns;
    const wi = w[i];
    for (let r = 0; r < p; r++) {
      const xr = r === 0 ? 1 : d.x[row + r - 1];
      atb[r] += wi * xr * d.y[i];
      for (let c = 0; c < p; c++) ata[r][c] += wi * xr * (c === 0 ? 1 : d.x[row + c - 1]);
    }
  }
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
 * about 0.5 ms warm; the whole fit 8-10 ms), and within one after every ROWS_PER_TURN rows, so a
 * caller can hand the event loop back in between.
 */
export function* robustFitSteps(xs: number[][], y: number[], iterations = 8): Generator<void, Fit | null, void> {
  if (y.length < xs[0]?.length + 2 || y.length === 0) return null;
  return yield* designFitSteps(designOf(xs, y), iterations);
}

/** robustFitSteps() over a Design. */
export function* designFitSteps(d: Design, iterations = 8): Generator<void, Fit | null, void> {
  const n = d.y.length;
  if (n < d.columns + 2 || n === 0) return null;
  const p = d.columns + 1;
  const w = new Float64Array(n).fill(1);
  const residuals = new Float64Array(n);
  const magnitudes = new Float64Array(n);
  let beta: number[] | null = null;
  for (let it = 0; it < iterations; it++) {
    const ata = Array.from({ length: p }, () => new Array<number>(p).fill(0));
    const atb = new Array<number>(p).fill(0);
    for (let from = 0; from < n; from += ROWS_PER_TURN) {
      if (from > 0) yield;
      accumulate(d, w, from, Math.min(n, from + ROWS_PER_TURN), ata, atb);
    }
    beta = solve(ata, atb);
    if (!beta) return null;
    for (let i = 0; i < n; i++) magnitudes[i] = Math.abs((residuals[i] = d.y[i] - predict(beta, d, i)));
    const sigma = 1.4826 * medianInPlace(magnitudes);
    if (sigma === 0) break;
    const k = 1.345 * sigma;
    for (let i = 0; i < n; i++) {
      const r = Math.abs(residuals[i]);
      w[i] = r <= k ? 1 : k / r;
    }
    yield;
  }
  if (!beta) return null;
  let wSum = 0;
  let weighted = 0;
  for (let i = 0; i < n; i++) {
    wSum += w[i];
    weighted += w[i] * d.y[i];
  }
  const mean = weighted / wSum;
  let total = 0;
  let residual = 0;
  for (let i = 0; i < n; i++) {
    total += w[i] * (d.y[i] - mean) ** 2;
    residual += w[i] * (d.y[i] - predict(beta, d, i)) ** 2;
  }
  return { intercept: beta[0], coefficients: beta.slice(1), r2: total === 0 ? 1 : Math.max(0, 1 - residual / total), n };
}

function predict(beta: number[], d: Design, i: number): number {
  let sum = beta[0];
  const row = i * d.columns;
  for (let c = 0; c < d.columns; c++) sum += beta[c + 1] * d.x[row + c];
  return sum;
}
