//! Benchmark 1: RFC 2782 ordering of one SRV RRset of n records (S9–S12).
//! Throughput is per record, so a flat line means O(n log n) stays near
//! O(n) in practice. Goal: per-record cost at 4096 ≤ 2× at 8.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use impp_resolver::proto::rr::Name;
use impp_resolver::{SrvRecord, order_srv};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// n records over four priorities with varied weights, some zero.
fn rrset(n: usize) -> Vec<SrvRecord> {
    (0..n)
        .map(|i| SrvRecord {
            priority: (i % 4) as u16,
            weight: ((i * 7919) % 100) as u16,
            port: 5222,
            target: Name::from_ascii(format!("host{i}.example.com.")).unwrap(),
        })
        .collect()
}

fn ordering(c: &mut Criterion) {
    let mut group = c.benchmark_group("order_srv");
    for n in [1usize, 8, 64, 512, 4096] {
        let records = rrset(n);
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &records, |b, records| {
            b.iter_batched(
                || records.clone(),
                |records| order_srv(records, &mut rng),
                criterion::BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, ordering);
criterion_main!(benches);
