//! `btc-anchor export --ots`: writes a complete proof as an OpenTimestamps
//! detached timestamp, with [`btc_anchor::ots::timestamp_from_proof`].

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use btc_anchor::bitcoin::hashes::Hash as _;
use btc_anchor::bitcoin::{Network, TxMerkleNode};
use btc_anchor::file::{
    ots_path_for_proof, read_any, write_atomic, ProofFile, ReadAnyError, WriteOptions,
};
use btc_anchor::ots::{timestamp_from_proof, Attestation, OtsExportError};
use btc_anchor::proof::ProofError;
use btc_anchor::text::escape_path;
use clap::Args;

use crate::outcome::{with_sources, Done, Failure};
use crate::render::{chain_name, json_line, line};
use serde_json::json;

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

    /// Print one JSON object instead of text
    #[arg(long)]
    pub json: bool,
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
            return Err(Failure::invalid(with_sources(&e), proof_error_hint(&e)))
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
    let out = args.out.clone().unwrap_or_else(|| ots_path_for_proof(path));
    if same_file(path, &out) {
        return Err(Failure::usage(
            format!("the output {} is the proof file itself", out.display()),
            "give another path with --out FILE",
        ));
    }
    let bytes = ts.to_bytes();
    write_atomically(&out, &bytes, args.force)?;

    let reached = ts
        .attestations()
        .into_iter()
        .find_map(|a| match a.attestation {
            Attestation::Bitcoin { height } => <[u8; 32]>::try_from(a.message.as_slice())
                .ok()
                .map(|m| (height, m)),
            _ => None,
        });
    if args.json {
        return Ok(Done::ok(json_line(&json!({
            "result": "written",
            "path": out.display().to_string(),
            "bytes": bytes.len(),
            "network": proof.network.to_string(),
            "height": reached.map(|(h, _)| h),
            "merkle_root": reached.map(|(_, root)| TxMerkleNode::from_byte_array(root).to_string()),
        }))));
    }
    let mut s = format!("wrote {} ({} bytes)\n", escape_path(&out), bytes.len());
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
            with_sources(&other),
            "this proof cannot be written as a .ots file; keep the btc-anchor proof, which \
             btc-anchor verify checks",
        ),
    }
}

/// Whether two paths name the same existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Writes `bytes` to `dest` whole or not at all
/// ([`btc_anchor::file::write_atomic`], flushed to disk). Without `replace`,
/// an existing `dest` is never overwritten, even one that appears
/// meanwhile.
pub(crate) fn write_atomically(dest: &Path, bytes: &[u8], replace: bool) -> Result<(), Failure> {
    let options = WriteOptions {
        replace,
        durable: true,
    };
    write_atomic(dest, bytes, options).map_err(|e| match e.kind() {
        io::ErrorKind::AlreadyExists => Failure::io(
            format!("{} exists; it was not overwritten", dest.display()),
            "pass --force to replace it, or --out FILE to write elsewhere",
        ),
        io::ErrorKind::InvalidInput => Failure::usage(
            format!("{} does not name a file", dest.display()),
            "give a file path with --out FILE",
        ),
        _ => Failure::io(
            format!("cannot write {}: {e}", dest.display()),
            "check that the folder exists and is writable, or choose another path with --out FILE",
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Exit;

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
    }
}
