//! Entry points for the fuzz targets in `tests/fuzz_*.rs`: the response reader as
//! the event loop drives it, over bytes from anywhere. Not part of the API.

use super::h1reader::ResponseMeta;
use super::h1reader::ResponseReader;
use super::outcome::ErrorKind;

/// Read responses from `input` as a connection delivers it, `piece` bytes per read
/// (at least 1), asking each response for its decoded size when `decode`: the
/// responses read, then how the stream ended (`Ok` when it ended cleanly between
/// responses or with a body delimited by the close).
///
/// Like the event loop, unconsumed bytes (an incomplete head or chunk-size line)
/// are kept and fed again with the next piece.
pub fn read_responses(
    input: &[u8],
    piece: usize,
    decode: bool,
) -> (Vec<ResponseMeta>, Result<(), ErrorKind>) {
    let mut reader = ResponseReader::new();
    reader.expect(false, decode);
    let mut pending: Vec<u8> = Vec::new();
    let mut responses = Vec::new();
    let mut started = false;
    for chunk in input.chunks(piece.max(1)) {
        pending.extend_from_slice(chunk);
        started = true;
        loop {
            match reader.feed(&pending) {
                Ok((used, done)) => {
                    pending.drain(..used.min(pending.len()));
                    match done {
                        Some(meta) => {
                            responses.push(meta);
                            reader.expect(false, decode);
                            started = !pending.is_empty();
                            if pending.is_empty() {
                                break;
                            }
                        }
                        None => break,
                    }
                }
                Err(kind) => return (responses, Err(kind)),
            }
        }
    }
    if !started && pending.is_empty() {
        return (responses, Ok(()));
    }
    match reader.eof() {
        Ok(meta) => {
            responses.push(meta);
            (responses, Ok(()))
        }
        Err(kind) => (responses, Err(kind)),
    }
}
