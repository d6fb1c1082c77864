//! Which local UDP socket each query leaves from (SPEC S28).
//!
//! An off-path attacker who wants a forged answer accepted must guess the
//! query's id and the local port it left from (RFC 5452 §4.5, §9.2). A
//! driver that sends everything from one socket leaves only the id. So the
//! machine hands out sockets by id: each one carries at most
//! `Config::queries_per_socket` queries, then a new one takes over, and the
//! old one is closed once no query waits on it. The driver opens a socket
//! (on a port the OS picks) the first time an id appears in a `Transmit`,
//! and says which socket each datagram arrived on; an answer on any other
//! socket than its query's is dropped. Bounding the queries per socket also
//! bounds the answers that can queue on it, so one socket's receive buffer
//! never has to hold the answers to everything in flight (S27).

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use crate::map::{Map, map};

/// A local UDP socket, as the machine names it (S28). The driver opens
/// one, unbound to any fixed port, the first time an id appears in a
/// [`Transmit`](crate::Transmit), and closes it when
/// [`Resolver::poll_close_socket`](crate::Resolver::poll_close_socket)
/// returns it. Ids count up, wrapping after 2^32 sockets, and skip any
/// still open: an id is never given to two open sockets. One id only ever
/// carries queries to one server, that of the first
/// [`Transmit`](crate::Transmit) that names it, so the driver may connect
/// the socket to that server: the kernel then drops datagrams from any
/// other address before they are read, and finds the route once, not for
/// every datagram sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct SocketId(pub(crate) u32);

impl SocketId {
    /// Its value as a number, for a driver that keys its own tables by it
    /// (a poll token, say). Ids are only ever made by the machine.
    pub const fn raw(self) -> u32 {
        self.0
    }

    /// The id with this value: for tests and fuzzing only (feature
    /// `arbitrary`, which makes arbitrary ids anyway).
    #[cfg(feature = "arbitrary")]
    pub const fn from_raw(raw: u32) -> SocketId {
        SocketId(raw)
    }
}

#[derive(Debug, Clone, Copy)]
struct Use {
    /// Queries sent from it so far.
    carried: u32,
    /// Of those, queries still waiting for an answer.
    pending: u32,
}

/// The sockets in use and the one new queries to each server leave from.
#[derive(Debug)]
pub(crate) struct Sockets {
    per_socket: u32,
    /// The socket taking new queries, by server (their index in
    /// `Config::servers`, at most `MAX_SERVERS`).
    current: Vec<Option<SocketId>>,
    open: Map<SocketId, Use>,
    next: u32,
    closes: VecDeque<SocketId>,
}

impl Sockets {
    pub(crate) fn new(per_socket: u32, servers: usize) -> Self {
        Sockets {
            per_socket: per_socket.max(1),
            current: alloc::vec![None; servers],
            open: map(),
            next: 0,
            closes: VecDeque::new(),
        }
    }

    /// The socket a new query to `server` (its index in
    /// `Config::servers`) leaves from.
    pub(crate) fn assign(&mut self, server: usize) -> SocketId {
        if server >= self.current.len() {
            self.current.resize(server + 1, None);
        }
        let slot = &mut self.current[server];
        let id = match *slot {
            Some(id) => id,
            None => {
                while self.open.contains_key(&SocketId(self.next)) {
                    self.next = self.next.wrapping_add(1);
                }
                let id = SocketId(self.next);
                self.next = self.next.wrapping_add(1);
                self.open.insert(
                    id,
                    Use {
                        carried: 0,
                        pending: 0,
                    },
                );
                *slot = Some(id);
                id
            }
        };
        let full = match self.open.get_mut(&id) {
            Some(use_) => {
                use_.carried = use_.carried.saturating_add(1);
                use_.pending += 1;
                use_.carried >= self.per_socket
            }
            None => false,
        };
        if full {
            // Full: the next query opens a new socket; this one closes when
            // its last query ends.
            *slot = None;
        }
        id
    }

    /// A query from `id` ended (answered, replaced or forgotten).
    pub(crate) fn release(&mut self, id: SocketId) {
        let Some(use_) = self.open.get_mut(&id) else {
            return;
        };
        use_.pending = use_.pending.saturating_sub(1);
        if use_.pending == 0 && !self.current.contains(&Some(id)) {
            self.open.remove(&id);
            self.closes.push_back(id);
        }
    }

    /// Nothing is in flight: every open socket is to be closed, and the
    /// next query opens a new one.
    pub(crate) fn close_all(&mut self) {
        self.current.fill(None);
        // Oldest first, as they were opened.
        let mut open: Vec<SocketId> = self.open.drain().map(|(id, _)| id).collect();
        open.sort_unstable();
        self.closes.extend(open);
    }

    pub(crate) fn poll_close(&mut self) -> Option<SocketId> {
        self.closes.pop_front()
    }

    /// Sockets the driver should have open now.
    pub(crate) fn open(&self) -> usize {
        self.open.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_carries_at_most_its_share_then_closes_when_idle() {
        let mut sockets = Sockets::new(2, 2);
        let a = sockets.assign(0);
        assert_eq!(sockets.assign(0), a);
        let b = sockets.assign(0);
        assert_ne!(a, b, "a full socket takes no more queries");
        // Another server gets a socket of its own.
        let other = sockets.assign(1);
        assert!(other != a && other != b);
        sockets.release(a);
        assert_eq!(sockets.poll_close(), None, "one query still waits on it");
        sockets.release(a);
        assert_eq!(sockets.poll_close(), Some(a));
        // The current socket stays open while idle.
        sockets.release(b);
        assert_eq!(sockets.poll_close(), None);
        assert_eq!(sockets.open(), 2);
    }
}
