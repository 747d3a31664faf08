//! Material files on disk, content-addressed: `files/ab/cd/abcd…` named by the SHA-256 of the bytes. A file is
//! written to a temporary name, synced, renamed into place and its directory synced, so a recorded hash always
//! names a complete file; writing the same content twice is a no-op.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The content-addressed file area under the data directory.
#[derive(Debug, Clone)]
pub struct FileStore {
    root: PathBuf,
}

impl FileStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The SHA-256 (hex) of some bytes.
    pub fn hash(bytes: &[u8]) -> String {
        onething_store::hex(&Sha256::digest(bytes))
    }

    fn path_of(&self, sha256: &str) -> Option<PathBuf> {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some(self.root.join(&sha256[0..2]).join(&sha256[2..4]).join(sha256))
    }

    /// Stores bytes durably and returns their hash.
    pub fn put(&self, bytes: &[u8]) -> std::io::Result<String> {
        let sha = Self::hash(bytes);
        let Some(path) = self.path_of(&sha) else {
            return Err(std::io::Error::other("bad hash"));
        };
        if path.exists() {
            return Ok(sha);
        }
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_else(|| self.root.clone());
        std::fs::create_dir_all(&dir)?;
        let tmp = dir.join(format!(".{sha}.{}.tmp", std::process::id()));
        {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(&dir)?.sync_all()?;
        Ok(sha)
    }

    /// The bytes of a stored file.
    pub fn get(&self, sha256: &str) -> std::io::Result<Vec<u8>> {
        match self.path_of(sha256) {
            Some(p) => std::fs::read(p),
            None => Err(std::io::Error::new(std::io::ErrorKind::NotFound, "bad hash")),
        }
    }
}
