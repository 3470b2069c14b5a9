//! Generate the default synthetic CT series and report the time:
//! `cargo run --release --example gen_series [-- OUT_DIR]`.
fn main() {
    let out = std::env::args().nth(1);
    let p = obscura_imaging::synthetic::SeriesParams::default();
    let t = std::time::Instant::now();
    let files = obscura_imaging::synthetic::ct_series(&p);
    let gen = t.elapsed();
    let t = std::time::Instant::now();
    for f in &files {
        obscura_imaging::decode(f).expect("decode");
    }
    let dec = t.elapsed();
    let bytes: usize = files.iter().map(Vec::len).sum();
    println!("{} slices, {bytes} bytes: generated in {gen:?}, decoded in {dec:?}", files.len());
    if let Some(dir) = out {
        std::fs::create_dir_all(&dir).expect("create dir");
        for (i, f) in files.iter().enumerate() {
            std::fs::write(format!("{dir}/ct{:04}.dcm", i + 1), f).expect("write");
        }
    }
}
