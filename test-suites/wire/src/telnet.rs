//! Telnet (RFC 854, RFC 855): an incremental decoder that splits a byte stream into the
//! text for the screen and the commands around it.
//!
//! Telnet is read by the ports suite (a console's banner), the credentials suite (a login
//! screen) and the testbed (its telnet daemon). TCP delivers the stream in reads of any
//! size, so a command such as `IAC DO 24` may arrive as `IAC DO` and then `24`: the
//! [`Decoder`] keeps its state between [`Decoder::feed`] calls and finishes the command
//! with the next read. What to answer is each caller's policy; the decoder only reports
//! what was asked. Subnegotiation data is kept up to [`MAX_SUBNEGOTIATION`] bytes.

/// Interpret As Command: starts every telnet command.
pub const IAC: u8 = 255;
/// Negotiation verbs.
pub const DONT: u8 = 254;
pub const DO: u8 = 253;
pub const WONT: u8 = 252;
pub const WILL: u8 = 251;
/// Subnegotiation begin and end.
pub const SB: u8 = 250;
pub const SE: u8 = 240;
/// Options the callers negotiate by name.
pub const OPTION_ECHO: u8 = 1;
pub const OPTION_SUPPRESS_GO_AHEAD: u8 = 3;
pub const OPTION_WINDOW_SIZE: u8 = 31;

/// Bytes of one subnegotiation kept; the rest is read and dropped.
pub const MAX_SUBNEGOTIATION: usize = 64;

/// A negotiation verb (RFC 855).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    Will,
    Wont,
    Do,
    Dont,
}

impl Verb {
    /// The verb of a command byte, if it is one.
    pub fn from_byte(byte: u8) -> Option<Verb> {
        match byte {
            WILL => Some(Verb::Will),
            WONT => Some(Verb::Wont),
            DO => Some(Verb::Do),
            DONT => Some(Verb::Dont),
            _ => None,
        }
    }

    /// The command byte on the wire.
    pub fn byte(self) -> u8 {
        match self {
            Verb::Will => WILL,
            Verb::Wont => WONT,
            Verb::Do => DO,
            Verb::Dont => DONT,
        }
    }
}

/// `IAC verb option`, as sent.
pub fn negotiation(verb: Verb, option: u8) -> [u8; 3] {
    [IAC, verb.byte(), option]
}

/// The answer that refuses a request: `WONT` to a `DO`, `DONT` to a `WILL` (every
/// telnet peer must accept a refusal). Other commands need no answer.
pub fn refusal(command: &Command) -> Option<[u8; 3]> {
    match *command {
        Command::Negotiation {
            verb: Verb::Do,
            option,
        } => Some(negotiation(Verb::Wont, option)),
        Command::Negotiation {
            verb: Verb::Will,
            option,
        } => Some(negotiation(Verb::Dont, option)),
        _ => None,
    }
}

/// One telnet command found in the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `IAC verb option`.
    Negotiation { verb: Verb, option: u8 },
    /// `IAC SB option ... IAC SE`, its data cut at [`MAX_SUBNEGOTIATION`] bytes (an
    /// escaped `IAC IAC` inside gives one 255).
    Subnegotiation { option: u8, data: Vec<u8> },
    /// Any other two-byte command (NOP, AYT, go-ahead, a stray SE...).
    Other(u8),
}

/// What one byte completed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A data byte (an escaped `IAC IAC` gives one 255).
    Data(u8),
    Command(Command),
}

/// What one chunk held, in order within each list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decoded {
    /// The data bytes, commands removed; never longer than the chunk.
    pub text: Vec<u8>,
    /// The commands the chunk completed (one may have started in an earlier chunk).
    pub commands: Vec<Command>,
}

/// Where the decoder stands between two bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum State {
    #[default]
    Data,
    /// After `IAC`.
    Command,
    /// After `IAC verb`.
    Option(Verb),
    /// After `IAC SB`: the option byte comes next.
    SubnegotiationOption,
    /// Inside a subnegotiation's data.
    Subnegotiation,
    /// After an `IAC` inside a subnegotiation: `SE` ends it.
    SubnegotiationCommand,
}

/// Splits a telnet stream into data and commands, whatever the reads' boundaries.
#[derive(Clone, Debug, Default)]
pub struct Decoder {
    state: State,
    /// The option of the subnegotiation being read, once its byte has come.
    subnegotiation_option: Option<u8>,
    subnegotiation_data: Vec<u8>,
}

impl Decoder {
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// Decode one chunk, continuing any command an earlier chunk left open.
    pub fn feed(&mut self, chunk: &[u8]) -> Decoded {
        let mut decoded = Decoded::default();
        for &byte in chunk {
            match self.feed_byte(byte) {
                Some(Event::Data(data)) => decoded.text.push(data),
                Some(Event::Command(command)) => decoded.commands.push(command),
                None => {}
            }
        }
        decoded
    }

    /// Feed one byte; returns the event it completes, if any.
    pub fn feed_byte(&mut self, byte: u8) -> Option<Event> {
        let (state, event) = match (self.state, byte) {
            (State::Data, IAC) => (State::Command, None),
            (State::Data, _) => (State::Data, Some(Event::Data(byte))),
            (State::Command, IAC) => (State::Data, Some(Event::Data(IAC))),
            (State::Command, SB) => {
                self.subnegotiation_option = None;
                self.subnegotiation_data.clear();
                (State::SubnegotiationOption, None)
            }
            (State::Command, _) => match Verb::from_byte(byte) {
                Some(verb) => (State::Option(verb), None),
                None => (State::Data, Some(Event::Command(Command::Other(byte)))),
            },
            (State::Option(verb), option) => (
                State::Data,
                Some(Event::Command(Command::Negotiation { verb, option })),
            ),
            (State::SubnegotiationOption | State::Subnegotiation, IAC) => {
                (State::SubnegotiationCommand, None)
            }
            (State::SubnegotiationOption, option) => {
                self.subnegotiation_option = Some(option);
                (State::Subnegotiation, None)
            }
            (State::Subnegotiation, _) => {
                self.push_subnegotiation(byte);
                (State::Subnegotiation, None)
            }
            (State::SubnegotiationCommand, SE) => {
                let data = std::mem::take(&mut self.subnegotiation_data);
                let event = self
                    .subnegotiation_option
                    .take()
                    .map(|option| Event::Command(Command::Subnegotiation { option, data }));
                (State::Data, event)
            }
            (State::SubnegotiationCommand, _) => {
                // IAC IAC is an escaped 255; any other byte is a broken peer, read as
                // data so that the subnegotiation still ends at the next IAC SE.
                self.push_subnegotiation(byte);
                (State::Subnegotiation, None)
            }
        };
        self.state = state;
        event
    }

    fn push_subnegotiation(&mut self, byte: u8) {
        if self.subnegotiation_option.is_none() {
            self.subnegotiation_option = Some(byte);
        } else if self.subnegotiation_data.len() < MAX_SUBNEGOTIATION {
            self.subnegotiation_data.push(byte);
        }
    }
}

/// True when the bytes open with a telnet negotiation (`IAC WILL/WONT/DO/DONT/SB`).
pub fn starts_with_negotiation(bytes: &[u8]) -> bool {
    bytes.first() == Some(&IAC) && matches!(bytes.get(1), Some(&(SB..=DONT)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_all(bytes: &[u8]) -> Vec<Event> {
        let mut decoder = Decoder::new();
        bytes.iter().filter_map(|&b| decoder.feed_byte(b)).collect()
    }

    #[test]
    fn decoder_separates_data_and_commands() {
        let events = decode_all(&[
            b'a',
            IAC,
            DO,
            OPTION_ECHO,
            IAC,
            IAC,
            IAC,
            SB,
            OPTION_WINDOW_SIZE,
            0,
            80,
            0,
            24,
            IAC,
            SE,
            b'b',
        ]);
        assert_eq!(
            events,
            [
                Event::Data(b'a'),
                Event::Command(Command::Negotiation {
                    verb: Verb::Do,
                    option: OPTION_ECHO
                }),
                Event::Data(IAC),
                Event::Command(Command::Subnegotiation {
                    option: OPTION_WINDOW_SIZE,
                    data: vec![0, 80, 0, 24]
                }),
                Event::Data(b'b'),
            ]
        );
    }

    #[test]
    fn endless_subnegotiation_is_capped() {
        let mut bytes = vec![IAC, SB, 24];
        bytes.extend(std::iter::repeat_n(b'x', 100_000));
        bytes.extend([IAC, SE]);
        let events = decode_all(&bytes);
        let [Event::Command(Command::Subnegotiation { data, .. })] = events.as_slice() else {
            panic!("{events:?}")
        };
        assert_eq!(data.len(), MAX_SUBNEGOTIATION);
    }

    #[test]
    fn a_command_split_across_chunks_is_completed() {
        let mut decoder = Decoder::new();
        let first = decoder.feed(&[b'a', IAC, DO]);
        let second = decoder.feed(&[24, b'b', IAC]);
        let third = decoder.feed(&[IAC, IAC, SB, 24, 1, IAC]);
        let fourth = decoder.feed(&[SE, b'c', IAC, 241]);
        assert_eq!(first.text, b"a");
        assert!(first.commands.is_empty());
        assert_eq!(second.text, b"b");
        assert_eq!(
            second.commands,
            [Command::Negotiation {
                verb: Verb::Do,
                option: 24
            }]
        );
        assert_eq!(third.text, [IAC]);
        assert!(third.commands.is_empty());
        assert_eq!(fourth.text, b"c");
        assert_eq!(
            fourth.commands,
            [
                Command::Subnegotiation {
                    option: 24,
                    data: vec![1]
                },
                Command::Other(241)
            ]
        );
    }

    #[test]
    fn an_empty_subnegotiation_is_no_command() {
        assert_eq!(decode_all(&[IAC, SB, IAC, SE, b'x']), [Event::Data(b'x')]);
    }

    #[test]
    fn negotiation_openers() {
        assert!(starts_with_negotiation(&[IAC, DO, 24]));
        assert!(starts_with_negotiation(&[IAC, SB]));
        assert!(!starts_with_negotiation(&[IAC, IAC]));
        assert!(!starts_with_negotiation(&[IAC]));
        assert_eq!(negotiation(Verb::Wont, 24), [IAC, WONT, 24]);
        let asked = |verb, option| Command::Negotiation { verb, option };
        assert_eq!(refusal(&asked(Verb::Do, 24)), Some([IAC, WONT, 24]));
        assert_eq!(refusal(&asked(Verb::Will, 1)), Some([IAC, DONT, 1]));
        assert_eq!(refusal(&asked(Verb::Wont, 1)), None);
        assert_eq!(refusal(&asked(Verb::Dont, 1)), None);
        assert_eq!(refusal(&Command::Other(241)), None);
        for verb in [Verb::Will, Verb::Wont, Verb::Do, Verb::Dont] {
            assert_eq!(Verb::from_byte(verb.byte()), Some(verb));
        }
        assert_eq!(Verb::from_byte(SB), None);
    }

    proptest! {
        /// Wherever the stream is cut, the decoder finds the same text and commands as
        /// when it reads the stream whole, and never makes more text than it was given.
        #[test]
        fn any_split_decodes_like_the_whole(
            bytes in proptest::collection::vec(any::<u8>(), 0..512),
            cut in any::<usize>(),
        ) {
            let whole = Decoder::new().feed(&bytes);
            prop_assert!(whole.text.len() <= bytes.len());
            let (first, second) = bytes.split_at(cut % (bytes.len() + 1));
            let mut decoder = Decoder::new();
            let mut split = decoder.feed(first);
            let rest = decoder.feed(second);
            split.text.extend(rest.text);
            split.commands.extend(rest.commands);
            prop_assert_eq!(split, whole);
        }

        /// Text with its 255s escaped, and negotiations around it, decodes back to it.
        #[test]
        fn escaped_text_round_trips(text in proptest::collection::vec(any::<u8>(), 0..256)) {
            let mut stream = negotiation(Verb::Will, OPTION_ECHO).to_vec();
            for &byte in &text {
                stream.push(byte);
                if byte == IAC {
                    stream.push(IAC);
                }
            }
            stream.extend_from_slice(&negotiation(Verb::Dont, 24));
            let decoded = Decoder::new().feed(&stream);
            prop_assert_eq!(decoded.text, text);
            prop_assert_eq!(decoded.commands, vec![
                Command::Negotiation { verb: Verb::Will, option: OPTION_ECHO },
                Command::Negotiation { verb: Verb::Dont, option: 24 },
            ]);
        }
    }
}
