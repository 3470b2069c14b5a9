fn main() {
    let p = std::env::args().nth(1).unwrap();
    let d = std::fs::read(p).unwrap();
    println!("{:?}", obscura_jpegls::read_header(&d));
    match obscura_jpegls::decode(&d, &Default::default()) {
        Ok(i) => {
            let v: Vec<u8> = match &i.samples {
                obscura_jpegls::Samples::U8(v) => v.clone(),
                obscura_jpegls::Samples::U16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            };
            std::fs::write("/tmp/dbg_out.bin", v).unwrap();
            println!("ok {}", i.samples.len())
        }
        Err(e) => println!("err {e:?}"),
    }
}
