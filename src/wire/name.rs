//! Names as DNS compares them (S12, S14, S20, S24): letter case aside,
//! label by label, hashed without case, and with case drawn at random for
//! the server to echo.

use alloc::vec::Vec;

use hickory_proto::rr::Name;
use rand_core::CryptoRng;

/// S20: `name` with the case of each ASCII letter drawn from `rng`
/// ("0x20" bits), for the server to echo.
pub(crate) fn randomize_case<R: CryptoRng + ?Sized>(name: &Name, rng: &mut R) -> Name {
    let mut bits = 0u64;
    let mut left = 0;
    let labels = name.iter().map(|label| {
        label
            .iter()
            .map(|&byte| {
                if !byte.is_ascii_alphabetic() {
                    return byte;
                }
                if left == 0 {
                    bits = rng.next_u64();
                    left = 64;
                }
                left -= 1;
                let upper = bits & 1 == 1;
                bits >>= 1;
                if upper {
                    byte.to_ascii_uppercase()
                } else {
                    byte.to_ascii_lowercase()
                }
            })
            .collect::<Vec<u8>>()
    });
    // Same labels, same lengths: this cannot fail; fall back to the name as is.
    Name::from_labels(labels.collect::<Vec<_>>()).unwrap_or_else(|_| name.clone())
}

/// Whether two names are the same name: label by label, ASCII letters
/// compared case-insensitively, as DNS requires (S12, S14). It agrees with
/// hickory-proto's `==` but walks labels from the front, so different
/// names usually part at the first byte: cheaper than `==`, which starts
/// at the root, where the names of one answer agree.
pub(crate) fn same_name(a: &Name, b: &Name) -> bool {
    let (mut x, mut y) = (a.iter(), b.iter());
    // `len` of a label iterator is a subtraction; `num_labels` walks.
    a.is_fqdn() == b.is_fqdn()
        && x.len() == y.len()
        && x.all(|label| {
            y.next()
                .is_some_and(|other| label.eq_ignore_ascii_case(other))
        })
}

/// A hash of a name in which letter case is lost: names equal under DNS's
/// case-insensitive comparison get equal fingerprints. Each label is read
/// eight bytes at a time with bit 5 set in every byte, which lower-cases
/// letters (and folds a few other bytes together: unequal names that
/// collide are told apart by the full comparison that follows).
pub(crate) fn fingerprint(name: &Name) -> u64 {
    let mix = |hash: u64, word: u64| {
        (hash ^ word)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29)
    };
    let mut hash = 0;
    for label in name.iter() {
        hash = mix(hash, label.len() as u64);
        for chunk in label.chunks(8) {
            let mut word = [0; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            hash = mix(hash, u64::from_le_bytes(word) | 0x2020_2020_2020_2020);
        }
    }
    hash
}

/// Names for `arbitrary` (fuzzing and users' property tests): up to four
/// labels from a small alphabet, so that equal names, service labels and
/// the root all come up often.
#[cfg(feature = "arbitrary")]
pub(crate) fn arbitrary_name(u: &mut arbitrary::Unstructured<'_>) -> arbitrary::Result<Name> {
    const LABELS: [&[u8]; 8] = [
        b"_im",
        b"_xmpp",
        b"a",
        b"chat",
        b"example",
        b"com",
        b"xn--bcher-kva",
        b"Mixed-Case",
    ];
    let count = u.int_in_range(0..=4u8)?;
    let mut name = Name::root();
    for _ in 0..count {
        name = name
            .append_label(*u.choose(&LABELS)?)
            .map_err(|_| arbitrary::Error::IncorrectFormat)?;
    }
    name.set_fqdn(true);
    Ok(name)
}

/// [`arbitrary_name`] or none.
#[cfg(feature = "arbitrary")]
pub(crate) fn arbitrary_maybe_name(
    u: &mut arbitrary::Unstructured<'_>,
) -> arbitrary::Result<Option<Name>> {
    Ok(if u.arbitrary()? {
        Some(arbitrary_name(u)?)
    } else {
        None
    })
}

/// [`arbitrary_name`]s.
#[cfg(feature = "arbitrary")]
pub(crate) fn arbitrary_names(u: &mut arbitrary::Unstructured<'_>) -> arbitrary::Result<Vec<Name>> {
    let count = u.int_in_range(0..=8u8)?;
    (0..count).map(|_| arbitrary_name(u)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    #[test]
    fn same_name_agrees_with_hickory_equality() {
        let names = [
            "a.example.com.",
            "A.Example.COM.",
            "a.example.com",
            "ab.c.",
            "a.bc.",
            "example.com.",
            "xmpp0.example.com.",
            "xmpp1.example.com.",
            ".",
            "a\\.b.c.",
        ];
        for x in names {
            for y in names {
                let (a, b) = (name(x), name(y));
                assert_eq!(same_name(&a, &b), a == b, "{x} vs {y}");
            }
        }
    }

    #[test]
    fn randomized_case_keeps_the_name_and_varies_letters() {
        use rand_chacha::ChaCha8Rng;
        use rand_core::SeedableRng;
        let q = name("_im._xmpp.example.com.");
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let variants: alloc::collections::BTreeSet<alloc::string::String> = (0..50)
            .map(|_| {
                let mixed = randomize_case(&q, &mut rng);
                assert_eq!(mixed, q, "same name, case aside");
                mixed.to_ascii()
            })
            .collect();
        // 16 letters: 50 draws all alike would mean no randomness at all.
        assert!(variants.len() > 40, "{variants:?}");
        assert!(variants.iter().all(|v| v.starts_with("_"))); // '_' kept
    }
}
