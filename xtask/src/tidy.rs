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

/// The text of a Markdown file without its fenced code blocks, whose backticks would pair up
/// with the ones of inline code.
fn without_fences(markdown: &str) -> String {
    let mut in_fence = false;
    let mut kept = String::new();
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        } else if !in_fence {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    kept
}

/// Every path a Markdown document names in inline code, relative to the repository root:
/// paths from the root (`crates/…`, `xtask…`, `.ci/…`), and, in the code map, bare file and
/// folder names (`live.rs`, `templates/`) in the folder last named before them.
fn named_paths(markdown: &str, root: &Path) -> Vec<String> {
    let mut named = Vec::new();
    let mut in_code_map = false;
    let mut folder: Option<String> = None;
    for (index, piece) in without_fences(markdown).split('`').enumerate() {
        if index % 2 == 0 {
            // Outside inline code: only headings matter, to know where the code map is.
            for line in piece.lines().filter(|line| line.starts_with("## ")) {
                in_code_map = line.trim() == "## Code map";
                folder = None;
            }
            continue;
        }
        if piece.contains(' ') {
            continue;
        }
        if piece.starts_with("crates/") || piece.starts_with("xtask") || piece.starts_with(".ci/") {
            let path = piece.trim_end_matches('/').to_owned();
            if root.join(&path).is_dir() {
                folder = Some(path.clone());
            }
            named.push(path);
            continue;
        }
        let bare_name = !piece.trim_end_matches('/').contains('/')
            && (piece.ends_with('/')
                || [".rs", ".md", ".html", ".toml"]
                    .iter()
                    .any(|extension| piece.ends_with(extension)));
        if in_code_map && bare_name {
            let base = folder.as_deref().unwrap_or("(no folder named before it)");
            named.push(format!("{base}/{}", piece.trim_end_matches('/')));
        }
    }
    named
}

#[test]
fn named_paths_reads_folders_and_bare_names_in_the_code_map() {
    let markdown = "## Entry points\n`mod.rs` is not resolved here.\n```\n`crates/fenced`\n```\n\
        ## Code map\n`crates/hereby-core`: `src/`, `Cargo.toml`, `xtask/src/tidy.rs` and \
        `a thing`.\n## Architecture invariants\n`lib.rs`";
    assert_eq!(
        named_paths(markdown, &root()),
        [
            "crates/hereby-core",
            "crates/hereby-core/src",
            "crates/hereby-core/Cargo.toml",
            "xtask/src/tidy.rs",
        ]
    );
}

#[test]
fn architecture_names_only_paths_that_exist_and_every_crate() {
    let root = root();
    let text = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap_or_default();
    let named = named_paths(&text, &root);
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

/// Crates that do I/O or exist to run it. The core names none of them (nor their `-util`,
/// `-core` … companions) as a dependency: time, randomness and storage come in as values.
const IO_CRATES: &[&str] = &[
    "tokio",
    "sqlx",
    "axum",
    "reqwest",
    "hyper",
    "lettre",
    "tracing-subscriber",
];

/// The crates a manifest depends on in `[dependencies]`, also those for some targets only, by
/// their real names (a dependency renamed with `package = "…"` counts as that package).
fn dependencies(manifest: &str) -> Result<Vec<String>, toml::de::Error> {
    let manifest: toml::Table = toml::from_str(manifest)?;
    let mut tables = vec![manifest.get("dependencies")];
    if let Some(targets) = manifest.get("target").and_then(toml::Value::as_table) {
        tables.extend(targets.values().map(|target| target.get("dependencies")));
    }
    Ok(tables
        .into_iter()
        .flatten()
        .filter_map(toml::Value::as_table)
        .flat_map(|table| {
            table.iter().map(|(key, spec)| {
                spec.get("package")
                    .and_then(toml::Value::as_str)
                    .unwrap_or(key)
                    .to_owned()
            })
        })
        .collect())
}

fn io_crates(dependencies: &[String]) -> Vec<&String> {
    dependencies
        .iter()
        .filter(|name| {
            IO_CRATES
                .iter()
                .any(|io| *name == io || name.starts_with(&format!("{io}-")))
        })
        .collect()
}

#[test]
fn io_crates_are_found_under_any_name_and_target() {
    let manifest = r#"
        [dependencies]
        jiff = "0.2"
        runtime = { package = "tokio", version = "1" }
        [target.'cfg(unix)'.dependencies]
        hyper-util = "0.1"
        [dev-dependencies]
        sqlx = "0.9"
    "#;
    let found = dependencies(manifest).unwrap();
    assert_eq!(io_crates(&found), ["tokio", "hyper-util"]);
}

#[test]
fn the_core_depends_on_no_io_crate() {
    let path = root().join("crates/hereby-core/Cargo.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let found = dependencies(&text).unwrap();
    assert!(
        found.iter().any(|name| name == "jiff"),
        "the core's dependencies were not read: {found:?}"
    );
    let io = io_crates(&found);
    assert!(
        io.is_empty(),
        "hereby-core must do no I/O, but {} depends on {io:?}",
        path.display()
    );
}

#[test]
fn only_tests_turn_on_the_conformance_story() {
    let mut manifests = vec![root().join("xtask/Cargo.toml")];
    if let Ok(entries) = std::fs::read_dir(root().join("crates")) {
        manifests.extend(
            entries
                .flatten()
                .map(|entry| entry.path().join("Cargo.toml")),
        );
    }
    let mut enabling = Vec::new();
    for manifest in &manifests {
        let text = std::fs::read_to_string(manifest).unwrap();
        let table: toml::Table = toml::from_str(&text).unwrap();
        let features = |section: &str| {
            table
                .get(section)
                .and_then(|dependencies| dependencies.get("hereby-store"))
                .and_then(|spec| spec.get("features"))
                .and_then(toml::Value::as_array)
                .is_some_and(|features| {
                    features
                        .iter()
                        .any(|feature| feature.as_str() == Some("conformance"))
                })
        };
        if features("dependencies") || features("build-dependencies") {
            enabling.push(manifest.display().to_string());
        }
    }
    assert!(
        manifests.len() > 5,
        "found too few manifests: {manifests:?}"
    );
    assert!(
        enabling.is_empty(),
        "the conformance story is test code, for [dev-dependencies] only: {enabling:?}"
    );
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
