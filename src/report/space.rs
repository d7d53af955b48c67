//! How the size of a fault space is written: exactly while it is short, as `2^k` or
//! `≈3.2e731` when it is not (text and HTML), and as an exact decimal string in JSON up to
//! [`EXACT_BITS`] bits (beyond that converting it to decimal alone would take seconds to
//! minutes: 5000 nodes give a 25-million-bit number).

use num_bigint::BigUint;

/// Values of at most this many bits are written in full in text (below 1.1e12).
pub const TEXT_EXACT_BITS: u64 = 40;
/// Values of at most this many bits (about 19,700 decimal digits) get an exact decimal
/// string in JSON.
pub const EXACT_BITS: u64 = 1 << 16;

/// The size for people: `832`, `2^1980` or `≈3.2e731`.
pub fn approx(n: &BigUint) -> String {
    let bits = n.bits();
    if bits <= TEXT_EXACT_BITS {
        return n.to_string();
    }
    if n.count_ones() == 1 {
        return format!("2^{}", bits - 1);
    }
    let shift = bits.saturating_sub(64);
    let top = (n >> shift).to_u64_digits().first().copied().unwrap_or(0);
    let log10 = (top as f64).log10() + shift as f64 * std::f64::consts::LOG10_2;
    let (mut exp, mut mantissa) = (log10.floor(), 10f64.powf(log10 - log10.floor()));
    if format!("{mantissa:.1}") == "10.0" {
        exp += 1.0;
        mantissa = 1.0;
    }
    format!("≈{mantissa:.1}e{exp:.0}")
}

/// The exact decimal, or `None` above [`EXACT_BITS`] bits.
pub fn exact(n: &BigUint) -> Option<String> {
    (n.bits() <= EXACT_BITS).then(|| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_spaces_are_written_as_powers_or_approximations() {
        assert_eq!(approx(&BigUint::from(832u32)), "832");
        assert_eq!(approx(&(BigUint::from(1u32) << 40u32)), "2^40");
        assert_eq!(approx(&(BigUint::from(3u32) << 2424u32)), "≈1.5e730");
        assert_eq!(approx(&(BigUint::from(13u32) << 2400u32)), "≈3.9e723");
        // 9.96e12 rounds up to the next power of ten.
        assert_eq!(approx(&BigUint::from(9_960_000_000_000u64)), "≈1.0e13");
        assert_eq!(approx(&BigUint::from(1_234_567_890_123u64)), "≈1.2e12");
    }

    #[test]
    fn exact_values_stop_at_the_bit_limit() {
        let small = BigUint::from(3u32) << 100u32;
        assert_eq!(exact(&small).as_deref(), Some("3802951800684688204490109616128"));
        assert_eq!(exact(&(BigUint::from(1u32) << EXACT_BITS)), None);
    }
}
