//! FTP replies: three-digit codes, single- or multi-line (RFC 959 section 4.2).
//!
//! The FTP probe reads a greeting, answers `USER` and `PASS`, and decides from the reply
//! codes alone: 230 logged in, 331/332 password needed, 530 refused, 421 closing (the
//! server's way to throttle).

/// One complete reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// Every line of the reply, joined by `\n`.
    pub text: String,
    /// Bytes the reply took.
    pub length: usize,
}

/// The first complete reply at the start of `bytes`, or `None` until it has arrived
/// (or when the bytes do not start with a reply code).
pub fn parse_reply(bytes: &[u8]) -> Option<Reply> {
    let mut lines = Vec::new();
    let mut at = 0usize;
    let mut first_code: Option<u16> = None;
    loop {
        let rest = bytes.get(at..)?;
        let line_end = rest.iter().position(|&b| b == b'\n')?;
        let line = String::from_utf8_lossy(rest.get(..line_end)?)
            .trim_end_matches('\r')
            .to_owned();
        at += line_end + 1;
        let code = line.get(..3).and_then(|c| c.parse::<u16>().ok());
        let separator = line.as_bytes().get(3).copied();
        match (first_code, code) {
            (None, Some(code)) if (100..600).contains(&code) => {
                first_code = Some(code);
                lines.push(line.clone());
                if separator != Some(b'-') {
                    return Some(Reply {
                        code,
                        text: lines.join("\n"),
                        length: at,
                    });
                }
            }
            (None, _) => return None,
            (Some(first), Some(code)) if code == first && separator != Some(b'-') => {
                lines.push(line);
                return Some(Reply {
                    code,
                    text: lines.join("\n"),
                    length: at,
                });
            }
            (Some(_), _) => lines.push(line),
        }
        if lines.len() > 1000 {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_and_multi_line() {
        let reply = parse_reply(b"220 ready\r\nextra").unwrap();
        assert_eq!((reply.code, reply.length), (220, 11));
        let multi = parse_reply(b"230-Welcome\r\n text\r\n230 OK\r\n").unwrap();
        assert_eq!(multi.code, 230);
        assert_eq!(multi.text, "230-Welcome\n text\n230 OK");
        assert!(parse_reply(b"230-Welcome\r\n").is_none());
        assert!(parse_reply(b"hello\r\n").is_none());
        assert!(parse_reply(b"22").is_none());
    }
}
