//! Write one synthetic slice to a file: `cargo run --example dump_slice -- out.dcm [rows] [index]`.
fn main() {
    let mut args = std::env::args().skip(1);
    let out = args.next().unwrap_or_else(|| "slice.dcm".into());
    let n: u32 = args.next().and_then(|s| s.parse().ok()).unwrap_or(512);
    let index: u32 = args.next().and_then(|s| s.parse().ok()).unwrap_or(60);
    let p = obscura_imaging::synthetic::SeriesParams { rows: n, columns: n, ..Default::default() };
    std::fs::write(&out, obscura_imaging::synthetic::ct_slice_file(&p, index).unwrap()).unwrap();
}
