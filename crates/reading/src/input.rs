//! Input: one table of bindings ([`BINDINGS`]) that both the dispatch and the help overlay read,
//! and a pure state machine ([`InputMachine`]) from pointer, wheel and key events to actions.
//!
//! Pointer positions are CSS px relative to the pane; times are the caller's clock in ms
//! (`event.timeStamp`). Touch thresholds: a finger that moves less than [`TOUCH_SLOP`] px is
//! still a tap; a finger held [`HOLD_MS`] ms before it moves beyond the slop drags the window
//! instead of scrolling. A mouse or pen press that moves less than [`MOUSE_SLOP`] px is a
//! click. The UI must `preventDefault` the wheel (Ctrl/⌘ + wheel is the browser's page zoom
//! otherwise) and the context menu of the right button.

use std::collections::HashMap;

use crate::measure::{Tool, HIT_TOLERANCE_MOUSE, HIT_TOLERANCE_TOUCH};

/// What produced a pointer event (`PointerEvent.pointerType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PointerKind {
    /// A mouse.
    Mouse,
    /// A pen or stylus (handled like a mouse).
    Pen,
    /// A finger.
    Touch,
}

impl PointerKind {
    /// The hit-test tolerance for this pointer, CSS px.
    pub fn hit_tolerance(self) -> f64 {
        match self {
            PointerKind::Touch => HIT_TOLERANCE_TOUCH,
            PointerKind::Mouse | PointerKind::Pen => HIT_TOLERANCE_MOUSE,
        }
    }
}

/// A mouse button (`PointerEvent.button`: 0, 1, 2). Touch and pen contacts are `Primary`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Button {
    /// Left button, pen tip, finger.
    Primary,
    /// Middle button / wheel press.
    Middle,
    /// Right button.
    Secondary,
}

/// Modifier keys held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Modifiers {
    /// Shift.
    pub shift: bool,
    /// Control.
    pub ctrl: bool,
    /// Alt / Option.
    pub alt: bool,
    /// Meta / ⌘.
    pub meta: bool,
}

/// The unit of a wheel delta (`WheelEvent.deltaMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WheelUnit {
    /// Pixels (0).
    Pixel,
    /// Lines (1).
    Line,
    /// Pages (2).
    Page,
}

/// An input event.
#[derive(Debug, Clone, PartialEq)]
pub enum InputEvent {
    /// `pointerdown`.
    PointerDown {
        /// `pointerId`.
        id: i32,
        /// `pointerType`.
        kind: PointerKind,
        /// `button`.
        button: Button,
        /// Position, CSS px.
        at: [f64; 2],
        /// Time, ms.
        time_ms: f64,
    },
    /// `pointermove` (pressed or hovering).
    PointerMove {
        /// `pointerId`.
        id: i32,
        /// `pointerType`.
        kind: PointerKind,
        /// Position, CSS px.
        at: [f64; 2],
        /// Time, ms.
        time_ms: f64,
    },
    /// `pointerup`.
    PointerUp {
        /// `pointerId`.
        id: i32,
        /// Position, CSS px.
        at: [f64; 2],
        /// Time, ms.
        time_ms: f64,
    },
    /// `pointercancel` (the browser took the pointer).
    PointerCancel {
        /// `pointerId`.
        id: i32,
    },
    /// `wheel`.
    Wheel {
        /// Position, CSS px.
        at: [f64; 2],
        /// `deltaY` (positive: down / towards the reader).
        delta_y: f64,
        /// `deltaMode`.
        unit: WheelUnit,
        /// Modifiers held.
        modifiers: Modifiers,
    },
    /// `keydown`.
    Key {
        /// `KeyboardEvent.key`.
        key: String,
        /// Modifiers held.
        modifiers: Modifiers,
    },
}

/// A discrete command (keys, and the help overlay's vocabulary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// Scroll by n slices.
    ScrollBy(i32),
    /// One page (10 % of the stack) back.
    PagePrevious,
    /// One page forward.
    PageNext,
    /// The first slice.
    First,
    /// The last slice.
    Last,
    /// Window preset on keys 1–9.
    Preset(u8),
    /// The image's own window.
    ImageWindow,
    /// Invert the gray scale.
    Invert,
    /// Reset view and window.
    Reset,
    /// Fit the image in the pane.
    Fit,
    /// One image pixel per screen pixel.
    OneToOne,
    /// Zoom in about the pane's centre.
    ZoomIn,
    /// Zoom out.
    ZoomOut,
    /// Rotate 90° clockwise.
    RotateClockwise,
    /// Rotate 90° counter-clockwise.
    RotateCounterClockwise,
    /// Mirror left–right.
    FlipHorizontal,
    /// Mirror top–bottom.
    FlipVertical,
    /// Play or stop cine.
    ToggleCine,
    /// Take a measurement tool (again: put it down).
    Tool(Tool),
    /// Delete the selected measurement.
    DeleteSelected,
    /// Cancel the measurement being drawn, else deselect, else put the tool down.
    Cancel,
    /// Show or hide the help overlay.
    Help,
}

/// What a pointer drag does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DragEffect {
    /// Window/level: horizontal = width, vertical = center.
    Window,
    /// Move the image.
    Pan,
    /// Zoom about the press point (up: in).
    Zoom,
    /// Scroll through the stack (down: forward).
    Scroll,
}

/// A touch gesture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TouchGesture {
    /// One finger moving at once.
    Swipe,
    /// One finger held still, then moving.
    HoldDrag,
    /// Two fingers closer or apart.
    Pinch,
    /// Two fingers moving together.
    TwoFingerDrag,
    /// One short touch.
    Tap,
}

/// What triggers a binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// A key (`KeyboardEvent.key`; letters lower-case, `shift` telling the upper-case one),
    /// without Ctrl, Alt or Meta (those belong to the browser).
    Key {
        /// The key.
        key: &'static str,
        /// Shift held (letters only; other keys' shifted forms are their own `key`).
        shift: bool,
    },
    /// A mouse drag with a button (a pen tip is the primary button).
    MouseDrag(Button),
    /// A click with a button.
    MouseClick(Button),
    /// The wheel; `zoom_modifier`: with Ctrl or ⌘.
    Wheel {
        /// Ctrl or ⌘ held.
        zoom_modifier: bool,
    },
    /// A touch gesture.
    Touch(TouchGesture),
}

/// What a binding does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// A command.
    Command(Command),
    /// A drag effect (mouse drags, one-finger touch gestures).
    Drag(DragEffect),
    /// Scroll the stack (wheel).
    Scroll,
    /// Zoom about the pointer or the pinch centre (wheel with modifier, pinch).
    Zoom,
    /// Pan (two fingers).
    Pan,
    /// Select the measurement under the pointer.
    Select,
}

/// One binding: a trigger, what it does, and the help text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    /// The trigger.
    pub trigger: Trigger,
    /// What it does.
    pub effect: Effect,
    /// The help text.
    pub description: &'static str,
}

const PRESET_HELP: &str = "Window preset (CT: 1 brain, 2 subdural, 3 stroke, 4 lung, 5 mediastinum, 6 abdomen, \
     7 liver, 8 bone, 9 temporal bone; other modalities: the image's windows)";

const fn key(key: &'static str, command: Command, description: &'static str) -> Binding {
    Binding { trigger: Trigger::Key { key, shift: false }, effect: Effect::Command(command), description }
}

/// Every binding. Keys avoid the browser's own (no Ctrl/⌘/Alt combination is bound) and work
/// on any keyboard layout that has the character.
pub const BINDINGS: &[Binding] = &[
    // mouse
    Binding {
        trigger: Trigger::MouseDrag(Button::Primary),
        effect: Effect::Drag(DragEffect::Window),
        description: "Window/level (→ width, ↓ level); with a tool: measure; on a measurement: move it",
    },
    Binding { trigger: Trigger::MouseDrag(Button::Middle), effect: Effect::Drag(DragEffect::Pan), description: "Pan" },
    Binding {
        trigger: Trigger::MouseDrag(Button::Secondary),
        effect: Effect::Drag(DragEffect::Zoom),
        description: "Zoom (up: in)",
    },
    Binding {
        trigger: Trigger::MouseClick(Button::Primary),
        effect: Effect::Select,
        description: "Select a measurement",
    },
    Binding {
        trigger: Trigger::Wheel { zoom_modifier: false },
        effect: Effect::Scroll,
        description: "Next / previous slice",
    },
    Binding {
        trigger: Trigger::Wheel { zoom_modifier: true },
        effect: Effect::Zoom,
        description: "Zoom about the pointer",
    },
    // keyboard
    key("ArrowUp", Command::ScrollBy(-1), "Previous slice"),
    key("ArrowLeft", Command::ScrollBy(-1), "Previous slice"),
    key("ArrowDown", Command::ScrollBy(1), "Next slice"),
    key("ArrowRight", Command::ScrollBy(1), "Next slice"),
    key("PageUp", Command::PagePrevious, "Back 10 % of the stack"),
    key("PageDown", Command::PageNext, "Forward 10 % of the stack"),
    key("Home", Command::First, "First slice"),
    key("End", Command::Last, "Last slice"),
    key("1", Command::Preset(1), PRESET_HELP),
    key("2", Command::Preset(2), PRESET_HELP),
    key("3", Command::Preset(3), PRESET_HELP),
    key("4", Command::Preset(4), PRESET_HELP),
    key("5", Command::Preset(5), PRESET_HELP),
    key("6", Command::Preset(6), PRESET_HELP),
    key("7", Command::Preset(7), PRESET_HELP),
    key("8", Command::Preset(8), PRESET_HELP),
    key("9", Command::Preset(9), PRESET_HELP),
    key("0", Command::ImageWindow, "The image's own window"),
    key("i", Command::Invert, "Invert"),
    key("r", Command::Reset, "Reset view and window"),
    key("f", Command::Fit, "Fit to the pane"),
    key("o", Command::OneToOne, "Original size (1 image pixel = 1 screen pixel)"),
    key("+", Command::ZoomIn, "Zoom in"),
    key("=", Command::ZoomIn, "Zoom in"),
    key("-", Command::ZoomOut, "Zoom out"),
    key("]", Command::RotateClockwise, "Rotate 90° clockwise"),
    key("[", Command::RotateCounterClockwise, "Rotate 90° counter-clockwise"),
    key("m", Command::FlipHorizontal, "Mirror left–right"),
    key("v", Command::FlipVertical, "Mirror top–bottom"),
    key("c", Command::ToggleCine, "Play / stop cine"),
    key("l", Command::Tool(Tool::Length), "Length"),
    key("a", Command::Tool(Tool::Angle), "Angle"),
    key("e", Command::Tool(Tool::Ellipse), "Elliptical ROI"),
    key("b", Command::Tool(Tool::Rectangle), "Rectangular ROI (box)"),
    key("p", Command::Tool(Tool::Probe), "Pixel probe"),
    key("Delete", Command::DeleteSelected, "Delete the selected measurement"),
    key("Backspace", Command::DeleteSelected, "Delete the selected measurement"),
    key("Escape", Command::Cancel, "Cancel the measurement being drawn, else deselect, else put the tool down"),
    key("?", Command::Help, "Show / hide this help"),
    key("h", Command::Help, "Show / hide this help"),
    // touch
    Binding {
        trigger: Trigger::Touch(TouchGesture::Swipe),
        effect: Effect::Drag(DragEffect::Scroll),
        description: "Scroll through the stack (one finger up / down); with a tool: measure",
    },
    Binding {
        trigger: Trigger::Touch(TouchGesture::HoldDrag),
        effect: Effect::Drag(DragEffect::Window),
        description: "Window/level (hold still, then drag)",
    },
    Binding {
        trigger: Trigger::Touch(TouchGesture::Pinch),
        effect: Effect::Zoom,
        description: "Zoom about the fingers",
    },
    Binding { trigger: Trigger::Touch(TouchGesture::TwoFingerDrag), effect: Effect::Pan, description: "Pan" },
    Binding { trigger: Trigger::Touch(TouchGesture::Tap), effect: Effect::Select, description: "Select a measurement" },
];

/// Mouse or pen movement below which a press is a click, CSS px.
pub const MOUSE_SLOP: f64 = 3.0;
/// Finger movement below which a touch is a tap or a hold, CSS px.
pub const TOUCH_SLOP: f64 = 10.0;
/// How long a finger rests before its drag changes the window instead of scrolling, ms.
pub const HOLD_MS: f64 = 500.0;
/// Finger travel per slice of a swipe, CSS px.
pub const SWIPE_PX_PER_SLICE: f64 = 12.0;
/// Wheel pixel delta of one slice; a mouse notch (≥ this) is always exactly one slice, a
/// trackpad's small deltas add up to it.
pub const WHEEL_PX_PER_SLICE: f64 = 50.0;
/// Zoom of a right-button drag: ×e per this many CSS px upwards.
pub const ZOOM_DRAG_PX: f64 = 200.0;
/// Zoom of Ctrl/⌘ + wheel: ×e per this many wheel px.
pub const ZOOM_WHEEL_PX: f64 = 500.0;
/// Zoom step of the + / − keys.
pub const ZOOM_KEY_FACTOR: f64 = 1.25;

/// An action for the UI to apply.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// A key command.
    Command(Command),
    /// Scroll the stack by n slices.
    Scroll(i64),
    /// Drag the window by CSS px (right: wider, down: higher level).
    Window {
        /// Horizontal drag.
        dx: f64,
        /// Vertical drag.
        dy: f64,
    },
    /// Zoom by `factor` about `at` (CSS px).
    ZoomAbout {
        /// The fixed point.
        at: [f64; 2],
        /// The factor (> 1: in).
        factor: f64,
    },
    /// Pan by CSS px.
    Pan {
        /// Horizontal.
        dx: f64,
        /// Vertical.
        dy: f64,
    },
    /// Select the measurement at `at` (or none).
    Select {
        /// Where.
        at: [f64; 2],
        /// With what (for the hit tolerance).
        kind: PointerKind,
    },
    /// Start dragging the measurement part at `at`.
    EditStart {
        /// Where.
        at: [f64; 2],
        /// With what (for the hit tolerance).
        kind: PointerKind,
    },
    /// The dragged measurement part follows the pointer.
    EditMove {
        /// Where.
        at: [f64; 2],
    },
    /// The drag of a measurement ended.
    EditEnd,
    /// A press while a tool is active (see [`AnnotationStore::draw_press`](crate::measure::AnnotationStore::draw_press)).
    DrawPress {
        /// The tool.
        tool: Tool,
        /// Where.
        at: [f64; 2],
    },
    /// The pointer moved while a tool is active (pressed or hovering).
    DrawMove {
        /// Where.
        at: [f64; 2],
    },
    /// A release while drawing.
    DrawRelease {
        /// Where.
        at: [f64; 2],
    },
    /// The tool changed (a tool key; `None`: put down).
    ToolChanged(Option<Tool>),
}

/// Whether something can be grabbed at a point (a measurement's handle or outline).
pub trait HitTester {
    /// Whether a measurement is under `at` (CSS px), with `kind`'s tolerance.
    fn hit(&self, at: [f64; 2], kind: PointerKind) -> bool;
}

impl<F: Fn([f64; 2], PointerKind) -> bool> HitTester for F {
    fn hit(&self, at: [f64; 2], kind: PointerKind) -> bool {
        self(at, kind)
    }
}

/// A hit tester with nothing to hit.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHits;

impl HitTester for NoHits {
    fn hit(&self, _: [f64; 2], _: PointerKind) -> bool {
        false
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Contact {
    kind: PointerKind,
    button: Button,
    start: [f64; 2],
    last: [f64; 2],
    down_ms: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Idle,
    /// Pressed, not yet moved beyond the slop.
    Pending {
        id: i32,
    },
    Drag {
        id: i32,
        effect: DragEffect,
        pivot: [f64; 2],
        scroll_rest: f64,
    },
    Edit {
        id: i32,
    },
    Draw {
        id: i32,
    },
    Pinch {
        a: i32,
        b: i32,
        centre: [f64; 2],
        distance: f64,
    },
    /// Ignore pointers until all are up (after a pinch).
    Spent,
}

/// The gesture state machine.
#[derive(Debug, Clone)]
pub struct InputMachine {
    contacts: HashMap<i32, Contact>,
    mode: Mode,
    tool: Option<Tool>,
    wheel_rest: f64,
}

impl Default for InputMachine {
    fn default() -> Self {
        Self::new()
    }
}

fn distance(a: [f64; 2], b: [f64; 2]) -> f64 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

fn midpoint(a: [f64; 2], b: [f64; 2]) -> [f64; 2] {
    [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0]
}

/// The binding a key event triggers, if any.
pub fn binding_for_key(key: &str, modifiers: Modifiers) -> Option<&'static Binding> {
    if modifiers.ctrl || modifiers.alt || modifiers.meta {
        return None;
    }
    let letter = key.len() == 1 && key.as_bytes()[0].is_ascii_alphabetic();
    let wanted = if letter { key.to_ascii_lowercase() } else { key.to_string() };
    BINDINGS.iter().find(|b| match b.trigger {
        Trigger::Key { key: k, shift } => k == wanted && (!letter || shift == modifiers.shift),
        _ => false,
    })
}

/// The effect the table gives a trigger.
fn effect_of(trigger: Trigger) -> Option<Effect> {
    BINDINGS.iter().find(|b| b.trigger == trigger).map(|b| b.effect)
}

fn drag_effect(trigger: Trigger) -> Option<DragEffect> {
    match effect_of(trigger)? {
        Effect::Drag(d) => Some(d),
        _ => None,
    }
}

impl InputMachine {
    /// A machine with no tool and no pointer down.
    pub fn new() -> Self {
        InputMachine { contacts: HashMap::new(), mode: Mode::Idle, tool: None, wheel_rest: 0.0 }
    }

    /// The active measurement tool.
    pub fn tool(&self) -> Option<Tool> {
        self.tool
    }

    /// Takes or puts down a tool (the UI's toolbar, or Esc with nothing else to cancel).
    pub fn set_tool(&mut self, tool: Option<Tool>) {
        self.tool = tool;
    }

    /// Feeds one event; returns the actions it causes, in order. `hits` tells whether a
    /// measurement lies under a press.
    pub fn handle(&mut self, event: &InputEvent, hits: &dyn HitTester) -> Vec<Action> {
        match *event {
            InputEvent::PointerDown { id, kind, button, at, time_ms } => self.down(id, kind, button, at, time_ms, hits),
            InputEvent::PointerMove { id, kind, at, time_ms } => self.moved(id, kind, at, time_ms),
            InputEvent::PointerUp { id, at, .. } => self.up(id, at),
            InputEvent::PointerCancel { id } => self.cancel(id),
            InputEvent::Wheel { at, delta_y, unit, modifiers } => self.wheel(at, delta_y, unit, modifiers),
            InputEvent::Key { ref key, modifiers } => self.key(key, modifiers),
        }
    }

    fn down(
        &mut self,
        id: i32,
        kind: PointerKind,
        button: Button,
        at: [f64; 2],
        t: f64,
        hits: &dyn HitTester,
    ) -> Vec<Action> {
        let button = if kind == PointerKind::Mouse { button } else { Button::Primary };
        self.contacts.insert(id, Contact { kind, button, start: at, last: at, down_ms: t });
        match self.mode {
            Mode::Idle => {
                if button == Button::Primary && hits.hit(at, kind) {
                    self.mode = Mode::Edit { id };
                    return vec![Action::EditStart { at, kind }];
                }
                if let (Button::Primary, Some(tool)) = (button, self.tool) {
                    self.mode = Mode::Draw { id };
                    return vec![Action::DrawPress { tool, at }];
                }
                self.mode = Mode::Pending { id };
                Vec::new()
            }
            // a second finger turns a one-finger gesture (not a measurement edit) into a pinch
            Mode::Pending { id: first } | Mode::Drag { id: first, .. } if kind == PointerKind::Touch => {
                match self.contacts.get(&first) {
                    Some(c) if c.kind == PointerKind::Touch => {
                        let other = c.last;
                        self.mode =
                            Mode::Pinch { a: first, b: id, centre: midpoint(other, at), distance: distance(other, at) };
                    }
                    _ => {}
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn moved(&mut self, id: i32, kind: PointerKind, at: [f64; 2], t: f64) -> Vec<Action> {
        let Some(contact) = self.contacts.get_mut(&id) else {
            // hovering: a tool's shape drawn by clicks follows the pointer
            return match (self.mode, self.tool, kind) {
                (Mode::Idle, Some(_), PointerKind::Mouse | PointerKind::Pen) => vec![Action::DrawMove { at }],
                _ => Vec::new(),
            };
        };
        let c = *contact;
        contact.last = at;
        let delta = [at[0] - c.last[0], at[1] - c.last[1]];
        match self.mode {
            Mode::Pending { id: p } if p == id => {
                let slop = if c.kind == PointerKind::Touch { TOUCH_SLOP } else { MOUSE_SLOP };
                if distance(at, c.start) <= slop {
                    return Vec::new();
                }
                let trigger = if c.kind == PointerKind::Touch {
                    let held = t - c.down_ms >= HOLD_MS;
                    Trigger::Touch(if held { TouchGesture::HoldDrag } else { TouchGesture::Swipe })
                } else {
                    Trigger::MouseDrag(c.button)
                };
                let Some(effect) = drag_effect(trigger) else {
                    self.mode = Mode::Spent;
                    return Vec::new();
                };
                self.mode = Mode::Drag { id, effect, pivot: c.start, scroll_rest: 0.0 };
                // the motion within the slop counts too
                self.drag(effect, [at[0] - c.start[0], at[1] - c.start[1]])
            }
            Mode::Drag { id: d, effect, .. } if d == id => self.drag(effect, delta),
            Mode::Edit { id: e } if e == id => vec![Action::EditMove { at }],
            Mode::Draw { id: d } if d == id => vec![Action::DrawMove { at }],
            Mode::Pinch { a, b, centre, distance: d0 } if a == id || b == id => {
                let (Some(pa), Some(pb)) = (self.contacts.get(&a), self.contacts.get(&b)) else { return Vec::new() };
                let (c1, d1) = (midpoint(pa.last, pb.last), distance(pa.last, pb.last));
                self.mode = Mode::Pinch { a, b, centre: c1, distance: d1 };
                let mut out = Vec::new();
                if c1 != centre {
                    out.push(Action::Pan { dx: c1[0] - centre[0], dy: c1[1] - centre[1] });
                }
                if d0 > 0.0 && d1 > 0.0 && d1 != d0 {
                    out.push(Action::ZoomAbout { at: c1, factor: d1 / d0 });
                }
                out
            }
            _ => Vec::new(),
        }
    }

    fn drag(&mut self, effect: DragEffect, delta: [f64; 2]) -> Vec<Action> {
        match effect {
            DragEffect::Window => vec![Action::Window { dx: delta[0], dy: delta[1] }],
            DragEffect::Pan => vec![Action::Pan { dx: delta[0], dy: delta[1] }],
            DragEffect::Zoom => {
                let Mode::Drag { pivot, .. } = self.mode else { return Vec::new() };
                vec![Action::ZoomAbout { at: pivot, factor: (-delta[1] / ZOOM_DRAG_PX).exp() }]
            }
            DragEffect::Scroll => {
                let Mode::Drag { scroll_rest, .. } = &mut self.mode else { return Vec::new() };
                let total = *scroll_rest + delta[1];
                let slices = (total / SWIPE_PX_PER_SLICE).trunc();
                *scroll_rest = total - slices * SWIPE_PX_PER_SLICE;
                if slices == 0.0 {
                    Vec::new()
                } else {
                    vec![Action::Scroll(slices as i64)]
                }
            }
        }
    }

    /// Whether the current gesture is driven by pointer `id`.
    fn drives(&self, id: i32) -> bool {
        match self.mode {
            Mode::Pending { id: p } | Mode::Drag { id: p, .. } | Mode::Edit { id: p } | Mode::Draw { id: p } => p == id,
            Mode::Pinch { a, b, .. } => a == id || b == id,
            Mode::Idle | Mode::Spent => false,
        }
    }

    fn finish(&mut self, id: i32) {
        let ends_gesture = self.drives(id);
        self.contacts.remove(&id);
        if self.contacts.is_empty() {
            self.mode = Mode::Idle;
        } else if ends_gesture {
            // the other pointers of this gesture do nothing more
            self.mode = Mode::Spent;
        }
    }

    fn up(&mut self, id: i32, at: [f64; 2]) -> Vec<Action> {
        let Some(c) = self.contacts.get(&id).copied() else { return Vec::new() };
        let out = match self.mode {
            Mode::Pending { id: p } if p == id => {
                let trigger = match c.kind {
                    PointerKind::Touch => Trigger::Touch(TouchGesture::Tap),
                    _ => Trigger::MouseClick(c.button),
                };
                match effect_of(trigger) {
                    Some(Effect::Select) => vec![Action::Select { at, kind: c.kind }],
                    _ => Vec::new(),
                }
            }
            Mode::Edit { id: e } if e == id => vec![Action::EditEnd],
            Mode::Draw { id: d } if d == id => vec![Action::DrawRelease { at }],
            _ => Vec::new(),
        };
        self.finish(id);
        out
    }

    fn cancel(&mut self, id: i32) -> Vec<Action> {
        let out = match self.mode {
            Mode::Edit { id: e } if e == id => vec![Action::EditEnd],
            Mode::Draw { id: d } if d == id => vec![Action::Command(Command::Cancel)],
            _ => Vec::new(),
        };
        if self.contacts.contains_key(&id) {
            self.finish(id);
        }
        out
    }

    fn wheel(&mut self, at: [f64; 2], delta_y: f64, unit: WheelUnit, modifiers: Modifiers) -> Vec<Action> {
        if !delta_y.is_finite() || delta_y == 0.0 {
            return Vec::new();
        }
        let zoom_modifier = modifiers.ctrl || modifiers.meta;
        match effect_of(Trigger::Wheel { zoom_modifier }) {
            Some(Effect::Zoom) => {
                let px = match unit {
                    WheelUnit::Pixel => delta_y,
                    WheelUnit::Line | WheelUnit::Page => delta_y.signum() * 100.0,
                };
                vec![Action::ZoomAbout { at, factor: (-px / ZOOM_WHEEL_PX).exp() }]
            }
            Some(Effect::Scroll) => {
                if unit != WheelUnit::Pixel || delta_y.abs() >= WHEEL_PX_PER_SLICE {
                    self.wheel_rest = 0.0;
                    return vec![Action::Scroll(delta_y.signum() as i64)];
                }
                self.wheel_rest += delta_y;
                let slices = (self.wheel_rest / WHEEL_PX_PER_SLICE).trunc();
                self.wheel_rest -= slices * WHEEL_PX_PER_SLICE;
                if slices == 0.0 {
                    Vec::new()
                } else {
                    vec![Action::Scroll(slices as i64)]
                }
            }
            _ => Vec::new(),
        }
    }

    fn key(&mut self, key: &str, modifiers: Modifiers) -> Vec<Action> {
        let Some(binding) = binding_for_key(key, modifiers) else { return Vec::new() };
        match binding.effect {
            Effect::Command(Command::Tool(t)) => {
                self.tool = if self.tool == Some(t) { None } else { Some(t) };
                vec![Action::ToolChanged(self.tool)]
            }
            Effect::Command(c) => vec![Action::Command(c)],
            _ => Vec::new(),
        }
    }
}

/// A section of the help overlay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpSection {
    /// Its title.
    pub title: &'static str,
    /// Rows of (keys or gesture, what it does); bindings with the same text share a row.
    pub rows: Vec<(String, &'static str)>,
}

fn key_name(key: &str, shift: bool) -> String {
    let name = match key {
        "ArrowUp" => "↑".into(),
        "ArrowDown" => "↓".into(),
        "ArrowLeft" => "←".into(),
        "ArrowRight" => "→".into(),
        "PageUp" => "Page Up".into(),
        "PageDown" => "Page Down".into(),
        "Escape" => "Esc".into(),
        k if k.len() == 1 => k.to_ascii_uppercase(),
        k => k.to_string(),
    };
    if shift {
        format!("Shift+{name}")
    } else {
        name
    }
}

fn trigger_name(t: Trigger) -> String {
    let button = |b: Button| match b {
        Button::Primary => "Left",
        Button::Middle => "Middle",
        Button::Secondary => "Right",
    };
    match t {
        Trigger::Key { key, shift } => key_name(key, shift),
        Trigger::MouseDrag(b) => format!("{} drag", button(b)),
        Trigger::MouseClick(b) => format!("{} click", button(b)),
        Trigger::Wheel { zoom_modifier: false } => "Wheel".into(),
        Trigger::Wheel { zoom_modifier: true } => "Ctrl/⌘ + wheel".into(),
        Trigger::Touch(g) => match g {
            TouchGesture::Swipe => "One-finger swipe",
            TouchGesture::HoldDrag => "Hold, then drag",
            TouchGesture::Pinch => "Pinch",
            TouchGesture::TwoFingerDrag => "Two-finger drag",
            TouchGesture::Tap => "Tap",
        }
        .into(),
    }
}

/// The help overlay: every binding of [`BINDINGS`], by device, in table order.
pub fn help() -> Vec<HelpSection> {
    let mut sections = vec![
        HelpSection { title: "Mouse", rows: Vec::new() },
        HelpSection { title: "Keyboard", rows: Vec::new() },
        HelpSection { title: "Touch", rows: Vec::new() },
    ];
    for b in BINDINGS {
        let s = match b.trigger {
            Trigger::MouseDrag(_) | Trigger::MouseClick(_) | Trigger::Wheel { .. } => 0,
            Trigger::Key { .. } => 1,
            Trigger::Touch(_) => 2,
        };
        let name = trigger_name(b.trigger);
        let rows = &mut sections[s].rows;
        match rows.iter_mut().find(|(_, d)| *d == b.description) {
            Some((keys, _)) => {
                keys.push_str(" / ");
                keys.push_str(&name);
            }
            None => rows.push((name, b.description)),
        }
    }
    sections
}

#[cfg(test)]
mod tests {
    use super::*;

    fn down(id: i32, kind: PointerKind, button: Button, at: [f64; 2], t: f64) -> InputEvent {
        InputEvent::PointerDown { id, kind, button, at, time_ms: t }
    }
    fn mv(id: i32, kind: PointerKind, at: [f64; 2], t: f64) -> InputEvent {
        InputEvent::PointerMove { id, kind, at, time_ms: t }
    }
    fn up(id: i32, at: [f64; 2], t: f64) -> InputEvent {
        InputEvent::PointerUp { id, at, time_ms: t }
    }
    fn key(k: &str) -> InputEvent {
        InputEvent::Key { key: k.into(), modifiers: Modifiers::default() }
    }
    const M: PointerKind = PointerKind::Mouse;
    const T: PointerKind = PointerKind::Touch;

    #[test]
    fn mouse_drags_follow_the_table() {
        let mut m = InputMachine::new();
        assert!(m.handle(&down(1, M, Button::Primary, [10.0, 10.0], 0.0), &NoHits).is_empty());
        assert!(m.handle(&mv(1, M, [11.0, 11.0], 1.0), &NoHits).is_empty(), "within the slop");
        assert_eq!(m.handle(&mv(1, M, [20.0, 5.0], 2.0), &NoHits), [Action::Window { dx: 10.0, dy: -5.0 }]);
        assert_eq!(m.handle(&mv(1, M, [21.0, 5.0], 3.0), &NoHits), [Action::Window { dx: 1.0, dy: 0.0 }]);
        assert!(m.handle(&up(1, [21.0, 5.0], 4.0), &NoHits).is_empty());
        m.handle(&down(2, M, Button::Middle, [0.0, 0.0], 5.0), &NoHits);
        assert_eq!(m.handle(&mv(2, M, [5.0, 0.0], 6.0), &NoHits), [Action::Pan { dx: 5.0, dy: 0.0 }]);
        m.handle(&up(2, [5.0, 0.0], 7.0), &NoHits);
        m.handle(&down(3, M, Button::Secondary, [50.0, 50.0], 8.0), &NoHits);
        let a = m.handle(&mv(3, M, [50.0, 50.0 - ZOOM_DRAG_PX], 9.0), &NoHits);
        assert!(
            matches!(a[..], [Action::ZoomAbout { at: [50.0, 50.0], factor }] if (factor - std::f64::consts::E).abs() < 1e-12)
        );
        m.handle(&up(3, [0.0, 0.0], 10.0), &NoHits);
        // a click selects
        m.handle(&down(4, M, Button::Primary, [1.0, 1.0], 11.0), &NoHits);
        assert_eq!(m.handle(&up(4, [2.0, 1.0], 12.0), &NoHits), [Action::Select { at: [2.0, 1.0], kind: M }]);
        // a right click does nothing
        m.handle(&down(5, M, Button::Secondary, [1.0, 1.0], 13.0), &NoHits);
        assert!(m.handle(&up(5, [1.0, 1.0], 14.0), &NoHits).is_empty());
    }

    #[test]
    fn measurements_are_edited_before_anything_else_and_tools_draw() {
        let mut m = InputMachine::new();
        let on_handle = |at: [f64; 2], _: PointerKind| at == [5.0, 5.0];
        assert_eq!(
            m.handle(&down(1, M, Button::Primary, [5.0, 5.0], 0.0), &on_handle),
            [Action::EditStart { at: [5.0, 5.0], kind: M }]
        );
        assert_eq!(m.handle(&mv(1, M, [6.0, 5.0], 1.0), &on_handle), [Action::EditMove { at: [6.0, 5.0] }]);
        assert_eq!(m.handle(&up(1, [6.0, 5.0], 2.0), &on_handle), [Action::EditEnd]);
        let shift_l = InputEvent::Key { key: "L".into(), modifiers: Modifiers { shift: true, ..Default::default() } };
        assert_eq!(m.handle(&shift_l, &NoHits), [], "Shift+L is not bound");
        assert_eq!(
            m.handle(&InputEvent::Key { key: "L".into(), modifiers: Modifiers::default() }, &NoHits),
            [Action::ToolChanged(Some(Tool::Length))],
            "caps lock"
        );
        m.set_tool(None);
        assert_eq!(m.handle(&key("l"), &NoHits), [Action::ToolChanged(Some(Tool::Length))]);
        assert_eq!(
            m.handle(&down(2, M, Button::Primary, [1.0, 1.0], 3.0), &NoHits),
            [Action::DrawPress { tool: Tool::Length, at: [1.0, 1.0] }]
        );
        assert_eq!(m.handle(&mv(2, M, [9.0, 1.0], 4.0), &NoHits), [Action::DrawMove { at: [9.0, 1.0] }]);
        assert_eq!(m.handle(&up(2, [9.0, 1.0], 5.0), &NoHits), [Action::DrawRelease { at: [9.0, 1.0] }]);
        assert_eq!(m.handle(&mv(99, M, [3.0, 3.0], 6.0), &NoHits), [Action::DrawMove { at: [3.0, 3.0] }], "hover");
        assert_eq!(m.handle(&key("l"), &NoHits), [Action::ToolChanged(None)]);
        assert!(m.handle(&mv(99, M, [3.0, 3.0], 7.0), &NoHits).is_empty());
    }

    #[test]
    fn keys_and_browser_shortcuts() {
        let mut m = InputMachine::new();
        assert_eq!(m.handle(&key("PageDown"), &NoHits), [Action::Command(Command::PageNext)]);
        assert_eq!(m.handle(&key("4"), &NoHits), [Action::Command(Command::Preset(4))]);
        assert_eq!(m.handle(&key("?"), &NoHits), [Action::Command(Command::Help)]);
        assert_eq!(m.handle(&key("r"), &NoHits), [Action::Command(Command::Reset)]);
        let ctrl_r = InputEvent::Key { key: "r".into(), modifiers: Modifiers { ctrl: true, ..Default::default() } };
        assert!(m.handle(&ctrl_r, &NoHits).is_empty(), "reload stays the browser's");
        assert!(m.handle(&key("F5"), &NoHits).is_empty());
    }

    #[test]
    fn wheel_notches_and_trackpads() {
        let mut m = InputMachine::new();
        let wheel = |d: f64, unit: WheelUnit, ctrl: bool| InputEvent::Wheel {
            at: [10.0, 20.0],
            delta_y: d,
            unit,
            modifiers: Modifiers { ctrl, ..Default::default() },
        };
        assert_eq!(m.handle(&wheel(120.0, WheelUnit::Pixel, false), &NoHits), [Action::Scroll(1)]);
        assert_eq!(m.handle(&wheel(-3.0, WheelUnit::Line, false), &NoHits), [Action::Scroll(-1)]);
        assert!(m.handle(&wheel(20.0, WheelUnit::Pixel, false), &NoHits).is_empty());
        assert!(m.handle(&wheel(20.0, WheelUnit::Pixel, false), &NoHits).is_empty());
        assert_eq!(m.handle(&wheel(20.0, WheelUnit::Pixel, false), &NoHits), [Action::Scroll(1)]);
        let z = m.handle(&wheel(-ZOOM_WHEEL_PX, WheelUnit::Pixel, true), &NoHits);
        assert!(
            matches!(z[..], [Action::ZoomAbout { at: [10.0, 20.0], factor }] if (factor - std::f64::consts::E).abs() < 1e-12)
        );
    }

    #[test]
    fn touch_swipe_hold_tap_pinch() {
        let mut m = InputMachine::new();
        // swipe down 30 px at once: 2 slices (24 px), 6 px kept
        m.handle(&down(1, T, Button::Primary, [50.0, 50.0], 0.0), &NoHits);
        assert_eq!(m.handle(&mv(1, T, [50.0, 80.0], 50.0), &NoHits), [Action::Scroll(2)]);
        assert_eq!(m.handle(&mv(1, T, [50.0, 86.0], 60.0), &NoHits), [Action::Scroll(1)]);
        m.handle(&up(1, [50.0, 86.0], 70.0), &NoHits);
        // hold, then drag: window
        m.handle(&down(2, T, Button::Primary, [50.0, 50.0], 100.0), &NoHits);
        assert!(m.handle(&mv(2, T, [52.0, 50.0], 400.0), &NoHits).is_empty());
        assert_eq!(m.handle(&mv(2, T, [70.0, 50.0], 100.0 + HOLD_MS), &NoHits), [Action::Window { dx: 20.0, dy: 0.0 }]);
        m.handle(&up(2, [70.0, 50.0], 700.0), &NoHits);
        // tap
        m.handle(&down(3, T, Button::Primary, [5.0, 5.0], 800.0), &NoHits);
        assert_eq!(m.handle(&up(3, [8.0, 5.0], 850.0), &NoHits), [Action::Select { at: [8.0, 5.0], kind: T }]);
        // one finger of a pinch moves out: the centre goes 5 px left, the distance from 20 to 30
        m.handle(&down(4, T, Button::Primary, [90.0, 100.0], 900.0), &NoHits);
        m.handle(&down(5, T, Button::Primary, [110.0, 100.0], 901.0), &NoHits);
        assert_eq!(
            m.handle(&mv(4, T, [80.0, 100.0], 910.0), &NoHits),
            [Action::Pan { dx: -5.0, dy: 0.0 }, Action::ZoomAbout { at: [95.0, 100.0], factor: 1.5 }]
        );
        m.handle(&up(4, [80.0, 100.0], 920.0), &NoHits);
        assert!(m.handle(&mv(5, T, [150.0, 100.0], 930.0), &NoHits).is_empty(), "the finger left over does nothing");
        m.handle(&up(5, [150.0, 100.0], 940.0), &NoHits);
        m.handle(&down(6, T, Button::Primary, [5.0, 5.0], 1000.0), &NoHits);
        assert_eq!(m.handle(&up(6, [5.0, 5.0], 1010.0), &NoHits).len(), 1, "back to normal");
    }

    #[test]
    fn a_second_finger_does_not_end_a_measurement() {
        let mut m = InputMachine::new();
        m.set_tool(Some(Tool::Length));
        m.handle(&down(1, T, Button::Primary, [1.0, 1.0], 0.0), &NoHits);
        m.handle(&down(2, T, Button::Primary, [50.0, 50.0], 1.0), &NoHits);
        m.handle(&up(2, [50.0, 50.0], 2.0), &NoHits);
        assert_eq!(m.handle(&mv(1, T, [9.0, 1.0], 3.0), &NoHits), [Action::DrawMove { at: [9.0, 1.0] }]);
        assert_eq!(m.handle(&up(1, [9.0, 1.0], 4.0), &NoHits), [Action::DrawRelease { at: [9.0, 1.0] }]);
    }

    #[test]
    fn cancel_ends_edits_and_drafts() {
        let mut m = InputMachine::new();
        m.set_tool(Some(Tool::Angle));
        m.handle(&down(1, T, Button::Primary, [1.0, 1.0], 0.0), &NoHits);
        assert_eq!(m.handle(&InputEvent::PointerCancel { id: 1 }, &NoHits), [Action::Command(Command::Cancel)]);
        assert!(m.handle(&up(1, [1.0, 1.0], 1.0), &NoHits).is_empty());
    }

    #[test]
    fn help_lists_every_binding_once() {
        let h = help();
        let all: Vec<&(String, &str)> = h.iter().flat_map(|s| &s.rows).collect();
        for b in BINDINGS {
            let name = trigger_name(b.trigger);
            assert!(
                all.iter().any(|(k, d)| *d == b.description && k.split(" / ").any(|x| x == name)),
                "{name} missing"
            );
        }
        let kb = &h[1].rows;
        assert!(kb.iter().any(|(k, d)| k == "↑ / ←" && *d == "Previous slice"));
        assert!(kb.iter().any(|(k, _)| k == "1 / 2 / 3 / 4 / 5 / 6 / 7 / 8 / 9"));
        // no two bindings share a trigger (the dispatch takes the first)
        for (i, a) in BINDINGS.iter().enumerate() {
            assert!(BINDINGS[i + 1..].iter().all(|b| b.trigger != a.trigger), "{:?} bound twice", a.trigger);
        }
    }
}
