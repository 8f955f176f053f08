//! Canonical JSON (RFC 8785, JCS) for the subset events use
//! (`docs/audit-log.md` §6.3): objects with string keys, arrays, strings,
//! and integers in the IEEE 754 safe range. No floats, booleans or null.
//!
//! * object members sorted by their keys' UTF-16 code units (RFC 8785
//!   §3.2.3), no duplicate keys, no whitespace;
//! * strings as ECMAScript `JSON.stringify` writes them (§3.2.2.2): `"` and
//!   `\` escaped, `\b \f \n \r \t` in short form, other characters below
//!   U+0020 as `\u00xx` (lower-case hex), everything else as UTF-8;
//! * arrays in their order, elements separated by commas;
//! * integers in decimal, `-0` as `0` (§3.2.2.3 for integral values).

/// The largest magnitude of an integer: 2^53 − 1.
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// A value of the supported subset.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Value {
    /// A string.
    String(String),
    /// An integer within ±[`MAX_SAFE_INTEGER`].
    Integer(i64),
    /// An array, written in its order.
    Array(Vec<Value>),
    /// An object: its members in any order (they are sorted on writing).
    Object(Vec<(String, Value)>),
}

/// Errors of writing canonical JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JcsError {
    /// An integer outside the safe range.
    #[error("integer {found} is outside the safe range ±(2^53 - 1)")]
    UnsafeInteger {
        /// The integer.
        found: i64,
    },
    /// Two members of one object with the same key.
    #[error("duplicate object key {key:?}")]
    DuplicateKey {
        /// The key.
        key: String,
    },
}

/// The canonical bytes of `value`.
///
/// # Errors
///
/// A [`JcsError`] for an integer out of range or a duplicate key.
pub fn to_canonical(value: &Value) -> Result<Vec<u8>, JcsError> {
    let mut out = Vec::new();
    write(value, &mut out)?;
    Ok(out)
}

fn write(value: &Value, out: &mut Vec<u8>) -> Result<(), JcsError> {
    match value {
        Value::String(s) => write_string(s, out),
        Value::Integer(n) => {
            if n.unsigned_abs() > MAX_SAFE_INTEGER as u64 {
                return Err(JcsError::UnsafeInteger { found: *n });
            }
            out.extend_from_slice(n.to_string().as_bytes());
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(v, out)?;
            }
            out.push(b']');
        }
        Value::Object(members) => {
            let mut sorted: Vec<(Vec<u16>, &String, &Value)> = members
                .iter()
                .map(|(k, v)| (k.encode_utf16().collect(), k, v))
                .collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            if let Some(w) = sorted.windows(2).find(|w| w[0].0 == w[1].0) {
                return Err(JcsError::DuplicateKey {
                    key: w[0].1.clone(),
                });
            }
            out.push(b'{');
            for (i, (_, k, v)) in sorted.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(k, out);
                out.push(b':');
                write(v, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{08}' => out.extend_from_slice(b"\\b"),
            '\u{0c}' => out.extend_from_slice(b"\\f"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if c < ' ' => out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes()),
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}
