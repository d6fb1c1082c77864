//! Several datagrams a system call (issue 24): on Linux `recvmmsg` reads
//! every answer waiting on a socket at once and `sendmmsg` sends every
//! query leaving one together, through `nix` (no `unsafe` here); other
//! platforms make one `recv_from`/`send` a datagram behind the same
//! calls. A socket carries at most `Config::queries_per_socket` (16)
//! queries (S28), so a batch of 16 holds everything one can have waiting.
//! Each socket carries queries to one server (S28) and is connected to
//! it ([`open_udp`]): datagrams leave without an address, and the kernel
//! drops any from another sender before they are read.

use std::io;
use std::net::SocketAddr;

use mio::net::UdpSocket;

/// Datagrams a call moves at most.
pub const BATCH: usize = 16;

/// The smallest room kept for one datagram: more than the 1232 bytes EDNS
/// offers by default (`Config::edns_payload`), for servers that send a
/// little more than they were offered.
const DATAGRAM: usize = 4096;

/// Buffers for batched reads, kept from call to call. The message headers
/// are made afresh for every call: nix's `sendmmsg` leaves them pointing at
/// its own arguments, and the kernel shrinks each address length a read
/// fills in (to 16 for IPv4, too short for the next IPv6 sender), and nix
/// offers no way to reset either.
pub struct UdpBatch {
    /// [`BATCH`] buffers of `size` bytes, end to end.
    buffers: Vec<u8>,
    size: usize,
}

impl Default for UdpBatch {
    fn default() -> Self {
        UdpBatch::new()
    }
}

impl std::fmt::Debug for UdpBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UdpBatch")
    }
}

impl UdpBatch {
    /// Room for [`BATCH`] datagrams of 4,096 bytes: enough for the
    /// default EDNS payload; [`with_payload`](Self::with_payload) for more.
    pub fn new() -> UdpBatch {
        UdpBatch::with_payload(0)
    }

    /// Room for [`BATCH`] datagrams of `payload` bytes (at least 4,096):
    /// pass `Config::edns_payload`, the most a server may send. A longer
    /// datagram is cut short, which the machine drops as malformed.
    pub fn with_payload(payload: u16) -> UdpBatch {
        let size = usize::from(payload).max(DATAGRAM);
        UdpBatch {
            buffers: vec![0; size * BATCH],
            size,
        }
    }

    /// Reads what is waiting on `socket`, at most [`BATCH`] datagrams, in
    /// one system call on Linux, handing each to `each` with its sender.
    /// Returns how many were read: fewer than `BATCH` means the socket was
    /// empty when read (no further call needed to learn it would block);
    /// `Err` with `WouldBlock` means nothing was waiting.
    pub fn recv(
        &mut self,
        socket: &UdpSocket,
        each: impl FnMut(SocketAddr, &[u8]),
    ) -> io::Result<usize> {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            self.recv_fd(socket.as_raw_fd(), each)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let mut each = each;
            let mut count = 0;
            while count < BATCH {
                let buffer = &mut self.buffers[..self.size];
                match socket.recv_from(buffer) {
                    Ok((len, from)) => each(from, &buffer[..len]),
                    Err(e) if count > 0 && e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e),
                }
                count += 1;
            }
            Ok(count)
        }
    }

    /// [`recv`](Self::recv) on any UDP socket's descriptor (the tokio
    /// driver's): one `recvmmsg`.
    #[cfg(target_os = "linux")]
    pub(crate) fn recv_fd(
        &mut self,
        fd: std::os::fd::RawFd,
        mut each: impl FnMut(SocketAddr, &[u8]),
    ) -> io::Result<usize> {
        {
            use nix::sys::socket::{MsgFlags, MultiHeaders, SockaddrStorage, recvmmsg};
            use std::io::IoSliceMut;
            let mut got = [(0usize, None::<SocketAddr>); BATCH];
            let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(BATCH, None);
            let count = {
                let mut slices: Vec<[IoSliceMut<'_>; 1]> = self
                    .buffers
                    .chunks_mut(self.size)
                    .map(|b| [IoSliceMut::new(b)])
                    .collect();
                let results = recvmmsg(
                    fd,
                    &mut headers,
                    slices.iter_mut(),
                    MsgFlags::MSG_DONTWAIT,
                    None,
                )
                .map_err(io::Error::from)?;
                let mut count = 0;
                for (slot, message) in got.iter_mut().zip(results) {
                    *slot = (message.bytes, message.address.and_then(socket_addr));
                    count += 1;
                }
                count
            };
            for (buffer, (len, from)) in self.buffers.chunks(self.size).zip(&got[..count]) {
                if let Some(from) = from {
                    each(*from, &buffer[..(*len).min(self.size)]);
                }
            }
            Ok(count)
        }
    }

    /// Sends `datagrams` from `socket`, connected to their server by
    /// [`open_udp`], [`BATCH`] a system call on Linux, going on past any
    /// that fails: `failed` hears of each such, by its index, with the
    /// error (a full send buffer included, or an ICMP error an earlier
    /// datagram raised).
    pub fn send(
        &mut self,
        socket: &UdpSocket,
        datagrams: &[&[u8]],
        mut failed: impl FnMut(usize, io::Error),
    ) {
        let mut at = 0;
        while at < datagrams.len() {
            let chunk = &datagrams[at..datagrams.len().min(at + BATCH)];
            match self.send_some(socket, chunk) {
                // `sendmmsg` stops at the first datagram it cannot send
                // and says so only when it is the first: ask again from it.
                Ok(0) => at += 1,
                Ok(sent) => at += sent,
                Err(e) => {
                    failed(at, e);
                    at += 1;
                }
            }
        }
    }

    /// One call: how many of `chunk` (at most [`BATCH`]) left, in order.
    fn send_some(&mut self, socket: &UdpSocket, chunk: &[&[u8]]) -> io::Result<usize> {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            self.send_fd(socket.as_raw_fd(), chunk)
        }
        #[cfg(not(target_os = "linux"))]
        {
            socket.send(chunk[0]).map(|_| 1)
        }
    }

    /// One `sendmmsg` of `chunk` (at most [`BATCH`]) on any connected UDP
    /// socket's descriptor: how many left, in order.
    #[cfg(target_os = "linux")]
    pub(crate) fn send_fd(&mut self, fd: std::os::fd::RawFd, chunk: &[&[u8]]) -> io::Result<usize> {
        {
            use nix::sys::socket::{ControlMessage, MsgFlags, MultiHeaders, sendmmsg};
            use std::io::IoSlice;
            let chunk = &chunk[..chunk.len().min(BATCH)];
            let slices: Vec<[IoSlice<'_>; 1]> = chunk
                .iter()
                .map(|payload| [IoSlice::new(payload)])
                .collect();
            // Connected: no address goes with a datagram, so the kernel
            // uses the route it found when connecting.
            let to = [None::<()>; BATCH];
            let none: [ControlMessage<'_>; 0] = [];
            let mut headers = MultiHeaders::<()>::preallocate(chunk.len(), None);
            let results = sendmmsg(
                fd,
                &mut headers,
                &slices,
                &to[..chunk.len()],
                none,
                MsgFlags::MSG_DONTWAIT,
            )
            .map_err(io::Error::from)?;
            Ok(results.count())
        }
    }
}

/// A non-blocking UDP socket connected to `server`, for the queries the
/// machine sends it (S28: a socket carries queries to one server only).
/// Connecting binds it to a port the kernel picks, as `bind` to port 0
/// would; after that the kernel drops datagrams from any other sender
/// before they are read, and each send reuses the route found here. An
/// ICMP error from the server (its port closed) then comes back as the
/// error of a later send or read on the socket: the drivers count it as a
/// lost datagram.
///
/// A server on port 0 is an error here (`InvalidInput`), as a datagram
/// sent to it is: a socket connected to it would send into nothing and
/// the query would wait out its timeout instead of moving on at once.
pub fn open_udp(server: SocketAddr) -> io::Result<std::net::UdpSocket> {
    if server.port() == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a DNS server on port 0: nothing can be sent to it",
        ));
    }
    #[cfg(target_os = "linux")]
    {
        use nix::sys::socket::{
            AddressFamily, SockFlag, SockType, SockaddrStorage, connect, socket,
        };
        use std::os::fd::AsRawFd;
        let family = match server {
            SocketAddr::V4(_) => AddressFamily::Inet,
            SocketAddr::V6(_) => AddressFamily::Inet6,
        };
        let flags = SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC;
        let fd = socket(family, SockType::Datagram, flags, None).map_err(io::Error::from)?;
        connect(fd.as_raw_fd(), &SockaddrStorage::from(server)).map_err(io::Error::from)?;
        Ok(std::net::UdpSocket::from(fd))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let local = match server {
            SocketAddr::V4(_) => SocketAddr::from(([0, 0, 0, 0], 0)),
            SocketAddr::V6(_) => SocketAddr::from(([0u16; 8], 0)),
        };
        let socket = std::net::UdpSocket::bind(local)?;
        socket.connect(server)?;
        socket.set_nonblocking(true)?;
        Ok(socket)
    }
}

#[cfg(target_os = "linux")]
fn socket_addr(address: nix::sys::socket::SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = address.as_sockaddr_in() {
        return Some(SocketAddr::from(*v4));
    }
    address.as_sockaddr_in6().map(|v6| SocketAddr::from(*v6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_datagram_waiting_is_read_with_its_sender_and_bytes() {
        let receiver = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let to = receiver.local_addr().unwrap();
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let from = sender.local_addr().unwrap();
        for i in 0..20u8 {
            sender.send_to(&[i; 3], to).unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        let mut batch = UdpBatch::new();
        let mut got = Vec::new();
        let n = batch
            .recv(&receiver, |addr, bytes| got.push((addr, bytes.to_vec())))
            .unwrap();
        assert_eq!(n, BATCH);
        let n = batch
            .recv(&receiver, |addr, bytes| got.push((addr, bytes.to_vec())))
            .unwrap();
        assert_eq!(n, 4, "a short batch: the socket is empty");
        let expected: Vec<_> = (0..20u8).map(|i| (from, vec![i; 3])).collect();
        assert_eq!(got, expected);
        let err = batch.recv(&receiver, |_, _| {}).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    }
}

#[cfg(test)]
mod sending_tests {
    use super::*;

    /// Found the hard way: a read after a send through the same headers
    /// lost every sender.
    #[test]
    fn a_batch_that_sent_still_reads_senders() {
        let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = server.local_addr().unwrap();
        let client = UdpSocket::from_std(open_udp(to).unwrap());
        let mut batch = UdpBatch::new();
        batch.send(&client, &[b"abc", b"de"], |i, e| panic!("{i} {e}"));
        let mut buf = [0; 10];
        let (n, from) = server.recv_from(&mut buf).unwrap();
        server.send_to(&buf[..n], from).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        let mut got = Vec::new();
        let read = batch.recv(&client, |addr, bytes| got.push((addr, bytes.to_vec())));
        assert_eq!(read.unwrap(), 1);
        assert_eq!(got, [(to, b"abc".to_vec())]);
        // Both datagrams left, in one call, in order.
        let (n, _) = server.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"de");
    }
}

#[cfg(test)]
mod family_tests {
    use super::*;

    /// A read from an IPv4 socket must not leave the next read from an
    /// IPv6 one with room for an IPv4 sender only.
    #[test]
    fn one_batch_reads_ipv4_then_ipv6_senders_whole() {
        let mut batch = UdpBatch::new();
        for local in ["127.0.0.1:0", "[::1]:0", "127.0.0.1:0", "[::1]:0"] {
            let Ok(sender) = std::net::UdpSocket::bind(local) else {
                continue; // no IPv6 on this machine
            };
            let receiver = UdpSocket::bind(local.parse().unwrap()).unwrap();
            sender
                .send_to(b"x", receiver.local_addr().unwrap())
                .unwrap();
            std::thread::sleep(std::time::Duration::from_millis(20));
            let mut from = Vec::new();
            assert_eq!(batch.recv(&receiver, |addr, _| from.push(addr)).unwrap(), 1);
            assert_eq!(from, [sender.local_addr().unwrap()], "{local}");
        }
    }
}

#[cfg(test)]
mod size_tests {
    use super::*;

    /// A server may send as much as the EDNS payload offered: the batch
    /// made for it reads it whole; the default one cuts it short.
    #[test]
    fn a_datagram_as_large_as_the_payload_offered_is_read_whole() {
        let receiver = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let to = receiver.local_addr().unwrap();
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let large = vec![7u8; 9_000];
        let mut lengths = Vec::new();
        for mut batch in [UdpBatch::with_payload(9_000), UdpBatch::new()] {
            sender.send_to(&large, to).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(20));
            batch
                .recv(&receiver, |_, bytes| lengths.push(bytes.len()))
                .unwrap();
        }
        assert_eq!(lengths, [9_000, DATAGRAM]);
    }
}

#[cfg(test)]
mod connected_tests {
    use super::*;

    /// A socket connected to its server reads nothing another sender
    /// sends it, even to its port: the kernel drops it (S28).
    #[test]
    fn a_socket_reads_only_its_server() {
        let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let forger = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let client = UdpSocket::from_std(open_udp(server.local_addr().unwrap()).unwrap());
        let port = client.local_addr().unwrap();
        forger.send_to(b"forged", port).unwrap();
        server.send_to(b"answer", port).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        let mut got = Vec::new();
        let read = UdpBatch::new()
            .recv(&client, |from, bytes| got.push((from, bytes.to_vec())))
            .unwrap();
        assert_eq!(read, 1);
        assert_eq!(got, [(server.local_addr().unwrap(), b"answer".to_vec())]);
    }

    /// Port 0 is refused when the socket is opened, as a datagram sent
    /// there would be, so the driver moves on to the next server at once.
    #[test]
    fn a_server_on_port_0_is_refused() {
        let err = open_udp(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
