//! Snapshots of what people read: every command's help, usage errors, and
//! the text of verify's answers and failures (`tests/cmd/*.toml`, with the
//! expected `.stdout` and `.stderr` beside each). After an intended change
//! of wording, `TRYCMD=overwrite cargo test -p btc-anchor-cli snapshots`
//! rewrites them, and the diff shows what changed.

#[test]
fn help_usage_and_error_text() {
    trycmd::TestCases::new()
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .case("tests/cmd/*.toml");
}
