//! The commitment rule: a batch root goes into one OP_RETURN output of the
//! exact form `6a 20 <32 bytes>` (`docs/proof-format.md` §6.1), and
//! nothing else counts as one.
//!
//! [`find_commitment`] can be run over any output script and names the
//! reason a script is not a commitment.

/// `OP_RETURN`.
pub const OP_RETURN: u8 = 0x6a;
/// The one commitment script form (`docs/proof-format.md` §6.1):
/// `OP_RETURN`, then a direct push of exactly 32 bytes: 34 bytes in all.
pub const COMMITMENT_SCRIPT_LEN: usize = 34;

/// Why an output script is not a btc-anchor commitment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommitmentError {
    /// The script does not start with `OP_RETURN`.
    #[error("the output is not an OP_RETURN output")]
    NotOpReturn,
    /// `OP_RETURN` with nothing after it.
    #[error("the OP_RETURN output carries no data")]
    NoData,
    /// The byte after `OP_RETURN` is an opcode, not a push.
    #[error("the OP_RETURN output carries opcode 0x{0:02x}, not a data push")]
    NotAPush(u8),
    /// A push of other than 32 bytes.
    #[error("the OP_RETURN output pushes {found} bytes, not 32")]
    WrongLength {
        /// Bytes pushed.
        found: usize,
    },
    /// 32 bytes pushed with `OP_PUSHDATA1/2/4` instead of a direct push.
    #[error("the OP_RETURN output pushes 32 bytes with a non-minimal opcode (0x{0:02x})")]
    NonMinimalPush(u8),
    /// The push runs past the end of the script.
    #[error("the OP_RETURN output's push runs past the end of the script")]
    Truncated,
    /// More script after the 32-byte push.
    #[error("the OP_RETURN output has {0} more bytes after the 32-byte push")]
    TrailingBytes(usize),
}

/// Finds the 32-byte commitment in an output script, accepting only the
/// exact form `6a 20 <32 bytes>` and naming the reason for anything else.
///
/// # Errors
///
/// A [`CommitmentError`] naming why the script is not exactly `6a 20 <32
/// bytes>`.
pub fn find_commitment(script: &[u8]) -> Result<[u8; 32], CommitmentError> {
    match script.first() {
        Some(&OP_RETURN) => {}
        _ => return Err(CommitmentError::NotOpReturn),
    }
    let rest = &script[1..];
    let Some(&op) = rest.first() else {
        return Err(CommitmentError::NoData);
    };
    let (len, header_len) = match op {
        0x01..=0x4b => (op as usize, 1),
        0x4c => match rest.get(1) {
            Some(&n) => (n as usize, 2),
            None => return Err(CommitmentError::Truncated),
        },
        0x4d => match rest.get(1..3) {
            Some(b) => (u16::from_le_bytes([b[0], b[1]]) as usize, 3),
            None => return Err(CommitmentError::Truncated),
        },
        0x4e => match rest.get(1..5) {
            Some(b) => (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 5),
            None => return Err(CommitmentError::Truncated),
        },
        other => return Err(CommitmentError::NotAPush(other)),
    };
    if len != 32 {
        return Err(CommitmentError::WrongLength { found: len });
    }
    if header_len != 1 {
        return Err(CommitmentError::NonMinimalPush(op));
    }
    let data = rest.get(1..33).ok_or(CommitmentError::Truncated)?;
    if rest.len() > 33 {
        return Err(CommitmentError::TrailingBytes(rest.len() - 33));
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(data);
    Ok(out)
}

/// The output script committing to `root`: `6a 20 <root>`.
pub fn commitment_script(root: &[u8; 32]) -> bitcoin::ScriptBuf {
    let mut bytes = Vec::with_capacity(COMMITMENT_SCRIPT_LEN);
    bytes.push(OP_RETURN);
    bytes.push(32);
    bytes.extend_from_slice(root);
    bitcoin::ScriptBuf::from_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commitment_forms() {
        let root = [7u8; 32];
        let good = commitment_script(&root);
        assert_eq!(find_commitment(good.as_bytes()), Ok(root));
        let mut pd1 = vec![0x6a, 0x4c, 32];
        pd1.extend_from_slice(&root);
        assert_eq!(
            find_commitment(&pd1),
            Err(CommitmentError::NonMinimalPush(0x4c))
        );
        assert_eq!(find_commitment(&[0x6a]), Err(CommitmentError::NoData));
        assert_eq!(find_commitment(&[]), Err(CommitmentError::NotOpReturn));
        assert_eq!(
            find_commitment(&[0x6a, 0x20, 1, 2]),
            Err(CommitmentError::Truncated)
        );
        assert_eq!(
            find_commitment(&[0x6a, 0x4d, 0x20]),
            Err(CommitmentError::Truncated)
        );
        assert_eq!(
            find_commitment(&[0x6a, 0x00]),
            Err(CommitmentError::NotAPush(0x00))
        );
        let mut trailing = good.as_bytes().to_vec();
        trailing.push(0x51);
        assert_eq!(
            find_commitment(&trailing),
            Err(CommitmentError::TrailingBytes(1))
        );
    }
}
