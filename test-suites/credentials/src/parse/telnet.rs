//! Telnet option negotiation and the reading of a login screen.
//!
//! A telnet login is a conversation with a human-oriented screen: the probe must answer
//! option negotiation (refusing everything but echo and suppress-go-ahead), find the
//! `login:` and `Password:` prompts, and tell a shell prompt from a refusal. This module
//! strips negotiation out of the byte stream and classifies what the screen shows now.

use iotcert_wire::telnet::{
    negotiation, refusal, Command, Decoder, Verb, OPTION_ECHO, OPTION_SUPPRESS_GO_AHEAD,
};

/// Incremental telnet decoder: feed chunks, get screen bytes and the replies to send.
#[derive(Clone, Debug, Default)]
pub struct Negotiation {
    decoder: Decoder,
}

/// What one chunk contained.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decoded {
    /// Bytes meant for the screen.
    pub screen: Vec<u8>,
    /// Negotiation answers the client must send back.
    pub replies: Vec<u8>,
}

impl Negotiation {
    /// Split `chunk` into screen bytes and negotiation, answering each request: the
    /// server may echo and suppress go-ahead; the client does nothing it is asked to.
    pub fn feed(&mut self, chunk: &[u8]) -> Decoded {
        let decoded = self.decoder.feed(chunk);
        Decoded {
            screen: decoded.text,
            replies: decoded
                .commands
                .iter()
                .filter_map(answer)
                .flatten()
                .collect(),
        }
    }
}

/// The reply to one option request: the server may echo and suppress go-ahead; every
/// other request is refused.
fn answer(command: &Command) -> Option<[u8; 3]> {
    match *command {
        Command::Negotiation {
            verb: Verb::Will,
            option,
        } if option == OPTION_ECHO || option == OPTION_SUPPRESS_GO_AHEAD => {
            Some(negotiation(Verb::Do, option))
        }
        // WONT and DONT need no answer when we agree, and we always agree to less.
        _ => refusal(command),
    }
}

/// What the end of the screen shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    /// A username is asked for (`login:`, `Username:`, `User Name:`).
    LoginPrompt,
    /// A password is asked for.
    PasswordPrompt,
    /// A shell or CLI prompt (`# `, `$ `, `> `): possibly logged in, to be confirmed.
    ShellPrompt,
    /// The device said the login failed.
    Refused,
    /// The device said it refuses logins for now (too many failures).
    Throttled,
    /// Nothing recognisable yet.
    Undecided,
}

/// Words with which devices refuse a login.
const REFUSAL_WORDS: [&str; 8] = [
    "login incorrect",
    "incorrect",
    "login failed",
    "authentication failed",
    "access denied",
    "invalid",
    "bad password",
    "permission denied",
];

/// Words with which devices announce a lockout or a delay.
const THROTTLE_WORDS: [&str; 6] = [
    "too many",
    "locked",
    "try again later",
    "temporarily",
    "blocked",
    "try again in",
];

/// Classify the screen text received since the last input was sent. Only the tail
/// decides prompts (a prompt is what the device is waiting at); refusal and throttle
/// words count anywhere in `since_input`.
pub fn classify(since_input: &[u8]) -> Screen {
    let text = String::from_utf8_lossy(since_input).to_lowercase();
    if THROTTLE_WORDS.iter().any(|word| text.contains(word)) {
        return Screen::Throttled;
    }
    let refused = REFUSAL_WORDS.iter().any(|word| text.contains(word));
    let tail = last_line(&text);
    let prompt = tail.trim_end();
    let waits_for_input = tail.ends_with(' ') || tail.ends_with(':') || tail.ends_with('>');
    if prompt.ends_with("password:") || prompt.ends_with("passwd:") {
        return if refused {
            Screen::Refused
        } else {
            Screen::PasswordPrompt
        };
    }
    if prompt.ends_with("login:") || prompt.ends_with("username:") || prompt.ends_with("user name:")
    {
        return if refused {
            Screen::Refused
        } else {
            Screen::LoginPrompt
        };
    }
    if refused {
        return Screen::Refused;
    }
    let shell_end = prompt.ends_with('#') || prompt.ends_with('$') || prompt.ends_with('>');
    if shell_end && waits_for_input && !prompt.is_empty() {
        return Screen::ShellPrompt;
    }
    Screen::Undecided
}

/// The text after the last line break (`\r` or `\n`), with NULs removed.
fn last_line(text: &str) -> String {
    let start = text.rfind(['\n', '\r']).map_or(0, |at| at + 1);
    text.get(start..).unwrap_or_default().replace('\0', "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use iotcert_wire::telnet::{DO, IAC, SB, SE, WILL, WONT};

    #[test]
    fn negotiation_is_answered_and_stripped() {
        let mut negotiation = Negotiation::default();
        let decoded = negotiation.feed(&[IAC, DO, 24, b'h', IAC, WILL, OPTION_ECHO, b'i']);
        assert_eq!(decoded.screen, b"hi");
        assert_eq!(decoded.replies, vec![IAC, WONT, 24, IAC, DO, OPTION_ECHO]);
    }

    #[test]
    fn split_sequences_and_subnegotiation() {
        let mut negotiation = Negotiation::default();
        let first = negotiation.feed(&[b'a', IAC]);
        let second = negotiation.feed(&[DO, 31, IAC, SB, 24, 1, IAC, SE, b'b', IAC, IAC]);
        assert_eq!(first.screen, b"a");
        assert_eq!(second.screen, vec![b'b', IAC]);
        assert_eq!(second.replies, vec![IAC, WONT, 31]);
    }

    #[test]
    fn screens() {
        assert_eq!(classify(b"\r\nacmecam login: "), Screen::LoginPrompt);
        assert_eq!(classify(b"Password: "), Screen::PasswordPrompt);
        assert_eq!(
            classify(b"\r\nLogin incorrect\r\ncam login: "),
            Screen::Refused
        );
        assert_eq!(classify(b"\r\nBusyBox v1.36\r\n~ # "), Screen::ShellPrompt);
        assert_eq!(classify(b"user@host:~$ "), Screen::ShellPrompt);
        assert_eq!(classify(b"Too many failed logins"), Screen::Throttled);
        assert_eq!(classify(b"Welcome"), Screen::Undecided);
        assert_eq!(classify(b"#"), Screen::Undecided);
    }
}
