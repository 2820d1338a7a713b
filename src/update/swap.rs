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

use crate::durable::{sync_parent, with_suffix};
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

/// What an install at `binary` will change, read before it: the probation marker is written
/// first, so that no moment exists where the new version is in place without one.
pub fn plan(binary: &Path) -> io::Result<Installed> {
    let meta = std::fs::symlink_metadata(binary)?;
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(binary)?;
        let previous = match (target.is_absolute(), binary.parent()) {
            (false, Some(dir)) => dir.join(target),
            _ => target,
        };
        return Ok(Installed { binary: binary.to_path_buf(), previous, link: true });
    }
    Ok(Installed { binary: binary.to_path_buf(), previous: with_suffix(binary, ".previous"), link: false })
}

/// Points the planned `binary` at `new_file` (symlink layout) or replaces it with a copy
/// (file layout, the old file kept as `previous`).
pub fn install(plan: &Installed, new_file: &Path) -> io::Result<()> {
    // A symlink's relative target is read from the symlink's folder, not from here.
    let new_file = &std::path::absolute(new_file)?;
    let (binary, tmp) = (&plan.binary, with_suffix(&plan.binary, ".tb-new"));
    if plan.link {
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(new_file, &tmp)?;
    } else {
        std::fs::copy(new_file, &tmp)?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
        let _ = std::fs::remove_file(&plan.previous);
        std::fs::hard_link(binary, &plan.previous).or_else(|_| copy_synced(binary, &plan.previous))?;
    }
    std::fs::rename(&tmp, binary)?;
    sync_parent(binary);
    Ok(())
}

fn copy_synced(from: &Path, to: &Path) -> io::Result<()> {
    std::fs::copy(from, to)?;
    std::fs::File::open(to)?.sync_all()
}

/// Puts the previous binary back at `binary`. The file layout links the kept file rather
/// than copying it (no room needed on a full overlay), synced before the rename.
pub fn restore(i: &Installed) -> io::Result<()> {
    let tmp = with_suffix(&i.binary, ".tb-new");
    let _ = std::fs::remove_file(&tmp);
    if i.link {
        std::os::unix::fs::symlink(&i.previous, &tmp)?;
    } else {
        std::fs::hard_link(&i.previous, &tmp).or_else(|_| copy_synced(&i.previous, &tmp))?;
        std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    }
    std::fs::rename(&tmp, &i.binary)?;
    sync_parent(&i.binary);
    Ok(())
}

/// Deletes the downloads in the update folder (`telbridge-*`, each the size of the agent)
/// but those in `keep` (what the service manager's path names now, and the version before
/// it): once an update is over, one of each is all a router's flash should hold.
pub fn prune(dir: &Path, keep: &[PathBuf]) {
    let keep: Vec<PathBuf> = keep.iter().filter_map(|p| std::fs::canonicalize(p).ok()).collect();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let ours = entry.file_name().to_string_lossy().starts_with("telbridge-");
        if ours && std::fs::canonicalize(&path).is_ok_and(|p| !keep.contains(&p)) {
            match std::fs::remove_file(&path) {
                Ok(()) => log::info!("update: {} deleted", path.display()),
                Err(e) => log::warn!("update: cannot delete {}: {e}", path.display()),
            }
        }
    }
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
        let i = plan(&bin).expect("plan");
        install(&i, &new).expect("install");
        assert_eq!(
            (std::fs::read_to_string(&bin).expect("read"), i.previous.clone(), i.link),
            ("new".into(), old, true)
        );
        restore(&i).expect("restore");
        assert_eq!(std::fs::read_to_string(&bin).expect("read"), "old");
        assert!(std::fs::symlink_metadata(&bin).expect("meta").file_type().is_symlink());
    }

    #[test]
    fn only_the_running_and_the_previous_downloads_are_kept() {
        let d = dir("prune");
        let names = ["telbridge-0.1.0", "telbridge-0.2.0", "telbridge-0.3.0", "telbridge-0.4.part", "probation.json"];
        for name in names {
            std::fs::write(d.join(name), name).expect("write");
        }
        let link = d.join("bin");
        std::os::unix::fs::symlink(d.join("telbridge-0.3.0"), &link).expect("link");
        prune(&d, &[link, d.join("telbridge-0.2.0")]);
        let mut left: Vec<String> = std::fs::read_dir(&d)
            .expect("dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["bin", "probation.json", "telbridge-0.2.0", "telbridge-0.3.0"]);
    }

    #[test]
    fn a_file_is_replaced_and_the_previous_kept_beside_it() {
        let d = dir("file");
        let (new, bin) = (d.join("new"), d.join("bin"));
        std::fs::write(&new, "new").expect("new");
        std::fs::write(&bin, "old").expect("old");
        let i = plan(&bin).expect("plan");
        install(&i, &new).expect("install");
        assert_eq!(std::fs::read_to_string(&bin).expect("read"), "new");
        assert_eq!(std::fs::read_to_string(&i.previous).expect("read"), "old");
        restore(&i).expect("restore");
        assert_eq!(std::fs::read_to_string(&bin).expect("read"), "old");
    }
}
