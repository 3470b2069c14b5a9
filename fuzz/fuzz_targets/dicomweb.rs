//! What a hostile store answers (first line: a `Content-Type` or `Content-Range` header value;
//! the rest: a body) → the multipart reader, the sealed bytes of a WADO-RS answer, the QIDO-RS
//! parsers and the `Content-Range` parser: Ok or a typed error, never a panic; parts lie inside the
//! body, and what the writer writes the reader reads back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use obscura_dicomweb::client::{sealed_from_wado, Answer};
use obscura_dicomweb::{multipart, qido, retry};

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let header = String::from_utf8_lossy(&data[..split]).into_owned();
    let body = data.get(split + 1..).unwrap_or_default();

    if let Ok(parts) = multipart::read_related(&header, body) {
        let range = body.as_ptr_range();
        for p in &parts {
            let r = p.body.as_ptr_range();
            assert!(range.start <= r.start && r.end <= range.end, "a part lies outside the body");
        }
        if let Some(boundary) = multipart::header_param(&header, "boundary") {
            let bodies: Vec<&[u8]> = parts.iter().map(|p| p.body).collect();
            if let Ok((ct, written)) = multipart::write_related(&bodies, "application/dicom", &boundary) {
                let again = multipart::read_related(&ct, &written).expect("the reader reads what the writer wrote");
                assert_eq!(again.iter().map(|p| p.body).collect::<Vec<_>>(), bodies);
            }
        }
    }
    let _ = sealed_from_wado(&Answer { content_type: Some(header.clone()), body: body.to_vec() }, "1.2.3");
    let _ = qido::parse_instances(body);
    let _ = qido::parse_study_series(body);
    if let Some(r) = retry::parse_content_range(&header) {
        assert!(r.first <= r.last && r.complete.is_none_or(|c| r.last < c));
    }
});
