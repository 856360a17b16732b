//! How text a device chose enters a summary. Both the delivery channels and SWUpdate's
//! status stream quote the device; the helper lives here so that neither module reaches
//! into the other for it (`delivery` uses the status stream, never the reverse).

/// The first line of `text`, at most 300 characters: how device text enters a summary.
pub fn one_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    let mut kept: String = line.chars().take(300).collect();
    if kept.len() < line.len() {
        kept.push('…');
    }
    kept
}
