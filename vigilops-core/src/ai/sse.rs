//! A server-sent-events decoder for streamed chat completions: fed the body's bytes as they
//! arrive (an event, a line or a UTF-8 character may be split across reads), it hands out the
//! `data` of each complete event. Comments (`: keep-alive`) and the other fields are skipped.

/// Decodes the `text/event-stream` body of one reply.
#[derive(Debug, Default)]
pub struct SseDecoder {
    /// Bytes of a line whose end has not arrived.
    partial: Vec<u8>,
    /// The `data` lines of the event being read, joined by `\n`.
    data: Option<String>,
}

/// What was left when the body ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leftover {
    /// Nothing: the body ended between events.
    Nothing,
    /// An event whose lines were complete but whose closing blank line never came.
    Event(String),
    /// A line cut off in the middle.
    PartialLine(String),
}

impl SseDecoder {
    /// A decoder at the start of a body.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next bytes; returns the `data` of each event they complete, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut events = Vec::new();
        let mut rest = bytes;
        while let Some(newline) = rest.iter().position(|&byte| byte == b'\n') {
            self.partial.extend_from_slice(&rest[..newline]);
            rest = &rest[newline + 1..];
            let mut line = std::mem::take(&mut self.partial);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if let Some(event) = self.line(&String::from_utf8_lossy(&line)) {
                events.push(event);
            }
        }
        self.partial.extend_from_slice(rest);
        events
    }

    /// The body ended: what was pending.
    pub fn finish(&mut self) -> Leftover {
        let partial = std::mem::take(&mut self.partial);
        if !partial.is_empty() {
            return Leftover::PartialLine(String::from_utf8_lossy(&partial).into_owned());
        }
        match self.data.take() {
            Some(data) => Leftover::Event(data),
            None => Leftover::Nothing,
        }
    }

    /// One complete line; `Some` when it was the blank line closing an event with data.
    fn line(&mut self, line: &str) -> Option<String> {
        if line.is_empty() {
            return self.data.take();
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        if field == "data" {
            match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_anywhere_across_reads_come_out_whole() {
        let body =
            ": keep-alive\n\ndata: {\"a\":\"磁盘\"}\r\n\r\nevent: x\nid: 7\ndata: [DONE]\n\n";
        let bytes = body.as_bytes();
        // Every split point, including inside the multi-byte characters.
        for split in 0..=bytes.len() {
            let mut decoder = SseDecoder::new();
            let mut events = decoder.push(&bytes[..split]);
            events.extend(decoder.push(&bytes[split..]));
            assert_eq!(events, ["{\"a\":\"磁盘\"}", "[DONE]"], "split at {split}");
            assert_eq!(decoder.finish(), Leftover::Nothing);
        }
    }

    #[test]
    fn multi_line_data_is_joined_and_comments_are_skipped() {
        let mut decoder = SseDecoder::new();
        let events = decoder.push(b"data: one\n: ping\ndata:two\ndata\n\n");
        assert_eq!(events, ["one\ntwo\n"]);
    }

    #[test]
    fn the_end_of_a_body_reports_what_was_cut_off() {
        let mut decoder = SseDecoder::new();
        assert!(decoder.push(b"data: [DONE]\n").is_empty());
        assert_eq!(decoder.finish(), Leftover::Event("[DONE]".into()));
        let mut decoder = SseDecoder::new();
        assert!(decoder.push(b"data: {\"choi").is_empty());
        assert_eq!(
            decoder.finish(),
            Leftover::PartialLine("data: {\"choi".into())
        );
    }
}
