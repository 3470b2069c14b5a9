//! A reading session on a synthetic two-series CT study: 1×2 layout, synchronised scrolling,
//! window/level by drag and preset, a rotation, measurements and the overlay — through the
//! input machine, as the viewer wires it.

use obscura_imaging::{decode, read_attributes, synthetic, Attributes, DecodedImage};
use obscura_reading::cache::{CachedImage, SliceCache};
use obscura_reading::input::{Action, Button, InputEvent, InputMachine, Modifiers, PointerKind, WheelUnit};
use obscura_reading::layout::{Applied, Hanging, Layout, Series};
use obscura_reading::measure::{AnnotationStore, ImageKey, MeasureContext, Part, Shape, Value};
use obscura_reading::overlay::{corners, orientation_markers};
use obscura_reading::window::WindowSource;

/// The study: series 1 (24 × 2.5 mm) and series 2 (12 × 5 mm) of one Frame of Reference.
struct Study {
    files: Vec<Vec<Vec<u8>>>,
    series: Vec<Series>,
}

fn study() -> Study {
    let thin = synthetic::SeriesParams { rows: 64, columns: 64, slices: 24, ..Default::default() };
    let thick = synthetic::SeriesParams {
        slices: 12,
        slice_thickness: 5.0,
        series_number: 2,
        series_description: "Axial 5 mm".into(),
        uid_root: "2.25.5555".into(),
        ..thin.clone()
    };
    let mut files = Vec::new();
    let mut series = Vec::new();
    for (params, same_study_as) in [(&thin, &thin), (&thick, &thin)] {
        let f = synthetic::ct_series(params);
        let attrs: Vec<Attributes> = f
            .iter()
            .map(|bytes| {
                let mut a = read_attributes(bytes).unwrap();
                // the generator gives each series its own study; put both in one
                a.study_instance_uid = same_study_as.study_instance_uid();
                a.frame_of_reference_uid = same_study_as.frame_of_reference_uid();
                a
            })
            .collect();
        series.push(Series::new(attrs));
        files.push(f);
    }
    Study { files, series }
}

fn decoded(study: &Study, series: usize, slice: usize) -> DecodedImage {
    let instance = study.series[series].slices()[slice].instance;
    // instances are sorted by Instance Number, which the generator writes in file order
    decode(&study.files[series][instance]).unwrap()
}

fn key(k: &str) -> InputEvent {
    InputEvent::Key { key: k.into(), modifiers: Modifiers::default() }
}

#[test]
fn a_reading_session() {
    let study = study();
    let series = &study.series;
    assert_eq!(series[0].frame_of_reference_uid(), series[1].frame_of_reference_uid());
    let mut hanging = Hanging::new(Layout::OneByTwo, [1200.0, 600.0], 2.0, series, 0);
    assert_eq!(hanging.panes().iter().map(|p| p.series).collect::<Vec<_>>(), [Some(0), Some(1)]);
    let mut input = InputMachine::new();
    let mut store = AnnotationStore::new();
    let mut now = 0.0;

    // scroll pane 0 with five wheel notches: slice 5 is z = (23 − 5)·2.5 − 100 = −55 mm, which is
    // slice 2 of the 5 mm series ((11 − 2)·5 − 100)
    for _ in 0..5 {
        let wheel = InputEvent::Wheel {
            at: [300.0, 300.0],
            delta_y: 100.0,
            unit: WheelUnit::Pixel,
            modifiers: Modifiers::default(),
        };
        for action in input.handle(&wheel, &|_: [f64; 2], _: PointerKind| false) {
            now += 16.0;
            hanging.apply(0, &action, now, series, None);
        }
    }
    assert_eq!((hanging.panes()[0].stack.index(), hanging.panes()[1].stack.index()), (5, 2));
    // Page Down: 10 % of 24 slices = 2 → slice 7 (z −60) ↔ slice 3 of the thick series (z −60)
    let page = input.handle(&key("PageDown"), &|_: [f64; 2], _: PointerKind| false);
    assert_eq!(hanging.apply(0, &page[0], now, series, None), Applied::View { slices_changed: vec![0, 1] });
    assert_eq!((hanging.panes()[0].stack.index(), hanging.panes()[1].stack.index()), (7, 3));
    let slice = hanging.panes()[0].stack.index();
    let image = decoded(&study, 0, slice);
    let attrs = series[0].attributes(slice).unwrap().clone();
    assert_eq!(attrs.slice_location, Some(-60.0));

    // window/level: the object's window first, then a left drag of (+50, +25) CSS px
    let w = hanging.pane_mut(0).unwrap().ensure_window(&image, 0).clone();
    assert_eq!((w.window.center, w.window.width, w.source), (40.0, 400.0, WindowSource::Object(0)));
    let (lo, hi) = image.modality_range(0).unwrap();
    let per_px = (hi - lo) / 1024.0;
    let mut actions = Vec::new();
    for ev in [
        InputEvent::PointerDown {
            id: 1,
            kind: PointerKind::Mouse,
            button: Button::Primary,
            at: [300.0, 300.0],
            time_ms: now,
        },
        InputEvent::PointerMove { id: 1, kind: PointerKind::Mouse, at: [350.0, 325.0], time_ms: now + 10.0 },
        InputEvent::PointerUp { id: 1, at: [350.0, 325.0], time_ms: now + 20.0 },
    ] {
        actions.extend(input.handle(&ev, &|_: [f64; 2], _: PointerKind| false));
    }
    assert_eq!(actions, [Action::Window { dx: 50.0, dy: 25.0 }]);
    hanging.apply(0, &actions[0], now, series, Some(&image));
    let w = hanging.panes()[0].window.clone().unwrap();
    assert!((w.window.width - (400.0 + 50.0 * per_px)).abs() < 1e-9);
    assert!((w.window.center - (40.0 + 25.0 * per_px)).abs() < 1e-9);
    // preset 4 (lung)
    let lung = input.handle(&key("4"), &|_: [f64; 2], _: PointerKind| false);
    hanging.apply(0, &lung[0], now, series, Some(&image));
    let w = hanging.panes()[0].window.clone().unwrap();
    assert_eq!((w.window.width, w.window.center, w.source), (1500.0, -600.0, WindowSource::Preset("Lung")));

    // a length from image (10, 10) to (40, 50): 50 px × 0.7 mm = 35 mm, drawn with the mouse
    let tool = input.handle(&key("l"), &|_: [f64; 2], _: PointerKind| false);
    assert!(matches!(tool[..], [Action::ToolChanged(Some(_))]));
    let view = hanging.panes()[0].viewport.clone();
    let image_key = ImageKey { sop_instance_uid: attrs.sop_instance_uid.clone(), frame: 0 };
    let ctx = MeasureContext::new(&image, 0, &attrs);
    let (a, b) = (view.image_to_css([10.0, 10.0]), view.image_to_css([40.0, 50.0]));
    let mut finished = None;
    for ev in [
        InputEvent::PointerDown { id: 2, kind: PointerKind::Mouse, button: Button::Primary, at: a, time_ms: now },
        InputEvent::PointerMove { id: 2, kind: PointerKind::Mouse, at: b, time_ms: now + 10.0 },
        InputEvent::PointerUp { id: 2, at: b, time_ms: now + 20.0 },
    ] {
        let hits = |at: [f64; 2], k: PointerKind| store.hit_test(&image_key, at, &view, k.hit_tolerance()).is_some();
        for action in input.handle(&ev, &hits) {
            match action {
                Action::DrawPress { tool, at } => store.draw_press(&image_key, tool, view.css_to_image(at)),
                Action::DrawMove { at } => store.draw_move(view.css_to_image(at)),
                Action::DrawRelease { at } => finished = store.draw_release(view.css_to_image(at), &ctx),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    let length_id = finished.expect("a length");
    let Value::Length { length, unit } = store.get(&image_key, length_id).unwrap().value.clone() else { panic!() };
    assert!((length - 35.0).abs() < 1e-9 && unit == "mm", "{length} {unit}");

    // grab its far end (a handle) and move it to image (10, 40): 30 px × 0.7 = 21 mm
    let hit = store.hit_test(&image_key, b, &view, PointerKind::Mouse.hit_tolerance()).unwrap();
    assert_eq!((hit.id, hit.part), (length_id, Part::Handle(1)));
    store.begin_drag(&image_key, hit, [40.0, 50.0]).unwrap();
    store.drag_to([10.0, 40.0], &ctx);
    store.end_drag();
    let Value::Length { length, .. } = store.get(&image_key, length_id).unwrap().value.clone() else { panic!() };
    assert!((length - 21.0).abs() < 1e-9, "{length}");

    // a rectangle over image columns 20..=29, rows 30..=33 (40 pixels): mean, min and max are
    // the HU of exactly those pixels; area 10 × 4 px × 0.49 mm² = 19.6 mm²
    let id = store.add(image_key.clone(), Shape::Rectangle { a: [20.0, 30.0], b: [30.0, 34.0] }, &ctx);
    let Value::Region(r) = store.get(&image_key, id).unwrap().value.clone() else { panic!() };
    let hu: Vec<f64> = (30..34)
        .flat_map(|y| (20..30).map(move |x| (x, y)))
        .map(|(x, y)| image.modality_value(0, y * 64 + x))
        .collect();
    let mean = hu.iter().sum::<f64>() / 40.0;
    let s = r.stats.unwrap();
    assert_eq!(r.pixel_count, 40);
    assert!((s.mean - mean).abs() < 1e-9);
    assert_eq!(
        (s.min, s.max),
        (hu.iter().copied().fold(f64::INFINITY, f64::min), hu.iter().copied().fold(f64::NEG_INFINITY, f64::max))
    );
    assert!((r.area - 19.6).abs() < 1e-9 && r.value_unit == "HU");
    assert_eq!(store.list(&image_key).len(), 2);
    assert!(store.list(&ImageKey { frame: 0, sop_instance_uid: "another".into() }).is_empty());

    // rotate pane 0 clockwise: the anterior edge goes right
    let rotate = input.handle(&key("]"), &|_: [f64; 2], _: PointerKind| false);
    hanging.apply(0, &rotate[0], now, series, Some(&image));
    let pane = &hanging.panes()[0];
    let m = orientation_markers(attrs.image_orientation_patient, &pane.viewport).unwrap();
    assert_eq!([m.top.as_str(), m.right.as_str(), m.bottom.as_str(), m.left.as_str()], ["R", "A", "L", "P"]);

    // the corners, from the attributes and the pane's state
    let c = corners(&attrs, &pane.stack, pane.window.as_ref().unwrap(), &pane.viewport);
    assert_eq!(c.top_left, ["OBSCURA, PHANTOM DEMO", "ID: OBS-DEMO-0001", "DOB: 1970-01-01 Sex: O"]);
    assert_eq!(c.top_right, ["Synthetic CT phantom (demo)", "2024-03-01 10:15:00", "Se: 1 Axial 2.5 mm"]);
    assert_eq!(c.bottom_left, ["Im: 8/24", "Loc: -60 mm", "Thk: 2.5 mm"]);
    // 600 CSS px × 2 = 1200 device px for 64 pixels: 1875 %
    assert_eq!(c.bottom_right, ["W: 1500 L: -600", "Zoom: 1875 %", "Linear"]);

    // the cleartext cache holds the slices shown, pinned, within its budget
    let slice_bytes = 64 * 64 * 2;
    let mut cache: SliceCache<ImageKey, CachedImage> = SliceCache::new(3 * slice_bytes);
    let shown = ImageKey { sop_instance_uid: attrs.sop_instance_uid.clone(), frame: 0 };
    cache.set_pinned([shown.clone()]);
    cache.insert(shown.clone(), CachedImage(image.clone())).unwrap();
    for s in 0..4 {
        let a = series[0].attributes(s).unwrap();
        cache
            .insert(
                ImageKey { sop_instance_uid: a.sop_instance_uid.clone(), frame: 0 },
                CachedImage(decoded(&study, 0, s)),
            )
            .unwrap();
    }
    let usage = cache.usage();
    assert!(cache.contains(&shown), "the displayed slice stays");
    assert_eq!((usage.items, usage.bytes, usage.evictions), (3, 3 * slice_bytes, 2));
    cache.clear();
    assert_eq!(cache.usage().bytes, 0);

    // closing the study forgets the measurements
    store.clear();
    assert!(store.list(&image_key).is_empty());
}
