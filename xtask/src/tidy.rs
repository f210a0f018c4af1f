//! Tidy checks that keep the house in order, run with the ordinary tests.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_module_starts_with_a_doc_line() {
    let mut files = Vec::new();
    rust_files(&root().join("crates"), &mut files);
    rust_files(&root().join("xtask"), &mut files);
    assert!(files.len() > 10, "found too few Rust files: {files:?}");
    let missing: Vec<String> = files
        .iter()
        .filter(|file| {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            !text.trim_start().starts_with("//!")
        })
        .map(|file| file.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "files without a leading `//!` line: {missing:?}"
    );
}

#[test]
fn architecture_names_only_paths_that_exist_and_every_crate() {
    let root = root();
    let text = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap_or_default();
    let mut named = Vec::new();
    for (index, piece) in text.split('`').enumerate() {
        // Odd pieces are inside backticks; a path has a slash or a file extension we use.
        let looks_like_path = !piece.contains(' ')
            && (piece.starts_with("crates/")
                || piece.starts_with("xtask")
                || piece.starts_with(".ci/"));
        if index % 2 == 1 && looks_like_path {
            named.push(piece.trim_end_matches('/').to_owned());
        }
    }
    assert!(
        named.len() > 5,
        "ARCHITECTURE.md names too few paths: {named:?}"
    );
    let stale: Vec<&String> = named
        .iter()
        .filter(|path| !root.join(path).exists())
        .collect();
    assert!(
        stale.is_empty(),
        "ARCHITECTURE.md names paths that do not exist: {stale:?}"
    );
    let crates = std::fs::read_dir(root.join("crates")).map(|entries| {
        entries
            .flatten()
            .map(|entry| format!("crates/{}", entry.file_name().to_string_lossy()))
            .collect::<Vec<_>>()
    });
    for krate in crates.unwrap_or_default() {
        assert!(
            named.contains(&krate),
            "ARCHITECTURE.md does not describe `{krate}`"
        );
    }
}

#[test]
fn ci_runs_the_readme_test_command() {
    let root = root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap_or_default();
    let ci = std::fs::read_to_string(root.join(".ci/run")).unwrap_or_default();
    let command = "cargo nextest run --workspace";
    assert!(readme.contains(command), "README.md must give `{command}`");
    assert!(ci.contains(command), ".ci/run must run `{command}`");
}
