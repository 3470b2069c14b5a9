//! What is written over the image: the four corners' text and the orientation markers.
//!
//! Everything comes from the decrypted attributes and the viewport's state; an empty attribute
//! leaves its line (or its part of a line) out, nothing is guessed.

use obscura_imaging::Attributes;

use crate::stack::Stack;
use crate::viewport::Viewport;
use crate::window::WindowLevel;

/// The text lines of the four corners, top to bottom.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Corners {
    /// Patient: name, ID, birth date and sex.
    pub top_left: Vec<String>,
    /// Study and series: description, date and time, series number and description.
    pub top_right: Vec<String>,
    /// Slice: image position in the stack, slice location, thickness.
    pub bottom_left: Vec<String>,
    /// Display: window, zoom, interpolation.
    pub bottom_right: Vec<String>,
}

/// A Person Name (PN) as viewers show it: `DOE^JANE^M^DR^JR` → `DOE, JANE M DR JR` (the family
/// name, a comma, the other components in order, empty components left out). Of the
/// alphabetic / ideographic / phonetic groups (`=`), the first non-empty one is shown.
pub fn format_person_name(pn: &str) -> String {
    let group = pn.split('=').map(str::trim).find(|g| !g.is_empty()).unwrap_or("");
    let mut parts = group.split('^').map(str::trim);
    let family = parts.next().unwrap_or("");
    let rest: Vec<&str> = parts.filter(|p| !p.is_empty()).collect();
    match (family.is_empty(), rest.is_empty()) {
        (_, true) => family.to_string(),
        (true, false) => rest.join(" "),
        (false, false) => format!("{family}, {}", rest.join(" ")),
    }
}

/// A DICOM date (DA, `YYYYMMDD`) as `YYYY-MM-DD`; anything else (an old `YYYY.MM.DD`, a range) is
/// shown as it is written.
pub fn format_date(da: &str) -> String {
    let d = da.trim();
    let valid = d.len() == 8
        && d.bytes().all(|b| b.is_ascii_digit())
        && matches!(d[4..6].parse::<u8>(), Ok(1..=12))
        && matches!(d[6..8].parse::<u8>(), Ok(1..=31));
    if valid {
        format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..8])
    } else {
        d.to_string()
    }
}

/// A DICOM time (TM, `HHMMSS.FFFFFF`, parts may be left off) as `HH:MM:SS` / `HH:MM` / `HH`;
/// anything else as it is written.
pub fn format_time(tm: &str) -> String {
    let t = tm.trim();
    let whole = t.split('.').next().unwrap_or("");
    if !whole.bytes().all(|b| b.is_ascii_digit()) || !matches!(whole.len(), 2 | 4 | 6) {
        return t.to_string();
    }
    whole.as_bytes().chunks(2).map(|c| std::str::from_utf8(c).unwrap_or("")).collect::<Vec<_>>().join(":")
}

/// A number with at most `decimals` decimals, trailing zeros dropped, no `-0`.
fn number(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s };
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

fn push_nonempty(lines: &mut Vec<String>, line: String) {
    if !line.trim().is_empty() {
        lines.push(line);
    }
}

/// The four corners for the image `attributes` shown at `stack`'s slice with `window` in
/// `viewport`.
pub fn corners(attributes: &Attributes, stack: &Stack, window: &WindowLevel, viewport: &Viewport) -> Corners {
    let a = attributes;
    let mut c = Corners::default();

    push_nonempty(&mut c.top_left, format_person_name(&a.patient_name));
    if !a.patient_id.is_empty() {
        c.top_left.push(format!("ID: {}", a.patient_id));
    }
    let mut born = Vec::new();
    if !a.patient_birth_date.is_empty() {
        born.push(format!("DOB: {}", format_date(&a.patient_birth_date)));
    }
    if !a.patient_sex.is_empty() {
        born.push(format!("Sex: {}", a.patient_sex));
    }
    push_nonempty(&mut c.top_left, born.join(" "));

    push_nonempty(&mut c.top_right, a.study_description.clone());
    let when = [format_date(&a.study_date), format_time(&a.study_time)];
    push_nonempty(&mut c.top_right, when.iter().filter(|s| !s.is_empty()).cloned().collect::<Vec<_>>().join(" "));
    let series = match (a.series_number, a.series_description.is_empty()) {
        (Some(n), true) => format!("Se: {n}"),
        (Some(n), false) => format!("Se: {n} {}", a.series_description),
        (None, _) => a.series_description.clone(),
    };
    push_nonempty(&mut c.top_right, series);

    if !stack.is_empty() {
        c.bottom_left.push(format!("Im: {}/{}", stack.index() + 1, stack.len()));
    }
    if let Some(loc) = a.slice_location {
        c.bottom_left.push(format!("Loc: {} mm", number(loc, 2)));
    }
    if let Some(t) = a.slice_thickness {
        c.bottom_left.push(format!("Thk: {} mm", number(t, 2)));
    }

    c.bottom_right.push(window.label());
    c.bottom_right.push(format!("Zoom: {} %", number(viewport.zoom_percent(), 0)));
    c.bottom_right.push(crate::viewport::interpolation_label(viewport.interpolation()).to_string());
    c
}

/// The patient-direction letters at the middle of each viewport edge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrientationMarkers {
    /// Top edge.
    pub top: String,
    /// Right edge.
    pub right: String,
    /// Bottom edge.
    pub bottom: String,
    /// Left edge.
    pub left: String,
}

/// Components below this (of a unit vector) are not named: Cornerstone's `getOrientationString`
/// threshold, so that only rounding noise is ignored and a slightly oblique plane shows it.
pub const OBLIQUE_THRESHOLD: f64 = 0.0001;

/// The letters of a patient-space direction (PS3.3 C.7.6.2.1.1: +x towards the patient's left,
/// +y posterior, +z head): up to three, the largest component first; empty for a zero vector.
pub fn direction_letters(v: [f64; 3]) -> String {
    let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    if !(n > 0.0 && n.is_finite()) {
        return String::new();
    }
    let mut axes = [(v[0] / n, 'L', 'R'), (v[1] / n, 'P', 'A'), (v[2] / n, 'H', 'F')];
    axes.sort_by(|a, b| b.0.abs().total_cmp(&a.0.abs()));
    axes.iter()
        .filter(|(c, _, _)| c.abs() > OBLIQUE_THRESHOLD)
        .map(|&(c, pos, neg)| if c > 0.0 { pos } else { neg })
        .collect()
}

/// The orientation markers of an image with Image Orientation (Patient) `iop` shown in
/// `viewport` (rotation and flips included); `None` without IOP or with a zero direction.
pub fn orientation_markers(iop: Option<[f64; 6]>, viewport: &Viewport) -> Option<OrientationMarkers> {
    let iop = iop?;
    let row = [iop[0], iop[1], iop[2]];
    let column = [iop[3], iop[4], iop[5]];
    if row.iter().all(|&x| x == 0.0) || column.iter().all(|&x| x == 0.0) {
        return None;
    }
    // the screen axes in image px, then in the patient: one pixel down is `aspect` times as long
    // as one pixel across
    let aspect = viewport.pixel_aspect();
    let to_patient = |d: [f64; 2]| -> [f64; 3] { std::array::from_fn(|k| d[0] * row[k] + d[1] * aspect * column[k]) };
    let [right, down] = viewport.screen_axes_in_image();
    let (r, d) = (to_patient(right), to_patient(down));
    let neg = |v: [f64; 3]| v.map(|x| -x);
    Some(OrientationMarkers {
        top: direction_letters(neg(d)),
        right: direction_letters(r),
        bottom: direction_letters(d),
        left: direction_letters(neg(r)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::tests::ct_image;

    #[test]
    fn person_names_dates_times() {
        assert_eq!(format_person_name("DOE^JANE^M^DR^JR"), "DOE, JANE M DR JR");
        assert_eq!(format_person_name("DOE^JANE"), "DOE, JANE");
        assert_eq!(format_person_name("DOE"), "DOE");
        assert_eq!(format_person_name("^JANE"), "JANE");
        assert_eq!(format_person_name("Yamada^Tarou=山田^太郎=やまだ^たろう"), "Yamada, Tarou");
        assert_eq!(format_person_name("=山田^太郎"), "山田, 太郎");
        assert_eq!(format_person_name(""), "");
        assert_eq!(format_date("20240301"), "2024-03-01");
        assert_eq!(format_date("2024.03.01"), "2024.03.01");
        assert_eq!(format_date("20241301"), "20241301");
        assert_eq!(format_time("101500.123"), "10:15:00");
        assert_eq!(format_time("1015"), "10:15");
        assert_eq!(format_time("10:15"), "10:15");
    }

    #[test]
    fn corners_omit_empty_fields() {
        let img = ct_image(100, 100, &[0; 10_000]);
        let wl = WindowLevel::for_image(&img, 0);
        let vp = Viewport::new(100, 100, 1.0, [150.0, 150.0], 1.0);
        let a = Attributes {
            patient_name: "DOE^JANE".into(),
            patient_sex: "F".into(),
            series_number: Some(3),
            slice_location: Some(-12.5),
            ..Default::default()
        };
        let c = corners(&a, &Stack::new(300, 11), &wl, &vp);
        assert_eq!(c.top_left, ["DOE, JANE", "Sex: F"]);
        assert_eq!(c.top_right, ["Se: 3"]);
        assert_eq!(c.bottom_left, ["Im: 12/300", "Loc: -12.5 mm"]);
        assert_eq!(c.bottom_right, ["W: 1 L: 0", "Zoom: 150 %", "Linear"]);
        let empty = corners(&Attributes::default(), &Stack::new(0, 0), &wl, &vp);
        assert!(empty.top_left.is_empty() && empty.top_right.is_empty() && empty.bottom_left.is_empty());
    }

    fn markers(m: &OrientationMarkers) -> [&str; 4] {
        [&m.top, &m.right, &m.bottom, &m.left]
    }

    #[test]
    fn axial_sagittal_coronal_and_oblique() {
        let mut vp = Viewport::new(10, 10, 1.0, [10.0, 10.0], 1.0);
        let axial = orientation_markers(Some([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]), &vp).unwrap();
        assert_eq!(markers(&axial), ["A", "L", "P", "R"]);
        let sagittal = orientation_markers(Some([0.0, 1.0, 0.0, 0.0, 0.0, -1.0]), &vp).unwrap();
        assert_eq!(markers(&sagittal), ["H", "P", "F", "A"]);
        let coronal = orientation_markers(Some([1.0, 0.0, 0.0, 0.0, 0.0, -1.0]), &vp).unwrap();
        assert_eq!(markers(&coronal), ["H", "L", "F", "R"]);
        // an oblique axial: rows tilted 30° towards posterior, columns 10° towards the feet
        let (s30, c30) = (0.5, 3f64.sqrt() / 2.0);
        let (s10, c10) = (10f64.to_radians().sin(), 10f64.to_radians().cos());
        let oblique = orientation_markers(Some([c30, s30, 0.0, -s30 * c10, c30 * c10, -s10]), &vp).unwrap();
        assert_eq!(markers(&oblique), ["ALH", "LP", "PRF", "RA"]);
        // rotation and flips follow the display
        vp.rotate_clockwise();
        let r = orientation_markers(Some([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]), &vp).unwrap();
        assert_eq!(markers(&r), ["R", "A", "L", "P"]);
        vp.reset();
        vp.flip_horizontal();
        let f = orientation_markers(Some([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]), &vp).unwrap();
        assert_eq!(markers(&f), ["A", "R", "P", "L"]);
        assert!(orientation_markers(None, &vp).is_none());
        assert!(orientation_markers(Some([0.0; 6]), &vp).is_none());
    }

    #[test]
    fn letters_order_by_size() {
        assert_eq!(direction_letters([0.0, 0.0, 0.0]), "");
        assert_eq!(direction_letters([-0.2, 0.9, 0.00001]), "PR");
        assert_eq!(direction_letters([0.1, -0.3, -0.9]), "FAL");
    }
}
