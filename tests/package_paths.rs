//! The README is read where only the package is: on crates.io and docs.rs.
//! Every file or folder of this repository that it names must therefore be
//! one the package ships (`include` in Cargo.toml), or the reader is sent to
//! a path that does not exist for them.

use std::path::Path;

/// The paths a Markdown text names: link targets and back-ticked words that
/// look like paths. Web addresses and anchors are not paths.
fn named_paths(markdown: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for (i, _) in markdown.match_indices("](") {
        let rest = &markdown[i + 2..];
        if let Some(end) = rest.find(')') {
            paths.push(rest[..end].to_string());
        }
    }
    for (i, piece) in markdown.split('`').enumerate() {
        // Odd pieces are inside back-ticks.
        if i % 2 == 1 && !piece.contains(' ') && (piece.contains('/') || piece.ends_with(".md")) {
            paths.push(piece.to_string());
        }
    }
    paths.retain(|p| !p.contains("://") && !p.starts_with('#') && !p.starts_with('/'));
    paths
}

/// The package's `include` patterns, as written in Cargo.toml.
fn included() -> Vec<String> {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    let start = manifest
        .find("include = [")
        .expect("Cargo.toml has an include list");
    let list = &manifest[start..manifest[start..].find(']').unwrap() + start];
    list.split('"')
        .skip(1)
        .step_by(2)
        .map(|s| s.trim_start_matches('/').to_string())
        .collect()
}

/// Whether `path` (a file, or a folder ending in `/`) is shipped by one of
/// the `include` patterns. The only glob used is `dir/**/*.ext`.
fn ships(path: &str, patterns: &[String]) -> bool {
    patterns
        .iter()
        .any(|pattern| match pattern.split_once("/**/*") {
            Some((dir, ext)) => {
                let inside = path.starts_with(&format!("{dir}/")) || path == dir;
                inside && (path.ends_with(ext) || path.ends_with('/'))
            }
            None => pattern == path || pattern.starts_with(path) && path.ends_with('/'),
        })
}

#[test]
fn the_readme_names_only_what_the_package_ships() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let patterns = included();
    // Only names of this repository's tree can be wrong here; `A/AAAA` or
    // `_im`/`_pres` are not paths.
    let in_repository: Vec<String> = named_paths(&readme)
        .into_iter()
        .filter(|p| root.join(p.split(['*', '<']).next().unwrap()).exists())
        .collect();
    assert!(
        in_repository.iter().any(|p| p == "SPEC.md"),
        "the scan found the README's links: {in_repository:?}"
    );
    let missing: Vec<&String> = in_repository
        .iter()
        .filter(|p| !ships(p, &patterns))
        .collect();
    assert!(
        missing.is_empty(),
        "the README names paths the package does not ship: {missing:?}"
    );
}

#[test]
fn the_check_itself_tells_shipped_from_unshipped() {
    let patterns: Vec<String> = ["src/**/*.rs", "README.md", "examples/resolve.rs"]
        .map(String::from)
        .into();
    assert!(ships("src/driver/blocking.rs", &patterns));
    assert!(ships("src/", &patterns));
    assert!(ships("examples/resolve.rs", &patterns));
    assert!(!ships("examples/demo.rs", &patterns));
    assert!(!ships("tests/simulation.rs", &patterns));
    assert!(!ships("test-support/", &patterns));
    let named = named_paths(
        "see [the spec](SPEC.md), `tests/x.rs`, [web](https://x/y), `/etc/resolv.conf`",
    );
    assert_eq!(named, ["SPEC.md", "tests/x.rs"]);
}
