//! Hash tables for the machine's small lookup tables keyed by its own ids
//! (wire ids, recently ended ids, connections, sockets, refreshes): only
//! looked up, inserted and removed by key, never walked in order. Each
//! B-tree type is a few KiB of code a device pays for in flash
//! (BENCHMARKS.md §7); a hash table per type is less, and O(1).
//!
//! The tables whose entries are large and many (questions, the coalescing
//! index, resolutions) stay B-trees: a hash table's power-of-two buckets
//! left up to half their room empty at 1,000 and 30,000 in flight, 10–17%
//! more heap per resolution, where the B-tree's nodes keep it under 1 KiB
//! (BENCHMARKS.md §3).
//!
//! The keys are made by the machine, not chosen by anyone sending packets,
//! so a fixed hash seed is safe here; the cache, whose keys are names from
//! the network, keys its table with a secret.

use foldhash::fast::FixedState;

/// A hash table keyed by the machine's own ids.
pub(crate) type Map<K, V> = hashbrown::HashMap<K, V, FixedState>;

/// An empty [`Map`].
pub(crate) fn map<K, V>() -> Map<K, V> {
    Map::with_hasher(FixedState::with_seed(0))
}
