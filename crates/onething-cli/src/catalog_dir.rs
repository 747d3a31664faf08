//! Reading a catalogue directory: every `*.toml` below it, in a stable order, named by its path.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use onething_core::catalog::Catalog;
use onething_core::source::SourceFile;

/// Every `.toml` file under `dir`, sorted by path.
pub fn read(dir: &Path) -> anyhow::Result<Vec<SourceFile>> {
    if !dir.is_dir() {
        bail!("catalogue directory {} not found", dir.display());
    }
    let mut paths = Vec::new();
    collect(dir, &mut paths)?;
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
            Ok(SourceFile::new(p.display().to_string(), text))
        })
        .collect()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
    Ok(())
}

/// Reads and checks a catalogue; a catalogue with errors is refused with all of them.
pub fn load(dir: &Path) -> anyhow::Result<Catalog> {
    let files = read(dir)?;
    Catalog::load(&files).map_err(|errors| {
        let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("the catalogue {} has {} error(s):\n{}", dir.display(), list.len(), list.join("\n"))
    })
}
