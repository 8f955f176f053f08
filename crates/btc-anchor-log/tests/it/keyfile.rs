//! Signer key files: private on write, refused on read when others may
//! read them.

use std::os::unix::fs::PermissionsExt as _;

use btc_anchor_log::keyfile::{read_key_file, write_key_file, KeyFileError};

use crate::log_signer;

#[test]
fn written_private_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys/log.key");
    let s = log_signer();
    write_key_file(&path, &s).unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    assert_eq!(read_key_file(&path).unwrap().key_id(), s.key_id());
    // Never replaced.
    assert!(matches!(
        write_key_file(&path, &s),
        Err(KeyFileError::Exists { .. })
    ));
}

#[test]
fn readable_by_others_or_malformed_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.key");
    write_key_file(&path, &log_signer()).unwrap();
    for m in [0o644, 0o640, 0o604, 0o660] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(m)).unwrap();
        assert!(
            matches!(read_key_file(&path), Err(KeyFileError::Permissions { mode, .. }) if mode == m),
            "mode {m:o}"
        );
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
    assert!(read_key_file(&path).is_ok());

    let bad = |name: &str, content: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        read_key_file(&p).unwrap_err()
    };
    let skey = log_signer().to_skey();
    assert!(matches!(
        bad("a", skey.as_bytes()),
        KeyFileError::Format { .. }
    ));
    assert!(matches!(
        bad("b", format!("{skey}\n\n").as_bytes()),
        KeyFileError::Format { .. }
    ));
    assert!(matches!(
        bad("c", b"PRIVATE+KEY+x+00000000+AQ==\n"),
        KeyFileError::Key { .. }
    ));
    assert!(matches!(
        bad("d", &[b'a'; 2000]),
        KeyFileError::TooLarge { .. }
    ));
}
