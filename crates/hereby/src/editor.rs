//! Text edited in the person's own editor: a private scratch file, and `$VISUAL`/`$EDITOR`
//! run on it.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::client::Failure;

/// A new file named after `what`, readable only by us, holding `text`: what an editor opens.
pub(crate) fn scratch(what: &str, text: &str) -> Result<PathBuf, Failure> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or_default();
    let path =
        std::env::temp_dir().join(format!("hereby-{what}-{}-{nanos}.md", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let cannot = |e: std::io::Error| {
        Failure::Usage(format!(
            "cannot write the text to {} for editing: {e}",
            path.display()
        ))
    };
    let mut file = options.open(&path).map_err(cannot)?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(cannot)?;
    Ok(path)
}

/// Opens `path` in `$VISUAL`, else `$EDITOR`, else `vi`, and returns the text once it exits.
/// The editor runs through `sh -c`, so the variable may hold arguments (`code --wait`).
pub(crate) fn run_editor(path: &Path) -> Result<String, Failure> {
    let editor = ["VISUAL", "EDITOR"]
        .into_iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|value| !value.trim().is_empty())
        .unwrap_or_else(|| "vi".to_owned());
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("--")
        .arg(path)
        .status()
        .map_err(|e| {
            Failure::Usage(format!(
                "cannot run the editor `{editor}`: {e}; your text is in {}",
                path.display()
            ))
        })?;
    if !status.success() {
        return Err(Failure::Rejected(format!(
            "the editor `{editor}` exited with {status}; nothing was saved, the text is in {}",
            path.display()
        )));
    }
    std::fs::read_to_string(path).map_err(|e| {
        Failure::Usage(format!(
            "cannot read the edited text back from {}: {e}",
            path.display()
        ))
    })
}
