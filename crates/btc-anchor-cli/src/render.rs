//! Small helpers shared by the commands' text and JSON output.

use std::fmt::Write as _;

use btc_anchor::bitcoin::Network;
use btc_anchor::headers::SourceKind;
use btc_anchor::text::{escape_controls, is_unsafe_char};
use serde_json::Value;

/// `n` followed by `word`, pluralised with an `s` unless `n` is 1.
pub fn count(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Appends one indented `label: value` detail line; an empty label
/// continues the item above. Control and bidirectional characters in
/// either (a file name, a server's URL) are escaped, so that the line stays
/// one line and reads as written.
pub fn line(s: &mut String, label: &str, value: &str) {
    let label = if label.is_empty() {
        String::new()
    } else {
        format!("{}:", escape_controls(label))
    };
    s.push_str(&format!("  {label:<16} {}\n", escape_controls(value)));
}

/// One compact JSON object and a newline.
///
/// serde_json escapes the C0 controls, `"` and `\` in strings, but writes
/// DEL, the C1 controls and the Unicode bidirectional controls raw; they
/// are escaped here as `\uXXXX`, which every JSON reader decodes back to
/// the same string, so that JSON printed on a terminal cannot steer it
/// either. (Outside strings, compact JSON holds only ASCII.)
pub fn json_line(v: &Value) -> String {
    let compact = v.to_string();
    let mut s = String::with_capacity(compact.len() + 1);
    for c in compact.chars() {
        if is_unsafe_char(c) {
            // Every such character is in the Basic Multilingual Plane: one
            // four-digit escape. Writing to a String cannot fail.
            let _ = write!(s, "\\u{:04x}", u32::from(c));
        } else {
            s.push(c);
        }
    }
    s.push('\n');
    s
}

/// Appends `v` to `list`, the comma-separated items of a JSON array
/// written out piece by piece (so that a long list is never held as
/// values), escaped as [`json_line`] escapes.
pub fn push_json_item(list: &mut String, v: &Value) {
    if !list.is_empty() {
        list.push(',');
    }
    list.push_str(json_line(v).trim_end());
}

/// The first line a server prints on stdout once it listens, for scripts
/// that asked for port 0: `listening on http://ADDR`, or with `--json` a
/// `listening` object naming the `service` (`docs/cli-json.md`).
pub fn listening(service: &str, addr: std::net::SocketAddr, json: bool) -> String {
    let url = format!("http://{addr}");
    if json {
        json_line(&serde_json::json!({"result": "listening", "service": service, "url": url}))
    } else {
        format!("listening on {url}\n")
    }
}

/// "Bitcoin" for mainnet, "Bitcoin regtest" and so on for the others.
pub fn chain_name(network: Network) -> String {
    match network {
        Network::Bitcoin => "Bitcoin".to_owned(),
        other => format!("Bitcoin {other}"),
    }
}

/// What the headline adds for a test network, whose proofs carry no
/// weight as evidence ("" for mainnet).
pub fn weight_note(network: Network) -> &'static str {
    if network == Network::Bitcoin {
        ""
    } else {
        "; a test network: no weight as evidence"
    }
}

/// The headline of a valid proof, in words people use: "VALID: this
/// document existed by 3 Feb 2011, 01:56 UTC (Bitcoin block 16, time
/// accurate to about 2 hours)". The block's time is the time stated;
/// `--verbose` and the JSON give the strict bound (block time + 2 hours,
/// as far ahead as consensus lets a block's time run).
pub fn valid_headline(noun: &str, block_time: u32, network: Network, height: u32) -> String {
    format!(
        "VALID: {noun} existed by {} ({} block {height}, time accurate to about {} hours{})\n",
        btc_anchor::utc::plain(block_time),
        chain_name(network),
        btc_anchor::verify::MAX_FUTURE_BLOCK_TIME / 3600,
        weight_note(network),
    )
}

/// The header source as named in text: "the proof file", "headers file
/// PATH", "Electrum server URL".
pub fn source_label(kind: &SourceKind) -> String {
    match kind {
        SourceKind::EmbeddedOnly => "the proof file".to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lines_and_json_escape_what_could_steer_a_terminal() {
        let mut s = String::new();
        line(&mut s, "file", "a\nb\u{202e}c");
        assert_eq!(s, "  file:            a\\u{a}b\\u{202e}c\n");
        let j = json_line(&json!({"name": "x\u{202e}\u{7f}\u{85}\ny"}));
        assert_eq!(j, "{\"name\":\"x\\u202e\\u007f\\u0085\\ny\"}\n");
        let back: Value = serde_json::from_str(&j).unwrap();
        assert_eq!(back["name"], "x\u{202e}\u{7f}\u{85}\ny");
    }

    #[test]
    fn chain_names() {
        assert_eq!(chain_name(Network::Bitcoin), "Bitcoin");
        assert_eq!(chain_name(Network::Regtest), "Bitcoin regtest");
        assert_eq!(chain_name(Network::Testnet4), "Bitcoin testnet4");
    }

    #[test]
    fn labels() {
        assert_eq!(source_label(&SourceKind::EmbeddedOnly), "the proof file");
        assert_eq!(
            source_label(&SourceKind::HeadersFile("h.bin".into())),
            "headers file h.bin"
        );
    }
}
