//! The generator to use when you have no preference (feature `std`).
//!
//! The machine draws every random number from the generator you hand it
//! (S10, S18): any `rand_core` 0.10 `CryptoRng` will do, and a seeded one
//! replays a run exactly. This is the one the crate's own drivers use.

use std::io;

use rand_core::SeedableRng;

/// ChaCha20, a cryptographically secure generator: the type of [`os_rng`].
pub type DefaultRng = rand_chacha::ChaCha20Rng;

/// A [`DefaultRng`] seeded from the operating system's random source.
///
/// ```
/// use impp_resolver::{Config, DefaultRng, Resolver};
///
/// let rng: DefaultRng = impp_resolver::os_rng()?;
/// let resolver = Resolver::new(Config::default(), rng);
/// # let _ = resolver;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn os_rng() -> io::Result<DefaultRng> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| io::Error::other(format!("OS random source: {e}")))?;
    Ok(DefaultRng::from_seed(seed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::Rng;

    #[test]
    fn os_seeded_generators_differ() {
        let (mut a, mut b) = (os_rng().unwrap(), os_rng().unwrap());
        assert_ne!(a.next_u64(), b.next_u64());
    }
}
