/** Rational cubic interpolation of Let's Be Rational (implied vol's initial guesses: iv.ts). */
import { DBL_EPSILON, DBL_MAX, DBL_MIN } from './iv-normalised-black.js';

// ---------------------------------------------------------------------------
// Rational cubic interpolation: R. Delbourgo & J. A. Gregory, "Shape preserving
// piecewise rational interpolation", SIAM J. Sci. Stat. Comput. 6 (1985) 967–976.
// On [xL, xR] with values yL, yR and slopes dL, dR, the control parameter r ≥ −1
// (r = 3: ordinary cubic Hermite; r → ∞: linear) is chosen to match a second
// derivative at one end, but never below what keeps the interpolant monotone and
// convex/concave like the data.
// ---------------------------------------------------------------------------
const MIN_RATIONAL_CUBIC_CONTROL = -(1 - Math.sqrt(DBL_EPSILON));
const MAX_RATIONAL_CUBIC_CONTROL = 2 / (DBL_EPSILON * DBL_EPSILON);

export function isZero(v: number): boolean {
  return Math.abs(v) < DBL_MIN;
}

export function rationalCubicInterpolation(
  x: number,
  xL: number,
  xR: number,
  yL: number,
  yR: number,
  dL: number,
  dR: number,
  r: number,
): number {
  const h = xR - xL;
  if (Math.abs(h) <= 0) return 0.5 * (yL + yR);
  const t = (x - xL) / h;
  if (r >= MAX_RATIONAL_CUBIC_CONTROL) return yR * t + yL * (1 - t); // linear, no overflow
  const omt = 1 - t;
  const t2 = t * t;
  const omt2 = omt * omt;
  // Delbourgo & Gregory (2.4)/(2.5)
  return (
    (yR * t2 * t + (r * yR - h * dR) * t2 * omt + (r * yL + h * dL) * t * omt2 + yL * omt2 * omt) / (1 + (r - 3) * t * omt)
  );
}

/** r that makes the interpolant's second derivative at xL equal `secondL`. */
export function controlForSecondDerivativeLeft(xL: number, xR: number, yL: number, yR: number, dL: number, dR: number, secondL: number): number {
  const h = xR - xL;
  const numerator = 0.5 * h * secondL + (dR - dL);
  if (isZero(numerator)) return 0;
  const denominator = (yR - yL) / h - dL;
  if (isZero(denominator)) return numerator > 0 ? MAX_RATIONAL_CUBIC_CONTROL : MIN_RATIONAL_CUBIC_CONTROL;
  return numerator / denominator;
}

/** r that makes the interpolant's second derivative at xR equal `secondR`. */
export function controlForSecondDerivativeRight(xL: number, xR: number, yL: number, yR: number, dL: number, dR: number, secondR: number): number {
  const h = xR - xL;
  const numerator = 0.5 * h * secondR + (dR - dL);
  if (isZero(numerator)) return 0;
  const denominator = dR - (yR - yL) / h;
  if (isZero(denominator)) return numerator > 0 ? MAX_RATIONAL_CUBIC_CONTROL : MIN_RATIONAL_CUBIC_CONTROL;
  return numerator / denominator;
}

/** Smallest r keeping monotonicity (D&G 3.8) and convexity/concavity (D&G 3.18) of the data. */
export function minimumShapePreservingControl(dL: number, dR: number, slope: number, preferShapePreservation: boolean): number {
  const monotonic = dL * slope >= 0 && dR * slope >= 0;
  const convex = dL <= slope && slope <= dR;
  const concave = dL >= slope && slope >= dR;
  if (!monotonic && !convex && !concave) return MIN_RATIONAL_CUBIC_CONTROL;
  let r1 = -DBL_MAX;
  let r2 = -DBL_MAX;
  if (monotonic) {
    if (!isZero(slope)) r1 = (dR + dL) / slope;
    else if (preferShapePreservation) r1 = MAX_RATIONAL_CUBIC_CONTROL;
  }
  if (convex || concave) {
    const sMinusDL = slope - dL;
    const dRMinusS = dR - slope;
    if (!(isZero(sMinusDL) || isZero(dRMinusS))) {
      const dRMinusDL = dR - dL;
      r2 = Math.max(Math.abs(dRMinusDL / dRMinusS), Math.abs(dRMinusDL / sMinusDL));
    } else if (preferShapePreservation) r2 = MAX_RATIONAL_CUBIC_CONTROL;
  } else if (monotonic && preferShapePreservation) {
    r2 = MAX_RATIONAL_CUBIC_CONTROL;
  }
  return Math.max(MIN_RATIONAL_CUBIC_CONTROL, r1, r2);
}

export function convexControlLeft(xL: number, xR: number, yL: number, yR: number, dL: number, dR: number, secondL: number, preferShape: boolean): number {
  const r = controlForSecondDerivativeLeft(xL, xR, yL, yR, dL, dR, secondL);
  return Math.max(r, minimumShapePreservingControl(dL, dR, (yR - yL) / (xR - xL), preferShape));
}

export function convexControlRight(xL: number, xR: number, yL: number, yR: number, dL: number, dR: number, secondR: number, preferShape: boolean): number {
  const r = controlForSecondDerivativeRight(xL, xR, yL, yR, dL, dR, secondR);
  return Math.max(r, minimumShapePreservingControl(dL, dR, (yR - yL) / (xR - xL), preferShape));
}

