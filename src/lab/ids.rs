//! Random identifiers in the shapes Kubernetes uses, all from the lab's seeded generator.

use rand::Rng;

/// A version-4 UUID, as leader election appends to the host name.
pub(crate) fn uuid_v4(rng: &mut impl Rng) -> String {
    let b: [u8; 16] = rng.random();
    let hi = u64::from_be_bytes(b[..8].try_into().expect("8 bytes"));
    let lo = u64::from_be_bytes(b[8..].try_into().expect("8 bytes"));
    // Version nibble 4, variant bits 10.
    let hi = (hi & !0xf000) | 0x4000;
    let lo = (lo & !(0b11 << 62)) | (0b10 << 62);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xffff,
        lo >> 48,
        lo & 0xffff_ffff_ffff
    )
}

const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// A bootstrap token id: `[a-z0-9]{6}`.
pub(crate) fn token_id(rng: &mut impl Rng) -> String {
    (0..6)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// A bootstrap token's secret half: `[a-z0-9]{16}` (only the lab's kubeadm prints it).
pub(crate) fn token_secret(rng: &mut impl Rng) -> String {
    (0..16)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// `n` lowercase hex digits (the certificate key, the CA's hash).
pub(crate) fn hex(rng: &mut impl Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn shapes_match_kubernetes() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let u = uuid_v4(&mut rng);
        let parts: Vec<_> = u.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12]);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
        let id = token_id(&mut rng);
        assert_eq!(id.len(), 6);
        assert!(
            id.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
    }
}
