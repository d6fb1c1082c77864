//! RFC 2782 ordering of one SRV RRset (SPEC S9–S12).
//!
//! Priorities ascend; within one priority the order is a weighted random
//! draw without replacement. The draw follows the S10 policy rather than the
//! RFC's literal algorithm, which is biased towards the first record:
//!
//! - a record of weight `w > 0` counts `10 * w`, a record of weight 0 counts 1
//!   (one tenth of a unit weight: the "very small chance" RFC 2782 asks for);
//! - `r` is drawn uniformly from `0..sum` with no modulo bias, and the first
//!   record whose running sum exceeds `r` is taken;
//! - so non-zero weights win in exact proportion, and an all-zero group is a
//!   uniform shuffle.
//!
//! Running sums live in a Fenwick tree, so ordering `n` records costs
//! `O(n log n)` whatever the weights.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::net::IpAddr;

use hickory_proto::rr::Name;

use crate::wire::name::{FoldedNames, fingerprint, folded_len, write_folded};
use rand_core::Rng;

/// One SRV record: where a service is offered, and how to choose among them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SrvRecord {
    /// Lower values are tried first (MUST).
    pub priority: u16,
    /// Relative share among records of the same priority.
    pub weight: u16,
    /// The port the service listens on.
    pub port: u16,
    /// The host offering the service; the root name `.` means "not available" (S11).
    pub target: Name,
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for SrvRecord {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        // Targets come from a small alphabet so that duplicates and `.` occur often.
        let target = match u.int_in_range(0u8..=8)? {
            0 => Name::root(),
            i => {
                let mut name = Name::from_ascii("example.com.").expect("valid name");
                let label = [b'a' + i];
                name = name
                    .prepend_label(&label[..])
                    .map_err(|_| arbitrary::Error::IncorrectFormat)?;
                name
            }
        };
        Ok(SrvRecord {
            priority: u.int_in_range(0..=3)?,
            weight: u.arbitrary()?,
            port: u.arbitrary()?,
            target,
        })
    }
}

/// The result of ordering one SRV RRset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SrvOrder {
    /// The RRset consists only of target `.`: the service is decidedly not
    /// available at this domain (S11). No address fallback may follow.
    Unavailable,
    /// Usable records in the order to try them (S9, S13): `.` targets and exact
    /// duplicates removed (S11, S12). Empty when the RRset was empty.
    Targets(Vec<SrvRecord>),
}

/// Orders one SRV RRset for use (S9–S12), drawing randomness from `rng` only.
pub fn order_srv<R: Rng + ?Sized>(records: Vec<SrvRecord>, rng: &mut R) -> SrvOrder {
    if records.len() == 1 {
        return match records[0].target.is_root() {
            true => SrvOrder::Unavailable,
            false => SrvOrder::Targets(records),
        };
    }
    let Some(drawn) = order_indices(&records, rng) else {
        return SrvOrder::Unavailable;
    };
    // Each index is drawn once: move the record out, leaving a cheap `.`.
    let mut records = records;
    let placeholder = SrvRecord {
        priority: 0,
        weight: 0,
        port: 0,
        target: Name::root(),
    };
    SrvOrder::Targets(
        drawn
            .into_iter()
            .map(|i| core::mem::replace(&mut records[i as usize], placeholder.clone()))
            .collect(),
    )
}

/// [`order_srv`] by index: the positions in `records` of the usable
/// records in the order to try them, or `None` when only `.` targets are
/// there (S11). The same draws from `rng` as `order_srv`.
pub(crate) fn order_indices<R: Rng + ?Sized>(
    records: &[SrvRecord],
    rng: &mut R,
) -> Option<Vec<u32>> {
    if records.len() == 1 {
        return (!records[0].target.is_root()).then(|| alloc::vec![0]);
    }
    // Records are handled by index with an integer key, and moved into the
    // result once at the end: sorting and drawing the 88-byte records
    // themselves cost 370 ns a record at n = 4096.
    let mut order: Vec<(u64, u64, u32)> = records
        .iter()
        .enumerate()
        .map(|(i, r)| (key(r), 0, i as u32))
        .collect();
    let target = |i: u32| &records[i as usize].target;
    // S12: drop exact duplicates. Sorting also groups by priority (S9); the
    // order inside a group does not matter, as the draw below is random.
    // Names compare label by label, case-insensitively (50 ns each): among
    // records alike in all else, a fingerprint computed once per record
    // orders them, and names are compared only when fingerprints agree.
    order.sort_unstable_by_key(|&(key, _, _)| key);
    for run in order.chunk_by_mut(|a, b| a.0 == b.0) {
        if run.len() > 1 {
            for entry in run.iter_mut() {
                entry.1 = fingerprint(target(entry.2));
            }
            run.sort_unstable_by(|a, b| a.1.cmp(&b.1).then_with(|| target(a.2).cmp(target(b.2))));
        }
    }
    order.dedup_by(|a, b| (a.0, a.1) == (b.0, b.1) && target(a.2) == target(b.2));

    let had_records = !order.is_empty();
    order.retain(|&(_, _, i)| !target(i).is_root());
    if had_records && order.is_empty() {
        return None;
    }

    let mut drawn = Vec::with_capacity(order.len());
    for group in order.chunk_by(|a, b| priority_of(a.0) == priority_of(b.0)) {
        draw_group(group, rng, &mut drawn);
    }
    Some(drawn)
}

/// A record's sort key: priority, then weight, then port.
fn key(r: &SrvRecord) -> u64 {
    (u64::from(r.priority) << 32) | (u64::from(r.weight) << 16) | u64::from(r.port)
}

fn priority_of(key: u64) -> u16 {
    (key >> 32) as u16
}

fn weight_of(key: u64) -> u16 {
    (key >> 16) as u16
}

/// The S10 share of one record: 10 per unit of weight, 1 for weight 0.
fn share(weight: u16) -> u64 {
    if weight == 0 {
        1
    } else {
        10 * u64::from(weight)
    }
}

/// Appends the indices of `group` (one priority, as (key, fingerprint,
/// index)) to `out` in weighted random order.
fn draw_group<R: Rng + ?Sized>(group: &[(u64, u64, u32)], rng: &mut R, out: &mut Vec<u32>) {
    if group.len() == 1 {
        out.push(group[0].2);
        return;
    }
    let share_of = |&(key, _, _): &(u64, u64, u32)| share(weight_of(key));
    if group.len() <= SMALL_GROUP {
        return draw_small_group(group, rng, out);
    }
    let mut sums = Fenwick::new(group.iter().map(share_of));
    let mut total: u64 = group.iter().map(share_of).sum();
    for _ in 0..group.len() {
        let r = uniform_below(rng, total);
        let i = sums.first_exceeding(r);
        let w = share_of(&group[i]);
        sums.subtract(i, w);
        total -= w;
        out.push(group[i].2);
    }
}

/// Groups up to this size are drawn by a linear scan over a stack array:
/// no allocation, and faster than the tree at this size.
const SMALL_GROUP: usize = 16;

/// [`draw_group`] for a small group, same distribution.
fn draw_small_group<R: Rng + ?Sized>(group: &[(u64, u64, u32)], rng: &mut R, out: &mut Vec<u32>) {
    let mut shares = [0u64; SMALL_GROUP];
    for (slot, &(key, _, _)) in shares.iter_mut().zip(group) {
        *slot = share(weight_of(key));
    }
    let shares = &mut shares[..group.len()];
    let mut total: u64 = shares.iter().sum();
    for _ in 0..group.len() {
        let mut r = uniform_below(rng, total);
        // The first record whose running sum exceeds r; drawn ones count 0.
        let i = shares
            .iter()
            .position(|&s| {
                if r < s {
                    true
                } else {
                    r -= s;
                    false
                }
            })
            .unwrap_or(0);
        total -= shares[i];
        shares[i] = 0;
        out.push(group[i].2);
    }
}

/// A uniform draw from `0..n` (n > 0) without modulo bias (Lemire's method).
pub(crate) fn uniform_below<R: Rng + ?Sized>(rng: &mut R, n: u64) -> u64 {
    debug_assert!(n > 0);
    let mut product = u128::from(rng.next_u64()) * u128::from(n);
    // The division that finds the rejection threshold is needed only when
    // the low half falls below n, which is rare for n far below 2^64.
    if (product as u64) < n {
        let threshold = n.wrapping_neg() % n;
        while (product as u64) < threshold {
            product = u128::from(rng.next_u64()) * u128::from(n);
        }
    }
    (product >> 64) as u64
}

/// A Fenwick (binary indexed) tree of running sums over record shares.
struct Fenwick {
    /// 1-based: `tree[i]` holds the sum of a power-of-two range ending at `i`.
    tree: Vec<u64>,
}

impl Fenwick {
    fn new(values: impl Iterator<Item = u64>) -> Self {
        let mut tree = Vec::with_capacity(values.size_hint().0 + 1);
        tree.push(0);
        tree.extend(values);
        // Linear-time build: push each node's sum into its parent.
        for i in 1..tree.len() {
            let parent = i + (i & i.wrapping_neg());
            if parent < tree.len() {
                tree[parent] += tree[i];
            }
        }
        Fenwick { tree }
    }

    fn subtract(&mut self, index: usize, amount: u64) {
        let mut i = index + 1;
        while i < self.tree.len() {
            self.tree[i] -= amount;
            i += i & i.wrapping_neg();
        }
    }

    /// The 0-based index of the first element whose running sum exceeds `r`.
    fn first_exceeding(&self, mut r: u64) -> usize {
        let n = self.tree.len() - 1;
        let mut pos = 0;
        let mut step = if n == 0 { 0 } else { 1 << n.ilog2() };
        while step > 0 {
            let next = pos + step;
            if next <= n && self.tree[next] <= r {
                pos = next;
                r -= self.tree[next];
            }
            step >>= 1;
        }
        pos
    }
}

/// S14, the one rule the cache, the plan and the whole-hit short cut
/// share: an additional-section address belongs to a record when its owner
/// is exactly the record's target (names compare as DNS compares them,
/// RFC 5452 §6). Each address that belongs to one, with the index of the
/// first record of its target ([`first_of_target`]): records of one target
/// share its addresses. `targets` are the records' targets, folded
/// ([`FoldedNames::iter`]), so each name is walked once and compared as bytes. A
/// few are matched by scanning; a hostile section of hundreds through an
/// index, so it costs n log n, not n × m. (A set past 65,536 records keeps
/// none: S27 caps them far lower.)
pub(crate) fn glue(targets: &[&[u8]], additional: &[(Name, IpAddr)]) -> Vec<(u16, IpAddr)> {
    let index: Option<BTreeMap<&[u8], usize>> = (additional.len() > 32).then(|| {
        let mut index = BTreeMap::new();
        for (i, &target) in targets.iter().enumerate() {
            index.entry(target).or_insert(i);
        }
        index
    });
    let mut glue = Vec::with_capacity(additional.len());
    let mut folded = [0; 255];
    for (owner, ip) in additional {
        // An owner no target is as long as need not be folded.
        let len = folded_len(owner);
        if index.is_none() && targets.iter().all(|target| target.len() != len) {
            continue;
        }
        let len = write_folded(owner, &mut folded);
        let owner = &folded[..len];
        let i = match &index {
            Some(index) => index.get(owner).copied(),
            None => targets.iter().position(|&target| target == owner),
        };
        if let Some(i) = i.and_then(|i| u16::try_from(i).ok()) {
            glue.push((i, *ip));
        }
    }
    glue
}

/// For each of `targets`, the index of the first one equal to it (its own,
/// most often): where [`glue`] files that target's addresses.
pub(crate) fn first_of_target(targets: &[&[u8]]) -> Vec<usize> {
    if targets.len() <= 16 {
        return (0..targets.len())
            .map(|j| (0..j).find(|&i| targets[i] == targets[j]).unwrap_or(j))
            .collect();
    }
    let mut first: BTreeMap<&[u8], usize> = BTreeMap::new();
    (0..targets.len())
        .map(|j| *first.entry(targets[j]).or_insert(j))
        .collect()
}

/// Each record's additional-section addresses (S14), in the section's
/// order: [`glue`] and [`first_of_target`] together, in n log n.
pub(crate) fn addresses_of_targets<'a>(
    targets: impl Iterator<Item = &'a Name> + Clone,
    additional: &[(Name, IpAddr)],
) -> Vec<Vec<IpAddr>> {
    let folded = FoldedNames::of(targets);
    let targets: Vec<&[u8]> = folded.iter().collect();
    let mut filed: Vec<Vec<IpAddr>> = alloc::vec![Vec::new(); targets.len()];
    for (i, ip) in glue(&targets, additional) {
        filed[usize::from(i)].push(ip);
    }
    // A target's addresses are filed under its first record; a later
    // record of the same target gets a copy.
    for (j, i) in first_of_target(&targets).into_iter().enumerate() {
        if i != j {
            filed[j] = filed[i].clone();
        }
    }
    filed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glue_belongs_to_a_target_by_exact_name_scanned_or_indexed() {
        let record = |t: &str| SrvRecord {
            priority: 0,
            weight: 0,
            port: 5222,
            target: Name::from_ascii(t).unwrap(),
        };
        let ip = |i: u8| IpAddr::from([192, 0, 2, i]);
        let n = |s: &str| Name::from_ascii(s).unwrap();
        let records = [
            record("a.example."),
            record("b.example."),
            record("a.example."),
        ];
        let additional = [
            (n("a.example."), ip(1)),
            (n("B.Example."), ip(2)),
            (n("c.example."), ip(3)),
            (n("x.a.example."), ip(4)),
        ];
        let folded = FoldedNames::of(records.iter().map(|r| &r.target));
        let targets: Vec<&[u8]> = folded.iter().collect();
        assert_eq!(glue(&targets, &additional), [(0, ip(1)), (1, ip(2))]);
        assert_eq!(first_of_target(&targets), [0, 1, 0]);
        assert_eq!(
            addresses_of_targets(records.iter().map(|r| &r.target), &additional),
            [vec![ip(1)], vec![ip(2)], vec![ip(1)]]
        );
        // Past 16 records and 32 addresses the same answers come from maps.
        let many: Vec<SrvRecord> = (0..40)
            .map(|i| record(&alloc::format!("t{}.example.", i % 7)))
            .collect();
        let section: Vec<(Name, IpAddr)> = (0..60)
            .map(|i| (n(&alloc::format!("T{}.example.", i % 9)), ip(i as u8)))
            .collect();
        let scanned: Vec<Vec<IpAddr>> = (0..many.len())
            .map(|j| {
                section
                    .iter()
                    .filter(|(owner, _)| crate::wire::name::same_name(owner, &many[j].target))
                    .map(|(_, ip)| *ip)
                    .collect()
            })
            .collect();
        assert_eq!(
            addresses_of_targets(many.iter().map(|r| &r.target), &section),
            scanned
        );
    }
    use alloc::string::ToString;
    use alloc::vec;
    use rand_chacha::ChaCha8Rng;
    use rand_core::SeedableRng;

    fn rec(priority: u16, weight: u16, target: &str) -> SrvRecord {
        SrvRecord {
            priority,
            weight,
            port: 5222,
            target: Name::from_ascii(target).unwrap(),
        }
    }

    fn targets(order: SrvOrder) -> Vec<alloc::string::String> {
        match order {
            SrvOrder::Targets(t) => t.iter().map(|r| r.target.to_string()).collect(),
            SrvOrder::Unavailable => panic!("unexpectedly unavailable"),
        }
    }

    /// Shares of each target as the first pick over `draws` orderings.
    fn first_pick_shares(
        records: &[SrvRecord],
        draws: u32,
        seed: u64,
    ) -> Vec<(alloc::string::String, f64)> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut counts = alloc::collections::BTreeMap::new();
        for _ in 0..draws {
            let first = targets(order_srv(records.to_vec(), &mut rng)).remove(0);
            *counts.entry(first).or_insert(0u32) += 1;
        }
        counts
            .into_iter()
            .map(|(t, c)| (t, f64::from(c) / f64::from(draws)))
            .collect()
    }

    fn assert_share(shares: &[(alloc::string::String, f64)], target: &str, expected: f64) {
        let got = shares
            .iter()
            .find(|(t, _)| t == target)
            .map_or(0.0, |(_, s)| *s);
        assert!(
            (got - expected).abs() <= 0.01,
            "{target}: share {got:.4}, expected {expected:.4} ± 0.01"
        );
    }

    const DRAWS: u32 = 100_000;

    #[test]
    fn spec_vector_priorities_then_weights() {
        // {P0 W1 a, P0 W3 b, P1 W0 c, P1 W0 d}
        let set = vec![
            rec(0, 1, "a."),
            rec(0, 3, "b."),
            rec(1, 0, "c."),
            rec(1, 0, "d."),
        ];
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut b_first = 0u32;
        for _ in 0..DRAWS {
            let t = targets(order_srv(set.clone(), &mut rng));
            assert_eq!(t.len(), 4);
            let mut head = [t[0].as_str(), t[1].as_str()];
            head.sort_unstable();
            assert_eq!(head, ["a.", "b."], "priority 0 must come first: {t:?}");
            b_first += u32::from(t[0] == "b.");
        }
        let share = f64::from(b_first) / f64::from(DRAWS);
        assert!((share - 0.75).abs() <= 0.01, "b first {share}");
    }

    #[test]
    fn spec_vector_zero_weight_gets_a_tenth() {
        // {A w0, B w1, C w3}: 1/41, 10/41, 30/41 under S10.
        let set = vec![rec(0, 0, "a."), rec(0, 1, "b."), rec(0, 3, "c.")];
        let shares = first_pick_shares(&set, DRAWS, 2);
        assert_share(&shares, "a.", 1.0 / 41.0);
        assert_share(&shares, "b.", 10.0 / 41.0);
        assert_share(&shares, "c.", 30.0 / 41.0);
    }

    #[test]
    fn large_groups_draw_with_the_same_shares() {
        // More records than SMALL_GROUP: the Fenwick tree path. Weights 1..=20
        // plus a weight-0 record; shares 10·w / (10·210 + 1).
        let mut set: Vec<SrvRecord> = (1..=20)
            .map(|w| rec(0, w, &alloc::format!("w{w}.")))
            .collect();
        set.push(rec(0, 0, "zero."));
        assert!(set.len() > SMALL_GROUP);
        let shares = first_pick_shares(&set, DRAWS, 9);
        let total = 10.0 * 210.0 + 1.0;
        for w in [1u16, 7, 20] {
            assert_share(
                &shares,
                &alloc::format!("w{w}."),
                10.0 * f64::from(w) / total,
            );
        }
        assert_share(&shares, "zero.", 1.0 / total);
        // And the second pick too: after w20 goes first, w19 leads.
        let mut rng = ChaCha8Rng::seed_from_u64(10);
        let mut second = 0u32;
        let mut after_w20 = 0u32;
        for _ in 0..DRAWS {
            let t = targets(order_srv(set.clone(), &mut rng));
            assert_eq!(t.len(), 21);
            if t[0] == "w20." {
                after_w20 += 1;
                second += u32::from(t[1] == "w19.");
            }
        }
        let share = f64::from(second) / f64::from(after_w20);
        let expected = 190.0 / (total - 200.0);
        assert!(
            (share - expected).abs() <= 0.02,
            "w19 second {share}, expected {expected}"
        );
    }

    #[test]
    fn spec_vector_all_zero_is_uniform() {
        let set = vec![rec(0, 0, "a."), rec(0, 0, "b.")];
        let shares = first_pick_shares(&set, DRAWS, 3);
        assert_share(&shares, "a.", 0.5);
        assert_share(&shares, "b.", 0.5);
    }

    #[test]
    fn spec_vector_proportional_weights() {
        let set = vec![rec(0, 10, "a."), rec(0, 20, "b."), rec(0, 70, "c.")];
        let shares = first_pick_shares(&set, DRAWS, 4);
        assert_share(&shares, "a.", 0.1);
        assert_share(&shares, "b.", 0.2);
        assert_share(&shares, "c.", 0.7);
    }

    #[test]
    fn equal_weights_are_unbiased_unlike_the_literal_rfc_draw() {
        // The literal RFC draw gives the first of {1,1} two thirds.
        let set = vec![rec(0, 1, "a."), rec(0, 1, "b.")];
        let shares = first_pick_shares(&set, DRAWS, 5);
        assert_share(&shares, "a.", 0.5);
    }

    #[test]
    fn second_pick_follows_remaining_weights() {
        // After c (w70) is taken first, a:b must be 1:2 for the second place.
        let set = vec![rec(0, 10, "a."), rec(0, 20, "b."), rec(0, 70, "c.")];
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let (mut n, mut a_second) = (0u32, 0u32);
        for _ in 0..DRAWS {
            let t = targets(order_srv(set.clone(), &mut rng));
            if t[0] == "c." {
                n += 1;
                a_second += u32::from(t[1] == "a.");
            }
        }
        let share = f64::from(a_second) / f64::from(n);
        assert!((share - 1.0 / 3.0).abs() <= 0.01, "a second {share}");
    }

    #[test]
    fn sole_root_target_is_unavailable() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        assert_eq!(
            order_srv(vec![rec(0, 0, ".")], &mut rng),
            SrvOrder::Unavailable
        );
        // Duplicates of `.` are still only `.`.
        assert_eq!(
            order_srv(vec![rec(0, 0, "."), rec(0, 0, ".")], &mut rng),
            SrvOrder::Unavailable
        );
    }

    #[test]
    fn root_among_others_is_skipped() {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let t = targets(order_srv(vec![rec(0, 0, "."), rec(1, 0, "x.")], &mut rng));
        assert_eq!(t, ["x."]);
    }

    #[test]
    fn empty_set_orders_to_nothing() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        assert_eq!(order_srv(vec![], &mut rng), SrvOrder::Targets(vec![]));
    }

    #[test]
    fn exact_duplicates_are_dropped_case_insensitively() {
        let mut rng = ChaCha8Rng::seed_from_u64(10);
        let t = targets(order_srv(
            vec![
                rec(0, 5, "a.example."),
                rec(0, 5, "A.Example."),
                rec(0, 6, "a.example."),
            ],
            &mut rng,
        ));
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn names_that_fold_alike_but_differ_are_both_kept() {
        // The fingerprint sets bit 5 of every byte: `[` and `{` fold alike,
        // as do `@` and a backquote, yet the names differ and both stay;
        // true case variants are still dropped.
        let raw = |label: &[u8]| SrvRecord {
            priority: 0,
            weight: 5,
            port: 5222,
            target: Name::from_labels([label, b"example"]).unwrap(),
        };
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let t = targets(order_srv(
            vec![
                raw(b"a["),
                raw(b"a{"),
                raw(b"A{"),
                raw(b"b@"),
                raw(b"b`"),
                raw(b"B`"),
            ],
            &mut rng,
        ));
        assert_eq!(t.len(), 4, "{t:?}");
    }

    #[test]
    fn large_group_is_a_permutation_with_nondecreasing_priority() {
        let set: Vec<SrvRecord> = (0..4096u32)
            .map(|i| {
                rec(
                    (i % 7) as u16,
                    (i % 5) as u16,
                    &alloc::format!("h{i}.example."),
                )
            })
            .collect();
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let SrvOrder::Targets(out) = order_srv(set.clone(), &mut rng) else {
            panic!("unavailable")
        };
        assert_eq!(out.len(), set.len());
        assert!(out.windows(2).all(|w| w[0].priority <= w[1].priority));
        let mut a = out.clone();
        let mut b = set;
        a.sort();
        b.sort();
        assert_eq!(a, b);
    }

    #[test]
    fn same_seed_same_order() {
        let set: Vec<SrvRecord> = (0..50u16)
            .map(|i| rec(0, i, &alloc::format!("h{i}.")))
            .collect();
        let a = order_srv(set.clone(), &mut ChaCha8Rng::seed_from_u64(12));
        let b = order_srv(set, &mut ChaCha8Rng::seed_from_u64(12));
        assert_eq!(a, b);
    }

    #[test]
    fn fenwick_finds_first_running_sum_exceeding_r() {
        let f = Fenwick::new([3u64, 0, 5, 2].into_iter());
        // running sums 3, 3, 8, 10
        let picks: Vec<usize> = (0..10).map(|r| f.first_exceeding(r)).collect();
        assert_eq!(picks, [0, 0, 0, 2, 2, 2, 2, 2, 3, 3]);
    }

    #[test]
    fn uniform_below_covers_range_evenly() {
        let mut rng = ChaCha8Rng::seed_from_u64(13);
        let mut counts = [0u32; 3];
        for _ in 0..30_000 {
            counts[uniform_below(&mut rng, 3) as usize] += 1;
        }
        for c in counts {
            assert!((9_500..=10_500).contains(&c), "{counts:?}");
        }
    }
}
