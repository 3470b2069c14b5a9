//! Overlay and measurement graphics: shapes tessellated on the CPU into triangles in target
//! pixels, drawn in the same render pass as the image. Text is not drawn here (the viewer puts
//! DOM text over the canvas).

use crate::Transform;

/// Where an overlay's coordinates live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Space {
    /// Image pixel coordinates (x right, y down, pixel centres at +0.5), mapped by the view's
    /// [`Transform`]: the shape moves and scales with the image.
    #[default]
    Image,
    /// Target (device) pixel coordinates, x right, y down: fixed on the screen.
    Target,
}

/// A shape, in the coordinates of its [`Space`].
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// A straight segment.
    Line {
        /// One end.
        from: [f32; 2],
        /// The other end.
        to: [f32; 2],
    },
    /// Connected segments; `closed` joins the last point to the first.
    Polyline {
        /// The vertices, in order.
        points: Vec<[f32; 2]>,
        /// Whether the last point connects back to the first.
        closed: bool,
    },
    /// An ellipse with axes along x and y of its space (rotated with the image when in
    /// [`Space::Image`]).
    Ellipse {
        /// The centre.
        centre: [f32; 2],
        /// Semi-axes along x and y.
        radii: [f32; 2],
    },
    /// An axis-aligned rectangle (in its space) between two opposite corners.
    Rectangle {
        /// One corner.
        from: [f32; 2],
        /// The opposite corner.
        to: [f32; 2],
    },
    /// A filled square handle centred on a point, `width` device pixels wide, never rotated or
    /// scaled by the view.
    Handle {
        /// The point it marks.
        centre: [f32; 2],
    },
}

/// One overlay item: a shape stroked (or, for a [`Shape::Handle`], filled) in one colour.
#[derive(Debug, Clone, PartialEq)]
pub struct Overlay {
    /// What to draw.
    pub shape: Shape,
    /// Where its coordinates live.
    pub space: Space,
    /// 8-bit sRGB code values and alpha (straight, not premultiplied); blended over the image.
    pub colour: [u8; 4],
    /// Line width in device pixels (for a handle: its side). Segments end in square caps that
    /// reach `width / 2` past their end points.
    pub width: f32,
}

/// One overlay vertex, mirrored by `vs_overlay`'s inputs.
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct Vertex {
    position: [f32; 2],
    colour: [f32; 4],
}

impl Vertex {
    pub(crate) const ATTRIBUTES: [wgpu::VertexAttribute; 2] = wgpu::vertex_attr_array![0 => Float32x2, 1 => Float32x4];
}

/// The triangles (a list, three vertices each) of `overlays` in target pixels.
pub(crate) fn tessellate(overlays: &[Overlay], transform: &Transform) -> Vec<Vertex> {
    let mut out = Vec::new();
    for overlay in overlays {
        let colour = overlay.colour.map(|c| f32::from(c) / 255.0);
        let to_target = |p: [f32; 2]| match overlay.space {
            Space::Image => transform.apply(p),
            Space::Target => p,
        };
        let width = overlay.width;
        if !(width.is_finite() && width > 0.0) {
            continue;
        }
        match &overlay.shape {
            Shape::Line { from, to } => stroke(&[to_target(*from), to_target(*to)], false, width, colour, &mut out),
            Shape::Polyline { points, closed } => {
                let points: Vec<[f32; 2]> = points.iter().map(|&p| to_target(p)).collect();
                stroke(&points, *closed, width, colour, &mut out);
            }
            Shape::Rectangle { from, to } => {
                let corners = [[from[0], from[1]], [to[0], from[1]], [to[0], to[1]], [from[0], to[1]]];
                stroke(&corners.map(to_target), true, width, colour, &mut out);
            }
            Shape::Ellipse { centre, radii } => {
                // Enough segments that each is ~3 target pixels long.
                let scale = match overlay.space {
                    Space::Image => transform.max_scale(),
                    Space::Target => 1.0,
                };
                let r = radii[0].abs().max(radii[1].abs()) * scale;
                let n =
                    if r.is_finite() { ((std::f32::consts::TAU * r / 3.0).ceil() as usize).clamp(16, 512) } else { 16 };
                let points: Vec<[f32; 2]> = (0..n)
                    .map(|i| {
                        let a = std::f32::consts::TAU * i as f32 / n as f32;
                        to_target([centre[0] + radii[0] * a.cos(), centre[1] + radii[1] * a.sin()])
                    })
                    .collect();
                stroke(&points, true, width, colour, &mut out);
            }
            Shape::Handle { centre } => {
                let c = to_target(*centre);
                let h = width / 2.0;
                quad(
                    [c[0] - h, c[1] - h],
                    [c[0] + h, c[1] - h],
                    [c[0] - h, c[1] + h],
                    [c[0] + h, c[1] + h],
                    colour,
                    &mut out,
                );
            }
        }
    }
    // Drop whole triangles with a non-finite corner (e.g. from a degenerate transform).
    out.chunks_exact(3)
        .filter(|t| t.iter().all(|v| v.position.iter().all(|c| c.is_finite())))
        .flatten()
        .copied()
        .collect()
}

/// Thick segments as quads, each with square caps (so that joints are covered).
fn stroke(points: &[[f32; 2]], closed: bool, width: f32, colour: [f32; 4], out: &mut Vec<Vertex>) {
    let h = width / 2.0;
    let segments = if closed && points.len() > 2 { points.len() } else { points.len().saturating_sub(1) };
    for i in 0..segments {
        let (a, b) = (points[i], points[(i + 1) % points.len()]);
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let len = (dx * dx + dy * dy).sqrt();
        if !(len.is_finite() && len > 0.0) {
            continue;
        }
        // Along the segment (d) and across it (n), each half a line width long.
        let d = [dx / len * h, dy / len * h];
        let n = [-d[1], d[0]];
        let (a, b) = ([a[0] - d[0], a[1] - d[1]], [b[0] + d[0], b[1] + d[1]]);
        quad(
            [a[0] + n[0], a[1] + n[1]],
            [b[0] + n[0], b[1] + n[1]],
            [a[0] - n[0], a[1] - n[1]],
            [b[0] - n[0], b[1] - n[1]],
            colour,
            out,
        );
    }
}

/// Two triangles: `p0 p1 p2` and `p2 p1 p3` (p0/p1 one side, p2/p3 the other).
fn quad(p0: [f32; 2], p1: [f32; 2], p2: [f32; 2], p3: [f32; 2], colour: [f32; 4], out: &mut Vec<Vertex>) {
    for position in [p0, p1, p2, p2, p1, p3] {
        out.push(Vertex { position, colour });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds(v: &[Vertex]) -> [f32; 4] {
        v.iter().fold([f32::MAX, f32::MAX, f32::MIN, f32::MIN], |b, v| {
            [b[0].min(v.position[0]), b[1].min(v.position[1]), b[2].max(v.position[0]), b[3].max(v.position[1])]
        })
    }

    #[test]
    fn line_in_image_space_follows_the_transform_with_square_caps() {
        let t = Transform([[2.0, 0.0, 10.0], [0.0, 2.0, 20.0]]);
        let o = Overlay {
            shape: Shape::Line { from: [1.0, 1.0], to: [5.0, 1.0] },
            space: Space::Image,
            colour: [255; 4],
            width: 2.0,
        };
        let v = tessellate(std::slice::from_ref(&o), &t);
        assert_eq!(v.len(), 6);
        assert_eq!(bounds(&v), [11.0, 21.0, 21.0, 23.0]);
        let v = tessellate(&[Overlay { space: Space::Target, ..o }], &t);
        assert_eq!(bounds(&v), [0.0, 0.0, 6.0, 2.0]);
    }

    #[test]
    fn shapes_and_degenerate_input() {
        let t = Transform::IDENTITY;
        let item = |shape| Overlay { shape, space: Space::Target, colour: [1, 2, 3, 255], width: 1.0 };
        let rect = tessellate(&[item(Shape::Rectangle { from: [0.0, 0.0], to: [4.0, 2.0] })], &t);
        assert_eq!(rect.len(), 4 * 6);
        assert_eq!(bounds(&rect), [-0.5, -0.5, 4.5, 2.5]);
        let handle = tessellate(&[Overlay { width: 4.0, ..item(Shape::Handle { centre: [5.0, 5.0] }) }], &t);
        assert_eq!(bounds(&handle), [3.0, 3.0, 7.0, 7.0]);
        let ellipse = tessellate(&[item(Shape::Ellipse { centre: [50.0, 50.0], radii: [20.0, 10.0] })], &t);
        assert_eq!(ellipse.len() % 6, 0);
        let b = bounds(&ellipse);
        assert!((b[0] - 29.5).abs() < 0.6 && (b[2] - 70.5).abs() < 0.6 && (b[1] - 39.5).abs() < 0.6, "{b:?}");
        // Open polyline of 3 points: 2 segments; closed: 3.
        let pts = vec![[0.0, 0.0], [10.0, 0.0], [10.0, 10.0]];
        assert_eq!(tessellate(&[item(Shape::Polyline { points: pts.clone(), closed: false })], &t).len(), 12);
        assert_eq!(tessellate(&[item(Shape::Polyline { points: pts, closed: true })], &t).len(), 18);
        // Nothing for zero-length segments, zero or NaN widths, non-finite points.
        assert!(tessellate(&[item(Shape::Line { from: [1.0, 1.0], to: [1.0, 1.0] })], &t).is_empty());
        assert!(tessellate(&[Overlay { width: 0.0, ..item(Shape::Handle { centre: [0.0, 0.0] }) }], &t).is_empty());
        assert!(tessellate(&[Overlay { width: f32::NAN, ..item(Shape::Handle { centre: [0.0, 0.0] }) }], &t).is_empty());
        assert!(tessellate(&[item(Shape::Line { from: [0.0, 0.0], to: [f32::NAN, 1.0] })], &t).is_empty());
        assert_eq!(handle[0].colour, [1.0 / 255.0, 2.0 / 255.0, 3.0 / 255.0, 1.0]);
    }
}
