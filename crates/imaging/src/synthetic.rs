//! Deterministic synthetic CT series (a torso phantom) for demos and tests.
//!
//! The phantom is a torso seen slice by slice from the upper chest (slice 0) to
//! the upper abdomen (last slice): air around an elliptical body with a fat rim,
//! two lungs in the upper part, heart and aorta, vertebra with spinal canal and
//! spinous process, ribs, and liver, spleen and kidneys in the lower part; organ
//! sizes change smoothly with the slice index. Outside the circular
//! reconstruction field of view the stored value is −2000 (−3024 HU), as real
//! scanners write it, which also exercises negative stored values.
//!
//! Every slice carries a binary marker of its instance number above the body, so
//! no two slices are equal. A small deterministic texture (±4 HU, a hash of the
//! pixel position, no RNG) makes the tissue look like CT and defeats trivial
//! compression.
//!
//! Values: stored = HU + 1024 (RescaleIntercept −1024, RescaleSlope 1), signed
//! 16-bit (PixelRepresentation 1).

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::InMemDicomObject;

use crate::decode::error_chain;
use crate::ImagingError;

/// CT Image Storage SOP Class UID.
pub const CT_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.2";

/// Implementation Class UID written in the file meta group of synthetic files.
pub const IMPLEMENTATION_CLASS_UID: &str = "2.25.247393718431260927348950418325367110871";

/// Implementation Version Name written in the file meta group.
pub const IMPLEMENTATION_VERSION_NAME: &str = "OBSCURA_0_1";

/// Rescale intercept of the phantom (stored = HU + 1024).
pub const RESCALE_INTERCEPT: f64 = -1024.0;

/// Stored value outside the circular field of view (−3024 HU).
pub const OUTSIDE_FOV_STORED: i16 = -2000;

/// Parameters of a synthetic CT series. `Default` gives the 120 × 512² demo series.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SeriesParams {
    /// Rows per slice (default 512).
    pub rows: u32,
    /// Columns per slice (default 512).
    pub columns: u32,
    /// Number of slices (default 120).
    pub slices: u32,
    /// Patient's Name (default `OBSCURA^PHANTOM^DEMO`).
    pub patient_name: String,
    /// Patient ID (default `OBS-DEMO-0001`).
    pub patient_id: String,
    /// Patient's Birth Date (default `19700101`).
    pub patient_birth_date: String,
    /// Patient's Sex (default `O`).
    pub patient_sex: String,
    /// Study Description (default `Synthetic CT phantom (demo)`).
    pub study_description: String,
    /// Series Description (default `Axial 2.5 mm`).
    pub series_description: String,
    /// Study Date (default `20240301`).
    pub study_date: String,
    /// Study Time (default `101500`).
    pub study_time: String,
    /// Accession Number (default `OBSACC0001`).
    pub accession_number: String,
    /// Referring Physician's Name (default `REFERRER^DEMO`).
    pub referring_physician_name: String,
    /// Series Number (default 1).
    pub series_number: i32,
    /// UID root; the study is `<root>.1`, the series `<root>.1.1` (series number 1; see
    /// [`series_instance_uid`](Self::series_instance_uid)), the frame of reference `<root>.1.2`,
    /// instance `i` (0-based) `<series>.<i+1>`.
    /// Keep it under 54 characters so every UID fits in 64.
    pub uid_root: String,
    /// Pixel spacing in mm, both directions (default 0.7).
    pub pixel_spacing: f64,
    /// Slice thickness and spacing in mm (default 2.5).
    pub slice_thickness: f64,
}

impl Default for SeriesParams {
    fn default() -> Self {
        SeriesParams {
            rows: 512,
            columns: 512,
            slices: 120,
            patient_name: "OBSCURA^PHANTOM^DEMO".into(),
            patient_id: "OBS-DEMO-0001".into(),
            patient_birth_date: "19700101".into(),
            patient_sex: "O".into(),
            study_description: "Synthetic CT phantom (demo)".into(),
            series_description: "Axial 2.5 mm".into(),
            study_date: "20240301".into(),
            study_time: "101500".into(),
            accession_number: "OBSACC0001".into(),
            referring_physician_name: "REFERRER^DEMO".into(),
            series_number: 1,
            uid_root: "2.25.118927461532609127530943126487".into(),
            pixel_spacing: 0.7,
            slice_thickness: 2.5,
        }
    }
}

impl SeriesParams {
    /// Study Instance UID of the series.
    pub fn study_instance_uid(&self) -> String {
        format!("{}.1", self.uid_root)
    }
    /// Series Instance UID: `<root>.1.1` for series number 1, `<root>.1.<n+1>` for series `n`
    /// (skipping `<root>.1.2`, the frame of reference), so that several series of one study
    /// (same root) share the frame of reference and differ in UID.
    pub fn series_instance_uid(&self) -> String {
        match self.series_number {
            1 => format!("{}.1.1", self.uid_root),
            n => format!("{}.1.{}", self.uid_root, i64::from(n) + 1),
        }
    }
    /// Frame of Reference UID.
    pub fn frame_of_reference_uid(&self) -> String {
        format!("{}.1.2", self.uid_root)
    }
    /// SOP Instance UID of slice `index` (0-based).
    pub fn sop_instance_uid(&self, index: u32) -> String {
        format!("{}.{}", self.series_instance_uid(), index + 1)
    }
    /// Patient z (mm) of slice `index`: slice 0 is the most superior (head is +z).
    pub fn slice_z(&self, index: u32) -> f64 {
        f64::from(self.slices.saturating_sub(1).saturating_sub(index)) * self.slice_thickness - 100.0
    }
    /// Image Position (Patient) of slice `index`: the centre of the first pixel.
    pub fn image_position(&self, index: u32) -> [f64; 3] {
        let x = -(f64::from(self.columns) / 2.0 - 0.5) * self.pixel_spacing;
        let y = -(f64::from(self.rows) / 2.0 - 0.5) * self.pixel_spacing;
        [x, y, self.slice_z(index)]
    }
}

/// A filled ellipse in normalised image coordinates ([-1, 1] both ways, y down).
#[derive(Clone, Copy)]
struct Ellipse {
    cx: f32,
    cy: f32,
    ax: f32,
    ay: f32,
    hu: i16,
}

impl Ellipse {
    fn y_range(&self) -> (f32, f32) {
        (self.cy - self.ay, self.cy + self.ay)
    }
    #[inline]
    fn contains(&self, x: f32, y: f32) -> bool {
        let dx = (x - self.cx) / self.ax;
        let dy = (y - self.cy) / self.ay;
        dx * dx + dy * dy <= 1.0
    }
}

fn smoothstep(e0: f32, e1: f32, x: f32) -> f32 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Bump: 0 outside [a, d], 1 on [b, c], smooth in between.
fn bump(a: f32, b: f32, c: f32, d: f32, x: f32) -> f32 {
    smoothstep(a, b, x) * (1.0 - smoothstep(c, d, x))
}

/// The shapes of one slice, painted in order (later wins).
fn slice_shapes(t: f32) -> Vec<Ellipse> {
    let mut s = Vec::with_capacity(48);
    // body: fat rim then soft tissue
    let bx = 0.80 + 0.04 * t;
    let by = 0.56 + 0.03 * (t * std::f32::consts::PI).sin();
    let bcy = 0.06;
    s.push(Ellipse { cx: 0.0, cy: bcy, ax: bx, ay: by, hu: -100 });
    s.push(Ellipse { cx: 0.0, cy: bcy, ax: bx - 0.06, ay: by - 0.05, hu: 40 });
    // lungs, upper part of the series
    let lung = bump(-0.15, 0.2, 0.4, 0.62, t);
    if lung > 0.02 {
        let ax = 0.27 * lung.sqrt();
        let ay = 0.36 * lung.sqrt();
        s.push(Ellipse { cx: -0.36, cy: 0.0, ax, ay, hu: -850 });
        s.push(Ellipse { cx: 0.36, cy: 0.0, ax: ax * 0.95, ay, hu: -850 });
    }
    // heart, between the lungs, slightly to the patient's left (image right)
    let heart = bump(0.12, 0.25, 0.4, 0.55, t);
    if heart > 0.02 {
        s.push(Ellipse { cx: 0.1, cy: -0.08, ax: 0.24 * heart, ay: 0.2 * heart, hu: 45 });
    }
    // liver (patient right = image left), spleen, kidneys in the lower part
    let liver = bump(0.42, 0.62, 0.9, 1.15, t);
    if liver > 0.02 {
        s.push(Ellipse { cx: -0.3 - 0.05 * t, cy: 0.0, ax: 0.36 * liver, ay: 0.33 * liver, hu: 60 });
    }
    let spleen = bump(0.5, 0.65, 0.8, 0.92, t);
    if spleen > 0.02 {
        s.push(Ellipse { cx: 0.48, cy: 0.15, ax: 0.13 * spleen, ay: 0.16 * spleen, hu: 50 });
    }
    let kidney = bump(0.62, 0.78, 0.95, 1.2, t);
    if kidney > 0.02 {
        for cx in [-0.3f32, 0.3] {
            s.push(Ellipse { cx, cy: 0.33, ax: 0.1 * kidney, ay: 0.14 * kidney, hu: 65 });
            s.push(Ellipse { cx: cx * 0.85, cy: 0.33, ax: 0.03 * kidney, ay: 0.05 * kidney, hu: 15 });
        }
    }
    // aorta (contrast) in front of and left of the spine
    s.push(Ellipse { cx: 0.07, cy: 0.22 - 0.05 * t, ax: 0.045, ay: 0.045, hu: 180 });
    // ribs, thoracic part
    let ribs = 1.0 - smoothstep(0.6, 0.75, t);
    if ribs > 0.05 {
        let n = 9;
        for i in 0..n {
            let a = std::f32::consts::PI * (0.12 + 0.76 * i as f32 / (n - 1) as f32) + 0.15 * t;
            for side in [-1.0f32, 1.0] {
                let x = side * (bx - 0.1) * a.sin();
                let y = bcy - (by - 0.09) * a.cos();
                let r = 0.028 * ribs;
                s.push(Ellipse { cx: x, cy: y, ax: r * 1.3, ay: r, hu: 850 });
            }
        }
    }
    // spine: vertebral body (cortex, cancellous), spinal canal, spinous process
    let vy = 0.38;
    s.push(Ellipse { cx: 0.0, cy: vy, ax: 0.11, ay: 0.095, hu: 1000 });
    s.push(Ellipse { cx: 0.0, cy: vy, ax: 0.085, ay: 0.072, hu: 700 });
    s.push(Ellipse { cx: 0.0, cy: vy + 0.15, ax: 0.06, ay: 0.055, hu: 950 });
    s.push(Ellipse { cx: 0.0, cy: vy + 0.15, ax: 0.038, ay: 0.035, hu: 15 });
    s.push(Ellipse { cx: 0.0, cy: vy + 0.27, ax: 0.025, ay: 0.07, hu: 900 });
    s
}

#[inline]
fn texture(r: u32, c: u32, k: u32) -> i16 {
    // integer hash (a fixed mix, no RNG) -> -4..=4
    let mut h = r.wrapping_mul(0x9E37_79B1) ^ c.wrapping_mul(0x85EB_CA77) ^ k.wrapping_mul(0xC2B2_AE3D);
    h ^= h >> 15;
    h = h.wrapping_mul(0x2C1B_3C6D);
    h ^= h >> 12;
    (h % 9) as i16 - 4
}

/// Stored values (HU + 1024, row-major) of slice `index` (0-based) of the series.
///
/// # Panics
/// If `index >= params.slices`.
pub fn ct_slice_values(params: &SeriesParams, index: u32) -> Vec<i16> {
    assert!(index < params.slices, "slice index {index} out of range for {} slices", params.slices);
    let rows = params.rows;
    let cols = params.columns;
    let t = if params.slices > 1 { index as f32 / (params.slices - 1) as f32 } else { 0.5 };
    let shapes = slice_shapes(t);
    let body = shapes[0];
    let marker_value = index + 1;
    const BITS: u32 = 12;
    let (mx0, mx1, my0, my1) = (-0.3f32, 0.3f32, -0.92f32, -0.86f32);

    let air = (-1000 + 1024) as i16;
    let mut out = Vec::with_capacity(rows as usize * cols as usize);
    let mut active: Vec<Ellipse> = Vec::with_capacity(shapes.len());
    for r in 0..rows {
        let y = (r as f32 + 0.5) / rows as f32 * 2.0 - 1.0;
        active.clear();
        active.extend(shapes.iter().skip(1).filter(|e| {
            let (a, b) = e.y_range();
            y >= a && y <= b
        }));
        let in_marker_row = y >= my0 && y <= my1;
        for c in 0..cols {
            let x = (c as f32 + 0.5) / cols as f32 * 2.0 - 1.0;
            let v: i16 = if x * x + y * y > 1.0 {
                OUTSIDE_FOV_STORED
            } else if !body.contains(x, y) {
                if in_marker_row && x >= mx0 && x < mx1 {
                    let bit = ((x - mx0) / (mx1 - mx0) * BITS as f32) as u32;
                    let bit = BITS - 1 - bit.min(BITS - 1);
                    if (marker_value >> bit) & 1 == 1 {
                        1000 + 1024
                    } else {
                        air
                    }
                } else {
                    air
                }
            } else {
                let mut hu = body.hu;
                for e in &active {
                    if e.contains(x, y) {
                        hu = e.hu;
                    }
                }
                hu + 1024 + texture(r, c, index)
            };
            out.push(v);
        }
    }
    out
}

fn text(tag: dicom_core::Tag, vr: VR, v: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, PrimitiveValue::from(v))
}

fn ds(v: f64) -> String {
    // DS: at most 16 characters
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    let s = if s == "-0" { "0" } else { s };
    s.chars().take(16).collect()
}

/// Build the DICOM Part 10 file of slice `index` (0-based).
///
/// # Errors
/// [`ImagingError::Write`] if dicom-object refuses the object (a bug).
///
/// # Panics
/// If `index >= params.slices`.
pub fn ct_slice_file(params: &SeriesParams, index: u32) -> Result<Vec<u8>, ImagingError> {
    let values = ct_slice_values(params, index);
    let mut pixels = Vec::with_capacity(values.len() * 2);
    for v in &values {
        pixels.extend_from_slice(&v.to_le_bytes());
    }
    let sop_uid = params.sop_instance_uid(index);
    let pos = params.image_position(index);
    let sp = ds(params.pixel_spacing);

    let mut obj = InMemDicomObject::new_empty();
    let elems = [
        text(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 100"),
        text(tags::IMAGE_TYPE, VR::CS, "ORIGINAL\\PRIMARY\\AXIAL"),
        text(tags::SOP_CLASS_UID, VR::UI, CT_IMAGE_STORAGE),
        text(tags::SOP_INSTANCE_UID, VR::UI, &sop_uid),
        text(tags::STUDY_DATE, VR::DA, &params.study_date),
        text(tags::SERIES_DATE, VR::DA, &params.study_date),
        text(tags::CONTENT_DATE, VR::DA, &params.study_date),
        text(tags::STUDY_TIME, VR::TM, &params.study_time),
        text(tags::SERIES_TIME, VR::TM, &params.study_time),
        text(tags::CONTENT_TIME, VR::TM, &params.study_time),
        text(tags::ACCESSION_NUMBER, VR::SH, &params.accession_number),
        text(tags::MODALITY, VR::CS, "CT"),
        text(tags::MANUFACTURER, VR::LO, "Obscura synthetic phantom"),
        text(tags::REFERRING_PHYSICIAN_NAME, VR::PN, &params.referring_physician_name),
        text(tags::STUDY_DESCRIPTION, VR::LO, &params.study_description),
        text(tags::SERIES_DESCRIPTION, VR::LO, &params.series_description),
        text(tags::PATIENT_NAME, VR::PN, &params.patient_name),
        text(tags::PATIENT_ID, VR::LO, &params.patient_id),
        text(tags::PATIENT_BIRTH_DATE, VR::DA, &params.patient_birth_date),
        text(tags::PATIENT_SEX, VR::CS, &params.patient_sex),
        text(tags::BODY_PART_EXAMINED, VR::CS, "CHEST"),
        text(tags::SLICE_THICKNESS, VR::DS, &ds(params.slice_thickness)),
        text(tags::KVP, VR::DS, "120"),
        text(tags::PATIENT_POSITION, VR::CS, "FFS"),
        text(tags::STUDY_INSTANCE_UID, VR::UI, &params.study_instance_uid()),
        text(tags::SERIES_INSTANCE_UID, VR::UI, &params.series_instance_uid()),
        text(tags::STUDY_ID, VR::SH, "1"),
        text(tags::SERIES_NUMBER, VR::IS, &params.series_number.to_string()),
        text(tags::INSTANCE_NUMBER, VR::IS, &(index + 1).to_string()),
        text(tags::IMAGE_POSITION_PATIENT, VR::DS, &format!("{}\\{}\\{}", ds(pos[0]), ds(pos[1]), ds(pos[2]))),
        text(tags::IMAGE_ORIENTATION_PATIENT, VR::DS, "1\\0\\0\\0\\1\\0"),
        text(tags::FRAME_OF_REFERENCE_UID, VR::UI, &params.frame_of_reference_uid()),
        text(tags::POSITION_REFERENCE_INDICATOR, VR::LO, ""),
        text(tags::SLICE_LOCATION, VR::DS, &ds(pos[2])),
        text(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
        text(tags::PIXEL_SPACING, VR::DS, &format!("{sp}\\{sp}")),
        text(tags::WINDOW_CENTER, VR::DS, "40"),
        text(tags::WINDOW_WIDTH, VR::DS, "400"),
        text(tags::RESCALE_INTERCEPT, VR::DS, "-1024"),
        text(tags::RESCALE_SLOPE, VR::DS, "1"),
        text(tags::RESCALE_TYPE, VR::LO, "HU"),
    ];
    for e in elems {
        obj.put(e);
    }
    let us = |tag, v: u16| DataElement::new(tag, VR::US, PrimitiveValue::from(v));
    obj.put(us(tags::SAMPLES_PER_PIXEL, 1));
    obj.put(DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(params.rows as u16)));
    obj.put(DataElement::new(tags::COLUMNS, VR::US, PrimitiveValue::from(params.columns as u16)));
    obj.put(us(tags::BITS_ALLOCATED, 16));
    obj.put(us(tags::BITS_STORED, 16));
    obj.put(us(tags::HIGH_BIT, 15));
    obj.put(us(tags::PIXEL_REPRESENTATION, 1));
    obj.put(DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::U8(pixels.into())));

    let file = obj
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
                .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
                .implementation_version_name(IMPLEMENTATION_VERSION_NAME),
        )
        .map_err(|e| ImagingError::Write { detail: error_chain(&e) })?;
    let mut out = Vec::with_capacity(values.len() * 2 + 4096);
    file.write_all(&mut out).map_err(|e| ImagingError::Write { detail: error_chain(&e) })?;
    Ok(out)
}

/// Generate the whole series: one DICOM Part 10 file per slice, in slice order
/// (Explicit VR Little Endian, CT Image Storage).
///
/// # Panics
/// Only on a bug in the writer (the generated objects are always valid);
/// use [`ct_slice_file`] to get a `Result` instead.
pub fn ct_series(params: &SeriesParams) -> Vec<Vec<u8>> {
    (0..params.slices)
        .map(|i| ct_slice_file(params, i).unwrap_or_else(|e| panic!("synthetic slice {i} could not be written: {e}")))
        .collect()
}
