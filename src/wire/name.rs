//! Names as DNS compares them (S12, S14, S20, S24): letter case aside,
//! label by label, hashed without case, and with case drawn at random for
//! the server to echo.

use alloc::boxed::Box;
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
/// hickory-proto's `==` at a fraction of its cost (about a thousand
/// instructions for two equal names of five labels): it walks labels from
/// the front, so different names usually part at the first byte, where
/// `==` starts at the root, where the names of one answer agree.
pub(crate) fn same_name(a: &Name, b: &Name) -> bool {
    let (x, y) = (a.iter(), b.iter());
    // `len` of a label iterator is a subtraction; `num_labels` walks.
    a.is_fqdn() == b.is_fqdn()
        && x.len() == y.len()
        && x.zip(y).all(|(l, m)| l.eq_ignore_ascii_case(m))
}

/// Whether two names are the same to the letter (S20: the case a server
/// must echo), label by label, as [`same_name`] compares them.
pub(crate) fn same_name_and_case(a: &Name, b: &Name) -> bool {
    let (x, y) = (a.iter(), b.iter());
    a.is_fqdn() == b.is_fqdn() && x.len() == y.len() && x.zip(y).all(|(l, m)| l == m)
}

/// Writes `name` into `out` in wire form with its letters lower-cased,
/// without the root's empty label: the bytes written. Names DNS compares
/// as equal (fully qualified, as every name read from the wire is) write
/// the same bytes, so these are the cache's keys (S26) and what an SRV
/// set's targets are matched by (S14). A valid name fits 255 bytes; a
/// longer one (impossible) is cut, which can only make a miss.
pub(crate) fn write_folded(name: &Name, out: &mut [u8]) -> usize {
    let mut len = 0;
    for label in name.iter() {
        let Some((length, room)) = out
            .get_mut(len..len + 1 + label.len())
            .and_then(<[u8]>::split_first_mut)
        else {
            break;
        };
        *length = label.len() as u8;
        fold_into(room, label);
        len += 1 + label.len();
    }
    len
}

/// `label` into `room`, of its length, letters lower-cased: copied and
/// folded in one pass, byte by byte, which for labels of a few bytes is
/// cheaper than a call to copy them and another pass to fold.
fn fold_into(room: &mut [u8], label: &[u8]) {
    for (to, from) in room.iter_mut().zip(label) {
        *to = from.to_ascii_lowercase();
    }
}

/// How many bytes [`write_folded`] writes for `name`, without walking it:
/// hickory-proto keeps the label bytes and the label count.
pub(crate) fn folded_len(name: &Name) -> usize {
    // `Name::len` counts a dot a label, and one for the root alone.
    if name.iter().len() == 0 {
        0
    } else {
        name.len()
    }
}

/// Several names as [`write_folded`] writes them, each followed by a zero
/// octet (the root's), end to end: each name is walked once, and then
/// compared as bytes as often as needed. Matching the additional section
/// to an SRV set's targets name by name cost a ninth of a resolution.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct FoldedNames(Box<[u8]>);

impl FoldedNames {
    pub(crate) fn of<'a>(names: impl Iterator<Item = &'a Name> + Clone) -> FoldedNames {
        // Names hickory-proto holds fit 255 bytes, so each comes out as
        // `write_folded` writes it, and their lengths are known up front.
        let total = names.clone().map(|n| folded_len(n) + 1).sum();
        let mut bytes = alloc::vec![0; total];
        let mut at = 0;
        for name in names {
            at += write_folded(name, &mut bytes[at..]) + 1;
        }
        // Were a name cut short, no empty name may follow it.
        bytes.truncate(at);
        FoldedNames(bytes.into_boxed_slice())
    }

    /// Each name in order, less its zero octet.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let mut rest = &self.0[..];
        core::iter::from_fn(move || {
            if rest.is_empty() {
                return None;
            }
            let mut end = 0;
            while let Some(&len) = rest.get(end).filter(|&&len| len != 0) {
                end += 1 + usize::from(len);
            }
            let name = rest.get(..end).unwrap_or(rest);
            rest = rest.get(end + 1..).unwrap_or_default();
            Some(name)
        })
    }

    /// The bytes held on the heap.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.0.len()
    }
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
    fn folded_names_are_equal_bytes_for_equal_names() {
        let names = [
            "Mail.Example.COM.",
            ".",
            "b.example.com.",
            "mail.example.com.",
        ];
        let folded = FoldedNames::of(names.iter().map(|n| name(n)).collect::<Vec<_>>().iter());
        let each: Vec<&[u8]> = folded.iter().collect();
        assert_eq!(each.len(), 4);
        assert_eq!(each[0], b"\x04mail\x07example\x03com");
        assert!(each[1].is_empty(), "the root has no labels");
        assert_eq!(each[0], each[3], "one name, two cases: one form");
        assert_ne!(each[0], each[2]);
        for (x, y) in names.iter().zip(&each) {
            let mut out = [0; 255];
            let len = write_folded(&name(x), &mut out);
            assert_eq!(&out[..len], *y, "{x}");
            assert_eq!(folded_len(&name(x)), len, "{x}");
        }
        for x in ["a.b", "a.b.", ".", "", "x.example"] {
            let mut out = [0; 255];
            let n = Name::from_ascii(x).unwrap();
            assert_eq!(folded_len(&n), write_folded(&n, &mut out), "{x:?}");
        }
        assert_eq!(FoldedNames::of([].iter()).iter().count(), 0);
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
            "Long-Label-Of-Many-Bytes.example.",
            "long-label-of-many-bytes.EXAMPLE.",
            "long-label-of-many-bytez.example.",
        ];
        for x in names {
            for y in names {
                let (a, b) = (name(x), name(y));
                assert_eq!(same_name(&a, &b), a == b, "{x} vs {y}");
                // The questions' index hashes these bytes (S24).
                let (mut fa, mut fb) = ([0; 255], [0; 255]);
                let (la, lb) = (write_folded(&a, &mut fa), write_folded(&b, &mut fb));
                let same_bytes = fa[..la] == fb[..lb] && a.is_fqdn() == b.is_fqdn();
                assert_eq!(same_bytes, a == b, "{x} vs {y}");
                assert_eq!(same_name_and_case(&a, &b), a.eq_case(&b), "{x} vs {y}");
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
