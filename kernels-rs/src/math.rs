//! Scalar f64 elementary functions (`no_std` has none): `ln`, `exp`, `sin`/`cos`.
//! Used once per row or per table entry (log-sum-exp of a row, RoPE angles), never
//! per element of a big tensor, so they favour simplicity over speed. Accuracy is
//! ~1e-15 relative on the ranges the kernels use (|x| < 1e6 for sin/cos).

const LN2: f64 = core::f64::consts::LN_2;

/// Natural logarithm. ln(0) = -inf, ln(x < 0) = NaN, ln(inf) = inf.
pub fn ln(x: f64) -> f64 {
    if x.is_nan() || x < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 {
        return f64::NEG_INFINITY;
    }
    if x.is_infinite() {
        return x;
    }
    // x = m · 2^e with m in [sqrt(1/2), sqrt(2)); subnormals are scaled up first.
    let (mut bits, mut e) = (x.to_bits(), 0i64);
    if bits >> 52 == 0 {
        bits = (x * (1u64 << 54) as f64).to_bits();
        e -= 54;
    }
    e += ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    if m > core::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    // ln m = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.172: the series
    // 2 (s + s³/3 + s⁵/5 + ...) to s¹⁹ leaves < 1e-16.
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut p = 1.0 / 19.0;
    let mut k = 17.0;
    while k >= 1.0 {
        p = p * s2 + 1.0 / k;
        k -= 2.0;
    }
    2.0 * s * p + e as f64 * LN2
}

/// e^x. Underflows to 0 below -745, overflows to inf above 709.8.
pub fn exp(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x > 709.78 {
        return f64::INFINITY;
    }
    if x < -745.0 {
        return 0.0;
    }
    // x = n ln2 + r, |r| <= ln2 / 2; Taylor series of e^r to r^16.
    let n = round(x / LN2);
    let r = (x - n * 0.693_147_180_369_123_8) - n * 1.908_214_929_270_587_7e-10;
    let mut p = 1.0;
    let mut k = 16.0;
    while k >= 1.0 {
        p = 1.0 + p * r / k;
        k -= 1.0;
    }
    // 2^n in two steps so n = -1074..1023 stays representable.
    let half = (n / 2.0) as i64;
    let rest = n as i64 - half;
    p * pow2(half) * pow2(rest)
}

fn pow2(n: i64) -> f64 {
    if n < -1022 {
        return f64::from_bits(1u64 << (n + 1074) as u64);
    }
    f64::from_bits(((n + 1023) as u64) << 52)
}

/// Round half away from zero.
fn round(x: f64) -> f64 {
    let t = x as i64 as f64; // truncation toward zero (|x| < 2^63 here)
    if x - t >= 0.5 {
        t + 1.0
    } else if t - x >= 0.5 {
        t - 1.0
    } else {
        t
    }
}

const TERMS: usize = 9;
/// 1 / (n (n - 1)) for n = 19, 17, ..., 3 (sine) and 1 / ((n - 1)(n - 2)) (cosine).
const SIN_RECIP: [f64; TERMS] = recips(0.0);
const COS_RECIP: [f64; TERMS] = recips(1.0);

const fn recips(shift: f64) -> [f64; TERMS] {
    let mut out = [0.0; TERMS];
    let mut i = 0;
    while i < TERMS {
        let n = 19.0 - 2.0 * i as f64 - shift;
        out[i] = 1.0 / (n * (n - 1.0));
        i += 1;
    }
    out
}

/// (sin x, cos x). x is reduced by k·π/2 with π/2 split in three parts (Cody &
/// Waite), exact for |k| < 2^20, then Taylor series on [-π/4, π/4].
pub fn sin_cos(x: f64) -> (f64, f64) {
    const PIO2_1: f64 = 1.570_796_326_734_125_6; // first 33 bits of π/2
    const PIO2_2: f64 = 6.077_100_506_303_966e-11; // next 33 bits
    const PIO2_3: f64 = 2.022_266_248_795_950_6e-21; // the rest
    let k = round(x * core::f64::consts::FRAC_2_PI);
    let r = ((x - k * PIO2_1) - k * PIO2_2) - k * PIO2_3;
    let r2 = r * r;
    // sin r = r (1 - r²/(2·3) (1 - r²/(4·5) (1 - ...))) to r^19,
    // cos r = 1 - r²/(1·2) (1 - r²/(3·4) (1 - ...)) to r^18.
    let mut s = 1.0;
    let mut c = 1.0;
    for i in 0..TERMS {
        s = 1.0 - s * r2 * SIN_RECIP[i];
        c = 1.0 - c * r2 * COS_RECIP[i];
    }
    let (sin_r, cos_r) = (s * r, c);
    match (k as i64).rem_euclid(4) {
        0 => (sin_r, cos_r),
        1 => (cos_r, -sin_r),
        2 => (-sin_r, -cos_r),
        _ => (-cos_r, sin_r),
    }
}
