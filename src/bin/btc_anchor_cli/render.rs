//! Small helpers shared by the commands' text and JSON output.

use serde_json::Value;

/// Appends one indented `label: value` detail line; an empty label
/// continues the item above.
pub fn line(s: &mut String, label: &str, value: &str) {
    let label = if label.is_empty() {
        String::new()
    } else {
        format!("{label}:")
    };
    s.push_str(&format!("  {label:<16} {value}\n"));
}

/// One compact JSON object and a newline.
pub fn json_line(v: &Value) -> String {
    let mut s = v.to_string();
    s.push('\n');
    s
}
