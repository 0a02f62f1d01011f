//! Blobs as files under one folder (`--data-dir/images` by default): `ab/abcdef…`, the first
//! two hex digits a subfolder so that no folder holds millions of files.

use std::{
    fs::{self, File},
    io::{ErrorKind, Write},
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
    time::SystemTime,
};

use crate::{BlobError, Blobs, check_key, key_of, verified};

/// Names an unfinished write; it becomes the blob by a rename once its bytes are on disk.
const PARTIAL: &str = ".partial-";

pub struct LocalBlobs {
    root: PathBuf,
    /// Tells apart the unfinished writes of one process.
    writes: AtomicU64,
}

impl LocalBlobs {
    /// The blobs under `root`, created when missing.
    pub fn open(root: impl AsRef<Path>) -> Result<Self, BlobError> {
        let root = root.as_ref().to_path_buf();
        fs::create_dir_all(&root).map_err(|e| unavailable(&root, e))?;
        Ok(Self {
            root,
            writes: AtomicU64::new(0),
        })
    }

    fn path_of(&self, key: &str) -> PathBuf {
        self.root.join(&key[..2]).join(key)
    }

    fn fail(&self, e: std::io::Error) -> BlobError {
        unavailable(&self.root, e)
    }
}

fn unavailable(root: &Path, e: std::io::Error) -> BlobError {
    BlobError::Unavailable {
        location: root.display().to_string(),
        reason: e.to_string(),
    }
}

/// Makes a rename or a new file in `dir` durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Blobs for LocalBlobs {
    fn put(&self, bytes: &[u8]) -> Result<String, BlobError> {
        let key = key_of(bytes);
        let path = self.path_of(&key);
        if path.exists() {
            // Already there: only its age moves, so a sweep in progress keeps it.
            let file = File::options()
                .write(true)
                .open(&path)
                .map_err(|e| self.fail(e))?;
            file.set_modified(SystemTime::now())
                .map_err(|e| self.fail(e))?;
            return Ok(key);
        }
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        if !dir.exists() {
            fs::create_dir_all(&dir).map_err(|e| self.fail(e))?;
            sync_dir(&self.root).map_err(|e| self.fail(e))?;
        }
        let partial = dir.join(format!(
            "{PARTIAL}{key}-{}-{}",
            std::process::id(),
            self.writes.fetch_add(1, Ordering::Relaxed)
        ));
        let written = (|| {
            let mut file = File::create(&partial)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            fs::rename(&partial, &path)?;
            sync_dir(&dir)
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&partial);
            return Err(self.fail(e));
        }
        Ok(key)
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BlobError> {
        check_key(key)?;
        match fs::read(self.path_of(key)) {
            Ok(bytes) => verified(key, bytes).map(Some),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.fail(e)),
        }
    }

    fn delete(&self, key: &str) -> Result<(), BlobError> {
        check_key(key)?;
        match fs::remove_file(self.path_of(key)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Also removes unfinished writes older than `before` (left by a process that died).
    fn stored_before(&self, before: SystemTime) -> Result<Vec<String>, BlobError> {
        let mut keys = Vec::new();
        let folders = fs::read_dir(&self.root).map_err(|e| self.fail(e))?;
        for folder in folders {
            let folder = folder.map_err(|e| self.fail(e))?.path();
            if !folder.is_dir() {
                continue;
            }
            for entry in fs::read_dir(&folder).map_err(|e| self.fail(e))? {
                let entry = entry.map_err(|e| self.fail(e))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let modified = match entry.metadata().and_then(|m| m.modified()) {
                    Ok(modified) => modified,
                    // Deleted between the listing and now.
                    Err(e) if e.kind() == ErrorKind::NotFound => continue,
                    Err(e) => return Err(self.fail(e)),
                };
                if modified >= before {
                    continue;
                }
                if name.starts_with(PARTIAL) {
                    let _ = fs::remove_file(entry.path());
                } else if check_key(&name).is_ok() {
                    keys.push(name);
                }
            }
        }
        Ok(keys)
    }

    fn location(&self) -> String {
        self.root.display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_blob_is_stored_under_its_hash_and_read_back_checked() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = LocalBlobs::open(dir.path().join("images")).unwrap();
        let key = blobs.put(b"a scan").unwrap();
        assert_eq!(key, key_of(b"a scan"));
        assert_eq!(
            blobs.put(b"a scan").unwrap(),
            key,
            "the same bytes, the same key"
        );
        assert_eq!(blobs.get(&key).unwrap().as_deref(), Some(&b"a scan"[..]));
        let file = dir.path().join("images").join(&key[..2]).join(&key);
        assert!(file.is_file());

        // Bytes that no longer match their key are refused, not shown.
        fs::write(&file, b"altered").unwrap();
        assert!(matches!(blobs.get(&key), Err(BlobError::Corrupt { .. })));

        blobs.delete(&key).unwrap();
        assert_eq!(blobs.get(&key).unwrap(), None);
        blobs.delete(&key).unwrap();
    }

    #[test]
    fn keys_that_are_not_hashes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = LocalBlobs::open(dir.path()).unwrap();
        for bad in [
            "../../etc/passwd",
            "",
            "AB",
            &"A".repeat(64),
            &"0".repeat(63),
        ] {
            assert!(matches!(blobs.get(bad), Err(BlobError::BadKey(_))), "{bad}");
            assert!(
                matches!(blobs.delete(bad), Err(BlobError::BadKey(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_sweep_sees_old_blobs_only_and_clears_unfinished_writes() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = LocalBlobs::open(dir.path()).unwrap();
        let old = blobs.put(b"old").unwrap();
        let new = blobs.put(b"new").unwrap();
        let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
        let old_file = dir.path().join(&old[..2]).join(&old);
        File::options()
            .write(true)
            .open(&old_file)
            .unwrap()
            .set_modified(an_hour_ago - Duration::from_secs(60))
            .unwrap();
        let partial = dir.path().join(&new[..2]).join(format!("{PARTIAL}x"));
        fs::write(&partial, b"half").unwrap();
        File::options()
            .write(true)
            .open(&partial)
            .unwrap()
            .set_modified(an_hour_ago - Duration::from_secs(60))
            .unwrap();

        assert_eq!(blobs.stored_before(an_hour_ago).unwrap(), vec![old.clone()]);
        assert!(!partial.exists());

        // Stored again: young again, so the sweep spares it.
        blobs.put(b"old").unwrap();
        assert!(blobs.stored_before(an_hour_ago).unwrap().is_empty());
    }
}
