//! A consistent copy of a data directory: [`backup`].
//!
//! The copy is itself a data directory: the store and the wallet database
//! copied by SQLite (`VACUUM INTO`, a transactionally consistent snapshot,
//! compacted), the wallet's secret and `config.toml` copied as they are,
//! each file made durable, all private (the folder 0700, the files 0600).
//! The data directory's lock is held meanwhile, so no command changes it
//! half-way through.
//!
//! To restore, use the copy as the data directory (`--data-dir`), or copy
//! its files into an empty one. Proof files live beside the documents and
//! are not part of it: `btc-anchor upgrade --rewrite` writes them all again
//! from a restored store.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::config::CONFIG_FILE;
use crate::store::{create_private_dir, create_private_file, DataLock, StoreError, STORE_FILE};
use crate::wallet::{SECRET_FILE, WALLET_DB_FILE};

/// Why a backup could not be made. Nothing in the data directory is
/// changed in any case; a partial copy may be left in the folder named.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// The data directory is in use, or its lock cannot be taken.
    #[error(transparent)]
    Lock(#[from] StoreError),
    /// The data directory holds no store: nothing to back up.
    #[error("{0} holds no btc-anchor store")]
    NoStore(PathBuf),
    /// The backup folder exists and is not empty (nothing is overwritten).
    #[error("{0} exists and is not empty")]
    NotEmpty(PathBuf),
    /// A file could not be copied or written.
    #[error("cannot write the backup of {file}")]
    Io {
        /// The file being backed up.
        file: &'static str,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// SQLite could not copy a database.
    #[error("cannot copy the database {file}")]
    Sqlite {
        /// The database file.
        file: &'static str,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
}

/// What [`backup`] copied, by file name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackupReport {
    /// The files written into the backup folder.
    pub files: Vec<&'static str>,
}

/// Writes a consistent copy of `data_dir` into `out`, a folder that does
/// not exist or is empty (module documentation).
///
/// # Errors
///
/// [`BackupError`]: the data directory is in use or holds no store, `out`
/// is not empty, or a file cannot be copied.
pub fn backup(data_dir: &Path, out: &Path) -> Result<BackupReport, BackupError> {
    let _lock = DataLock::acquire(data_dir)?;
    if !data_dir.join(STORE_FILE).is_file() {
        return Err(BackupError::NoStore(data_dir.to_path_buf()));
    }
    let io = |file| move |source| BackupError::Io { file, source };
    if fs::read_dir(out).is_ok_and(|mut d| d.next().is_some()) {
        return Err(BackupError::NotEmpty(out.to_path_buf()));
    }
    create_private_dir(out).map_err(io("the backup folder"))?;
    let mut report = BackupReport::default();
    for db in [STORE_FILE, WALLET_DB_FILE] {
        let from = data_dir.join(db);
        if !from.is_file() {
            continue;
        }
        let to = out.join(db);
        copy_database(&from, &to).map_err(|source| BackupError::Sqlite { file: db, source })?;
        private_and_durable(&to).map_err(io(db))?;
        report.files.push(db);
    }
    for plain in [SECRET_FILE, CONFIG_FILE] {
        let from = data_dir.join(plain);
        if !from.is_file() {
            continue;
        }
        let to = out.join(plain);
        create_private_file(&to)
            .and_then(|()| fs::copy(&from, &to))
            .map_err(io(plain))?;
        private_and_durable(&to).map_err(io(plain))?;
        report.files.push(plain);
    }
    fs::File::open(out)
        .and_then(|d| d.sync_all())
        .map_err(io("the backup folder"))?;
    Ok(report)
}

/// A consistent snapshot of the database at `from`, written to `to`.
fn copy_database(from: &Path, to: &Path) -> Result<(), rusqlite::Error> {
    let conn = Connection::open_with_flags(from, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.execute("VACUUM INTO ?1", [to.to_string_lossy()])?;
    Ok(())
}

/// Tightens `path` to 0600 and flushes it to disk.
fn private_and_durable(path: &Path) -> io::Result<()> {
    create_private_file(path)?;
    fs::File::open(path)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Journal, Store};

    #[test]
    fn the_copy_is_a_data_directory_and_private() {
        let data = tempfile::tempdir().unwrap();
        let mut store = Store::open(data.path()).unwrap();
        store.record_network(bitcoin::Network::Regtest).unwrap();
        drop(store);
        fs::write(data.path().join(CONFIG_FILE), "network = \"regtest\"\n").unwrap();
        let out = tempfile::tempdir().unwrap();
        let copy = out.path().join("backup");
        let report = backup(data.path(), &copy).unwrap();
        assert_eq!(report.files, vec![STORE_FILE, CONFIG_FILE]);
        let restored = Store::open(&copy).unwrap();
        assert_eq!(restored.network().unwrap(), Some(bitcoin::Network::Regtest));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&copy), 0o700);
            assert_eq!(mode(&copy.join(STORE_FILE)), 0o600);
            assert_eq!(mode(&copy.join(CONFIG_FILE)), 0o600);
        }
        // Never into a folder holding something, nor of a folder with no
        // store.
        assert!(matches!(
            backup(data.path(), &copy),
            Err(BackupError::NotEmpty(_))
        ));
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(
            backup(empty.path(), &out.path().join("b2")),
            Err(BackupError::NoStore(_))
        ));
    }
}
