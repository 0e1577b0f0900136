//! Capture of a service's stdout and stderr: the last lines, kept for error messages.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// Lines of output kept for error messages.
const TAIL_LINES: usize = 100;
/// Longer lines are cut to this many bytes (a line without a newline cannot grow
/// without bound).
const MAX_LINE_BYTES: usize = 4096;

/// The last lines of a process's output, shared by its reader tasks.
#[derive(Default)]
pub(crate) struct OutputTail {
    lines: Mutex<VecDeque<String>>,
}

impl OutputTail {
    /// Append a line, dropping the oldest beyond the limit.
    fn push(&self, line: String) {
        let mut lines = lock(&self.lines);
        if lines.len() == TAIL_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    /// The kept lines, joined by newlines.
    pub(crate) fn text(&self) -> String {
        let lines = lock(&self.lines);
        let mut text = String::new();
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                text.push('\n');
            }
            text.push_str(line);
        }
        text
    }
}

/// Read `reader` to its end, line by line, into `tail`. Invalid UTF-8 is replaced;
/// lines longer than [`MAX_LINE_BYTES`] are cut.
pub(crate) async fn capture<R: AsyncRead + Unpin>(reader: R, tail: Arc<OutputTail>) {
    let mut reader = BufReader::new(reader);
    let mut line = Vec::new();
    let mut cut = false;
    loop {
        let buf = match reader.fill_buf().await {
            Ok([]) | Err(_) => break,
            Ok(buf) => buf,
        };
        let (chunk, consumed, complete) = match buf.iter().position(|&b| b == b'\n') {
            Some(end) => (&buf[..end], end + 1, true),
            None => (buf, buf.len(), false),
        };
        let room = MAX_LINE_BYTES.saturating_sub(line.len());
        if chunk.len() > room {
            cut = true;
        }
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        reader.consume(consumed);
        if complete {
            tail.push(finish_line(&mut line, &mut cut));
        }
    }
    if !line.is_empty() {
        tail.push(finish_line(&mut line, &mut cut));
    }
}

fn finish_line(line: &mut Vec<u8>, cut: &mut bool) -> String {
    let mut text = String::from_utf8_lossy(line)
        .trim_end_matches('\r')
        .to_string();
    if *cut {
        text.push_str(" [line cut]");
    }
    line.clear();
    *cut = false;
    text
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_lines() {
        let tail = OutputTail::default();
        for i in 0..250 {
            tail.push(format!("line {i}"));
        }
        let text = tail.text();
        assert_eq!(text.lines().count(), TAIL_LINES);
        assert!(text.starts_with("line 150\n"), "{text}");
        assert!(text.ends_with("line 249"), "{text}");
    }

    #[tokio::test]
    async fn capture_splits_lines_and_cuts_long_ones() {
        let long = "x".repeat(MAX_LINE_BYTES + 10);
        let input = format!("first\r\n{long}\nno newline at end");
        let tail = Arc::new(OutputTail::default());
        capture(input.as_bytes(), Arc::clone(&tail)).await;
        let text = tail.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(lines[0], "first");
        assert!(lines[1].ends_with(" [line cut]"));
        assert_eq!(lines[1].len(), MAX_LINE_BYTES + " [line cut]".len());
        assert_eq!(lines[2], "no newline at end");
    }
}
