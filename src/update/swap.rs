//! Putting a new binary at the path the service manager starts, atomically, keeping the
//! previous one — and putting the previous one back. Two layouts:
//! - the path is a **symlink** (the shipped systemd unit's `/var/lib/telbridge/bin/telbridge`
//!   → `/usr/bin/telbridge`): a new symlink to the new file is renamed over it (the package's
//!   binary stays untouched under a read-only `/usr`);
//! - the path is a **file** (by hand, OpenWrt): the new file is copied beside it and renamed
//!   over it, the old one kept as `{path}.previous`.
//!
//! A rename is atomic: killed at any moment, the path names the old binary or the new one,
//! never none and never half of one.

use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};

/// What an install changed, enough to undo it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installed {
    /// The path the service manager starts.
    pub binary: PathBuf,
    /// The binary that ran before (a file).
    pub previous: PathBuf,
    /// `binary` is a symlink (re-pointed) rather than a file (replaced).
    pub link: bool,
}

fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent()
        && let Ok(f) = std::fs::File::open(dir)
    {
        let _ = f.sync_all();
    }
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Points `binary` at `new_file` (symlink layout) or replaces it with a copy (file layout).
pub fn install(binary: &Path, new_file: &Path) -> io::Result<Installed> {
    let meta = std::fs::symlink_metadata(binary)?;
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(binary)?;
        let previous = match (target.is_absolute(), binary.parent()) {
            (false, Some(dir)) => dir.join(target),
            _ => target,
        };
        let tmp = sibling(binary, ".tb-new");
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(new_file, &tmp)?;
        std::fs::rename(&tmp, binary)?;
        sync_dir(binary);
        return Ok(Installed { binary: binary.to_path_buf(), previous, link: true });
    }
    let previous = sibling(binary, ".previous");
    let tmp = sibling(binary, ".tb-new");
    std::fs::copy(new_file, &tmp)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    let _ = std::fs::remove_file(&previous);
    std::fs::hard_link(binary, &previous).or_else(|_| std::fs::copy(binary, &previous).map(drop))?;
    std::fs::rename(&tmp, binary)?;
    sync_dir(binary);
    Ok(Installed { binary: binary.to_path_buf(), previous, link: false })
}

/// Puts the previous binary back at `binary`.
pub fn restore(i: &Installed) -> io::Result<()> {
    if i.link {
        let tmp = sibling(&i.binary, ".tb-new");
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(&i.previous, &tmp)?;
        std::fs::rename(&tmp, &i.binary)?;
    } else {
        let tmp = sibling(&i.binary, ".tb-new");
        std::fs::copy(&i.previous, &tmp)?;
        std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
        std::fs::rename(&tmp, &i.binary)?;
    }
    sync_dir(&i.binary);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("tb-swap-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("dir");
        d
    }

    #[test]
    fn a_symlink_is_re_pointed_and_pointed_back() {
        let d = dir("link");
        let (old, new, bin) = (d.join("old"), d.join("new"), d.join("bin"));
        std::fs::write(&old, "old").expect("old");
        std::fs::write(&new, "new").expect("new");
        std::os::unix::fs::symlink(&old, &bin).expect("link");
        let i = install(&bin, &new).expect("install");
        assert_eq!(
            (std::fs::read_to_string(&bin).expect("read"), i.previous.clone(), i.link),
            ("new".into(), old, true)
        );
        restore(&i).expect("restore");
        assert_eq!(std::fs::read_to_string(&bin).expect("read"), "old");
        assert!(std::fs::symlink_metadata(&bin).expect("meta").file_type().is_symlink());
    }

    #[test]
    fn a_file_is_replaced_and_the_previous_kept_beside_it() {
        let d = dir("file");
        let (new, bin) = (d.join("new"), d.join("bin"));
        std::fs::write(&new, "new").expect("new");
        std::fs::write(&bin, "old").expect("old");
        let i = install(&bin, &new).expect("install");
        assert_eq!(std::fs::read_to_string(&bin).expect("read"), "new");
        assert_eq!(std::fs::read_to_string(&i.previous).expect("read"), "old");
        restore(&i).expect("restore");
        assert_eq!(std::fs::read_to_string(&bin).expect("read"), "old");
    }
}
