//! The reading room's rules in pure Rust — what the viewer's UI decides, tested natively.
//!
//! ```
//! use obscura_reading::input::{Action, Command, InputEvent, InputMachine, Modifiers, NoHits};
//! use obscura_reading::viewport::Viewport;
//!
//! // a 512×512 slice of square pixels in a 600×400 CSS px pane on a 2× screen: fit
//! let mut view = Viewport::new(512, 512, 1.0, [600.0, 400.0], 2.0);
//! assert_eq!(view.scale(), 800.0 / 512.0);
//! // the renderer draws with this matrix (image px → device px); hit-testing inverts it
//! let centre = view.to_screen([256.0, 256.0]);
//! assert_eq!(centre, [600.0, 400.0]);
//!
//! // keys and gestures become actions through one table, the same the help overlay lists
//! let mut input = InputMachine::new();
//! let key = InputEvent::Key { key: "]".into(), modifiers: Modifiers::default() };
//! assert_eq!(input.handle(&key, &NoHits), [Action::Command(Command::RotateClockwise)]);
//! view.rotate_clockwise();
//! assert_eq!(view.quarter_turns(), 1);
//! ```
//!
//! [`viewport`] maps image px to screen (fit, 1:1, zoom about a point, pan, quarter turns,
//! flips; device-pixel-ratio and pixel-aspect aware); [`window`] holds window/level (drag, CT
//! presets, the image's own window through `obscura_imaging`, invert); [`stack`] the slice
//! position and cine; [`overlay`] the corner text and orientation markers; [`measure`] lengths,
//! angles, ROI statistics, the probe and the per-image annotation store; [`layout`] the panes,
//! the default hanging and synchronised scrolling, and routes view actions; [`input`] the
//! bindings table and the gesture state machine; [`cache`] the byte-budgeted, zeroising LRU of
//! cleartext slices. No browser binding, no async runtime, no GPU: it builds for
//! `wasm32-unknown-unknown` and the viewer stays a thin layer of event wiring and drawing.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cache;
pub mod input;
pub mod layout;
pub mod measure;
pub mod overlay;
pub mod stack;
pub mod viewport;
pub mod window;
