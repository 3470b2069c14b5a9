//! `multipart/related` bodies (RFC 2387), as STOW-RS requests and WADO-RS answers use them.
//!
//! The reader is strict: the boundary must come from the `Content-Type` parameter, every part
//! must be delimited by CRLF `--boundary`, part headers are bounded, and the body must end with
//! the close delimiter. It borrows the parts from the body: nothing is copied.
//!
//! ```
//! use obscura_dicomweb::multipart::{read_related, write_related};
//! let (content_type, body) = write_related(&[b"first", b"second"], "application/dicom", "b0undary").unwrap();
//! assert_eq!(content_type, "multipart/related; type=\"application/dicom\"; boundary=b0undary");
//! let parts = read_related(&content_type, &body).unwrap();
//! assert_eq!(parts[1].body, b"second");
//! assert_eq!(parts[1].content_type.as_deref(), Some("application/dicom"));
//! ```

use crate::DicomWebError;

/// Most parts one answer may hold.
pub const MAX_PARTS: usize = 100_000;
/// Most bytes of one part's header block.
pub const MAX_PART_HEADER: usize = 16 * 1024;

/// One part of a multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part<'a> {
    /// The part's `Content-Type`, if it has one.
    pub content_type: Option<String>,
    /// The part's bytes.
    pub body: &'a [u8],
}

fn bad(what: impl Into<String>) -> DicomWebError {
    DicomWebError::BadMultipart(what.into())
}

/// The value of parameter `name` of a header value like `multipart/related; type="..."; boundary=x`.
pub fn header_param(value: &str, name: &str) -> Option<String> {
    let mut rest = value.split_once(';')?.1;
    loop {
        let (key, after) = rest.split_once('=')?;
        let after = after.trim_start();
        let (val, next) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"')?;
            (&quoted[..end], quoted[end + 1..].split_once(';').map_or("", |(_, n)| n))
        } else {
            match after.split_once(';') {
                Some((v, n)) => (v, n),
                None => (after, ""),
            }
        };
        if key.trim().eq_ignore_ascii_case(name) {
            return Some(val.trim().to_string());
        }
        if next.is_empty() {
            return None;
        }
        rest = next;
    }
}

/// Splits a `multipart/related` body into its parts, given the answer's `Content-Type`.
pub fn read_related<'a>(content_type: &str, body: &'a [u8]) -> Result<Vec<Part<'a>>, DicomWebError> {
    let media = content_type.split(';').next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("multipart/related") {
        return Err(bad(format!("expected multipart/related, got \"{media}\"")));
    }
    let boundary = header_param(content_type, "boundary").ok_or_else(|| bad("no boundary parameter"))?;
    if boundary.is_empty() || boundary.len() > 70 {
        return Err(bad("the boundary must be 1 to 70 characters"));
    }
    let delimiter = format!("--{boundary}");
    let delim = delimiter.as_bytes();
    // The first delimiter may follow a preamble; every later one follows a CRLF.
    let mut at = if body.starts_with(delim) {
        0
    } else {
        find(body, &[b"\r\n", delim].concat(), 0).ok_or_else(|| bad("the body has no opening boundary"))? + 2
    };
    let next_delim = [b"\r\n", delim].concat();
    let mut parts = Vec::new();
    loop {
        at += delim.len();
        let tail = &body[at..];
        if tail.starts_with(b"--") {
            return Ok(parts); // close delimiter; an epilogue may follow
        }
        // transport padding, then CRLF
        let line_end = find(body, b"\r\n", at).ok_or_else(|| bad("a boundary line does not end"))?;
        if body[at..line_end].iter().any(|&b| b != b' ' && b != b'\t') {
            return Err(bad("text after a boundary"));
        }
        let headers_start = line_end + 2;
        let (headers_end, content_start) = if body[headers_start..].starts_with(b"\r\n") {
            (headers_start, headers_start + 2)
        } else {
            let end = find(&body[..body.len().min(headers_start + MAX_PART_HEADER)], b"\r\n\r\n", headers_start)
                .ok_or_else(|| bad("a part's headers do not end (or exceed 16 KiB)"))?;
            (end, end + 4)
        };
        let headers =
            std::str::from_utf8(&body[headers_start..headers_end]).map_err(|_| bad("part headers are not text"))?;
        let mut content_type = None;
        for line in headers.split("\r\n").filter(|l| !l.is_empty()) {
            let (name, value) = line.split_once(':').ok_or_else(|| bad(format!("malformed part header \"{line}\"")))?;
            if name.trim().eq_ignore_ascii_case("content-type") {
                content_type = Some(value.trim().to_string());
            }
        }
        let end = find(body, &next_delim, content_start)
            .ok_or_else(|| bad("a part is not closed by a boundary (the answer was cut)"))?;
        if parts.len() == MAX_PARTS {
            return Err(bad(format!("more than {MAX_PARTS} parts")));
        }
        parts.push(Part { content_type, body: &body[content_start..end] });
        at = end + 2;
    }
}

/// Writes `parts` as a `multipart/related` body of parts of media type `part_type`; returns the
/// `Content-Type` to send with it and the body. Fails if the boundary occurs in a part.
pub fn write_related(parts: &[&[u8]], part_type: &str, boundary: &str) -> Result<(String, Vec<u8>), DicomWebError> {
    if boundary.is_empty()
        || boundary.len() > 70
        || !boundary.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(bad("a boundary is 1 to 70 letters, digits, '-', '_' or '.'"));
    }
    let delim = format!("--{boundary}");
    let mut body = Vec::with_capacity(parts.iter().map(|p| p.len() + 100).sum());
    for p in parts {
        if find(p, delim.as_bytes(), 0).is_some() {
            return Err(bad("the boundary occurs inside a part; choose another"));
        }
        body.extend_from_slice(format!("{delim}\r\nContent-Type: {part_type}\r\n\r\n").as_bytes());
        body.extend_from_slice(p);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("{delim}--\r\n").as_bytes());
    Ok((format!("multipart/related; type=\"{part_type}\"; boundary={boundary}"), body))
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from > hay.len() || needle.is_empty() {
        return None;
    }
    hay[from..].windows(needle.len()).position(|w| w == needle).map(|p| p + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &str = "multipart/related; type=\"application/dicom\"; boundary=\"xyz\"";

    #[test]
    fn reads_what_orthanc_sends() {
        let body = b"--xyz\r\nContent-Type: application/dicom\r\nContent-Length: 3\r\n\r\nabc\r\n--xyz--\r\n";
        let parts = read_related(CT, body).unwrap();
        assert_eq!(parts, vec![Part { content_type: Some("application/dicom".into()), body: b"abc" }]);
    }

    #[test]
    fn a_part_may_contain_crlf_and_dashes() {
        let (ct, body) = write_related(&[b"a\r\n--xy\r\n-", b""], "application/dicom", "xyz").unwrap();
        let parts = read_related(&ct, &body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].body, b"a\r\n--xy\r\n-");
        assert_eq!(parts[1].body, b"");
    }

    #[test]
    fn a_cut_answer_is_an_error_not_a_short_part() {
        let body = b"--xyz\r\nContent-Type: application/dicom\r\n\r\nabc";
        assert!(matches!(read_related(CT, body), Err(DicomWebError::BadMultipart(_))));
        assert!(read_related(CT, b"--xyz\r\n\r\nabc\r\n--xyz").is_err());
    }

    #[test]
    fn wrong_media_type_or_no_boundary() {
        assert!(read_related("application/dicom", b"").is_err());
        assert!(read_related("multipart/related; type=x", b"").is_err());
        assert!(read_related(CT, b"no boundary here").is_err());
    }

    #[test]
    fn the_boundary_inside_a_part_is_refused_when_writing() {
        assert!(write_related(&[b"..--xyz.."], "application/dicom", "xyz").is_err());
    }

    #[test]
    fn params_quoted_or_not() {
        assert_eq!(header_param("multipart/related; boundary=abc; type=x", "boundary").as_deref(), Some("abc"));
        assert_eq!(header_param("multipart/related;type=\"a;b\";Boundary=\"q\"", "boundary").as_deref(), Some("q"));
        assert_eq!(header_param("multipart/related", "boundary"), None);
    }
}
