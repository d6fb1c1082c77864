//! `im:` and `pres:` URIs (RFC 3860 §A.2, RFC 3859 §A.2): SPEC S1–S5.
//!
//! The `to` part is percent-decoded first and then parsed as one RFC 2822
//! `mailbox`, so a quoted local part may hold an `@` and a display name may
//! wrap the address in angle brackets. Every error names the byte offset in
//! the original URI where the problem starts.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode, utf8_percent_encode};

/// The longest label a DNS name may have (RFC 1035 §2.3.4).
const MAX_LABEL: usize = 63;
/// The longest DNS name in wire form (RFC 1035 §2.3.4).
const MAX_NAME: usize = 255;
/// The shortest prefix any query name of a URI has: `_im.` and a protocol
/// label of two octets (`_x.`). A domain too long even for it is rejected
/// here (S4); the name built with the protocols actually asked is checked
/// again when a resolution starts.
const SHORTEST_PREFIX: usize = "_im._x.".len();

/// S4's one hyphen rule for the labels of a domain, wherever a domain is
/// taken in: a hyphen may not begin or end a label (RFC 952 and RFC 1123
/// §2.1 host names, which is what a domain with SRV targets and addresses
/// is; RFC 2181 §11 would allow any octet, but no registry does). The
/// offset in `label` of the hyphen at fault, if any.
pub(crate) fn hyphen_at_edge(label: &[u8]) -> Option<usize> {
    match (label.first(), label.last()) {
        (Some(b'-'), _) => Some(0),
        (_, Some(b'-')) => Some(label.len() - 1),
        _ => None,
    }
}

/// Which registry a URI belongs to: instant messaging or presence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Scheme {
    /// `im:` (RFC 3860), looked up under `_im.<protocol>.<domain>`.
    Im,
    /// `pres:` (RFC 3859), looked up under `_pres.<protocol>.<domain>`.
    Pres,
}

impl Scheme {
    /// The scheme word as written in a URI, lower case.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Im => "im",
            Scheme::Pres => "pres",
        }
    }

    /// The service label that starts the SRV owner name (`_im` or `_pres`).
    pub fn service_label(self) -> &'static str {
        match self {
            Scheme::Im => "_im",
            Scheme::Pres => "_pres",
        }
    }
}

/// One RFC 2822 mailbox: who the URI addresses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Mailbox {
    /// The display name of `Name <addr>`, unquoted; `None` for a bare address.
    pub display_name: Option<String>,
    /// The local part, unquoted and case-preserved (S2). It is opaque to DNS.
    pub local_part: String,
    /// The domain as written (S2: compare it case-insensitively).
    pub domain: String,
}

/// A parsed `im:` or `pres:` URI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Uri {
    /// `im` or `pres`.
    pub scheme: Scheme,
    /// The addressed mailbox; `None` for a URI such as `im:` (S4: it parses,
    /// but there is nothing to resolve).
    pub to: Option<Mailbox>,
    /// Decoded `name=value` headers in URI order (S3). They do not affect
    /// resolution.
    pub headers: Vec<(String, String)>,
}

/// What is wrong with a URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UriErrorKind {
    /// The URI does not start with `im:` or `pres:`.
    UnknownScheme,
    /// A character that may not appear raw in a URI (space, `#`, `[`, `]`,
    /// `"`, `<`, `>`, a control or non-ASCII byte).
    ForbiddenCharacter,
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// A percent-escape decodes to a byte above 0x7F (RFC 2368 forbids 8-bit data).
    NonAscii,
    /// The `to` part is not an RFC 2822 mailbox.
    BadMailbox,
    /// A second mailbox follows the first (`a@x,b@y`); only one is allowed.
    MultipleMailboxes,
    /// The domain is a literal such as `[192.0.2.1]`, not a DNS name
    /// (RFC 3861 §4 MUST).
    DomainLiteral,
    /// A character that cannot appear in a DNS host name.
    BadDomainCharacter,
    /// An empty label (`example..com` or a leading dot).
    EmptyLabel,
    /// The domain ends with a dot; the URI form is always absolute without it.
    TrailingDot,
    /// The last label is all digits (`fred@192.0.2.1`): an address, not a name.
    NumericTopLabel,
    /// A label longer than 63 octets.
    LabelTooLong,
    /// A label of the domain begins or ends with a hyphen (S4).
    HyphenAtLabelEdge,
    /// The SRV query name would exceed 255 octets, whatever the protocol.
    NameTooLong,
    /// `?` with no header after it, or a header without `=`.
    BadHeader,
    /// A header decodes to bytes that are not UTF-8.
    HeaderNotUtf8,
}

impl UriErrorKind {
    fn describe(self) -> &'static str {
        match self {
            UriErrorKind::UnknownScheme => "scheme is not im: or pres:",
            UriErrorKind::ForbiddenCharacter => "character not allowed in a URI",
            UriErrorKind::BadEscape => "'%' not followed by two hex digits",
            UriErrorKind::NonAscii => "8-bit data in the address",
            UriErrorKind::BadMailbox => "not an RFC 2822 mailbox",
            UriErrorKind::MultipleMailboxes => "more than one mailbox",
            UriErrorKind::DomainLiteral => "domain literal instead of a domain name",
            UriErrorKind::BadDomainCharacter => "character not allowed in a domain name",
            UriErrorKind::EmptyLabel => "empty label in the domain",
            UriErrorKind::TrailingDot => "trailing dot in the domain",
            UriErrorKind::NumericTopLabel => "numeric top-level label (an address, not a name)",
            UriErrorKind::LabelTooLong => "domain label longer than 63 octets",
            UriErrorKind::HyphenAtLabelEdge => "domain label begins or ends with '-'",
            UriErrorKind::NameTooLong => "query name longer than 255 octets",
            UriErrorKind::BadHeader => "header is not name=value",
            UriErrorKind::HeaderNotUtf8 => "header is not UTF-8",
        }
    }
}

/// A URI that could not be parsed, with the byte offset of the problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UriError {
    /// What is wrong.
    pub kind: UriErrorKind,
    /// Byte offset into the URI string where the problem starts.
    pub offset: usize,
}

impl fmt::Display for UriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.kind.describe(), self.offset)
    }
}

impl core::error::Error for UriError {}

impl core::str::FromStr for Uri {
    type Err = UriError;

    fn from_str(s: &str) -> Result<Self, UriError> {
        Uri::parse(s)
    }
}

impl Uri {
    /// Parses an `im:` or `pres:` URI (S1–S4).
    pub fn parse(input: &str) -> Result<Uri, UriError> {
        let colon = input.find(':').ok_or(UriError {
            kind: UriErrorKind::UnknownScheme,
            offset: 0,
        })?;
        let scheme = match &input[..colon] {
            s if s.eq_ignore_ascii_case("im") => Scheme::Im,
            s if s.eq_ignore_ascii_case("pres") => Scheme::Pres,
            _ => {
                return Err(UriError {
                    kind: UriErrorKind::UnknownScheme,
                    offset: 0,
                });
            }
        };
        let body_start = colon + 1;
        check_uric(input, body_start)?;

        // S1: split at the first `?`.
        let body = &input[body_start..];
        let (to_raw, headers_raw) = match body.find('?') {
            Some(q) => (&body[..q], Some((&body[q + 1..], body_start + q + 1))),
            None => (body, None),
        };

        let to = if to_raw.is_empty() {
            None
        } else {
            let decoded = Decoded::new(to_raw, body_start)?;
            Some(MailboxParser::new(&decoded).parse()?)
        };

        let headers = match headers_raw {
            None => Vec::new(),
            Some((raw, offset)) => parse_headers(raw, offset)?,
        };

        Ok(Uri {
            scheme,
            to,
            headers,
        })
    }

    /// The domain to resolve, or `None` for a URI without a destination.
    pub fn domain(&self) -> Option<&str> {
        self.to.as_ref().map(|m| m.domain.as_str())
    }
}

/// Checks that every raw character is an RFC 2396 `uric` (S4): reserved,
/// unreserved or a well-formed escape.
fn check_uric(input: &str, start: usize) -> Result<(), UriError> {
    let bytes = input.as_bytes();
    let mut i = start;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let ok = bytes.len() >= i + 3
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit();
            if !ok {
                return Err(UriError {
                    kind: UriErrorKind::BadEscape,
                    offset: i,
                });
            }
            i += 3;
            continue;
        }
        let allowed = b.is_ascii_alphanumeric() || b";/?:@&=+$,-_.!~*'()".contains(&b);
        if !allowed {
            return Err(UriError {
                kind: UriErrorKind::ForbiddenCharacter,
                offset: i,
            });
        }
        i += 1;
    }
    Ok(())
}

/// The percent-decoded `to` part, with the raw offset of every decoded byte so
/// that errors point into the URI the caller wrote.
struct Decoded {
    bytes: Vec<u8>,
    offsets: Vec<usize>,
    end_offset: usize,
}

impl Decoded {
    fn new(raw: &str, base: usize) -> Result<Decoded, UriError> {
        let bytes: Vec<u8> = percent_decode(raw.as_bytes()).collect();
        let mut offsets = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < raw.len() {
            offsets.push(base + i);
            i += if raw.as_bytes()[i] == b'%' { 3 } else { 1 };
        }
        debug_assert_eq!(offsets.len(), bytes.len());
        if let Some(pos) = bytes.iter().position(|b| !b.is_ascii()) {
            return Err(UriError {
                kind: UriErrorKind::NonAscii,
                offset: offsets[pos],
            });
        }
        Ok(Decoded {
            bytes,
            offsets,
            end_offset: base + raw.len(),
        })
    }

    fn offset(&self, pos: usize) -> usize {
        self.offsets.get(pos).copied().unwrap_or(self.end_offset)
    }
}

/// RFC 2822 `atext`.
fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b)
}

/// RFC 2822 `qtext` (printable ASCII except `"` and `\`).
fn is_qtext(b: u8) -> bool {
    (33..=126).contains(&b) && b != b'"' && b != b'\\'
}

/// A recursive-descent parser for one RFC 2822 `mailbox` over decoded bytes.
struct MailboxParser<'a> {
    input: &'a Decoded,
    pos: usize,
}

impl<'a> MailboxParser<'a> {
    fn new(input: &'a Decoded) -> Self {
        MailboxParser { input, pos: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.input.bytes.get(self.pos).copied()
    }

    fn error(&self, kind: UriErrorKind) -> UriError {
        UriError {
            kind,
            offset: self.input.offset(self.pos),
        }
    }

    fn error_at(&self, kind: UriErrorKind, pos: usize) -> UriError {
        UriError {
            kind,
            offset: self.input.offset(pos),
        }
    }

    fn parse(mut self) -> Result<Mailbox, UriError> {
        self.skip_cfws()?;
        // Either `addr-spec` or `[display-name] "<" addr-spec ">"`. Read words
        // until we see `@` (addr-spec) or `<` (name-addr).
        let start = self.pos;
        let mut words: Vec<String> = Vec::new();
        let mailbox = loop {
            match self.peek() {
                Some(b'<') => {
                    self.pos += 1;
                    let (local_part, domain) = self.addr_spec()?;
                    if self.peek() != Some(b'>') {
                        return Err(self.error(UriErrorKind::BadMailbox));
                    }
                    self.pos += 1;
                    let display_name = if words.is_empty() {
                        None
                    } else {
                        Some(words.join(" "))
                    };
                    break Mailbox {
                        display_name,
                        local_part,
                        domain,
                    };
                }
                Some(b'@') if words.len() == 1 => {
                    // A lone word followed by `@`: this was an addr-spec.
                    self.pos = start;
                    let (local_part, domain) = self.addr_spec()?;
                    break Mailbox {
                        display_name: None,
                        local_part,
                        domain,
                    };
                }
                Some(b'"') => {
                    words.push(self.quoted_string()?);
                    self.skip_cfws()?;
                }
                Some(b) if is_atext(b) || b == b'.' => {
                    // `.` is tolerated in display names (obs-phrase) and is part
                    // of a dot-atom local part.
                    let s = self.pos;
                    while matches!(self.peek(), Some(b) if is_atext(b) || b == b'.') {
                        self.pos += 1;
                    }
                    words.push(self.text(s, self.pos));
                    self.skip_cfws()?;
                }
                _ => return Err(self.error(UriErrorKind::BadMailbox)),
            }
        };
        self.skip_cfws()?;
        match self.peek() {
            None => Ok(mailbox),
            Some(b',') => Err(self.error(UriErrorKind::MultipleMailboxes)),
            Some(_) => Err(self.error(UriErrorKind::BadMailbox)),
        }
    }

    fn text(&self, from: usize, to: usize) -> String {
        // The input was checked to be ASCII, so this cannot fail.
        String::from_utf8_lossy(&self.input.bytes[from..to]).into_owned()
    }

    /// `local-part "@" domain`, with CFWS allowed around each part.
    fn addr_spec(&mut self) -> Result<(String, String), UriError> {
        self.skip_cfws()?;
        let local = match self.peek() {
            Some(b'"') => self.quoted_string()?,
            _ => self.dot_atom()?,
        };
        self.skip_cfws()?;
        if self.peek() != Some(b'@') {
            return Err(self.error(UriErrorKind::BadMailbox));
        }
        self.pos += 1;
        self.skip_cfws()?;
        if self.peek() == Some(b'[') {
            return Err(self.error(UriErrorKind::DomainLiteral));
        }
        let domain = self.domain()?;
        self.skip_cfws()?;
        Ok((local, domain))
    }

    fn dot_atom(&mut self) -> Result<String, UriError> {
        let start = self.pos;
        loop {
            let atom_start = self.pos;
            while matches!(self.peek(), Some(b) if is_atext(b)) {
                self.pos += 1;
            }
            if self.pos == atom_start {
                return Err(self.error(UriErrorKind::BadMailbox));
            }
            if self.peek() != Some(b'.') {
                break;
            }
            self.pos += 1;
        }
        Ok(self.text(start, self.pos))
    }

    /// The domain of an addr-spec, checked as a DNS host name (S4, S5).
    fn domain(&mut self) -> Result<String, UriError> {
        let start = self.pos;
        let mut label_start = start;
        let mut all_digits = true;
        loop {
            match self.peek() {
                Some(b'.') => {
                    if self.pos == label_start {
                        return Err(self.error(UriErrorKind::EmptyLabel));
                    }
                    self.label_edges(label_start)?;
                    self.pos += 1;
                    if self.peek() == Some(b'.') {
                        return Err(self.error(UriErrorKind::EmptyLabel));
                    }
                    if !matches!(self.peek(), Some(b) if b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                    {
                        // `example.com.` or `example.com.>`: the URI form has no root dot.
                        if matches!(self.peek(), None | Some(b'>' | b',' | b' ' | b'\t' | b'(')) {
                            return Err(self.error_at(UriErrorKind::TrailingDot, self.pos - 1));
                        }
                        return Err(self.error(UriErrorKind::BadDomainCharacter));
                    }
                    label_start = self.pos;
                    all_digits = true;
                }
                Some(b) if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' => {
                    all_digits &= b.is_ascii_digit();
                    self.pos += 1;
                    if self.pos - label_start > MAX_LABEL {
                        return Err(self.error_at(UriErrorKind::LabelTooLong, label_start));
                    }
                }
                Some(b) if is_atext(b) => {
                    return Err(self.error(UriErrorKind::BadDomainCharacter));
                }
                _ => break,
            }
        }
        if self.pos == start {
            return Err(self.error(UriErrorKind::BadMailbox));
        }
        self.label_edges(label_start)?;
        if all_digits {
            return Err(self.error_at(UriErrorKind::NumericTopLabel, label_start));
        }
        // Wire length: one length octet per label plus the root octet.
        let text_len = self.pos - start;
        if SHORTEST_PREFIX + text_len + 2 > MAX_NAME {
            return Err(self.error_at(UriErrorKind::NameTooLong, start));
        }
        Ok(self.text(start, self.pos))
    }

    /// S4's hyphen rule ([`hyphen_at_edge`]) for the label that ends
    /// before `pos`.
    fn label_edges(&self, label_start: usize) -> Result<(), UriError> {
        match hyphen_at_edge(&self.input.bytes[label_start..self.pos]) {
            Some(at) => Err(self.error_at(UriErrorKind::HyphenAtLabelEdge, label_start + at)),
            None => Ok(()),
        }
    }

    fn quoted_string(&mut self) -> Result<String, UriError> {
        debug_assert_eq!(self.peek(), Some(b'"'));
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(b) if (1..=127).contains(&b) && b != b'\r' && b != b'\n' => {
                            out.push(b as char);
                            self.pos += 1;
                        }
                        _ => return Err(self.error(UriErrorKind::BadMailbox)),
                    }
                }
                Some(b) if is_qtext(b) || b == b' ' || b == b'\t' => {
                    out.push(b as char);
                    self.pos += 1;
                }
                _ => return Err(self.error(UriErrorKind::BadMailbox)),
            }
        }
    }

    /// Skips folding white space and (nested) comments.
    fn skip_cfws(&mut self) -> Result<(), UriError> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t') => self.pos += 1,
                Some(b'(') => {
                    let open = self.pos;
                    let mut depth = 0usize;
                    loop {
                        match self.peek() {
                            Some(b'(') => depth += 1,
                            Some(b')') => {
                                depth -= 1;
                                if depth == 0 {
                                    self.pos += 1;
                                    break;
                                }
                            }
                            Some(b'\\') => self.pos += 1,
                            Some(_) => {}
                            None => return Err(self.error_at(UriErrorKind::BadMailbox, open)),
                        }
                        self.pos += 1;
                    }
                }
                _ => return Ok(()),
            }
        }
    }
}

/// S3: `hname=hvalue` pairs separated by `&`, each split at its first `=`.
fn parse_headers(raw: &str, base: usize) -> Result<Vec<(String, String)>, UriError> {
    let mut headers = Vec::new();
    let mut offset = base;
    for part in raw.split('&') {
        let eq = part.find('=').ok_or(UriError {
            kind: UriErrorKind::BadHeader,
            offset,
        })?;
        let decode = |s: &str, at: usize| {
            percent_decode(s.as_bytes())
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| UriError {
                    kind: UriErrorKind::HeaderNotUtf8,
                    offset: at,
                })
        };
        let name = decode(&part[..eq], offset)?;
        let value = decode(&part[eq + 1..], offset + eq + 1)?;
        headers.push((name, value));
        offset += part.len() + 1;
    }
    Ok(headers)
}

/// Characters escaped when writing a `to` part: everything but RFC 2396
/// unreserved characters, `@` (the addr-spec separator) and atext that is
/// also a legal raw uric.
const TO_ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'@')
    .remove(b'+')
    .remove(b'$')
    .remove(b'=');

/// Characters escaped in header names and values: as for `to`, plus `=`
/// and `&`, which delimit headers.
const HEADER_ESCAPE: &AsciiSet = &TO_ESCAPE.add(b'=').add(b'&').add(b'@');

fn write_word(out: &mut String, word: &str, atom_ok: impl Fn(u8) -> bool) {
    if !word.is_empty() && word.bytes().all(atom_ok) {
        out.push_str(word);
        return;
    }
    out.push('"');
    for b in word.bytes() {
        if !(is_qtext(b) || b == b' ' || b == b'\t') {
            out.push('\\'); // quoted-pair
        }
        out.push(b as char);
    }
    out.push('"');
}

fn is_dot_atom(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|atom| !atom.is_empty() && atom.bytes().all(is_atext))
}

impl fmt::Display for Mailbox {
    /// Writes the mailbox in RFC 2822 form (not percent-encoded).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        if let Some(name) = &self.display_name {
            for (i, word) in name.split(' ').enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_word(&mut out, word, |b| is_atext(b) || b == b'.');
            }
            out.push_str(" <");
        }
        if is_dot_atom(&self.local_part) {
            out.push_str(&self.local_part);
        } else {
            write_word(&mut out, &self.local_part, |_| false);
        }
        out.push('@');
        out.push_str(&self.domain);
        if self.display_name.is_some() {
            out.push('>');
        }
        f.write_str(&out)
    }
}

impl fmt::Display for Uri {
    /// Writes the URI in canonical form: lower-case scheme, percent-encoded
    /// `to`, headers as given. Parsing the output yields an equal [`Uri`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.scheme.as_str())?;
        if let Some(to) = &self.to {
            write!(f, "{}", utf8_percent_encode(&to.to_string(), TO_ESCAPE))?;
        }
        for (i, (name, value)) in self.headers.iter().enumerate() {
            let sep = if i == 0 { '?' } else { '&' };
            write!(
                f,
                "{sep}{}={}",
                utf8_percent_encode(name, HEADER_ESCAPE),
                utf8_percent_encode(value, HEADER_ESCAPE)
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    fn parse(s: &str) -> Uri {
        Uri::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn reject(s: &str) -> UriError {
        match Uri::parse(s) {
            Ok(u) => panic!("{s} parsed as {u:?}"),
            Err(e) => e,
        }
    }

    fn mailbox(u: &Uri) -> &Mailbox {
        u.to.as_ref().expect("a destination")
    }

    #[test]
    fn spec_vector_plain() {
        let u = parse("im:fred@example.com");
        assert_eq!(u.scheme, Scheme::Im);
        assert_eq!(mailbox(&u).local_part, "fred");
        assert_eq!(mailbox(&u).domain, "example.com");
        assert!(u.headers.is_empty());
    }

    #[test]
    fn spec_vector_case_preserved_local_part() {
        // S2: the scheme is case-insensitive, the local part keeps its case.
        let u = parse("IM:Fred@Example.COM");
        assert_eq!(u.scheme, Scheme::Im);
        assert_eq!(mailbox(&u).local_part, "Fred");
        assert_eq!(mailbox(&u).domain, "Example.COM");
    }

    #[test]
    fn spec_vector_quoted_local_part_with_space() {
        let u = parse("im:%22fred%20smith%22@example.com");
        assert_eq!(mailbox(&u).local_part, "fred smith");
    }

    #[test]
    fn spec_vector_quoted_at_sign() {
        // S1: never split on the first `@`.
        let u = parse("im:%22a@b%22@example.com");
        assert_eq!(mailbox(&u).local_part, "a@b");
        assert_eq!(mailbox(&u).domain, "example.com");
    }

    #[test]
    fn spec_vector_display_name() {
        let u = parse("im:Fred%20%3Cfred@example.com%3E");
        let m = mailbox(&u);
        assert_eq!(m.display_name.as_deref(), Some("Fred"));
        assert_eq!(m.local_part, "fred");
        assert_eq!(m.domain, "example.com");
    }

    #[test]
    fn spec_vector_headers() {
        let u = parse("im:fred@example.com?subject=hi&body=a%20b");
        assert_eq!(
            u.headers,
            [
                ("subject".into(), "hi".into()),
                ("body".into(), "a b".into())
            ]
        );
    }

    #[test]
    fn spec_vector_no_destination() {
        let u = parse("im:");
        assert_eq!(u.to, None);
        assert_eq!(u.domain(), None);
        let p = parse("pres:");
        assert_eq!(p.scheme, Scheme::Pres);
    }

    #[test]
    fn pres_scheme() {
        let u = parse("pres:bob@example.org");
        assert_eq!(u.scheme, Scheme::Pres);
        assert_eq!(u.domain(), Some("example.org"));
    }

    #[test]
    fn spec_rejections_name_kind_and_offset() {
        let cases: &[(&str, UriErrorKind, usize)] = &[
            ("im:fred@example.com.", UriErrorKind::TrailingDot, 19),
            (
                "im:a@example.com,b@example.com",
                UriErrorKind::MultipleMailboxes,
                16,
            ),
            ("im:fred@[192.0.2.1]", UriErrorKind::ForbiddenCharacter, 8),
            ("im:fred@%5B192.0.2.1%5D", UriErrorKind::DomainLiteral, 8),
            ("im:fred@192.0.2.1", UriErrorKind::NumericTopLabel, 16),
            ("im:a%40b@example.com", UriErrorKind::BadMailbox, 8),
            ("im:fred@example.com?", UriErrorKind::BadHeader, 20),
            ("im:fred@exa mple.com", UriErrorKind::ForbiddenCharacter, 11),
            (
                "im:fred@example.com#x",
                UriErrorKind::ForbiddenCharacter,
                19,
            ),
            ("im:fr%C3%A9d@example.com", UriErrorKind::NonAscii, 5),
        ];
        for &(uri, kind, offset) in cases {
            let e = reject(uri);
            assert_eq!((e.kind, e.offset), (kind, offset), "{uri}");
        }
    }

    #[test]
    fn other_rejections() {
        assert_eq!(
            reject("sip:fred@example.com").kind,
            UriErrorKind::UnknownScheme
        );
        assert_eq!(reject("fred@example.com").kind, UriErrorKind::UnknownScheme);
        assert_eq!(
            reject("im:fred@example.com%2").kind,
            UriErrorKind::BadEscape
        );
        assert_eq!(
            reject("im:fred@example..com").kind,
            UriErrorKind::EmptyLabel
        );
        assert_eq!(
            reject("im:fred@exa%21mple.com").kind,
            UriErrorKind::BadDomainCharacter
        );
        assert_eq!(
            reject("im:fred@example.com?a").kind,
            UriErrorKind::BadHeader
        );
        assert_eq!(
            reject("im:fred@example.com?a=1&&b=2").kind,
            UriErrorKind::BadHeader
        );
        assert_eq!(
            reject("im:fred@example.com?a=%FF").kind,
            UriErrorKind::HeaderNotUtf8
        );
        assert_eq!(reject("im:fred").kind, UriErrorKind::BadMailbox);
        assert_eq!(reject("im:@example.com").kind, UriErrorKind::BadMailbox);
        assert_eq!(reject("im:fred@").kind, UriErrorKind::BadMailbox);
        assert_eq!(
            reject("im:%22unterminated@example.com").kind,
            UriErrorKind::BadMailbox
        );
        assert_eq!(
            reject("im:Fred%20%3Cfred@example.com").kind,
            UriErrorKind::BadMailbox
        );
    }

    #[test]
    fn label_and_name_length_limits() {
        let label63 = "a".repeat(63);
        parse(&format!("im:x@{label63}.com"));
        let e = reject(&format!("im:x@{label63}a.com"));
        assert_eq!((e.kind, e.offset), (UriErrorKind::LabelTooLong, 5));

        // Only a domain too long for the shortest query name (`_im._x.`,
        // 7 octets) is refused here: 4 labels of 61 are 247 text octets,
        // 249 in wire form, 256 with the prefix.
        let long = [&"b".repeat(61)[..]; 4].join(".");
        let e = reject(&format!("pres:x@{long}"));
        assert_eq!((e.kind, e.offset), (UriErrorKind::NameTooLong, 7));
        // 243 text octets parse: `_im._xmpp.` makes 255 in wire form (it
        // fits), `_pres._xmpp.` 257, refused when the name is built with
        // the protocols asked (`tests/machine.rs`).
        let fits = [&"b".repeat(60)[..]; 4].join(".");
        assert_eq!(fits.len(), 243);
        parse(&format!("im:x@{fits}"));
        parse(&format!("pres:x@{fits}"));
    }

    #[test]
    fn a_hyphen_may_neither_begin_nor_end_a_label() {
        // S4's one rule, each error at the hyphen at fault.
        for (uri, at) in [
            ("im:fred@-example.com", 8),
            ("im:fred@example-.com", 15),
            ("im:fred@example.-com", 16),
            ("im:fred@example.com-", 19),
            ("im:fred@xn--.example", 11),
            ("im:fred@%2Dexample.com", 8),
        ] {
            let e = reject(uri);
            assert_eq!(
                (e.kind, e.offset),
                (UriErrorKind::HyphenAtLabelEdge, at),
                "{uri}"
            );
        }
        // Inside a label, as in every A-label, it is fine.
        parse("im:fred@ex-ample.com");
        parse("im:fred@xn--bcher-kva.example");
    }

    #[test]
    fn comments_and_quoted_display_names() {
        let u = parse("im:%22Fred%20Smith%22%20%3Cfred@example.com%3E%20(work)");
        let m = mailbox(&u);
        assert_eq!(m.display_name.as_deref(), Some("Fred Smith"));
        assert_eq!(m.domain, "example.com");
        let u = parse("im:(x)fred@example.com");
        assert_eq!(mailbox(&u).local_part, "fred");
        assert_eq!(
            reject("im:(unclosed%20fred@example.com").kind,
            UriErrorKind::BadMailbox
        );
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "im:fred@example.com",
            "IM:Fred@Example.COM",
            "im:%22fred%20smith%22@example.com",
            "im:%22a@b%22@example.com",
            "im:Fred%20%3Cfred@example.com%3E",
            "im:%22Fred%20Smith%22%20%3Cfred@example.com%3E",
            "im:fred@example.com?subject=hi&body=a%20b",
            "pres:?a=b%26c&d%3De=f",
            "im:",
            "im:%22q%5C%22x%22@example.com",
        ] {
            let u = parse(s);
            let again = u.to_string();
            assert_eq!(parse(&again), u, "{s} -> {again}");
        }
        assert_eq!(
            parse("IM:Fred@Example.COM").to_string(),
            "im:Fred@Example.COM"
        );
    }
}
