//! DNS over TCP (RFC 7766 §8, SPEC S22, S27): the two-byte length prefix,
//! and one connection's reassembly of answers from bytes that arrive in
//! any fragmentation.

use alloc::vec::Vec;

/// The two bytes in front of each message on a connection.
pub(crate) const PREFIX_LEN: usize = 2;

/// Writes the length prefix of `framed`, whose first [`PREFIX_LEN`] bytes
/// were left for it in front of the message. A query is far below 64 KiB.
pub(crate) fn write_prefix(framed: &mut [u8]) {
    let len = framed.len().saturating_sub(PREFIX_LEN);
    let len = u16::try_from(len).unwrap_or(u16::MAX);
    if let Some(prefix) = framed.get_mut(..PREFIX_LEN) {
        prefix.copy_from_slice(&len.to_be_bytes());
    }
}

/// A length prefix announced a message longer than allowed (S27).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooLong;

/// A TCP connection the machine wants open.
#[derive(Debug, Default)]
pub(crate) struct Connection {
    /// Bytes of the message being received, length prefix included; never
    /// more than one message (S27).
    buffer: Vec<u8>,
    /// Queries waiting for an answer on this connection.
    pub(crate) pending: usize,
}

impl Connection {
    /// Bytes held for a message not yet complete.
    pub(crate) fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Moves bytes from `input` up to the end of the current message and
    /// returns that message (without its prefix) once complete. `Ok(None)`
    /// means `input` is used up. A prefix over `max` is an error, and nothing
    /// after it is consumed.
    pub(crate) fn next_message(
        &mut self,
        input: &mut &[u8],
        max: usize,
    ) -> Result<Option<Vec<u8>>, TooLong> {
        while self.buffer.len() < 2 {
            let Some((&byte, rest)) = input.split_first() else {
                return Ok(None);
            };
            self.buffer.push(byte);
            *input = rest;
        }
        let len = usize::from(u16::from_be_bytes([self.buffer[0], self.buffer[1]]));
        if len > max {
            return Err(TooLong);
        }
        let want = 2 + len - self.buffer.len();
        let take = want.min(input.len());
        self.buffer.extend_from_slice(&input[..take]);
        *input = &input[take..];
        if self.buffer.len() < 2 + len {
            return Ok(None);
        }
        let message = self.buffer.split_off(2);
        self.buffer.clear();
        Ok(Some(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn frame_prefixes_the_length() {
        let mut framed = [0, 0, 7, 8, 9];
        write_prefix(&mut framed);
        assert_eq!(framed, [0, 3, 7, 8, 9]);
    }

    #[test]
    fn reassembly_across_any_fragmentation() {
        let stream: Vec<u8> = [&[0u8, 3, 1, 2, 3][..], &[0, 0], &[0, 1, 9]].concat();
        for cut in 0..=stream.len() {
            for cut2 in cut..=stream.len() {
                let mut connection = Connection::default();
                let mut out = Vec::new();
                for mut part in [&stream[..cut], &stream[cut..cut2], &stream[cut2..]] {
                    while !part.is_empty() {
                        if let Some(m) = connection.next_message(&mut part, 100).unwrap() {
                            out.push(m);
                        }
                    }
                }
                assert_eq!(out, [vec![1, 2, 3], vec![], vec![9]]);
                assert_eq!(connection.buffered(), 0);
            }
        }
    }

    #[test]
    fn never_buffers_past_the_cap() {
        let mut connection = Connection::default();
        let mut input: &[u8] = &[0x10, 0x00, 1, 2, 3];
        assert_eq!(connection.next_message(&mut input, 100), Err(TooLong));
        assert_eq!(connection.buffered(), 2);
        assert_eq!(input.len(), 3, "nothing consumed past an oversized prefix");
    }
}
