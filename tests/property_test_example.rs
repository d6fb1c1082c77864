//! `examples/property_test.rs`, the template users copy, run as CI runs
//! it: 1,000 seeds of drawn hostile networks, and 1,000 more at 30% loss.

use std::process::Command;

use impp_test_support::records::example_binary;

fn run(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(example_binary("property_test"))
        .args(args)
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8(out.stdout).unwrap())
}

#[test]
fn a_thousand_hostile_networks_and_no_violation() {
    for args in [
        &["--seeds", "1000"][..],
        &["--seeds", "1000", "--loss", "30"],
    ] {
        let (code, out) = run(args);
        let first = out.lines().next().unwrap_or_default();
        assert_eq!(
            first, "seeds: 1000, resolutions: 5000, violations: 0",
            "{args:?}: {out}"
        );
        assert_eq!(code, Some(0), "{out}");
        // The runs did something: some resolutions connected, some
        // forgeries arrived and were turned away.
        let outcomes = out.lines().nth(1).unwrap_or_default();
        let count = |word: &str| -> u64 {
            let before = outcomes.split(word).next().unwrap_or_default();
            let number = before
                .trim_end()
                .rsplit([' ', ',', ';'])
                .next()
                .unwrap_or("0");
            number.parse().unwrap_or(0)
        };
        assert!(count(" connect") > 500, "{outcomes}");
        assert!(count(" forged") > 100, "{outcomes}");
    }
}

#[test]
fn bad_flags_are_refused() {
    let (code, _) = run(&["--loss", "101"]);
    assert_eq!(code, Some(2));
    let (code, _) = run(&["--seeds"]);
    assert_eq!(code, Some(2));
}
