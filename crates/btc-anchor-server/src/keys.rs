//! API keys (`docs/server-api.md` §10): `server-keys.toml` in the data
//! directory, mode 0600, holding for each client a name and the SHA-256 of
//! its key, never the key. A key is 32 random bytes, written as 64 hex
//! characters, shown once when it is made.
//!
//! ```toml
//! [[key]]
//! name = "clinic-north"
//! sha256 = "<64 hex>"
//! created_at = 1764780000
//! ```
//!
//! The server reads the file at start and again when it changes, so keys
//! added or removed by `btc-anchor serve key` apply without a restart.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// File name of the keys inside the data directory.
pub const KEYS_FILE: &str = "server-keys.toml";

/// Longest key name.
pub const MAX_NAME_LEN: usize = 64;

/// How often the server looks whether the file changed, at most.
const RELOAD_EVERY: Duration = Duration::from_secs(1);

/// Errors of the key file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeysError {
    /// The file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file could not be written.
    #[error("cannot write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file does not parse.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        reason: String,
    },
    /// A key's hash is not 64 hex characters.
    #[error("{path}: the sha256 of key {name:?} is not 64 hex characters")]
    BadHash {
        /// The file.
        path: PathBuf,
        /// The key's name.
        name: String,
    },
    /// A name outside what is allowed.
    #[error("a key name is 1 to 64 characters of a-z A-Z 0-9 . _ -, not {0:?}")]
    BadName(String),
    /// Two keys of one name.
    #[error("there is a key named {0:?} already")]
    Exists(String),
    /// No key of that name.
    #[error("there is no key named {0:?}")]
    NoSuchKey(String),
    /// No randomness for a new key.
    #[error("cannot draw a random key")]
    Random,
}

/// One key as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredKey {
    /// The client's name.
    pub name: String,
    /// SHA-256 of the key's 32 bytes, hex.
    pub sha256: String,
    /// When it was made (seconds since 1970).
    pub created_at: i64,
}

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysFile {
    #[serde(default)]
    key: Vec<StoredKey>,
}

/// A key made by [`add_key`]: the only time the key itself is known.
#[derive(Debug, Clone)]
pub struct NewKey {
    /// The client's name.
    pub name: String,
    /// The key, 64 hex characters.
    pub key: String,
}

fn keys_path(data_dir: &Path) -> PathBuf {
    data_dir.join(KEYS_FILE)
}

fn valid_name(name: &str) -> bool {
    (1..=MAX_NAME_LEN).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

fn read_file(path: &Path) -> Result<KeysFile, KeysError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(KeysFile::default()),
        Err(source) => {
            return Err(KeysError::Read {
                path: path.to_owned(),
                source,
            })
        }
    };
    toml::from_str(&text).map_err(|e| KeysError::Invalid {
        path: path.to_owned(),
        reason: e.message().to_owned(),
    })
}

/// Writes the file whole: a temporary file of mode 0600 beside it, flushed,
/// then moved into place, and the folder flushed.
fn write_file(path: &Path, file: &KeysFile) -> Result<(), KeysError> {
    let fail = |source| KeysError::Write {
        path: path.to_owned(),
        source,
    };
    let text = toml::to_string(file)
        .map_err(|e| fail(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".{KEYS_FILE}.{}.tmp", std::process::id()));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let written = opts.open(&tmp).and_then(|mut f| {
        f.write_all(text.as_bytes())?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail(e));
    }
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Makes a key for `name` in `data_dir`'s key file (created if needed) and
/// returns it: it is not kept, only its hash.
///
/// # Errors
///
/// A bad or taken name, a file that cannot be read or written.
pub fn add_key(data_dir: &Path, name: &str) -> Result<NewKey, KeysError> {
    if !valid_name(name) {
        return Err(KeysError::BadName(name.to_owned()));
    }
    let path = keys_path(data_dir);
    let mut file = read_file(&path)?;
    if file.key.iter().any(|k| k.name == name) {
        return Err(KeysError::Exists(name.to_owned()));
    }
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|_| KeysError::Random)?;
    file.key.push(StoredKey {
        name: name.to_owned(),
        sha256: hex::encode(Sha256::digest(secret)),
        created_at: btc_anchor_workflow::store::now(),
    });
    write_file(&path, &file)?;
    Ok(NewKey {
        name: name.to_owned(),
        key: hex::encode(secret),
    })
}

/// The keys of `data_dir` as stored: names, hashes and dates.
///
/// # Errors
///
/// A file that cannot be read or does not parse.
pub fn list_keys(data_dir: &Path) -> Result<Vec<StoredKey>, KeysError> {
    Ok(read_file(&keys_path(data_dir))?.key)
}

/// Removes the key of `name`.
///
/// # Errors
///
/// No such key, a file that cannot be read or written.
pub fn remove_key(data_dir: &Path, name: &str) -> Result<(), KeysError> {
    let path = keys_path(data_dir);
    let mut file = read_file(&path)?;
    let before = file.key.len();
    file.key.retain(|k| k.name != name);
    if file.key.len() == before {
        return Err(KeysError::NoSuchKey(name.to_owned()));
    }
    write_file(&path, &file)
}

/// The keys a server checks requests against.
#[derive(Debug, Default, Clone)]
pub struct ApiKeys {
    keys: Vec<(String, [u8; 32])>,
}

impl ApiKeys {
    /// The keys of `data_dir` (none without a file).
    ///
    /// # Errors
    ///
    /// A file that cannot be read, does not parse, or holds a bad hash.
    pub fn load(data_dir: &Path) -> Result<ApiKeys, KeysError> {
        let path = keys_path(data_dir);
        let mut keys = Vec::new();
        for k in read_file(&path)?.key {
            let mut h = [0u8; 32];
            if hex::decode_to_slice(&k.sha256, &mut h).is_err() {
                return Err(KeysError::BadHash { path, name: k.name });
            }
            keys.push((k.name, h));
        }
        Ok(ApiKeys { keys })
    }

    /// Whether no key is configured (then nothing asks for one).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The name of the key `presented` (64 hex characters), or `None`.
    /// Its hash is compared with every key's in constant time.
    pub fn check(&self, presented: &str) -> Option<&str> {
        let mut secret = [0u8; 32];
        let well_formed = presented.len() == 64
            && hex::decode_to_slice(presented.as_bytes(), &mut secret).is_ok();
        let hash: [u8; 32] = Sha256::digest(secret).into();
        let mut found = None;
        for (name, h) in &self.keys {
            if bool::from(h.ct_eq(&hash)) {
                found = Some(name.as_str());
            }
        }
        found.filter(|_| well_formed)
    }
}

/// [`ApiKeys`] that follow the file: read again when it changes, looked
/// at no more than once a second.
#[derive(Debug)]
pub struct KeyFile {
    data_dir: PathBuf,
    state: Mutex<Loaded>,
}

#[derive(Debug)]
struct Loaded {
    checked: Instant,
    modified: Option<SystemTime>,
    keys: Arc<ApiKeys>,
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

impl KeyFile {
    /// Reads the keys of `data_dir`.
    ///
    /// # Errors
    ///
    /// As [`ApiKeys::load`].
    pub fn open(data_dir: &Path) -> Result<KeyFile, KeysError> {
        let m = modified(&keys_path(data_dir));
        let keys = ApiKeys::load(data_dir)?;
        Ok(KeyFile {
            data_dir: data_dir.to_owned(),
            state: Mutex::new(Loaded {
                checked: Instant::now(),
                modified: m,
                keys: Arc::new(keys),
            }),
        })
    }

    /// The keys now. A file changed into one that does not load keeps the
    /// keys read before (and the error is logged).
    pub fn keys(&self) -> Arc<ApiKeys> {
        let Ok(mut s) = self.state.lock() else {
            return Arc::default();
        };
        if s.checked.elapsed() >= RELOAD_EVERY {
            s.checked = Instant::now();
            let m = modified(&keys_path(&self.data_dir));
            if m != s.modified {
                s.modified = m;
                match ApiKeys::load(&self.data_dir) {
                    Ok(k) => {
                        tracing::info!(keys = k.keys.len(), "API keys read again");
                        s.keys = Arc::new(k);
                    }
                    Err(e) => {
                        tracing::error!(error = %btc_anchor::text::with_sources(&e), "API keys not read again; the previous ones stay");
                    }
                }
            }
        }
        s.keys.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stored_hashed_private_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        assert!(ApiKeys::load(dir.path()).unwrap().is_empty());
        let a = add_key(dir.path(), "clinic-a").unwrap();
        let b = add_key(dir.path(), "clinic.b_2").unwrap();
        assert_eq!(a.key.len(), 64);
        assert_ne!(a.key, b.key);
        assert!(matches!(
            add_key(dir.path(), "clinic-a"),
            Err(KeysError::Exists(_))
        ));
        for bad in ["", "a b", "a/b", &"x".repeat(65)] {
            assert!(matches!(
                add_key(dir.path(), bad),
                Err(KeysError::BadName(_))
            ));
        }
        let text = std::fs::read_to_string(dir.path().join(KEYS_FILE)).unwrap();
        assert!(!text.contains(&a.key) && !text.contains(&b.key));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join(KEYS_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let keys = ApiKeys::load(dir.path()).unwrap();
        assert_eq!(keys.check(&a.key), Some("clinic-a"));
        assert_eq!(keys.check(&b.key.to_uppercase()), Some("clinic.b_2"));
        assert_eq!(keys.check(&"00".repeat(32)), None);
        assert_eq!(keys.check("short"), None);
        assert_eq!(keys.check(""), None);

        let names: Vec<_> = list_keys(dir.path())
            .unwrap()
            .into_iter()
            .map(|k| k.name)
            .collect();
        assert_eq!(names, ["clinic-a", "clinic.b_2"]);
        remove_key(dir.path(), "clinic-a").unwrap();
        assert!(matches!(
            remove_key(dir.path(), "clinic-a"),
            Err(KeysError::NoSuchKey(_))
        ));
        let keys = ApiKeys::load(dir.path()).unwrap();
        assert_eq!(keys.check(&a.key), None);
        assert_eq!(keys.check(&b.key), Some("clinic.b_2"));

        std::fs::write(
            dir.path().join(KEYS_FILE),
            "[[key]]\nname = \"x\"\nsha256 = \"zz\"\ncreated_at = 0\n",
        )
        .unwrap();
        assert!(matches!(
            ApiKeys::load(dir.path()),
            Err(KeysError::BadHash { .. })
        ));
    }
}
