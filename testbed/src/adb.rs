//! An ADB-like debug service: the undeclared, unauthenticated door of the insecure device.
//!
//! Android-based cameras and TV boxes are regularly shipped with `adbd` listening on TCP
//! 5555, and a network-reachable debug interface is exactly what the ports suite must find
//! when the manufacturer did not declare it. This service speaks enough of the ADB wire
//! protocol for a scanner (or `adb connect`) to recognise it: it answers a `CNXN` message
//! with its own `CNXN` carrying the device banner, without asking for `AUTH`, and closes
//! every stream a client tries to `OPEN`.
//!
//! A message is a 24-byte little-endian header (command, arg0, arg1, data length, data
//! checksum = sum of the data bytes, magic = command XOR 0xffffffff) followed by the
//! data; [`parse_header`] reads one without trusting its length.

use crate::limits;
use std::fmt;
use std::io;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// Commands, as the ASCII of their name read little-endian.
pub const A_CNXN: u32 = 0x4e58_4e43;
pub const A_OPEN: u32 = 0x4e45_504f;
pub const A_CLSE: u32 = 0x4553_4c43;
/// The protocol version the device answers with (checksummed data).
pub const A_VERSION: u32 = 0x0100_0000;
/// Largest data the device says it accepts, and the most it reads of one message.
pub const MAX_DATA: u32 = 4096;
/// Length of a message header.
pub const HEADER_LENGTH: usize = 24;
/// What the device tells a connecting host about itself.
pub const DEVICE_BANNER: &str =
    "device::ro.product.name=acmecam;ro.product.model=AC1;ro.build.version.release=7.1.2;";

/// Time allowed for each message to arrive.
const MESSAGE_TIMEOUT: Duration = Duration::from_secs(10);
/// Messages served on one connection before it is closed.
const MAX_MESSAGES: usize = 64;

/// The header of one ADB message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub command: u32,
    pub arg0: u32,
    pub arg1: u32,
    pub data_length: u32,
    pub data_check: u32,
}

/// Why 24 bytes are not a message header the device accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// Fewer than 24 bytes.
    TooShort,
    /// The magic field is not the command XOR 0xffffffff.
    BadMagic,
    /// The data announced is longer than [`MAX_DATA`].
    DataTooLong(u32),
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::TooShort => write!(f, "header shorter than {HEADER_LENGTH} bytes"),
            HeaderError::BadMagic => f.write_str("magic is not the command's complement"),
            HeaderError::DataTooLong(length) => {
                write!(f, "{length} bytes of data exceed {MAX_DATA}")
            }
        }
    }
}

impl std::error::Error for HeaderError {}

/// Parses the first 24 bytes of `bytes` as a message header.
pub fn parse_header(bytes: &[u8]) -> Result<Header, HeaderError> {
    let (header, _) = bytes
        .split_first_chunk::<HEADER_LENGTH>()
        .ok_or(HeaderError::TooShort)?;
    let mut words = header
        .chunks_exact(4)
        .map(|word| <[u8; 4]>::try_from(word).map_or(0, u32::from_le_bytes));
    let mut next = || words.next().unwrap_or_default();
    let (command, arg0, arg1, data_length, data_check, magic) =
        (next(), next(), next(), next(), next(), next());
    if magic != command ^ 0xffff_ffff {
        return Err(HeaderError::BadMagic);
    }
    if data_length > MAX_DATA {
        return Err(HeaderError::DataTooLong(data_length));
    }
    Ok(Header {
        command,
        arg0,
        arg1,
        data_length,
        data_check,
    })
}

/// The checksum of ADB data: the sum of its bytes.
pub fn checksum(data: &[u8]) -> u32 {
    data.iter()
        .fold(0u32, |sum, &byte| sum.wrapping_add(u32::from(byte)))
}

/// Encodes a message: header and data.
pub fn encode_message(command: u32, arg0: u32, arg1: u32, data: &[u8]) -> Vec<u8> {
    let length = u32::try_from(data.len()).unwrap_or(u32::MAX);
    let mut message = Vec::with_capacity(HEADER_LENGTH + data.len());
    for word in [
        command,
        arg0,
        arg1,
        length,
        checksum(data),
        command ^ 0xffff_ffff,
    ] {
        message.extend_from_slice(&word.to_le_bytes());
    }
    message.extend_from_slice(data);
    message
}

/// Serves one connection: CNXN is answered with the device banner, OPEN is refused with
/// CLSE, anything else is ignored; a malformed header closes the connection.
pub(crate) async fn serve<S>(mut stream: S) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    for _ in 0..MAX_MESSAGES {
        let mut header_bytes = [0u8; HEADER_LENGTH];
        limits::read_exact(&mut stream, &mut header_bytes, MESSAGE_TIMEOUT).await?;
        let header = parse_header(&header_bytes)
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
        let mut data = vec![0u8; usize::try_from(header.data_length).unwrap_or_default()];
        limits::read_exact(&mut stream, &mut data, MESSAGE_TIMEOUT).await?;
        let reply = match header.command {
            A_CNXN => encode_message(A_CNXN, A_VERSION, MAX_DATA, DEVICE_BANNER.as_bytes()),
            A_OPEN => encode_message(A_CLSE, 0, header.arg0, &[]),
            _ => continue,
        };
        limits::write_all(&mut stream, &reply).await?;
    }
    limits::close(&mut stream).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn host_connect_message_parses() {
        let message = encode_message(A_CNXN, 0x0100_0001, 256 * 1024, b"host::\0");
        let header = parse_header(&message).unwrap();
        assert_eq!(header.command, A_CNXN);
        assert_eq!(header.data_length, 7);
        assert_eq!(header.data_check, checksum(b"host::\0"));
        assert_eq!(&message[..4], b"CNXN");
    }

    #[test]
    fn bad_magic_and_long_data_are_refused() {
        let mut message = encode_message(A_CNXN, 0, 0, b"");
        message[20] ^= 1;
        assert_eq!(parse_header(&message), Err(HeaderError::BadMagic));
        let mut message = encode_message(A_CNXN, 0, 0, b"");
        message[12..16].copy_from_slice(&(MAX_DATA + 1).to_le_bytes());
        assert_eq!(
            parse_header(&message),
            Err(HeaderError::DataTooLong(MAX_DATA + 1))
        );
        assert_eq!(parse_header(&message[..23]), Err(HeaderError::TooShort));
    }

    proptest! {
        #[test]
        fn arbitrary_headers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..48)) {
            let _ = parse_header(&bytes);
        }
    }
}
