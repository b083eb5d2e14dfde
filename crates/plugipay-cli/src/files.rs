//! Files the commands write: created new and readable by their owner
//! only, written beside their target and renamed into place, the rename
//! made durable.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::failure::Failure;

/// Options that create a new file (never an existing one) for writing,
/// readable by its owner only where the system allows: for files that hold
/// customers' personal data.
pub fn owner_only_new_file() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// The directory `path` is in (`.` for a bare name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Makes a rename in `dir` durable; best effort (not every system can sync
/// a directory).
pub fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// A temporary file of this export's own, removed when dropped unless it
/// was renamed into place.
pub struct TempFile {
    path: Option<PathBuf>,
}

impl TempFile {
    /// Creates `NAME.RANDOM.partial` beside `target`: exclusively (never an
    /// existing file or link), readable and writable by its owner only.
    pub fn beside(target: &Path) -> Result<(TempFile, File), Failure> {
        let dir = parent_dir(target);
        let name = target.file_name().unwrap_or_default();
        // Room for the suffix within the usual 255-byte limit of a name.
        let stem = if name.len() <= 200 {
            name.to_string_lossy()
        } else {
            "plugipay-export".into()
        };
        let options = owner_only_new_file();
        let mut last = None;
        for _ in 0..8 {
            let path = dir.join(format!("{stem}.{:016x}.partial", random()));
            match options.open(&path) {
                Ok(file) => return Ok((TempFile { path: Some(path) }, file)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                    return Err(Failure::Other(format!(
                        "cannot write in {}: {e}; choose a directory you may write to",
                        dir.display()
                    )));
                }
                Err(e) => {
                    return Err(Failure::Other(format!(
                        "cannot create a file in {}: {e}",
                        dir.display()
                    )));
                }
            }
        }
        Err(Failure::Other(format!(
            "cannot create a file in {}: {}",
            dir.display(),
            last.expect("a failed attempt")
        )))
    }

    /// Renames the file over `target`; it is then no longer removed.
    pub fn rename_to(mut self, target: &Path) -> std::io::Result<()> {
        let path = self.path.take().expect("not yet renamed");
        match std::fs::rename(&path, target) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.path = Some(path);
                Err(e)
            }
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// 64 unpredictable bits: std's randomly keyed hasher over the process,
/// the clock and a counter. Exclusive creation, not this, is what keeps two
/// exports apart.
fn random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    hasher.write_u64(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    hasher.finish()
}
