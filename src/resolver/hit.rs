//! A resolution the cache answers whole (S26): the common case of an XMPP
//! or SIP server resolving the same peers all day, assembled straight from
//! the entries, without the plan's lookups and targets (`plan.rs`), which
//! cost three times as much.
//!
//! It gives the same answer the plan would from the same entries, and
//! covers only the plain case: one SRV set at a preferred owner name
//! (those before it NXDOMAIN or NODATA), every target named and each with
//! its additional-section addresses or both its A and AAAA answers cached.
//! Anything else (an alias, a `.` target, a missing or expired entry, a
//! large set) is left to the plan: nothing is counted or drawn from the
//! generator until every part is known to be there.

use alloc::vec::Vec;

use hickory_proto::rr::RecordType;
use rand_core::CryptoRng;

use crate::cache::{Cache, Data, Key, SrvEntry};
use crate::config::Config;
use crate::event::{Answer, Security, Via};
use crate::resolver::plan::{endpoint, order_addresses};
use crate::srv::order_indices;
use crate::time::Instant;

/// Larger sets, and targets with more addresses, go through the plan,
/// whose costs stay n log n.
const MAX_RECORDS: usize = 16;

/// Where a target's addresses are in the cache.
#[derive(Clone, Copy)]
enum Addresses {
    /// In the SRV set's additional section, under the index of the first
    /// record with this target name.
    Glue(u16),
    /// In the entries of its A and AAAA questions: their slots.
    Entries(u32, u32),
}

/// The answer for the SRV names whose cache keys are `owners` (in order of
/// preference, S7) if the cache holds all of it at `now`, the weighted
/// order drawn from `rng` (S10).
pub(crate) fn answer<R: CryptoRng + ?Sized>(
    cache: &mut Cache,
    owners: &[Key],
    config: &Config,
    rng: &mut R,
    now: Instant,
) -> Option<Answer> {
    let (index, set, mut used, mut ttl) = srv_set(cache, owners, now)?;
    let records = &set.records;
    let glue = set.glue(now);
    if records.len() > MAX_RECORDS
        || glue.len() > 2 * MAX_RECORDS
        || records.iter().any(|r| r.target.is_root())
    {
        return None;
    }
    // Each record's addresses and the TTL left of their entries, found
    // before anything is drawn. (Targets `max_endpoints` leaves out need
    // not be cached for the plan; here they must, which only makes the
    // short cut rarer.)
    let mut found = [(Addresses::Glue(0), u32::MAX); MAX_RECORDS];
    // The targets in wire form, lower-cased: equal bytes, one name.
    let mut targets: [&[u8]; MAX_RECORDS] = [&[]; MAX_RECORDS];
    let mut wires = set.target_wires();
    for target in &mut targets[..records.len()] {
        // One per record, as the cache made them (else: the plan's).
        *target = wires.next()?;
    }
    drop(wires);
    for (j, &target) in targets[..records.len()].iter().enumerate() {
        // S14: the glue of the record's target, as the cache filed it and
        // the plan reads it: under the first record with that target. So
        // only records that have glue need comparing, and glue under this
        // record's own index needs no names compared at all.
        let with_glue = |i: usize| glue.iter().any(|&(g, _)| usize::from(g) == i);
        let filed = (0..=j).find(|&i| with_glue(i) && (i == j || targets[i] == target));
        if let Some(filed) = filed {
            // At most 16 records: the index fits.
            found[j] = (Addresses::Glue(filed as u16), u32::MAX);
            continue;
        }
        let (mut slots, mut left) = ([0; 2], u32::MAX);
        let mut key = Key::from_wire(target, RecordType::A);
        for (slot, rtype) in slots.iter_mut().zip([RecordType::A, RecordType::AAAA]) {
            key.set_type(rtype);
            let (at, hit) = cache.peek(&key, now)?;
            match hit.data {
                Data::Addresses(ips) if ips.len() <= MAX_RECORDS => {}
                Data::Absent(_) => {}
                _ => return None,
            }
            left = left.min(hit.ttl);
            *slot = at;
        }
        found[j] = (Addresses::Entries(slots[0], slots[1]), left);
    }
    // Everything is there: now draw the order (S9–S12).
    let mut ordered = order_indices(records, rng)?;
    let omitted = ordered.len().saturating_sub(config.max_endpoints);
    ordered.truncate(config.max_endpoints);
    // The name as the cache's entry was asked for (S26 keys entries
    // without regard to letter case): made once, when it was stored.
    let service = set.owner.clone();
    let mut endpoints = Vec::with_capacity(ordered.len());
    for j in ordered {
        let record = &records[j as usize];
        let (addresses, left) = found[j as usize];
        // The answer rests on the entries of the targets it keeps.
        ttl = ttl.min(left);
        let addresses = match addresses {
            Addresses::Glue(g) => {
                let family = |v6: bool| {
                    glue.iter()
                        .filter(move |(i, ip)| *i == g && ip.is_ipv6() == v6)
                        .map(|(_, ip)| *ip)
                };
                order_addresses(family(true), family(false), config.address_order)
            }
            Addresses::Entries(a, aaaa) => {
                used.extend([a, aaaa]);
                let ips = |slot| match cache.slot_data(slot) {
                    Some(Data::Addresses(ips)) => &ips[..],
                    _ => &[][..],
                };
                let (v4, v6) = (ips(a), ips(aaaa));
                order_addresses(v6.iter().copied(), v4.iter().copied(), config.address_order)
            }
        };
        // Taken only with DNSSEC off (S35): insecure, no TLSA.
        let (security, tlsa) = (Security::INSECURE, Vec::new());
        let service = Some(service.clone());
        endpoints.push(endpoint(record.clone(), service, addresses, security, tlsa));
    }
    for slot in used {
        cache.note_hit(slot);
    }
    Some(Answer {
        endpoints,
        omitted,
        via: Via::Srv {
            owner: service,
            index,
        },
        ttl,
        from_cache: true,
        stale: false,
    })
}

/// The first of `owners` with a cached SRV set, those before it cached
/// as NXDOMAIN or NODATA (S7): its index, the set, the slots used and the
/// lowest TTL left. An owner listed again is passed over as the plan
/// passes it (`first_listings`): its first listing decided already, and
/// its entry counts once. More owners than a few are the plan's.
fn srv_set<'a>(
    cache: &'a Cache,
    owners: &[Key],
    now: Instant,
) -> Option<(usize, &'a SrvEntry, Vec<u32>, u32)> {
    if owners.len() > MAX_RECORDS {
        return None;
    }
    let mut used = Vec::with_capacity(1 + 2 * 4);
    let mut ttl = u32::MAX;
    for (index, owner) in owners.iter().enumerate() {
        if owners[..index].contains(owner) {
            continue;
        }
        let (slot, hit) = cache.peek(owner, now)?;
        used.push(slot);
        ttl = ttl.min(hit.ttl);
        match hit.data {
            Data::Absent(_) => continue,
            Data::Srv(set) => return Some((index, set, used, ttl)),
            _ => return None,
        }
    }
    None
}
