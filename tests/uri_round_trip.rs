//! URI round trips over a URI-flavoured alphabet (S1–S5): every string that
//! parses displays as one that parses back to the same value. The machine's
//! property tests live with the fuzz checkers (`tests/fuzz_checks.rs`).

use impp_resolver::Uri;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

const SEEDS: u64 = 2_000;

#[test]
fn parsed_uris_display_and_parse_back_to_the_same_value() {
    // Strings from a URI-flavoured alphabet, so that many of them parse.
    let pieces = [
        "im:",
        "pres:",
        "IM:",
        "fred",
        "a.b",
        "@",
        "example.com",
        "exa-mple",
        ".org",
        "%22",
        "%20",
        "%3C",
        "%3E",
        "%40",
        "%5C",
        "%28",
        "%29",
        "?",
        "=",
        "&",
        "x",
        "_",
        "%2C",
        "%09",
        "%25",
        "!",
        "'",
        "1",
    ];
    let mut parsed = 0;
    for seed in 0..20 * SEEDS {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut text = String::from(if rng.next_u32() % 2 == 0 {
            "im:"
        } else {
            "pres:"
        });
        for _ in 0..(rng.next_u32() % 12) {
            text.push_str(pieces[rng.next_u32() as usize % pieces.len()]);
        }
        let Ok(uri) = text.parse::<Uri>() else {
            continue;
        };
        parsed += 1;
        let shown = uri.to_string();
        let again: Uri = shown
            .parse()
            .unwrap_or_else(|e| panic!("{text} -> {shown}: {e}"));
        assert_eq!(again, uri, "{text} -> {shown}");
    }
    assert!(parsed > 1_000, "too few parsed: {parsed}");
}
