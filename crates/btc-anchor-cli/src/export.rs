//! `btc-anchor export --ots`: writes a complete proof as an OpenTimestamps
//! detached timestamp, with [`btc_anchor::ots::timestamp_from_proof`].

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use btc_anchor::bitcoin::hashes::Hash as _;
use btc_anchor::bitcoin::{Network, TxMerkleNode};
use btc_anchor::file::{read_any, ProofFile, ReadAnyError};
use btc_anchor::ots::{timestamp_from_proof, Attestation, OtsExportError};
use btc_anchor::proof::ProofError;
use btc_anchor::text::escape_path;
use clap::Args;

use crate::outcome::{with_sources, Done, Failure};
use crate::render::{chain_name, line};

/// Arguments of `btc-anchor export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write an OpenTimestamps detached timestamp (.ots), which
    /// OpenTimestamps tools verify (the only export format)
    #[arg(long, required = true)]
    pub ots: bool,

    /// The complete (confirmed) btc-anchor proof to export (read only)
    #[arg(value_name = "PROOF")]
    pub proof: PathBuf,

    /// Where to write the .ots file [default: PROOF with .anchor.json
    /// replaced by .ots, or PROOF.ots]
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Replace the output file if it exists
    #[arg(long)]
    pub force: bool,
}

/// The exit code table of `export --help`.
pub const EXIT_CODES_HELP: &str = "\
Exit status:
  0  the .ots file was written
  1  the proof is not complete yet (queued, batched or broadcast), does not verify, or is malformed
  2  usage error: missing, unknown or conflicting arguments
  4  input/output error: the proof is missing or unreadable, the output file exists (pass --force) or cannot be written";

/// Runs `export`.
pub fn run(args: &ExportArgs) -> Result<Done, Failure> {
    const HINT: &str = "check the path of the proof file";
    let path = &args.proof;
    let already_ots = || {
        Failure::invalid(
            format!("{} is already an OpenTimestamps file", path.display()),
            "export takes a btc-anchor proof (<DOCUMENT>.anchor.json); btc-anchor verify and \
             info read .ots files as they are",
        )
    };
    // Opened and read once: a pipe or a FIFO can be read only once.
    let proof = match read_any(path) {
        Ok(ProofFile::Native(proof)) => proof,
        Ok(ProofFile::Ots(_)) | Err(ReadAnyError::Ots(_)) => return Err(already_ots()),
        Err(ReadAnyError::Proof(e)) => {
            return Err(Failure::invalid(e.to_string(), proof_error_hint(&e)))
        }
        Err(e) if e.is_io() => return Err(Failure::io(with_sources(&e), HINT)),
        Ok(_) | Err(_) => {
            return Err(Failure::invalid(
                "the proof file is in a format this program does not know how to export",
                "use the btc-anchor program built with the same library version",
            ))
        }
    };
    let ts = timestamp_from_proof(&proof).map_err(export_failure)?;
    let out = args.out.clone().unwrap_or_else(|| default_out(path));
    if same_file(path, &out) {
        return Err(Failure::usage(
            format!("the output {} is the proof file itself", out.display()),
            "give another path with --out FILE",
        ));
    }
    let bytes = ts.to_bytes();
    write_atomically(&out, &bytes, args.force)?;

    let mut s = format!("wrote {} ({} bytes)\n", escape_path(&out), bytes.len());
    let reached = ts
        .attestations()
        .into_iter()
        .find_map(|a| match a.attestation {
            Attestation::Bitcoin { height } => <[u8; 32]>::try_from(a.message.as_slice())
                .ok()
                .map(|m| (height, m)),
            _ => None,
        });
    if let Some((height, root)) = reached {
        line(
            &mut s,
            "reaches",
            &format!(
                "{} block {height}, merkle root {} (display order; internal byte order {})",
                chain_name(proof.network),
                TxMerkleNode::from_byte_array(root),
                hex::encode(root)
            ),
        );
    }
    if proof.network != Network::Bitcoin {
        line(
            &mut s,
            "note",
            &format!(
                ".ots files name no network: check this one against {} headers \
                 (btc-anchor verify DOCUMENT --proof {} --network {} --headers FILE)",
                proof.network,
                out.display(),
                proof.network
            ),
        );
    }
    Ok(Done::ok(s))
}

fn proof_error_hint(e: &ProofError) -> String {
    match e {
        ProofError::UnsupportedVersion(_) => {
            "the proof was written by a newer btc-anchor: upgrade btc-anchor to export it"
                .to_owned()
        }
        _ => "the file is damaged or is not a btc-anchor proof; use an intact copy of the proof"
            .to_owned(),
    }
}

fn export_failure(e: OtsExportError) -> Failure {
    match e {
        OtsExportError::NotConfirmed { stage } => Failure::invalid(
            format!(
                "a {stage} proof has no .ots form: only a confirmed proof, with its block, can \
                 be exported"
            ),
            "run btc-anchor upgrade once the transaction confirms, then export again",
        ),
        OtsExportError::Invalid(v) => Failure::invalid(
            format!("the proof does not verify ({}): {v}", v.kind()),
            "only a proof that verifies can be exported; btc-anchor verify says what is wrong",
        ),
        other => Failure::invalid(
            other.to_string(),
            "this proof cannot be written as a .ots file; keep the btc-anchor proof, which \
             btc-anchor verify checks",
        ),
    }
}

/// `x.anchor.json` → `x.ots`; anything else gets `.ots` appended.
fn default_out(proof: &Path) -> PathBuf {
    const SUFFIX: &str = ".anchor.json";
    if let Some(name) = proof.file_name().and_then(|n| n.to_str()) {
        if let Some(stem) = name.strip_suffix(SUFFIX).filter(|s| !s.is_empty()) {
            return proof.with_file_name(format!("{stem}.ots"));
        }
    }
    let mut name: OsString = proof.as_os_str().to_owned();
    name.push(".ots");
    PathBuf::from(name)
}

/// Whether two paths name the same existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Writes `bytes` to `dest` so that readers see either no file (or the
/// old one) or the whole new one: a temporary file in the same folder,
/// flushed to disk, then moved into place. Without `replace`, an existing
/// `dest` is never overwritten, even one that appears meanwhile.
fn write_atomically(dest: &Path, bytes: &[u8], replace: bool) -> Result<(), Failure> {
    let exists = || {
        Failure::io(
            format!("{} exists; it was not overwritten", dest.display()),
            "pass --force to replace it, or --out FILE to write elsewhere",
        )
    };
    let cannot = |e: io::Error| {
        Failure::io(
            format!("cannot write {}: {e}", dest.display()),
            "check that the folder exists and is writable, or choose another path with --out FILE",
        )
    };
    if !replace && fs::symlink_metadata(dest).is_ok() {
        return Err(exists());
    }
    let Some(name) = dest.file_name() else {
        return Err(Failure::usage(
            format!("{} does not name a file", dest.display()),
            "give a file path with --out FILE",
        ));
    };
    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let (tmp, mut file) = create_temp(dir, name).map_err(cannot)?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    drop(file);
    let placed = written.and_then(|()| {
        if replace {
            fs::rename(&tmp, dest)
        } else {
            place_new(&tmp, dest)
        }
    });
    if let Err(e) = placed {
        let _ = fs::remove_file(&tmp);
        return Err(if e.kind() == io::ErrorKind::AlreadyExists {
            exists()
        } else {
            cannot(e)
        });
    }
    // The rename is durable once the folder is flushed; not every platform
    // can open a folder for that, and the file is complete either way.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// A new, empty temporary file in `dir`, named after the destination.
fn create_temp(dir: &Path, name: &std::ffi::OsStr) -> io::Result<(PathBuf, File)> {
    let pid = std::process::id();
    let mut last = None;
    for n in 0..100u32 {
        let mut tmp_name = OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".{pid}-{n}.tmp"));
        let tmp = dir.join(tmp_name);
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free temporary file name")))
}

/// Moves `tmp` to `dest` unless `dest` exists: a hard link fails rather
/// than replace a file, where a rename would not. On a file system without
/// hard links, a check then a rename.
fn place_new(tmp: &Path, dest: &Path) -> io::Result<()> {
    match fs::hard_link(tmp, dest) {
        Ok(()) => {
            let _ = fs::remove_file(tmp);
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
        Err(_) => {
            if fs::symlink_metadata(dest).is_ok() {
                return Err(io::ErrorKind::AlreadyExists.into());
            }
            fs::rename(tmp, dest)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Exit;

    #[test]
    fn default_output_paths() {
        assert_eq!(
            default_out(Path::new("a/record.txt.anchor.json")),
            PathBuf::from("a/record.txt.ots")
        );
        assert_eq!(
            default_out(Path::new("proof.json")),
            PathBuf::from("proof.json.ots")
        );
        assert_eq!(
            default_out(Path::new(".anchor.json")),
            PathBuf::from(".anchor.json.ots")
        );
    }

    #[test]
    fn atomic_write_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("x.ots");
        write_atomically(&dest, b"one", false).unwrap();
        let f = write_atomically(&dest, b"two", false).unwrap_err();
        assert_eq!(f.exit, Exit::Io);
        assert_eq!(fs::read(&dest).unwrap(), b"one");
        write_atomically(&dest, b"three", true).unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"three");
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        // A temporary file that exists already is stepped over.
        let stale = dir
            .path()
            .join(format!(".y.ots.{}-0.tmp", std::process::id()));
        fs::write(&stale, b"stale").unwrap();
        write_atomically(&dir.path().join("y.ots"), b"four", false).unwrap();
        assert_eq!(fs::read(&stale).unwrap(), b"stale");
        assert_eq!(fs::read(dir.path().join("y.ots")).unwrap(), b"four");
    }

    #[test]
    fn place_new_never_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path().join("t");
        let dest = dir.path().join("d");
        fs::write(&tmp, b"new").unwrap();
        fs::write(&dest, b"old").unwrap();
        let e = place_new(&tmp, &dest).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&dest).unwrap(), b"old");
    }
}
