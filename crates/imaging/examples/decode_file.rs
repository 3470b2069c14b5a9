//! Decode a file and print a summary: `cargo run --example decode_file -- in.dcm`.
fn main() {
    let path = std::env::args().nth(1).expect("usage: decode_file FILE");
    let bytes = std::fs::read(path).expect("read file");
    match obscura_imaging::read_attributes(&bytes) {
        Ok(a) => println!("{a:?}"),
        Err(e) => println!("attributes: {e}"),
    }
    match obscura_imaging::decode(&bytes) {
        Ok(img) => println!("{}x{} {:?} frames={}", img.columns, img.rows, img.photometric, img.frames.len()),
        Err(e) => println!("decode: {e}"),
    }
}
