//! Signer key files (`docs/audit-log.md` §3.4): one line, the signer key
//! string and a newline, in a file only its owner may read (mode `0600`) in
//! a folder only its owner may enter (mode `0700`).
//!
//! Writing never replaces an existing file. Reading refuses a key file
//! that its group or other users may read or write, as OpenSSH does for
//! private keys.

use std::fs;
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};

use crate::note::{KeyError, Signer};

/// Largest key file read, in bytes (a key string is well under 400).
pub const MAX_KEY_FILE_LEN: u64 = 1024;

/// Errors of writing or reading a key file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// The file system refused an operation.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A file already exists where the key was to be written.
    #[error("{} already exists", path.display())]
    Exists {
        /// The path.
        path: PathBuf,
    },
    /// A key file its group or other users may access.
    #[error("{} is accessible to other users (mode {mode:o}); it must be 0600", path.display())]
    Permissions {
        /// The path.
        path: PathBuf,
        /// The file's permission bits.
        mode: u32,
    },
    /// A key file over [`MAX_KEY_FILE_LEN`] bytes.
    #[error("{} is over {MAX_KEY_FILE_LEN} bytes: not a key file", path.display())]
    TooLarge {
        /// The path.
        path: PathBuf,
    },
    /// A key file that is not one line of UTF-8 ending in a newline.
    #[error("{} is not one line ending in a newline", path.display())]
    Format {
        /// The path.
        path: PathBuf,
    },
    /// The line is not a valid signer key.
    #[error("{} does not hold a valid signer key", path.display())]
    Key {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: KeyError,
    },
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> KeyFileError + 'a {
    move |source| KeyFileError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// Writes `signer`'s key string to a new file at `path` with mode `0600`,
/// creating its folder with mode `0700` when it does not exist, and syncs
/// file and folder.
///
/// # Errors
///
/// [`KeyFileError::Exists`] when `path` exists, [`KeyFileError::Io`] when
/// the file system refuses.
pub fn write_key_file(path: &Path, signer: &Signer) -> Result<(), KeyFileError> {
    write_secret_line(path, &signer.to_skey())
}

/// Writes one secret line (a key string) to a new file at `path` as
/// [`write_key_file`] does.
///
/// # Errors
///
/// As [`write_key_file`].
pub fn write_secret_line(path: &Path, secret: &str) -> Result<(), KeyFileError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    if !dir.exists() {
        let mut b = fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(&dir).map_err(io_err("create folder", &dir))?;
    }
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = match opts.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(KeyFileError::Exists {
                path: path.to_owned(),
            })
        }
        Err(e) => return Err(io_err("create", path)(e)),
    };
    let mut line = secret.to_owned();
    line.push('\n');
    f.write_all(line.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(io_err("write", path))?;
    fs::File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("sync folder", &dir))?;
    Ok(())
}

/// Reads a signer key file, refusing one that other users may access.
///
/// # Errors
///
/// [`KeyFileError::Permissions`] for a file with any group or other
/// permission bit, and the other [`KeyFileError`]s for an unreadable or
/// malformed file.
pub fn read_key_file(path: &Path) -> Result<Signer, KeyFileError> {
    let line = read_secret_line(path)?;
    Signer::parse(&line).map_err(|source| KeyFileError::Key {
        path: path.to_owned(),
        source,
    })
}

/// Reads the one line of a secret file as [`read_key_file`] does, without
/// parsing it.
///
/// # Errors
///
/// As [`read_key_file`], but for [`KeyFileError::Key`].
pub fn read_secret_line(path: &Path) -> Result<String, KeyFileError> {
    let f = fs::File::open(path).map_err(io_err("open", path))?;
    let meta = f.metadata().map_err(io_err("stat", path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(KeyFileError::Permissions {
                path: path.to_owned(),
                mode,
            });
        }
    }
    if meta.len() > MAX_KEY_FILE_LEN {
        return Err(KeyFileError::TooLarge {
            path: path.to_owned(),
        });
    }
    let mut bytes = Vec::new();
    f.take(MAX_KEY_FILE_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err("read", path))?;
    if bytes.len() as u64 > MAX_KEY_FILE_LEN {
        return Err(KeyFileError::TooLarge {
            path: path.to_owned(),
        });
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| KeyFileError::Format {
        path: path.to_owned(),
    })?;
    let line = text
        .strip_suffix('\n')
        .filter(|l| !l.contains('\n'))
        .ok_or_else(|| KeyFileError::Format {
            path: path.to_owned(),
        })?;
    Ok(line.to_owned())
}
