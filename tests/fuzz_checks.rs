//! The fuzz targets' invariant checkers (`fuzz/checks.rs`) on stable Rust,
//! in every `cargo test`: over the checked-in seed corpora
//! (`fuzz/corpus/<target>/`) and over seeded pseudo-random inputs.
//!
//! The seed corpora are written by the ignored test `write_seed_corpora`:
//! `cargo test --all-features --test fuzz_checks -- --ignored`.
#![cfg(feature = "arbitrary")]

use std::path::{Path, PathBuf};

use impp_resolver::proto::op::{Edns, Message, ResponseCode};
use impp_resolver::proto::rr::rdata::opt::EdnsOption;
use impp_resolver::proto::rr::rdata::{A, AAAA, NS};
use impp_resolver::proto::rr::{RData, Record};
use impp_test_support::checks;
use impp_test_support::records::{self, cname, name, soa, srv_response};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

/// Pseudo-random inputs per target in every `cargo test`.
const RANDOM_INPUTS: u64 = 3_000;

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

/// Runs `check` on `input`, naming the input if it panics.
fn run(target: &str, check: checks::Check, input: &[u8], what: &str) {
    if std::panic::catch_unwind(|| check(input)).is_err() {
        panic!(
            "fuzz check `{target}` failed on {what} ({} bytes: {input:02x?})",
            input.len()
        );
    }
}

/// Answers larger than the fuzzer's default 4 KiB inputs (RRsets of 500 and
/// 2,100 records): checked here on every run, fuzzed by the separate
/// `-max_len=65536` run that fuzz/README.md describes.
const LARGE_ANSWERS: &str = "answer-large";

#[test]
fn corpus_inputs_keep_every_invariant() {
    let targets = checks::TARGETS
        .into_iter()
        .chain([(LARGE_ANSWERS, checks::answer as checks::Check)]);
    for (target, check) in targets {
        let dir = corpus_dir(target);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no corpus for {target}");
        for file in files {
            let input = std::fs::read(&file).unwrap();
            run(target, check, &input, &file.display().to_string());
        }
    }
}

#[test]
fn pseudo_random_inputs_keep_every_invariant() {
    for (target, check) in checks::TARGETS {
        for seed in 0..RANDOM_INPUTS {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut input = vec![0u8; 1 + (rng.next_u32() % 8192) as usize];
            rng.fill_bytes(&mut input);
            run(target, check, &input, &format!("seed {seed}"));
        }
    }
}

/// A response to the `answer` checker's query (`_im._xmpp.example.com.` SRV).
fn response(build: impl FnOnce(&mut Message)) -> Vec<u8> {
    srv_response(0, build)
}

/// An SRV record on port 5222.
fn srv(owner: &str, priority: u16, weight: u16, target: &str) -> Record {
    records::srv(owner, priority, weight, 5222, target)
}

/// Answers built through hickory-proto from zone-like data: compression
/// pointers (every name after the first is compressed), CNAME chains, huge
/// RRsets, EDNS options, and every negative and error form.
fn answer_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let owner = "_im._xmpp.example.com.";
    let mut seeds = vec![
        (
            "srv-with-additional",
            response(|m| {
                m.add_answer(srv(owner, 10, 60, "a.example.com."));
                m.add_answer(srv(owner, 10, 40, "b.example.com."));
                m.add_answer(srv(owner, 20, 0, "c.example.net."));
                m.add_additional(Record::from_rdata(
                    name("a.example.com."),
                    300,
                    RData::A(A::new(192, 0, 2, 1)),
                ));
                m.add_additional(Record::from_rdata(
                    name("a.example.com."),
                    300,
                    RData::AAAA(AAAA::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
                ));
            }),
        ),
        (
            "cname-chain",
            response(|m| {
                m.add_answer(cname(owner, "one.example.com."));
                m.add_answer(cname("one.example.com.", "two.example.net."));
                m.add_answer(srv("two.example.net.", 0, 0, "a.example.com."));
            }),
        ),
        (
            "cname-alone",
            response(|m| {
                m.add_answer(cname(owner, "elsewhere.example.net."));
            }),
        ),
        (
            "cname-loop",
            response(|m| {
                m.add_answer(cname(owner, "loop.example.com."));
                m.add_answer(cname("loop.example.com.", owner));
            }),
        ),
        (
            "edns-options",
            response(|m| {
                m.add_answer(srv(owner, 0, 0, "a.example.com."));
                let mut edns = Edns::new();
                edns.set_max_payload(1232);
                edns.options_mut()
                    .insert(EdnsOption::Unknown(10, vec![1, 2, 3, 4, 5, 6, 7, 8]));
                edns.options_mut()
                    .insert(EdnsOption::Unknown(15, vec![0, 18, b'x']));
                m.set_edns(edns);
            }),
        ),
        (
            "sole-dot",
            response(|m| {
                m.add_answer(srv(owner, 0, 0, "."));
            }),
        ),
        (
            "nxdomain",
            response(|m| {
                m.metadata.response_code = ResponseCode::NXDomain;
                m.add_authority(soa("example.com."));
            }),
        ),
        (
            "nodata",
            response(|m| {
                m.add_authority(soa("example.com."));
            }),
        ),
        (
            "referral",
            response(|m| {
                m.add_authority(Record::from_rdata(
                    name("example.com."),
                    60,
                    RData::NS(NS(name("ns.example.net."))),
                ));
            }),
        ),
        (
            "servfail",
            response(|m| m.metadata.response_code = ResponseCode::ServFail),
        ),
        (
            // BIND 9.18 on a CNAME loop: SERVFAIL, both CNAMEs, EDE 0 (S32).
            "servfail-cname-loop-ede",
            response(|m| {
                m.metadata.response_code = ResponseCode::ServFail;
                m.add_answer(cname(owner, "loop.example.com."));
                m.add_answer(cname("loop.example.com.", owner));
                let mut edns = Edns::new();
                edns.set_max_payload(1232);
                let ede = [&[0u8, 0][..], b"max. restarts reached"].concat();
                edns.options_mut().insert(EdnsOption::Unknown(15, ede));
                m.set_edns(edns);
            }),
        ),
        (
            "formerr",
            response(|m| m.metadata.response_code = ResponseCode::FormErr),
        ),
        (
            "truncated",
            response(|m| {
                m.metadata.truncation = true;
                m.add_answer(srv(owner, 0, 0, "partial.example.com."));
            }),
        ),
    ];
    for (label, count) in [("huge-rrset-500", 500u16), ("huge-rrset-2100", 2100)] {
        seeds.push((
            label,
            response(|m| {
                for i in 0..count {
                    m.add_answer(srv(owner, i % 7, i, &format!("h{i}.example.com.")));
                }
            }),
        ));
    }
    seeds
}

/// Writes the seed corpora into `fuzz/corpus/<target>/`.
#[test]
#[ignore = "writes fuzz/corpus; run by hand"]
fn write_seed_corpora() {
    let write = |target: &str, label: &str, bytes: &[u8]| {
        let dir = corpus_dir(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("seed-{label}")), bytes).unwrap();
    };
    for (label, message) in answer_seeds() {
        // Mode byte: bit 0 TCP, bit 1 0x20, bit 2 keep the id as is.
        for (mode, how) in [(0u8, "udp"), (1, "tcp"), (2, "udp-0x20")] {
            let mut input = vec![mode];
            input.extend_from_slice(&message);
            let target = if input.len() > 4096 {
                LARGE_ANSWERS
            } else {
                "answer"
            };
            write(target, &format!("{label}-{how}"), &input);
        }
    }
    for (i, text) in [
        "im:fred@example.com",
        "IM:Fred@Example.COM",
        "im:%22fred%20smith%22@example.com",
        "im:%22a@b%22@example.com",
        "im:Fred%20%3Cfred@example.com%3E",
        "im:fred@example.com?subject=hi&body=a%20b",
        "im:",
        "pres:bob@example.org",
        "im:fred@example.com.",
        "im:a@example.com,b@example.com",
        "im:fred@[192.0.2.1]",
        "im:a%40b@example.com",
        "im:fr%C3%A9d@example.com",
    ]
    .iter()
    .enumerate()
    {
        write("uri", &format!("{i:02}"), text.as_bytes());
    }
    for (target, len) in [("ordering", 256), ("machine", 4096)] {
        for seed in 0..8u64 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut input = vec![0u8; len];
            rng.fill_bytes(&mut input);
            write(target, &format!("random-{seed}"), &input);
        }
    }
}
