// enc IN.rawl(i16 LE, planar) OUT.j2c W H BITS SIGNED(0/1) REVERSIBLE(0/1) [qstep]
use openjph_core::codestream::Codestream;
use openjph_core::file::MemOutfile;
use openjph_core::types::{Point, Size};
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let raw = std::fs::read(&a[1]).unwrap();
    let (w, h, bits): (u32, u32, u32) = (a[3].parse().unwrap(), a[4].parse().unwrap(), a[5].parse().unwrap());
    let signed = a[6] == "1";
    let rev = a[7] == "1";
    let px: Vec<i32> = raw.chunks_exact(2).map(|c| { let v = u16::from_le_bytes([c[0], c[1]]); if signed { v as i16 as i32 } else { v as i32 } }).collect();
    let mut cs = Codestream::new();
    cs.access_siz_mut().set_image_extent(Point::new(w, h));
    cs.access_siz_mut().set_num_components(1);
    cs.access_siz_mut().set_comp_info(0, Point::new(1, 1), bits, signed);
    cs.access_siz_mut().set_tile_size(Size::new(w, h));
    cs.access_cod_mut().set_num_decomposition(5);
    cs.access_cod_mut().set_reversible(rev);
    cs.access_cod_mut().set_color_transform(false);
    if !rev { cs.access_qcd_mut().set_delta(a[8].parse().unwrap()); }
    cs.set_planar(0);
    let mut out = MemOutfile::new();
    cs.write_headers(&mut out, &[]).unwrap();
    for y in 0..h as usize { cs.exchange(&px[y * w as usize..(y + 1) * w as usize], 0).unwrap(); }
    cs.flush(&mut out).unwrap();
    std::fs::write(&a[2], out.get_data()).unwrap();
}
