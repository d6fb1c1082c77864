//! How `resolve` and `demo` print a result: one line per endpoint, in order,
//! `<priority> <weight> <port> <target> <addr>[,<addr>...]`.

use impp_resolver::Answer;

/// The lines for `answer`, target without its trailing dot, `-` when the
/// target's addresses were not found.
pub fn endpoint_lines(answer: &Answer) -> Vec<String> {
    answer
        .endpoints
        .iter()
        .map(|e| {
            let target = e.target.to_ascii();
            let target = target.strip_suffix('.').unwrap_or(&target);
            let addresses = if e.addresses.is_empty() {
                "-".to_string()
            } else {
                e.addresses
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            };
            format!(
                "{} {} {} {} {}",
                e.priority, e.weight, e.port, target, addresses
            )
        })
        .collect()
}
