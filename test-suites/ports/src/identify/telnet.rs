//! Consoles: telnet option negotiation, login and shell prompts, and the proof that a
//! shell evaluates what it is sent.
//!
//! A debug shell left on a port is the worst thing this suite can find, so the test for
//! it must not be fooled: a prompt is only a hint, and the proof is a command whose
//! output (`iotcert42probe`) no echo service or garbage generator can produce, because
//! it exists only after the shell evaluated `$((6*7))`.

use iotcert_wire::telnet::{refusal, Decoder};

/// A command only a shell that evaluates arithmetic answers with [`SHELL_PROOF`].
pub const SHELL_ECHO_COMMAND: &[u8] = b"echo iotcert$((6*7))probe\n";

/// What a shell prints for [`SHELL_ECHO_COMMAND`]; never present in the command itself.
pub const SHELL_PROOF: &str = "iotcert42probe";

/// A telnet stream split into the text for the user and the answers the client owes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Negotiation {
    /// The data bytes, commands removed (`IAC IAC` becomes one 0xff).
    pub text: Vec<u8>,
    /// `IAC WONT x` for every `DO x` and `IAC DONT x` for every `WILL x`: the probe
    /// refuses every option, which every telnet server must accept.
    pub refusals: Vec<u8>,
}

/// One console's telnet stream, read across as many reads as the device takes: a
/// request cut between two reads (`IAC DO` | `24`) is completed by the second.
#[derive(Clone, Debug, Default)]
pub struct Negotiator {
    decoder: Decoder,
}

impl Negotiator {
    /// Separate the commands of the next chunk from its data, and refuse every option
    /// offered or asked.
    pub fn feed(&mut self, chunk: &[u8]) -> Negotiation {
        let decoded = self.decoder.feed(chunk);
        let refusals = decoded
            .commands
            .iter()
            .filter_map(refusal)
            .flatten()
            .collect();
        Negotiation {
            text: decoded.text,
            refusals,
        }
    }
}

/// Separate telnet commands from data in a whole stream, and refuse every option
/// offered or asked.
pub fn negotiate(bytes: &[u8]) -> Negotiation {
    Negotiator::default().feed(bytes)
}

/// What a terminal would show: telnet commands, ANSI escape sequences and NULs removed,
/// invalid UTF-8 replaced.
pub fn console_text(bytes: &[u8]) -> String {
    let data = negotiate(bytes).text;
    let mut shown = Vec::with_capacity(data.len());
    let mut rest = data.as_slice();
    while let Some((&byte, after)) = rest.split_first() {
        match byte {
            0x1b => {
                // ESC [ params final-byte, or ESC and one byte.
                rest = match after.split_first() {
                    Some((b'[', csi)) => {
                        let end = csi
                            .iter()
                            .position(|b| (0x40..=0x7e).contains(b))
                            .map_or(csi.len(), |at| at + 1);
                        csi.get(end..).unwrap_or_default()
                    }
                    Some((_, tail)) => tail,
                    None => &[],
                };
            }
            0 => rest = after,
            _ => {
                shown.push(byte);
                rest = after;
            }
        }
    }
    String::from_utf8_lossy(&shown).into_owned()
}

/// True when a console asks who is there before giving anything away.
pub fn asks_for_login(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    [
        "login:",
        "username:",
        "user name:",
        "password:",
        "user:",
        "passcode:",
    ]
    .iter()
    .any(|prompt| lower.contains(prompt))
}

/// True when the last line is a shell prompt (`... # ` or `... $ `) and nothing asked
/// for a login first.
pub fn looks_like_shell_prompt(text: &str) -> bool {
    if asks_for_login(text) {
        return false;
    }
    let last_line = text.rsplit('\n').next().unwrap_or_default();
    let prompt = last_line.trim_end_matches([' ', '\r']);
    prompt.len() <= 80
        && (prompt.ends_with('#') || prompt.ends_with('$'))
        && last_line.len() > prompt.len()
}

/// True when a reply carries the output of [`SHELL_ECHO_COMMAND`].
pub fn shell_evaluated(reply: &[u8]) -> bool {
    String::from_utf8_lossy(reply).contains(SHELL_PROOF)
}

#[cfg(test)]
mod tests {
    use super::*;
    use iotcert_wire::telnet::{starts_with_negotiation, DO, DONT, IAC, SB, SE, WILL, WONT};

    #[test]
    fn refuses_options_and_keeps_text() {
        let stream = [
            IAC, DO, 24, IAC, WILL, 1, b'l', b'o', IAC, IAC, IAC, SB, 24, 1, IAC, SE, b'g',
        ];
        let negotiation = negotiate(&stream);
        assert_eq!(negotiation.text, vec![b'l', b'o', IAC, b'g']);
        assert_eq!(negotiation.refusals, vec![IAC, WONT, 24, IAC, DONT, 1]);
        assert!(starts_with_negotiation(&stream));
        assert!(!starts_with_negotiation(&[IAC, IAC]));
        assert_eq!(negotiate(&[IAC]).text, Vec::<u8>::new());
        assert_eq!(negotiate(&[IAC, DO]).text, Vec::<u8>::new());
    }

    #[test]
    fn a_request_split_across_reads_is_refused() {
        let mut negotiator = Negotiator::default();
        let first = negotiator.feed(&[b'a', IAC, DO]);
        let second = negotiator.feed(&[24, b'b', IAC]);
        let third = negotiator.feed(&[WILL, 1]);
        assert_eq!(first.text, b"a");
        assert!(first.refusals.is_empty());
        assert_eq!(second.text, b"b");
        assert_eq!(second.refusals, vec![IAC, WONT, 24]);
        assert_eq!(third.refusals, vec![IAC, DONT, 1]);
    }

    #[test]
    fn prompts() {
        assert!(looks_like_shell_prompt(
            "\r\n\r\nBusyBox v1.31.1 built-in shell (ash)\r\n/ # "
        ));
        assert!(looks_like_shell_prompt("root@cam:~# "));
        assert!(looks_like_shell_prompt("sh-5.2$ "));
        assert!(!looks_like_shell_prompt("cam login: "));
        assert!(!looks_like_shell_prompt("# comment line\n"));
        assert!(!looks_like_shell_prompt("price: 5$"));
        assert!(!looks_like_shell_prompt("Password: # "));
        assert_eq!(console_text(b"\x1b[1;32mroot\x1b[0m# "), "root# ");
    }

    #[test]
    fn only_evaluation_proves_a_shell() {
        assert!(!shell_evaluated(SHELL_ECHO_COMMAND));
        assert!(shell_evaluated(
            b"echo iotcert$((6*7))probe\r\niotcert42probe\r\n# "
        ));
    }
}
