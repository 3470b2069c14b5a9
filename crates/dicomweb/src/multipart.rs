//! TEMP shim until the lead's multipart module lands.

/// TEMP shim.
pub fn write_related(parts: &[Vec<u8>]) -> (String, Vec<u8>) {
    let boundary = "obscura-temp-boundary-5f1c2a9e7d3b";
    let mut body = Vec::new();
    for p in parts {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Type: application/dicom\r\n\r\n").as_bytes());
        body.extend_from_slice(p);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/related; type=\"application/dicom\"; boundary={boundary}"), body)
}

/// TEMP shim: the parts of a multipart/related body.
pub fn read_related(content_type: &str, body: &[u8]) -> Option<Vec<Vec<u8>>> {
    let b = content_type.split(';').map(str::trim).find_map(|p| p.strip_prefix("boundary="))?.trim_matches('"');
    let delim = format!("--{b}");
    let d = delim.as_bytes();
    let mut out = Vec::new();
    let mut pos = find(body, d, 0)?;
    loop {
        let after = pos + d.len();
        if body[after..].starts_with(b"--") {
            return Some(out);
        }
        let hdr_end = find(body, b"\r\n\r\n", after)? + 4;
        let next = find(body, format!("\r\n{delim}").as_bytes(), hdr_end)?;
        out.push(body[hdr_end..next].to_vec());
        pos = next + 2;
    }
}

fn find(h: &[u8], n: &[u8], from: usize) -> Option<usize> {
    h.get(from..)?.windows(n.len()).position(|w| w == n).map(|i| i + from)
}
