//! Answers kept for their lifetime, so that a repeated resolution costs no
//! packet (SPEC S26, S27).
//!
//! Only vetted answers are stored (S19: the scheduler hands in nothing
//! else), keyed by (name with letters lower-cased, type), so the 0x20
//! variants of one question share an entry (S20). What one answer stores:
//!
//! - each CNAME link of its chain under the link's own owner, so a chain
//!   cached once serves a later lookup of any name on it;
//! - the records at the chain's end under the end's name, for the lowest
//!   TTL of the RRset, clamped to `[min_ttl, max_ttl]`;
//! - an SRV RRset's additional-section addresses, only inside its SRV
//!   entry (never as an answer to an A/AAAA question, RFC 2181 §5.4.1),
//!   and only as long as both their TTLs last;
//! - NXDOMAIN or NODATA under the chain's last name, only when an SOA came
//!   with it, for min(SOA TTL, SOA MINIMUM) capped at `max_negative_ttl`
//!   (RFC 2308 §5).
//!
//! A TTL of 0 (or with the top bit set, RFC 2181 §8) is never stored.
//!
//! Entries live in a slab of slots; a hash table keyed with a secret seed
//! (so no one can choose names that collide) finds them. When the entry or
//! byte bound is reached, CLOCK eviction (a second chance for entries hit
//! since the hand last passed) frees room: O(1) amortised per insert, and
//! an expired entry is taken first when the hand reaches it. An expired
//! entry found by a lookup is dropped there; nothing scans the cache.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::hash::BuildHasher;
use core::mem::size_of;
use core::net::IpAddr;
use core::time::Duration;

use foldhash::fast::FixedState;
use hashbrown::HashTable;
use hickory_proto::rr::{Name, RecordType};

use crate::message::{Found, Records, Reply};
use crate::plan::Absence;
use crate::srv::SrvRecord;
use crate::time::Instant;

/// Bounds and lifetimes of the cache (S26, S27); `Config::cache`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheConfig {
    /// Most entries kept. An entry is one RRset, one CNAME link or one
    /// negative answer: a resolution of a domain with four targets fills
    /// about nine (one SRV set, an A and an AAAA per target). Default
    /// 10,000: a server's few hundred peer domains several times over.
    /// 0 is treated as 1.
    pub max_entries: usize,
    /// Most bytes the entries hold, counted as each entry's slot plus the
    /// payload of every allocation it owns (names, records, addresses).
    /// The hash table adds at most 16 bytes per `max_entries` on top.
    /// Default 4 MiB: 10,000 entries of an SRV set of four targets (about
    /// 600 bytes each) would need 6 MiB; most entries are addresses, near
    /// 100 bytes.
    pub max_bytes: usize,
    /// The shortest a stored TTL is made. Default 0: TTLs as given.
    pub min_ttl: Duration,
    /// The longest a stored TTL is made. Default 1 day.
    pub max_ttl: Duration,
    /// The longest a negative answer (NXDOMAIN, NODATA) is kept. Default
    /// 1 hour, as RFC 2308 §5 suggests at most 3 hours.
    pub max_negative_ttl: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            max_entries: 10_000,
            max_bytes: 4 << 20,
            min_ttl: Duration::ZERO,
            max_ttl: Duration::from_secs(86_400),
            max_negative_ttl: Duration::from_secs(3_600),
        }
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for CacheConfig {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        // Small bounds, so that fuzzing reaches eviction.
        Ok(CacheConfig {
            max_entries: u.int_in_range(0..=64)?,
            max_bytes: u.int_in_range(0..=16_384)?,
            min_ttl: Duration::from_secs(u.int_in_range(0..=600)?),
            max_ttl: Duration::from_secs(u.int_in_range(0..=86_400)?),
            max_negative_ttl: Duration::from_secs(u.int_in_range(0..=3_600)?),
        })
    }
}

/// What an entry holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Data {
    /// An SRV RRset and the addresses that came with it.
    Srv(Box<SrvSet>),
    /// An A or AAAA RRset.
    Addresses(Box<[IpAddr]>),
    /// A CNAME link: the name is an alias of this one.
    Alias(Box<Name>),
    /// NXDOMAIN or NODATA.
    Absent(Absence),
}

/// An SRV RRset as kept, with the additional section's addresses and
/// when they expire (never after the records, S26).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SrvSet {
    pub(crate) records: Box<[SrvRecord]>,
    pub(crate) additional: Box<[(Name, IpAddr)]>,
    pub(crate) additional_expires: Instant,
}

/// A fresh entry found: its data and whole seconds left to live.
pub(crate) struct Hit<'a> {
    pub(crate) data: &'a Data,
    pub(crate) ttl: u32,
}

struct Entry {
    /// The record type (two bytes) and the name in wire form, letters
    /// lower-cased.
    key: Box<[u8]>,
    hash: u64,
    data: Data,
    expires: Instant,
    /// What this entry counts against `max_bytes`.
    bytes: usize,
    /// Hit since the CLOCK hand last passed: spared once.
    referenced: bool,
}

/// Cache counters, reported in [`Stats`](crate::Stats).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counters {
    pub(crate) hits: u64,
    pub(crate) negative_hits: u64,
    pub(crate) misses: u64,
    pub(crate) insertions: u64,
    pub(crate) evictions: u64,
}

/// The longest name in wire form (RFC 1035 §2.3.4) and the type before it.
const MAX_KEY: usize = 2 + 255;

/// A key built on the stack, so a lookup allocates nothing.
struct Key {
    bytes: [u8; MAX_KEY],
    len: usize,
}

impl Key {
    fn new(name: &Name, rtype: RecordType) -> Key {
        let mut bytes = [0; MAX_KEY];
        bytes[..2].copy_from_slice(&u16::from(rtype).to_be_bytes());
        let mut len = 2;
        for label in name.iter() {
            // A valid name fits; a longer one (impossible) is cut, which
            // can only make a miss.
            let Some(room) = bytes.get_mut(len..len + 1 + label.len()) else {
                break;
            };
            room[0] = label.len() as u8;
            for (to, from) in room[1..].iter_mut().zip(label) {
                *to = from.to_ascii_lowercase();
            }
            len += 1 + label.len();
        }
        Key { bytes, len }
    }

    fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// Heap bytes a name owns beyond its own size: hickory keeps up to 32
/// bytes of labels and 24 label ends inline.
fn name_heap(name: &Name) -> usize {
    let labels = name.iter().map(<[u8]>::len).sum::<usize>();
    let ends = name.num_labels() as usize;
    (if labels > 32 { labels } else { 0 }) + if ends > 24 { ends } else { 0 }
}

impl Data {
    /// The payload of the allocations this data owns.
    fn heap_bytes(&self) -> usize {
        match self {
            Data::Srv(set) => {
                size_of::<SrvSet>()
                    + set
                        .records
                        .iter()
                        .map(|r| size_of::<SrvRecord>() + name_heap(&r.target))
                        .sum::<usize>()
                    + set
                        .additional
                        .iter()
                        .map(|(n, _)| size_of::<(Name, IpAddr)>() + name_heap(n))
                        .sum::<usize>()
            }
            Data::Addresses(ips) => ips.len() * size_of::<IpAddr>(),
            Data::Alias(name) => size_of::<Name>() + name_heap(name),
            Data::Absent(_) => 0,
        }
    }
}

/// Seconds as a duration, the clamps applied, or `None` for "do not
/// store" (TTL 0, S26).
fn lifetime(ttl: u32, min: Duration, max: Duration) -> Option<Duration> {
    if ttl == 0 {
        return None;
    }
    let ttl = Duration::from_secs(u64::from(ttl)).clamp(min, max.max(min));
    (ttl > Duration::ZERO).then_some(ttl)
}

fn after(now: Instant, ttl: Duration) -> Instant {
    let micros = u64::try_from(ttl.as_micros()).unwrap_or(u64::MAX);
    Instant::from_micros(now.as_micros().saturating_add(micros))
}

/// Whole seconds from `now` until `expires`.
fn seconds_left(now: Instant, expires: Instant) -> u32 {
    let secs = expires.saturating_duration_since(now).as_secs();
    u32::try_from(secs).unwrap_or(u32::MAX)
}

/// The cache: bounded, expiring, evicting by CLOCK.
pub(crate) struct Cache {
    config: CacheConfig,
    hasher: FixedState,
    /// Slot indices, found by their entry's key.
    table: HashTable<u32>,
    slots: Vec<Option<Entry>>,
    /// Empty slots, reused before the slab grows.
    free: Vec<u32>,
    /// The CLOCK hand: the slot looked at next when room is needed.
    hand: usize,
    bytes: usize,
    counters: Counters,
}

impl Cache {
    /// A cache with `config`, hashing with the secret `seed`.
    pub(crate) fn new(mut config: CacheConfig, seed: u64) -> Cache {
        config.max_entries = config.max_entries.max(1);
        Cache {
            config,
            hasher: FixedState::with_seed(seed),
            table: HashTable::new(),
            slots: Vec::new(),
            free: Vec::new(),
            hand: 0,
            bytes: 0,
            counters: Counters::default(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    pub(crate) fn counters(&self) -> Counters {
        self.counters
    }

    /// Drops every entry; the counters stay.
    pub(crate) fn clear(&mut self) {
        self.table.clear();
        self.slots.clear();
        self.free.clear();
        self.hand = 0;
        self.bytes = 0;
    }

    fn find(&self, key: &[u8], hash: u64) -> Option<u32> {
        let slots = &self.slots;
        self.table
            .find(hash, |&i| {
                slots[i as usize].as_ref().is_some_and(|e| &*e.key == key)
            })
            .copied()
    }

    /// The fresh entry for `name`/`rtype`, if any. An expired one is
    /// dropped on the way.
    pub(crate) fn get(&mut self, name: &Name, rtype: RecordType, now: Instant) -> Option<Hit<'_>> {
        let key = Key::new(name, rtype);
        let hash = self.hasher.hash_one(key.as_slice());
        let Some(i) = self.find(key.as_slice(), hash) else {
            self.counters.misses += 1;
            return None;
        };
        let expired = self.slots[i as usize]
            .as_ref()
            .is_none_or(|e| e.expires <= now);
        if expired {
            self.remove(i);
            self.counters.misses += 1;
            return None;
        }
        let entry = self.slots[i as usize].as_mut()?;
        entry.referenced = true;
        match entry.data {
            Data::Absent(_) => self.counters.negative_hits += 1,
            _ => self.counters.hits += 1,
        }
        Some(Hit {
            data: &entry.data,
            ttl: seconds_left(now, entry.expires),
        })
    }

    /// Stores what a vetted answer teaches (see the module documentation).
    pub(crate) fn store(&mut self, reply: &Reply, now: Instant) {
        let (min, max) = (self.config.min_ttl, self.config.max_ttl);
        let rtype = reply.rtype;
        for link in &reply.chain {
            if let Some(ttl) = lifetime(link.ttl, min, max) {
                let alias = Data::Alias(Box::new(link.target.clone()));
                self.insert(&link.owner, rtype, alias, after(now, ttl));
            }
        }
        let end = reply.end();
        match &reply.found {
            Found::Records {
                records,
                ttl,
                additional,
                additional_ttl,
            } => {
                let Some(ttl) = lifetime(*ttl, min, max) else {
                    return;
                };
                let expires = after(now, ttl);
                let data = match records {
                    Records::Srv(records) => {
                        // Only addresses of the set's own targets can ever
                        // be used (S14); the rest are not kept.
                        let additional: Box<[(Name, IpAddr)]> = additional
                            .iter()
                            .filter(|(owner, _)| {
                                records
                                    .iter()
                                    .any(|r| crate::message::same_name(&r.target, owner))
                            })
                            .cloned()
                            .collect();
                        let additional_expires = lifetime(*additional_ttl, min, max)
                            .map_or(now, |t| after(now, t).min(expires));
                        Data::Srv(Box::new(SrvSet {
                            records: records.clone().into_boxed_slice(),
                            additional,
                            additional_expires,
                        }))
                    }
                    Records::Addresses(ips) => Data::Addresses(ips.clone().into_boxed_slice()),
                };
                self.insert(end, rtype, data, expires);
            }
            Found::NxDomain { ttl: Some(ttl) } | Found::NoData { ttl: Some(ttl) } => {
                let max = self.config.max_negative_ttl;
                let Some(ttl) = lifetime(*ttl, min.min(max), max) else {
                    return;
                };
                let absence = match reply.found {
                    Found::NxDomain { .. } => Absence::NxDomain,
                    _ => Absence::NoData,
                };
                self.insert(end, rtype, Data::Absent(absence), after(now, ttl));
            }
            // No SOA, no negative entry; an alias to chase or a loop adds
            // nothing beyond its links.
            _ => {}
        }
    }

    fn insert(&mut self, name: &Name, rtype: RecordType, data: Data, expires: Instant) {
        let key = Key::new(name, rtype);
        let hash = self.hasher.hash_one(key.as_slice());
        let bytes = size_of::<Option<Entry>>() + key.len + data.heap_bytes();
        if let Some(i) = self.find(key.as_slice(), hash) {
            // A newer answer replaces the old one.
            self.remove(i);
        }
        if bytes > self.config.max_bytes {
            return;
        }
        while self.len() >= self.config.max_entries || self.bytes + bytes > self.config.max_bytes {
            if !self.evict_one() {
                return;
            }
        }
        let entry = Entry {
            key: Box::from(key.as_slice()),
            hash,
            data,
            expires,
            bytes,
            referenced: false,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(entry);
                i
            }
            None => {
                self.slots.push(Some(entry));
                // At most `max_entries` slots are ever full, and empty ones
                // are reused first, so the slab stays within that too.
                (self.slots.len() - 1) as u32
            }
        };
        let slots = &self.slots;
        self.table.insert_unique(hash, i, |&j| {
            slots[j as usize].as_ref().map_or(0, |e| e.hash)
        });
        self.bytes += bytes;
        self.counters.insertions += 1;
    }

    fn remove(&mut self, i: u32) {
        let Some(entry) = self.slots.get_mut(i as usize).and_then(Option::take) else {
            return;
        };
        if let Ok(found) = self.table.find_entry(entry.hash, |&j| j == i) {
            found.remove();
        }
        self.bytes -= entry.bytes;
        self.free.push(i);
    }

    /// CLOCK: moves the hand to the first entry not hit since it last
    /// passed (or expired), clearing the marks it passes, and drops it.
    /// Two sweeps at most; `false` when the cache is empty.
    fn evict_one(&mut self) -> bool {
        if self.len() == 0 || self.slots.is_empty() {
            return false;
        }
        for _ in 0..2 * self.slots.len() {
            self.hand = (self.hand + 1) % self.slots.len();
            let Some(entry) = self.slots[self.hand].as_mut() else {
                continue;
            };
            if entry.referenced {
                entry.referenced = false;
                continue;
            }
            self.remove(self.hand as u32);
            self.counters.evictions += 1;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Link;
    use alloc::vec;

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    fn at(secs: u64) -> Instant {
        Instant::from_millis(secs * 1000)
    }

    fn addresses(owner: &str, ttl: u32) -> Reply {
        Reply {
            name: name(owner),
            rtype: RecordType::A,
            chain: Vec::new(),
            found: Found::Records {
                records: Records::Addresses(vec!["192.0.2.1".parse().unwrap()]),
                ttl,
                additional: Vec::new(),
                additional_ttl: u32::MAX,
            },
        }
    }

    fn cache() -> Cache {
        Cache::new(CacheConfig::default(), 7)
    }

    #[test]
    fn an_entry_lives_until_the_exact_second_and_not_after() {
        let mut c = cache();
        c.store(&addresses("a.example.", 60), at(10));
        let a = name("a.example.");
        assert_eq!(c.get(&a, RecordType::A, at(10)).map(|h| h.ttl), Some(60));
        assert_eq!(c.get(&a, RecordType::A, at(69)).map(|h| h.ttl), Some(1));
        assert!(c.get(&a, RecordType::A, at(70)).is_none());
        // The expired entry was dropped on the way.
        assert_eq!((c.len(), c.bytes()), (0, 0));
        assert!(c.get(&a, RecordType::AAAA, at(10)).is_none());
    }

    #[test]
    fn keys_ignore_letter_case() {
        let mut c = cache();
        c.store(&addresses("MiXeD.Example.", 60), at(0));
        assert!(
            c.get(&name("mixed.EXAMPLE."), RecordType::A, at(1))
                .is_some()
        );
    }

    #[test]
    fn ttl_zero_and_top_bit_are_not_stored_and_clamps_apply() {
        let mut c = cache();
        c.store(&addresses("zero.example.", 0), at(0));
        assert_eq!(c.len(), 0);
        let mut c = Cache::new(
            CacheConfig {
                min_ttl: Duration::from_secs(30),
                max_ttl: Duration::from_secs(100),
                ..CacheConfig::default()
            },
            1,
        );
        c.store(&addresses("short.example.", 5), at(0));
        c.store(&addresses("long.example.", 1_000_000), at(0));
        let ttl = |c: &mut Cache, n| c.get(&name(n), RecordType::A, at(0)).map(|h| h.ttl);
        assert_eq!(ttl(&mut c, "short.example."), Some(30));
        assert_eq!(ttl(&mut c, "long.example."), Some(100));
    }

    #[test]
    fn chains_are_kept_link_by_link_and_negatives_need_an_soa() {
        let mut c = cache();
        let reply = Reply {
            name: name("a.example."),
            rtype: RecordType::A,
            chain: vec![
                Link {
                    owner: name("a.example."),
                    target: name("b.example."),
                    ttl: 300,
                },
                Link {
                    owner: name("b.example."),
                    target: name("c.example."),
                    ttl: 20,
                },
            ],
            found: Found::NxDomain { ttl: Some(50) },
        };
        c.store(&reply, at(0));
        let get = |c: &mut Cache, n| {
            c.get(&name(n), RecordType::A, at(0))
                .map(|h| (h.data.clone(), h.ttl))
        };
        assert_eq!(
            get(&mut c, "b.example."),
            Some((Data::Alias(Box::new(name("c.example."))), 20))
        );
        // NXDOMAIN belongs to the chain's last name, not the first.
        assert_eq!(
            get(&mut c, "c.example."),
            Some((Data::Absent(Absence::NxDomain), 50))
        );
        assert!(matches!(
            get(&mut c, "a.example."),
            Some((Data::Alias(_), 300))
        ));
        let no_soa = Reply {
            found: Found::NoData { ttl: None },
            chain: Vec::new(),
            name: name("d.example."),
            rtype: RecordType::A,
        };
        c.store(&no_soa, at(0));
        assert!(get(&mut c, "d.example.").is_none());
        // Negative lifetimes are capped at max_negative_ttl (1 h).
        let long = Reply {
            found: Found::NoData { ttl: Some(86_400) },
            ..no_soa
        };
        c.store(&long, at(0));
        assert_eq!(get(&mut c, "d.example.").map(|h| h.1), Some(3_600));
    }

    #[test]
    fn bounds_hold_and_clock_spares_what_was_hit() {
        let mut c = Cache::new(
            CacheConfig {
                max_entries: 3,
                ..CacheConfig::default()
            },
            3,
        );
        for n in ["a.", "b.", "c."] {
            c.store(&addresses(n, 60), at(0));
        }
        // a. is hit: the hand passes it over once.
        assert!(c.get(&name("a."), RecordType::A, at(1)).is_some());
        c.store(&addresses("d.", 60), at(1));
        assert_eq!(c.len(), 3);
        assert!(c.get(&name("a."), RecordType::A, at(1)).is_some());
        assert_eq!(c.counters().evictions, 1);
        // Bytes: an entry larger than the whole budget is not stored.
        let mut tiny = Cache::new(
            CacheConfig {
                max_bytes: 10,
                ..CacheConfig::default()
            },
            3,
        );
        tiny.store(&addresses("a.", 60), at(0));
        assert_eq!((tiny.len(), tiny.bytes()), (0, 0));
    }
}
