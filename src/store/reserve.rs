//! Disk space held in reserve beside the store (`<store>.reserve`): given back when the
//! disk fills, so delivered rows can still be deleted, the WAL checkpointed and the agent
//! started; taken again once there is room. The file is written with incompressible
//! bytes, so a compressing flash file system (JFFS2, UBIFS) holds its full size.

use std::io::Write;
use std::path::{Path, PathBuf};

pub struct Reserve {
    path: PathBuf,
    bytes: u64,
}

impl Reserve {
    pub fn new(store: &Path, bytes: u64) -> Reserve {
        let mut name = store.as_os_str().to_owned();
        name.push(".reserve");
        Reserve { path: PathBuf::from(name), bytes }
    }

    /// Whether the reserve is configured and on disk in full.
    pub fn held(&self) -> bool {
        self.bytes > 0 && std::fs::metadata(&self.path).is_ok_and(|m| m.len() == self.bytes)
    }

    /// Gives the space back. True when there was some to give.
    pub fn release(&mut self) -> bool {
        std::fs::remove_file(&self.path).is_ok()
    }

    /// Takes the space (again). True when it is held now, or when none is configured;
    /// false when the disk has no room for it (nothing is left behind then).
    pub fn take(&mut self) -> bool {
        if self.bytes == 0 || self.held() {
            return true;
        }
        match self.write() {
            Ok(()) => true,
            Err(e) => {
                log::debug!("store reserve {}: {e}", self.path.display());
                let _ = std::fs::remove_file(&self.path);
                false
            }
        }
    }

    fn write(&self) -> std::io::Result<()> {
        let mut file = std::fs::File::create(&self.path)?;
        let mut block = [0u8; 64 * 1024];
        // xorshift: cheap bytes no file system can compress away.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ u64::from(std::process::id());
        let mut left = self.bytes;
        while left > 0 {
            for chunk in block.chunks_exact_mut(8) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                chunk.copy_from_slice(&x.to_le_bytes());
            }
            let n = left.min(block.len() as u64) as usize;
            file.write_all(&block[..n])?;
            left -= n as u64;
        }
        file.sync_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reserve_is_taken_released_and_taken_again() {
        let dir = crate::store::temp_dir_for_tests("reserve");
        let mut r = Reserve::new(&dir.join("store.db"), 100_000);
        assert!(!r.held());
        assert!(r.take());
        assert_eq!(std::fs::metadata(dir.join("store.db.reserve")).expect("file").len(), 100_000);
        assert!(r.held());
        assert!(r.release());
        assert!(!r.held() && !r.release(), "gone, and nothing left to give");
        assert!(r.take());
        assert!(Reserve::new(&dir.join("other.db"), 0).take(), "none configured: nothing to take");
    }
}
