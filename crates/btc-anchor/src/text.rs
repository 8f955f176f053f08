//! Showing text that came from an input (a file's content or name) without
//! letting it steer the terminal.
//!
//! A hostile proof, timestamp or file name can hold characters that a
//! terminal acts on instead of showing: control characters (a newline that
//! forges an extra line of output, an escape sequence that recolours or
//! clears the screen) and Unicode bidirectional controls (U+202E turns the
//! rest of a line around, so that `exe.pdf` can read as `fdp.exe`).
//! [`escape_controls`] writes each of them as `\u{…}`, the way Rust writes
//! such characters, and leaves everything else as it is.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::path::Path;

/// Whether `c` is a character that must not reach a terminal raw: a C0
/// control (U+0000 to U+001F, newline and tab included), DEL (U+007F), a C1
/// control (U+0080 to U+009F), or a Unicode bidirectional control (U+061C,
/// U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069), or a line or
/// paragraph separator (U+2028, U+2029), which some terminals break lines
/// at.
pub fn is_unsafe_char(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{61c}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
    )
}

/// `s` with every character of [`is_unsafe_char`] written as `\u{hex}`
/// (U+202E as `\u{202e}`); borrowed when there is none, the common case.
pub fn escape_controls(s: &str) -> Cow<'_, str> {
    escape_where(s, is_unsafe_char)
}

/// Like [`escape_controls`], but leaves line feeds alone: for text made of
/// lines whose other content is already escaped, as a last line of
/// defence.
pub fn escape_controls_keep_newlines(s: &str) -> Cow<'_, str> {
    escape_where(s, |c| c != '\n' && is_unsafe_char(c))
}

fn escape_where(s: &str, unsafe_char: impl Fn(char) -> bool) -> Cow<'_, str> {
    let Some(first) = s.find(&unsafe_char) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + 8);
    out.push_str(&s[..first]);
    for c in s[first..].chars() {
        if unsafe_char(c) {
            // Writing to a String cannot fail.
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A path as shown in messages: [`Path::display`], escaped with
/// [`escape_controls`] (a file name may hold any character but `/` and NUL).
pub fn escape_path(path: &Path) -> String {
    let shown = path.display().to_string();
    match escape_controls(&shown) {
        Cow::Borrowed(_) => shown,
        Cow::Owned(escaped) => escaped,
    }
}

/// At most `max` characters of `s`, and `…` after them if it was longer: for
/// a piece of input quoted in a message, which must not grow with the input.
pub fn truncate_chars(s: &str, max: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => Cow::Borrowed(s),
        Some((end, _)) => Cow::Owned(format!("{}…", &s[..end])),
    }
}

/// An error's message followed by those of its sources, each once, as one
/// line (`cause: source: …`): errors that leave their source out of their
/// own message (as [`crate::file::ReadAnyError`] does) get it appended, and
/// those that repeat it do not get it twice.
pub fn with_sources(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut next = e.source();
    while let Some(source) = next {
        let text = source.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        next = source.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_urls_plain_http_only_to_this_machine() {
        let base = |u| client_base_url(u, &['%'], "no percent");
        assert_eq!(
            base("http://127.0.0.1:8600/").unwrap(),
            "http://127.0.0.1:8600"
        );
        assert_eq!(base("http://[::1]:1/x").unwrap(), "http://[::1]:1/x");
        assert_eq!(
            base("https://calendar.example.org").unwrap(),
            "https://calendar.example.org"
        );
        assert_eq!(
            base("http://calendar.example.org"),
            Err(UrlRefusal::Insecure)
        );
        assert_eq!(
            base("http://127.0.0.1/%2e"),
            Err(UrlRefusal::Bad("no percent"))
        );
        assert_eq!(
            base("http://127.0.0.1/?q"),
            Err(UrlRefusal::Bad("no percent"))
        );
        for bad in [
            "ftp://x",
            "http://",
            "http://:80",
            "http://a b",
            "http://127.0.0.1/\n",
        ] {
            assert!(matches!(base(bad), Err(UrlRefusal::Bad(_))), "{bad}");
        }
        assert!(client_base_url("http://127.0.0.1/%2e", &[], "x").is_ok());
    }

    #[test]
    fn controls_and_bidi_are_escaped() {
        assert!(matches!(
            escape_controls("plain text, é and 中"),
            Cow::Borrowed(_)
        ));
        assert_eq!(escape_controls("a\u{202e}fdp.exe"), "a\\u{202e}fdp.exe");
        assert_eq!(
            escape_controls("x\ny\r\t\u{1b}[2J"),
            "x\\u{a}y\\u{d}\\u{9}\\u{1b}[2J"
        );
        assert_eq!(
            escape_controls("\u{7f}\u{85}\u{9f}\u{a0}"),
            "\\u{7f}\\u{85}\\u{9f}\u{a0}"
        );
        for c in [
            '\u{61c}', '\u{200e}', '\u{200f}', '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}',
            '\u{202e}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}', '\u{2028}', '\u{2029}',
        ] {
            assert!(is_unsafe_char(c), "{:x}", u32::from(c));
            assert!(!escape_controls(&c.to_string()).contains(c));
        }
        for c in ['\u{200d}', '\u{2070}', '\u{20}', '~', '\u{a0}'] {
            assert!(!is_unsafe_char(c), "{:x}", u32::from(c));
        }
        assert_eq!(
            escape_controls_keep_newlines("one\u{202e}\ntwo\r\n"),
            "one\\u{202e}\ntwo\\u{d}\n"
        );
    }

    #[test]
    fn long_quotes_are_cut() {
        assert_eq!(truncate_chars("abc", 3), "abc");
        assert_eq!(truncate_chars("abcd", 3), "abc…");
        assert_eq!(truncate_chars("ééééé", 2), "éé…");
    }
}

/// Why a client refuses a server URL ([`client_base_url`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlRefusal {
    /// Not a URL a client takes; the reason says why.
    #[error("{0}")]
    Bad(&'static str),
    /// Plain `http://` to a server that is not on this machine.
    #[error("plain http to a server that is not on this machine")]
    Insecure,
}

/// The root of a server URL that a client appends paths to, without a
/// trailing slash, once checked: `http://` or `https://`, at most 1,000
/// characters, no spaces or control characters, no query, fragment or user
/// name, nor any character of `forbidden` (refused with
/// `forbidden_reason`), a host, and plain `http://` only to this machine
/// (a loopback address or `localhost`).
///
/// # Errors
///
/// The [`UrlRefusal`].
pub fn client_base_url(
    url: &str,
    forbidden: &[char],
    forbidden_reason: &'static str,
) -> Result<String, UrlRefusal> {
    let (secure, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(UrlRefusal::Bad(
            "give http:// or https:// and the server's address",
        ));
    };
    if url.len() > 1000 || url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(UrlRefusal::Bad(
            "too long, or holds spaces or control characters",
        ));
    }
    if rest.contains(['?', '#', '@']) || rest.contains(forbidden) {
        return Err(UrlRefusal::Bad(forbidden_reason));
    }
    let authority = rest.split('/').next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    if host.is_empty() {
        return Err(UrlRefusal::Bad("no host"));
    }
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !secure && !loopback {
        return Err(UrlRefusal::Insecure);
    }
    Ok(url.trim_end_matches('/').to_owned())
}
