//! How a reader survives the network: which answers to retry, how long to wait, and whether a
//! ranged answer continues a broken transfer. Pure rules; the HTTP layer (fetch in the viewer)
//! applies them.

/// What to do about an HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    /// 2xx.
    Success,
    /// Worth retrying after a pause: 5xx, 408 Request Timeout, 425, 429 Too Many Requests.
    Transient,
    /// 401 / 403: ask the reader for credentials; retrying the same request cannot help.
    Auth,
    /// Any other status: retrying cannot help (e.g. 404: the PACS does not hold the instance).
    Fatal,
}

/// Classifies an HTTP status.
pub fn classify_status(status: u16) -> StatusClass {
    match status {
        200..=299 => StatusClass::Success,
        401 | 403 => StatusClass::Auth,
        408 | 425 | 429 | 500..=599 => StatusClass::Transient,
        _ => StatusClass::Fatal,
    }
}

/// Exponential backoff: 250 ms, 500 ms, 1 s, 2 s, 4 s, then 8 s between every later attempt.
#[derive(Debug, Clone, Default)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    /// The pause before the next attempt, in milliseconds; counts one more failure.
    pub fn next_delay_ms(&mut self) -> u32 {
        let d = 250u32 << self.failures.min(5);
        self.failures = self.failures.saturating_add(1);
        d
    }

    /// Consecutive failures so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Progress was made: the next failure starts again from the shortest pause.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

/// The `Range` header that asks for the bytes from `offset` on.
pub fn range_from(offset: u64) -> String {
    format!("bytes={offset}-")
}

/// A parsed `Content-Range: bytes first-last/complete` (`complete` is `None` for `*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentRange {
    /// First byte position.
    pub first: u64,
    /// Last byte position (inclusive).
    pub last: u64,
    /// The complete length, when the server says it.
    pub complete: Option<u64>,
}

/// Parses a `Content-Range` header value of a 206 answer.
pub fn parse_content_range(value: &str) -> Option<ContentRange> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (span, complete) = rest.split_once('/')?;
    let (first, last) = span.split_once('-')?;
    let (first, last): (u64, u64) = (first.trim().parse().ok()?, last.trim().parse().ok()?);
    let complete = match complete.trim() {
        "*" => None,
        n => Some(n.parse().ok()?),
    };
    (first <= last && complete.is_none_or(|c| last < c)).then_some(ContentRange { first, last, complete })
}

/// How an answer to a request for the bytes from `asked_from` on relates to what was received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resumption {
    /// Skip this many bytes of the body (already received), then continue: 0 when the store
    /// continued exactly where asked, `asked_from` when it sent the whole object again (a 200:
    /// ranges not honoured).
    Skip(u64),
    /// A 206 that starts after the bytes asked for, or another status: cannot continue from it.
    Mismatch,
}

/// Decides how to use an answer (`status`, its `Content-Range`) to a request from `asked_from`.
pub fn resumption(asked_from: u64, status: u16, content_range: Option<&str>) -> Resumption {
    match status {
        200 => Resumption::Skip(asked_from),
        206 => match content_range.and_then(parse_content_range) {
            Some(r) if r.first <= asked_from && asked_from <= r.last => Resumption::Skip(asked_from - r.first),
            _ => Resumption::Mismatch,
        },
        _ => Resumption::Mismatch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(classify_status(206), StatusClass::Success);
        assert_eq!(classify_status(503), StatusClass::Transient);
        assert_eq!(classify_status(429), StatusClass::Transient);
        assert_eq!(classify_status(401), StatusClass::Auth);
        assert_eq!(classify_status(404), StatusClass::Fatal);
    }

    #[test]
    fn backoff_grows_then_caps_and_resets() {
        let mut b = Backoff::default();
        let d: Vec<u32> = (0..8).map(|_| b.next_delay_ms()).collect();
        assert_eq!(d, [250, 500, 1000, 2000, 4000, 8000, 8000, 8000]);
        b.reset();
        assert_eq!(b.next_delay_ms(), 250);
    }

    #[test]
    fn content_ranges() {
        assert_eq!(
            parse_content_range("bytes 100-199/1000"),
            Some(ContentRange { first: 100, last: 199, complete: Some(1000) })
        );
        assert_eq!(parse_content_range("bytes 0-0/*").unwrap().complete, None);
        assert_eq!(parse_content_range("bytes 5-4/10"), None);
        assert_eq!(parse_content_range("bytes 0-10/10"), None);
        assert_eq!(parse_content_range("items 0-1/2"), None);
    }

    #[test]
    fn resumptions() {
        assert_eq!(resumption(100, 206, Some("bytes 100-999/1000")), Resumption::Skip(0));
        assert_eq!(resumption(100, 206, Some("bytes 0-999/1000")), Resumption::Skip(100));
        assert_eq!(resumption(100, 206, Some("bytes 200-999/1000")), Resumption::Mismatch);
        assert_eq!(resumption(100, 206, None), Resumption::Mismatch);
        assert_eq!(resumption(100, 200, None), Resumption::Skip(100));
        assert_eq!(resumption(0, 200, None), Resumption::Skip(0));
    }
}
