//! Deterministic numerics: the SplitMix64 PRNG, `ln` and `exp` from `+ - * /` only, UUIDs, and
//! the calendar and the tenant's wall clock computed by hand, so that the output is bit for bit
//! the same on every platform and after every dependency upgrade.

use crate::{DAY, HOUR};
use chrono::DateTime;

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 finaliser: a bijection of u64 with good avalanche.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// SplitMix64: small, fast, and fixed forever.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        mix64(self.state)
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [0, n) (n > 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    pub(crate) fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// Uniform in [lo, hi].
    pub(crate) fn between(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo) as u64 + 1) as i64
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// An index drawn with the given weights (not all zero).
    pub(crate) fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
        let mut x = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            let w = u64::from(*w);
            if x < w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }

    /// About standard normal (Irwin–Hall, 12 uniforms).
    pub(crate) fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.unit()).sum::<f64>() - 6.0
    }

    pub(crate) fn uuid(&mut self) -> String {
        let hi = self.next_u64();
        let lo = self.next_u64();
        format_uuid(hi, lo)
    }
}

/// A version-4-shaped UUID from 128 bits (the version and variant bits are overwritten).
pub(crate) fn format_uuid(hi: u64, lo: u64) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let hi = (hi & 0xffff_ffff_ffff_0fff) | 0x4000;
    let lo = (lo & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    let bits = (u128::from(hi) << 64) | u128::from(lo);
    let mut out = String::with_capacity(36);
    for i in 0..32 {
        if matches!(i, 8 | 12 | 16 | 20) {
            out.push('-');
        }
        let nibble = (bits >> (124 - 4 * i)) & 0xf;
        out.push(char::from(HEX[nibble as usize]));
    }
    out
}

const LN_2: f64 = std::f64::consts::LN_2;

/// Natural logarithm from `+ - * /` only (platform libm results may differ in the last bit).
pub(crate) fn ln(x: f64) -> f64 {
    if x <= 0.0 || !x.is_finite() {
        return f64::NEG_INFINITY;
    }
    let bits = x.to_bits();
    let mut e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    if m > std::f64::consts::SQRT_2 {
        m /= 2.0;
        e += 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let (mut term, mut sum, mut k) = (s, 0.0, 1.0);
    for _ in 0..12 {
        sum += term / k;
        term *= s2;
        k += 2.0;
    }
    2.0 * sum + e as f64 * LN_2
}

/// e^x from `+ - * /` only.
pub(crate) fn exp(x: f64) -> f64 {
    let x = x.clamp(-700.0, 700.0);
    let k = (x / LN_2 + 0.5).floor();
    let r = x - k * LN_2;
    let (mut term, mut sum) = (1.0, 1.0);
    for n in 1..18 {
        term *= r / f64::from(n);
        sum += term;
    }
    sum * f64::from_bits(((k as i64 + 1023) as u64) << 52)
}

/// `2026-11-01T09:00:00.123Z` from milliseconds since the epoch.
pub(crate) fn fmt_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let milli = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    if !(0..=9999).contains(&y) {
        return format!(
            "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{milli:03}Z",
            sod / 3600,
            sod % 3600 / 60,
            sod % 60
        );
    }
    // The hot path: millions of these per data set, digits written straight into place.
    let mut b = *b"0000-00-00T00:00:00.000Z";
    for (at, width, value) in [
        (0, 4, y),
        (5, 2, mo),
        (8, 2, d),
        (11, 2, sod / 3600),
        (14, 2, sod % 3600 / 60),
        (17, 2, sod % 60),
        (20, 3, milli),
    ] {
        let mut v = value;
        for k in (at..at + width).rev() {
            b[k] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    }
    b.iter().copied().map(char::from).collect()
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Milliseconds since the epoch of `2026-11-01T09:00:00.123Z` (the generator's own format;
/// other RFC 3339 forms through chrono).
pub(crate) fn parse_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let fixed = b.len() == 24
        && b[23] == b'Z'
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.';
    if !fixed {
        return DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.timestamp_millis());
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        b[from..to].iter().try_fold(0i64, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let days = days_from_civil(num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let secs = days * 86_400 + num(11, 13)? * 3600 + num(14, 16)? * 60 + num(17, 19)?;
    Some(secs * 1000 + num(20, 23)?)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The day (since the epoch) of the last Sunday of a month that has 31 days.
fn last_sunday(year: i64, month: i64) -> i64 {
    let last = days_from_civil(year, month, 31);
    // 1970-01-01 was a Thursday: (days + 4) mod 7 is 0 on Sundays.
    last - (last + 4).rem_euclid(7)
}

/// The tenant's UTC offset at `ms`: one hour, two in summer (from 01:00 UTC on the last Sunday
/// of March to 01:00 UTC on the last Sunday of October). By hand, so that it never changes with
/// a time-zone database.
fn tenant_offset(ms: i64) -> i64 {
    let (year, _, _) = civil_from_days(ms.div_euclid(DAY));
    let summer = last_sunday(year, 3) * DAY + HOUR..last_sunday(year, 10) * DAY + HOUR;
    if summer.contains(&ms) { 2 * HOUR } else { HOUR }
}

/// The tenant's wall-clock time of `ms`, as the feed sends local times: `2026-11-01T10:00:00.123`.
pub(crate) fn fmt_local(ms: i64) -> String {
    let mut s = fmt_time(ms + tenant_offset(ms));
    s.pop();
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TENANT_TIME_ZONE;
    use chrono::Utc;

    #[test]
    fn time_format_matches_chrono() {
        let mut rng = Rng::new(7);
        for _ in 0..10_000 {
            let ms = rng.between(-5_000_000_000_000, 10_000_000_000_000);
            let chrono = DateTime::<Utc>::from_timestamp_millis(ms)
                .expect("in range")
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string();
            assert_eq!(fmt_time(ms), chrono);
        }
    }

    #[test]
    fn generated_times_read_back() {
        let mut rng = Rng::new(11);
        for _ in 0..10_000 {
            let ms = rng.between(0, 8_000_000_000_000);
            assert_eq!(parse_ms(&fmt_time(ms)), Some(ms));
        }
        assert_eq!(
            parse_ms("2026-11-01T10:00:00+01:00"),
            Some(1_793_523_600_000)
        );
        assert_eq!(parse_ms("yesterday"), None);
    }

    #[test]
    fn tenant_wall_clock_matches_the_time_zone_database() {
        let tz: chrono_tz::Tz = TENANT_TIME_ZONE.parse().expect("a time zone");
        let mut rng = Rng::new(13);
        let check = |ms: i64| {
            let wall = DateTime::<Utc>::from_timestamp_millis(ms)
                .expect("in range")
                .with_timezone(&tz)
                .naive_local()
                .format("%Y-%m-%dT%H:%M:%S%.3f")
                .to_string();
            assert_eq!(fmt_local(ms), wall, "{}", fmt_time(ms));
        };
        for _ in 0..20_000 {
            // 2000 to 2037, where the EU rule holds.
            check(rng.between(946_684_800_000, 2_114_380_800_000));
        }
        // Around the changes of 2026: 29 March and 25 October, 01:00 UTC.
        for at in [1_774_746_000_000, 1_792_890_000_000] {
            for d in [-HOUR, -1, 0, 1, HOUR] {
                check(at + d);
            }
        }
    }

    #[test]
    fn ln_and_exp_are_accurate() {
        let mut rng = Rng::new(9);
        for _ in 0..10_000 {
            let x = rng.unit() * 100.0 + 1e-9;
            assert!((ln(x) - x.ln()).abs() < 1e-12, "ln {x}");
            let y = rng.unit() * 40.0 - 20.0;
            assert!((exp(y) / y.exp() - 1.0).abs() < 1e-12, "exp {y}");
        }
    }

    #[test]
    fn uuid_layout() {
        assert_eq!(
            format_uuid(0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210),
            "01234567-89ab-4def-bedc-ba9876543210"
        );
    }

    #[test]
    fn prng_is_fixed() {
        // SplitMix64 reference values for seed 0.
        let mut rng = Rng::new(0);
        assert_eq!(rng.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(rng.next_u64(), 0x6e78_9e6a_a1b9_65f4);
    }
}
