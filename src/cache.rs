//! Answers kept for their lifetime, so that a repeated resolution costs no
//! packet (SPEC S26, S27).
//!
//! Only vetted answers are stored (S19: the scheduler hands in nothing
//! else), keyed by (name with letters lower-cased, type), so the 0x20
//! variants of one question share an entry (S20).
//!
//! An answer is kept under the question it answers, and nowhere else: a
//! stub cannot check bailiwick, so what an answer says about any other name
//! (the links of its CNAME chain, the records at the chain's end, an
//! absence) serves only a later asking of the same question, never a
//! question about those names (S26, RFC 2181 §5.4.1). What one answer
//! stores, under its question:
//!
//! - the records at the chain's end, for the lowest TTL of the RRset and of
//!   every link on the way, clamped to `[min_ttl, max_ttl]`, with the
//!   number of links (S25 counts them on a hit as on the wire);
//! - or, when the chain ends at a name the answer says nothing of, that
//!   name, to be asked next (for the chain's lowest TTL);
//! - an SRV RRset's additional-section addresses, only inside its SRV
//!   entry (never as an answer to an A/AAAA question), and only as long as
//!   both their TTLs last;
//! - NXDOMAIN or NODATA, only when an SOA came with it, for
//!   min(SOA TTL, SOA MINIMUM) and the chain's TTLs, capped at
//!   `max_negative_ttl` (RFC 2308 §5).
//!
//! A TTL of 0 (or with the top bit set, RFC 2181 §8) anywhere along the
//! chain means nothing is stored. A looping chain stores nothing.
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
use hickory_proto::rr::rdata::TLSA;
use hickory_proto::rr::{Name, RecordType};

use crate::config::CacheConfig;
use crate::srv::SrvRecord;
use crate::srv::glue;
use crate::time::Instant;
use crate::wire::message::{Absence, Found, Records, Reply};
use crate::wire::name::{FoldedNames, write_folded};

/// What an entry holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Data {
    /// An SRV RRset and the addresses that came with it.
    Srv(Box<SrvEntry>),
    /// An A or AAAA RRset.
    Addresses(Box<[IpAddr]>),
    /// The question's name is an alias, through the entry's CNAME links,
    /// of this name, which the answer said nothing more of: ask it next.
    Alias(Box<Name>),
    /// NXDOMAIN or NODATA.
    Absent(Absence),
    /// A TLSA RRset (DANE, S37).
    Tlsa(Box<[TLSA]>),
}

/// An SRV RRset as kept, with the additional section's addresses of its
/// targets and when they expire (never after the records, S26).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SrvEntry {
    /// The SRV name as first asked (the key folds its letters' case).
    pub(crate) owner: Name,
    pub(crate) records: Box<[SrvRecord]>,
    /// Each address with the index of a record whose target it belongs
    /// to: 20 bytes, where the owner's name would take 80 more.
    additional: Box<[(u16, IpAddr)]>,
    additional_expires: Instant,
    /// Each record's target, folded: the cache keys of its addresses less
    /// the type, made once here (with the glue) rather than on every hit
    /// (issue 24: a third of a hit went to walking the targets' labels).
    targets: FoldedNames,
}

impl SrvEntry {
    /// The additional addresses still fresh at `now`, by target name.
    pub(crate) fn additional(&self, now: Instant) -> Vec<(Name, IpAddr)> {
        self.glue(now)
            .iter()
            .filter_map(|&(i, ip)| Some((self.records.get(usize::from(i))?.target.clone(), ip)))
            .collect()
    }

    /// Each record's target in wire form, letters lower-cased, in order:
    /// with its type, the key of its addresses ([`Key::from_wire`]).
    pub(crate) fn target_wires(&self) -> impl Iterator<Item = &[u8]> {
        self.targets.iter()
    }

    /// The additional addresses still fresh at `now`, each with the index
    /// of the first record whose target it belongs to.
    pub(crate) fn glue(&self, now: Instant) -> &[(u16, IpAddr)] {
        if self.additional_expires <= now {
            return &[];
        }
        &self.additional
    }
}

/// An entry found: its data, whole seconds left to live, the CNAME
/// links the answer followed from the question to the data (S25), and
/// whether the answer was secure (S35; never for stale data).
pub(crate) struct Hit<'a> {
    pub(crate) data: &'a Data,
    pub(crate) ttl: u32,
    pub(crate) hops: u8,
    pub(crate) secure: bool,
}

impl Entry {
    /// Whole seconds left at `now`: of the records, and of the glue too
    /// when an SRV set still has some (S26: never outliving either).
    fn ttl(&self, now: Instant) -> u32 {
        let expires = match &self.data {
            Data::Srv(set) if !set.glue(now).is_empty() => set.additional_expires,
            _ => self.expires,
        };
        seconds_left(now, expires.min(self.expires))
    }
}

struct Entry {
    /// The record type (two bytes) and the name in wire form, letters
    /// lower-cased.
    key: Box<[u8]>,
    hash: u64,
    data: Data,
    expires: Instant,
    /// Serve-stale (S31): when a refresh of this entry last failed, or
    /// `Instant::ZERO` if none has.
    refresh_failed: Instant,
    /// What this entry counts against `max_bytes` (at most a few KiB:
    /// S27 bounds records per message).
    bytes: u32,
    /// CNAME links between the question and the data (S25).
    hops: u8,
    /// Hit since the CLOCK hand last passed: spared once.
    referenced: bool,
    /// The answer was DNSSEC-secure (S35).
    secure: bool,
}

/// Cache counters, reported in [`Stats`](crate::Stats).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counters {
    pub(crate) hits: u64,
    pub(crate) negative_hits: u64,
    pub(crate) misses: u64,
    pub(crate) insertions: u64,
    pub(crate) evictions: u64,
    pub(crate) stale: u64,
}

/// The longest name in wire form (RFC 1035 §2.3.4) and the type before it.
const MAX_KEY: usize = 2 + 255;

/// A key built on the stack, so a lookup allocates nothing: the type, then
/// the name in wire form, letters lower-cased, without the root's octet.
pub(crate) struct Key {
    bytes: [u8; MAX_KEY],
    len: usize,
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Key {
    pub(crate) fn new(name: &Name, rtype: RecordType) -> Key {
        Key::filled(rtype, |out| write_folded(name, out))
    }

    /// The key of the name in wire form, letters lower-cased, that
    /// `write` puts at the start of the buffer it is given (255 bytes),
    /// returning its length, or `write`'s error.
    pub(crate) fn build<E>(
        rtype: RecordType,
        write: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    ) -> Result<Key, E> {
        let mut bytes = [0; MAX_KEY];
        bytes[..2].copy_from_slice(&u16::from(rtype).to_be_bytes());
        let len = 2 + write(&mut bytes[2..])?.min(MAX_KEY - 2);
        Ok(Key { bytes, len })
    }

    /// The key of a name already in wire form, lower-cased (at most 255
    /// bytes: a longer one, impossible, is cut, which can only miss).
    pub(crate) fn from_wire(wire: &[u8], rtype: RecordType) -> Key {
        Key::filled(rtype, |out| {
            let len = wire.len().min(out.len());
            out[..len].copy_from_slice(&wire[..len]);
            len
        })
    }

    /// [`build`](Self::build) with a `write` that cannot fail.
    fn filled(rtype: RecordType, write: impl FnOnce(&mut [u8]) -> usize) -> Key {
        let key = Key::build(rtype, |out| Ok::<_, core::convert::Infallible>(write(out)));
        key.unwrap_or_else(|never| match never {})
    }

    /// The same name with another type: no need to fold its letters again.
    pub(crate) fn set_type(&mut self, rtype: RecordType) {
        self.bytes[..2].copy_from_slice(&u16::from(rtype).to_be_bytes());
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
                size_of::<SrvEntry>()
                    + set
                        .records
                        .iter()
                        .map(|r| size_of::<SrvRecord>() + name_heap(&r.target))
                        .sum::<usize>()
                    + set.additional.len() * size_of::<(u16, IpAddr)>()
                    + set.targets.heap_bytes()
            }
            Data::Addresses(ips) => ips.len() * size_of::<IpAddr>(),
            Data::Alias(name) => size_of::<Name>() + name_heap(name),
            Data::Absent(_) => 0,
            Data::Tlsa(records) => records
                .iter()
                .map(|r| size_of::<TLSA>() + r.cert_data.len())
                .sum(),
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
    slots: Slab,
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
            slots: Slab::default(),
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
        self.slots = Slab::default();
        self.hand = 0;
        self.bytes = 0;
    }

    fn find(&self, key: &[u8], hash: u64) -> Option<u32> {
        let slots = &self.slots;
        self.table
            .find(hash, |&i| slots.get(i).is_some_and(|e| &*e.key == key))
            .copied()
    }

    /// The fresh entry for `name`/`rtype`, if any. An expired one is
    /// dropped on the way, unless serve-stale keeps it for its window.
    pub(crate) fn get(&mut self, name: &Name, rtype: RecordType, now: Instant) -> Option<Hit<'_>> {
        let key = Key::new(name, rtype);
        let hash = self.hasher.hash_one(key.as_slice());
        let Some(i) = self.find(key.as_slice(), hash) else {
            self.counters.misses += 1;
            return None;
        };
        let expires = self.slots.get(i).map_or(Instant::ZERO, |e| e.expires);
        if expires <= now {
            if !self.keeps_stale(expires, now) {
                self.remove(i);
            }
            self.counters.misses += 1;
            return None;
        }
        self.note_hit(i);
        let entry = self.slots.get(i)?;
        Some(Hit {
            data: &entry.data,
            ttl: entry.ttl(now),
            hops: entry.hops,
            secure: entry.secure,
        })
    }

    /// The fresh entry for `key`, if any, with its slot, changing
    /// nothing: for a caller that uses it only if others are there too,
    /// and then says so with [`note_hit`](Self::note_hit).
    pub(crate) fn peek(&self, key: &Key, now: Instant) -> Option<(u32, Hit<'_>)> {
        let i = self.find(key.as_slice(), self.hasher.hash_one(key.as_slice()))?;
        let entry = self.slots.get(i).filter(|e| e.expires > now)?;
        let hit = Hit {
            data: &entry.data,
            ttl: entry.ttl(now),
            hops: entry.hops,
            secure: entry.secure,
        };
        Some((i, hit))
    }

    /// The data in slot `i`, as [`peek`](Self::peek) found it.
    pub(crate) fn slot_data(&self, i: u32) -> Option<&Data> {
        self.slots.get(i).map(|e| &e.data)
    }

    /// The entry in slot `i` was used: CLOCK spares it once, and it counts
    /// as a hit.
    pub(crate) fn note_hit(&mut self, i: u32) {
        let Some(entry) = self.slots.get_mut(i) else {
            return;
        };
        entry.referenced = true;
        match entry.data {
            Data::Absent(_) => self.counters.negative_hits += 1,
            _ => self.counters.hits += 1,
        }
    }

    /// Whether an entry that expired at `expires` is still kept at `now`
    /// for serve-stale (S31).
    fn keeps_stale(&self, expires: Instant, now: Instant) -> bool {
        self.config
            .serve_stale
            .as_ref()
            .is_some_and(|s| now < after(expires, s.keep))
    }

    /// With serve-stale (S31): the expired entry for `name`/`rtype` still
    /// in its window (its `ttl` is 0), and whether its refresh failed
    /// within `retry_after` (then ask no server yet, answer with it at
    /// once). Entries are kept only under the question they answer, so
    /// stale data, too, was got by asking for this name.
    pub(crate) fn stale(
        &mut self,
        name: &Name,
        rtype: RecordType,
        now: Instant,
    ) -> Option<(Hit<'_>, bool)> {
        let serve = self.config.serve_stale.clone()?;
        let key = Key::new(name, rtype);
        let hash = self.hasher.hash_one(key.as_slice());
        let i = self.find(key.as_slice(), hash)?;
        let entry = self.slots.get(i)?;
        if entry.expires > now || now >= after(entry.expires, serve.keep) {
            return None;
        }
        let failed = entry.refresh_failed != Instant::ZERO
            && now < after(entry.refresh_failed, serve.retry_after);
        // S35: expired data is never vouched for, whatever it once was.
        let hit = Hit {
            data: &entry.data,
            ttl: 0,
            hops: entry.hops,
            secure: false,
        };
        Some((hit, failed))
    }

    /// Counts an answer made of stale data (S31).
    pub(crate) fn served_stale(&mut self) {
        self.counters.stale += 1;
    }

    /// The refresh of `name`/`rtype` failed at `now`: its stale data is
    /// served without asking until `retry_after` has passed (S31).
    pub(crate) fn refresh_failed(&mut self, name: &Name, rtype: RecordType, now: Instant) {
        let key = Key::new(name, rtype);
        let hash = self.hasher.hash_one(key.as_slice());
        if let Some(entry) = self
            .find(key.as_slice(), hash)
            .and_then(|i| self.slots.get_mut(i))
        {
            entry.refresh_failed = now;
        }
    }

    /// Stores what a vetted answer teaches, under its question only (see
    /// the module documentation).
    pub(crate) fn store(&mut self, reply: &Reply, now: Instant) {
        let config = &self.config;
        // What a chain contributes lives no longer than its shortest link;
        // `None`: not stored (S26).
        let chain_ttl = reply.chain_ttl();
        let expires = |ttl: u32, negative: bool| {
            let (min, max) = match negative {
                false => (config.min_ttl, config.max_ttl),
                true => (
                    config.min_ttl.min(config.max_negative_ttl),
                    config.max_negative_ttl,
                ),
            };
            lifetime(ttl.min(chain_ttl), min, max).map(|ttl| after(now, ttl))
        };
        let stored = match &reply.found {
            Found::Records {
                records: Records::Srv(records),
                ttl,
                additional,
                additional_ttl,
            } => expires(*ttl, false).map(|records_expire| {
                // Only addresses of the set's own targets can ever be used
                // (S14); the rest are not kept. (A set past 65,536 records
                // keeps none: S27 caps them far lower.)
                let additional_expires = expires(*additional_ttl, false)
                    .map_or(now, |glue_expires| glue_expires.min(records_expire));
                let targets = FoldedNames::of(records.iter().map(|r| &r.target));
                let set = SrvEntry {
                    owner: reply.name.clone(),
                    records: records.clone().into_boxed_slice(),
                    additional: glue(&targets.iter().collect::<Vec<_>>(), additional)
                        .into_boxed_slice(),
                    additional_expires,
                    targets,
                };
                (Data::Srv(Box::new(set)), records_expire)
            }),
            Found::Records {
                records: Records::Addresses(ips),
                ttl,
                ..
            } => expires(*ttl, false).map(|e| (Data::Addresses(ips.clone().into()), e)),
            Found::Records {
                records: Records::Tlsa(tlsa),
                ttl,
                ..
            } => expires(*ttl, false).map(|e| (Data::Tlsa(tlsa.clone().into()), e)),
            Found::Alias => {
                expires(u32::MAX, false).map(|e| (Data::Alias(Box::new(reply.end().clone())), e))
            }
            Found::Absent {
                absence,
                ttl: Some(ttl),
            } => expires(*ttl, true).map(|e| (Data::Absent(*absence), e)),
            // No SOA, no negative entry; a loop, nothing at all.
            Found::Absent { ttl: None, .. } | Found::CnameLoop => None,
        };
        if let Some((data, expires)) = stored {
            let chain = (reply.hops(), reply.secure);
            self.insert(&reply.name, reply.rtype, data, chain, expires, now);
        }
    }

    fn insert(
        &mut self,
        name: &Name,
        rtype: RecordType,
        data: Data,
        (hops, secure): (u8, bool),
        expires: Instant,
        now: Instant,
    ) {
        let key = Key::new(name, rtype);
        let hash = self.hasher.hash_one(key.as_slice());
        let bytes = ENTRY_BYTES + key.len + data.heap_bytes();
        if let Some(i) = self.find(key.as_slice(), hash) {
            // A newer answer replaces the old one.
            self.remove(i);
        }
        let Ok(counted) = u32::try_from(bytes) else {
            return;
        };
        if bytes > self.config.max_bytes {
            return;
        }
        while self.len() >= self.config.max_entries || self.bytes + bytes > self.config.max_bytes {
            if !self.evict_one(now) {
                return;
            }
        }
        let entry = Entry {
            key: Box::from(key.as_slice()),
            hash,
            data,
            expires,
            refresh_failed: Instant::ZERO,
            bytes: counted,
            hops,
            referenced: false,
            secure,
        };
        let i = self.slots.put(entry);
        let slots = &self.slots;
        self.table
            .insert_unique(hash, i, |&j| slots.get(j).map_or(0, |e| e.hash));
        self.bytes += bytes;
        self.counters.insertions += 1;
    }

    fn remove(&mut self, i: u32) {
        let Some(entry) = self.slots.take(i) else {
            return;
        };
        if let Ok(found) = self.table.find_entry(entry.hash, |&j| j == i) {
            found.remove();
        }
        self.bytes -= entry.bytes as usize;
    }

    /// CLOCK: moves the hand to the first entry expired at `now` or not
    /// hit since the hand last passed, clearing the marks it passes, and
    /// drops it. Two sweeps at most; `false` when the cache is empty.
    fn evict_one(&mut self, now: Instant) -> bool {
        let slots = self.slots.capacity();
        if self.len() == 0 || slots == 0 {
            return false;
        }
        for _ in 0..2 * slots {
            self.hand = (self.hand + 1) % slots;
            let at = self.hand as u32;
            let Some(entry) = self.slots.get_mut(at) else {
                continue;
            };
            if entry.referenced && entry.expires > now {
                entry.referenced = false;
                continue;
            }
            self.remove(at);
            self.counters.evictions += 1;
            return true;
        }
        false
    }
}

/// Slots in each chunk of the slab.
const CHUNK: usize = 64;

/// What an entry counts against `max_bytes` besides its allocations: its
/// slot, its place in the free list, and its share of the hash table. The
/// table keeps a 4-byte index and a control byte per bucket; deletions
/// leave tombstones, and once they fill it a table over half full doubles
/// rather than clean up in place, so it may hold four buckets per entry,
/// and for a moment its old copy too: 40 bytes covers it (measured by
/// `tests/cache_memory.rs`).
const ENTRY_BYTES: usize = size_of::<Option<Entry>>() + size_of::<u32>() + 40;

/// The entries' slots, in chunks of [`CHUNK`]: growing never moves a slot
/// nor leaves more than one chunk unused, where a doubling vector would
/// leave up to as many empty slots as full ones.
#[derive(Default)]
struct Slab {
    chunks: Vec<Box<[Option<Entry>]>>,
    /// Empty slots, the lowest last.
    free: Vec<u32>,
}

impl Slab {
    fn capacity(&self) -> usize {
        self.chunks.len() * CHUNK
    }

    fn get(&self, i: u32) -> Option<&Entry> {
        let i = i as usize;
        self.chunks.get(i / CHUNK)?[i % CHUNK].as_ref()
    }

    fn get_mut(&mut self, i: u32) -> Option<&mut Entry> {
        let i = i as usize;
        self.chunks.get_mut(i / CHUNK)?[i % CHUNK].as_mut()
    }

    fn take(&mut self, i: u32) -> Option<Entry> {
        let at = i as usize;
        let entry = self.chunks.get_mut(at / CHUNK)?[at % CHUNK].take()?;
        self.free.push(i);
        Some(entry)
    }

    /// Puts `entry` in an empty slot, adding a chunk when none is left.
    fn put(&mut self, entry: Entry) -> u32 {
        let i = match self.free.pop() {
            Some(i) => i,
            None => {
                let first = self.capacity();
                self.chunks.push((0..CHUNK).map(|_| None).collect());
                // Entries are bounded (S27) far below 2^32 slots.
                self.free
                    .extend((first + 1..first + CHUNK).rev().map(|i| i as u32));
                first as u32
            }
        };
        let at = i as usize;
        self.chunks[at / CHUNK][at % CHUNK] = Some(entry);
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::message::Link;
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
            secure: false,
        }
    }

    fn cache() -> Cache {
        Cache::new(CacheConfig::default(), 7)
    }

    /// The targets' keys a hit reads are the ones an A/AAAA answer is
    /// filed under, whatever the case of either name; the root target
    /// (S11) and targets repeated keep their places.
    #[test]
    fn stored_target_keys_are_the_keys_of_their_names() {
        let targets = [
            "Mail.Example.COM.",
            ".",
            "b.example.com.",
            "mail.example.com.",
        ];
        let records: Vec<SrvRecord> = targets
            .iter()
            .map(|t| SrvRecord {
                priority: 0,
                weight: 0,
                port: 5222,
                target: name(t),
            })
            .collect();
        let set = SrvEntry {
            owner: name("_im._xmpp.example.com."),
            records: records.clone().into_boxed_slice(),
            additional: Box::new([]),
            additional_expires: Instant::ZERO,
            targets: FoldedNames::of(records.iter().map(|r| &r.target)),
        };
        let wires: Vec<&[u8]> = set.target_wires().collect();
        assert_eq!(wires.len(), targets.len());
        for (wire, target) in wires.iter().zip(targets) {
            for rtype in [RecordType::A, RecordType::AAAA] {
                let stored = Key::from_wire(wire, rtype);
                let made = Key::new(&name(&target.to_ascii_lowercase()), rtype);
                assert_eq!(stored.as_slice(), made.as_slice(), "{target}");
            }
        }
        assert_eq!(wires[0], wires[3], "one name, two cases: one key");
        assert!(wires[1].is_empty(), "the root has no labels");
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

    fn link(owner: &str, target: &str, ttl: u32) -> Link {
        Link {
            owner: name(owner),
            target: name(target),
            ttl,
        }
    }

    #[test]
    fn a_chain_is_kept_under_its_question_only_for_its_shortest_ttl() {
        let mut c = cache();
        let reply = Reply {
            name: name("a.example."),
            rtype: RecordType::A,
            chain: vec![
                link("a.example.", "b.example.", 300),
                link("b.example.", "c.example.", 20),
            ],
            found: Found::Absent {
                absence: Absence::NxDomain,
                ttl: Some(50),
            },
            secure: false,
        };
        c.store(&reply, at(0));
        let get = |c: &mut Cache, n| {
            c.get(&name(n), RecordType::A, at(0))
                .map(|h| (h.data.clone(), h.ttl, h.hops))
        };
        // The question's entry, as long as the shortest link, with its
        // two hops; nothing under the names the chain passed through.
        assert_eq!(
            get(&mut c, "a.example."),
            Some((Data::Absent(Absence::NxDomain), 20, 2))
        );
        assert!(get(&mut c, "b.example.").is_none());
        assert!(get(&mut c, "c.example.").is_none());
        assert_eq!(c.len(), 1);
        // Records at the end of a chain, likewise; a link of TTL 0 (or
        // with the top bit set, read as 0) stores nothing at all.
        let records = |ttl_of_link| Reply {
            name: name("x.example."),
            rtype: RecordType::A,
            chain: vec![link("x.example.", "victim.example.", ttl_of_link)],
            found: Found::Records {
                records: Records::Addresses(vec!["192.0.2.1".parse().unwrap()]),
                ttl: 3_600,
                additional: Vec::new(),
                additional_ttl: u32::MAX,
            },
            secure: false,
        };
        c.store(&records(0), at(0));
        assert!(get(&mut c, "x.example.").is_none());
        c.store(&records(10), at(0));
        assert_eq!(get(&mut c, "x.example.").map(|h| (h.1, h.2)), Some((10, 1)));
        assert!(get(&mut c, "victim.example.").is_none());
        // A chain that ends at a name the answer said nothing of: the
        // name to ask next.
        let alias = Reply {
            name: name("y.example."),
            rtype: RecordType::A,
            chain: vec![link("y.example.", "z.example.", 40)],
            found: Found::Alias,
            secure: false,
        };
        c.store(&alias, at(0));
        assert_eq!(
            get(&mut c, "y.example."),
            Some((Data::Alias(Box::new(name("z.example."))), 40, 1))
        );
        assert!(get(&mut c, "z.example.").is_none());
    }

    #[test]
    fn negatives_need_an_soa_and_are_capped() {
        let mut c = cache();
        let get = |c: &mut Cache, n| c.get(&name(n), RecordType::A, at(0)).map(|h| h.ttl);
        let no_soa = Reply {
            found: Found::Absent {
                absence: Absence::NoData,
                ttl: None,
            },
            chain: Vec::new(),
            name: name("d.example."),
            rtype: RecordType::A,
            secure: false,
        };
        c.store(&no_soa, at(0));
        assert!(get(&mut c, "d.example.").is_none());
        // Negative lifetimes are capped at max_negative_ttl (1 h).
        let long = Reply {
            found: Found::Absent {
                absence: Absence::NoData,
                ttl: Some(86_400),
            },
            ..no_soa
        };
        c.store(&long, at(0));
        assert_eq!(get(&mut c, "d.example."), Some(3_600));
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

    #[test]
    fn an_entry_keeps_its_status_and_stale_data_is_never_secure() {
        let config = CacheConfig {
            serve_stale: Some(crate::config::ServeStale::default()),
            ..CacheConfig::default()
        };
        let mut c = Cache::new(config, 7);
        let secure = Reply {
            secure: true,
            ..addresses("s.example.", 60)
        };
        c.store(&secure, at(0));
        c.store(&addresses("i.example.", 60), at(0));
        let status =
            |c: &mut Cache, n: &str| c.get(&name(n), RecordType::A, at(1)).map(|h| h.secure);
        assert_eq!(status(&mut c, "s.example."), Some(true));
        assert_eq!(status(&mut c, "i.example."), Some(false));
        // Expired: served stale, and then never as secure (S35).
        let (hit, _) = c.stale(&name("s.example."), RecordType::A, at(61)).unwrap();
        assert!(!hit.secure);
    }
}
