//! The wire format, all of it through hickory-proto: queries built and
//! answers vetted and read (`message`), names compared and hashed as DNS
//! compares them (`name`), and the TCP length prefix (`tcp`).

pub(crate) mod message;
pub(crate) mod name;
pub(crate) mod tcp;
