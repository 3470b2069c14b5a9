//! Stack navigation: the current slice, scrolling with clamping, page / home / end, cine.
//!
//! Cine is computed from elapsed time: the UI passes its clock (`performance.now()`, ms) and asks
//! which frame to show, so dropped animation frames never slow the playback down.

/// What cine does at the ends of the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CineMode {
    /// After the last slice, the first.
    #[default]
    Loop,
    /// Back and forth.
    Bounce,
}

/// Default cine speed, frames per second.
pub const DEFAULT_FPS: f64 = 20.0;
/// Cine speed range, frames per second.
pub const FPS_RANGE: (f64, f64) = (1.0, 120.0);

#[derive(Debug, Clone, Copy, PartialEq)]
struct Playing {
    /// Clock time the anchor frame was shown, ms.
    since_ms: f64,
    /// The frame shown at `since_ms`.
    anchor: usize,
    /// +1 forward, −1 backward (bounce).
    direction: i8,
}

/// The slice position in a stack of `len` slices, and its cine.
#[derive(Debug, Clone, PartialEq)]
pub struct Stack {
    len: usize,
    index: usize,
    fps: f64,
    mode: CineMode,
    playing: Option<Playing>,
}

impl Stack {
    /// A stack of `len` slices at slice `index` (clamped).
    pub fn new(len: usize, index: usize) -> Self {
        Stack { len, index: index.min(len.saturating_sub(1)), fps: DEFAULT_FPS, mode: CineMode::Loop, playing: None }
    }

    /// Number of slices.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the stack has no slice.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The current slice, 0-based.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Goes to slice `index` (clamped); returns whether it changed. A playing cine continues
    /// from there.
    pub fn set_index(&mut self, index: usize, now_ms: f64) -> bool {
        let new = index.min(self.len.saturating_sub(1));
        let changed = new != self.index;
        self.index = new;
        if let Some(p) = &mut self.playing {
            p.anchor = new;
            p.since_ms = now_ms;
        }
        changed
    }

    /// Scrolls by `n` slices (negative: towards the first), clamped at the ends.
    pub fn scroll_by(&mut self, n: i64, now_ms: f64) -> bool {
        let target = (self.index as i64).saturating_add(n).max(0) as usize;
        self.set_index(target, now_ms)
    }

    /// Slices a page key moves: 10 % of the stack, at least 1.
    pub fn page_size(&self) -> usize {
        (self.len as f64 * 0.1).round().max(1.0) as usize
    }

    /// One page forward (`+1`) or back (`-1`).
    pub fn page(&mut self, direction: i64, now_ms: f64) -> bool {
        self.scroll_by(direction.signum() * self.page_size() as i64, now_ms)
    }

    /// The first slice.
    pub fn home(&mut self, now_ms: f64) -> bool {
        self.set_index(0, now_ms)
    }

    /// The last slice.
    pub fn end(&mut self, now_ms: f64) -> bool {
        self.set_index(usize::MAX, now_ms)
    }

    /// The slider text, `12 / 300` (1-based); `0 / 0` for an empty stack.
    pub fn position_text(&self) -> String {
        if self.len == 0 {
            "0 / 0".into()
        } else {
            format!("{} / {}", self.index + 1, self.len)
        }
    }

    /// The slider position, 0..=1.
    pub fn fraction(&self) -> f64 {
        if self.len <= 1 {
            0.0
        } else {
            self.index as f64 / (self.len - 1) as f64
        }
    }

    /// Goes to the slice at slider position `fraction` (0..=1, clamped).
    pub fn set_fraction(&mut self, fraction: f64, now_ms: f64) -> bool {
        let f = if fraction.is_finite() { fraction.clamp(0.0, 1.0) } else { 0.0 };
        self.set_index((f * self.len.saturating_sub(1) as f64).round() as usize, now_ms)
    }

    /// Cine speed, frames per second.
    pub fn fps(&self) -> f64 {
        self.fps
    }

    /// Sets the cine speed (clamped to [`FPS_RANGE`]); a playing cine keeps its current frame.
    pub fn set_fps(&mut self, fps: f64, now_ms: f64) {
        self.tick(now_ms);
        self.fps = if fps.is_finite() { fps.clamp(FPS_RANGE.0, FPS_RANGE.1) } else { DEFAULT_FPS };
        if let Some(p) = &mut self.playing {
            p.anchor = self.index;
            p.since_ms = now_ms;
        }
    }

    /// Cine mode.
    pub fn cine_mode(&self) -> CineMode {
        self.mode
    }

    /// Sets the cine mode.
    pub fn set_cine_mode(&mut self, mode: CineMode, now_ms: f64) {
        self.tick(now_ms);
        self.mode = mode;
        if let Some(p) = &mut self.playing {
            p.anchor = self.index;
            p.since_ms = now_ms;
            p.direction = 1;
        }
    }

    /// Whether cine is playing.
    pub fn is_playing(&self) -> bool {
        self.playing.is_some()
    }

    /// Starts cine from the current slice (a stack of fewer than 2 slices does not play).
    pub fn play(&mut self, now_ms: f64) {
        if self.len > 1 {
            self.playing = Some(Playing { since_ms: now_ms, anchor: self.index, direction: 1 });
        }
    }

    /// Stops cine on the frame of `now_ms`.
    pub fn stop(&mut self, now_ms: f64) {
        self.tick(now_ms);
        self.playing = None;
    }

    /// Plays or stops.
    pub fn toggle_cine(&mut self, now_ms: f64) {
        if self.is_playing() {
            self.stop(now_ms);
        } else {
            self.play(now_ms);
        }
    }

    /// The frame cine shows at `now_ms` (the current slice when not playing); updates the
    /// current slice. Returns whether it changed.
    pub fn tick(&mut self, now_ms: f64) -> bool {
        let Some(p) = self.playing else { return false };
        let steps = ((now_ms - p.since_ms).max(0.0) * self.fps / 1000.0).floor() as u64;
        let len = self.len as u64;
        let new = match self.mode {
            CineMode::Loop => ((p.anchor as u64 + steps) % len) as usize,
            CineMode::Bounce => {
                // positions along a back-and-forth path of period 2(len − 1)
                let period = 2 * (len - 1);
                let start = if p.direction > 0 { p.anchor as u64 } else { period - p.anchor as u64 };
                let t = (start + steps) % period;
                // remember the direction, so that re-anchoring (a scroll, a speed change) keeps it
                if let Some(p) = &mut self.playing {
                    p.direction = if t < len - 1 { 1 } else { -1 };
                }
                (if t < len { t } else { period - t }) as usize
            }
        };
        let changed = new != self.index;
        self.index = new;
        changed
    }

    /// When the next frame is due (ms on the caller's clock), for scheduling; `None` when not
    /// playing.
    pub fn next_frame_due(&self, now_ms: f64) -> Option<f64> {
        let p = self.playing?;
        let period = 1000.0 / self.fps;
        let elapsed = (now_ms - p.since_ms).max(0.0);
        Some(p.since_ms + ((elapsed / period).floor() + 1.0) * period)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scroll_clamps_and_pages() {
        let mut s = Stack::new(300, 0);
        assert!(!s.scroll_by(-1, 0.0));
        assert!(s.scroll_by(11, 0.0));
        assert_eq!(s.position_text(), "12 / 300");
        assert_eq!(s.page_size(), 30);
        s.page(1, 0.0);
        assert_eq!(s.index(), 41);
        s.end(0.0);
        assert_eq!(s.index(), 299);
        assert!(!s.scroll_by(5, 0.0));
        s.page(-1, 0.0);
        assert_eq!(s.index(), 269);
        s.home(0.0);
        assert_eq!(s.index(), 0);
        assert_eq!(Stack::new(3, 0).page_size(), 1);
        assert_eq!(Stack::new(0, 5).position_text(), "0 / 0");
        assert!(s.set_fraction(0.5, 0.0));
        assert_eq!(s.index(), 150);
    }

    #[test]
    fn cine_loop_follows_the_clock() {
        let mut s = Stack::new(5, 3);
        s.set_fps(10.0, 0.0);
        s.play(1000.0);
        assert!(!s.tick(1099.0));
        assert!(s.tick(1100.0));
        assert_eq!(s.index(), 4);
        s.tick(1200.0);
        assert_eq!(s.index(), 0, "loops");
        // a late frame skips ahead instead of slowing down
        s.tick(1750.0);
        assert_eq!(s.index(), (3 + 7) % 5);
        assert_eq!(s.next_frame_due(1750.0), Some(1800.0));
        s.stop(1750.0);
        assert!(!s.tick(5000.0));
        assert_eq!(s.next_frame_due(5000.0), None);
    }

    #[test]
    fn cine_bounce_turns_at_the_ends() {
        let mut s = Stack::new(4, 0);
        s.set_cine_mode(CineMode::Bounce, 0.0);
        s.set_fps(1.0, 0.0);
        s.play(0.0);
        let seen: Vec<usize> = (0..9)
            .map(|t| {
                s.tick(f64::from(t) * 1000.0);
                s.index()
            })
            .collect();
        assert_eq!(seen, [0, 1, 2, 3, 2, 1, 0, 1, 2]);
        // going back down when the reader scrolls: it keeps going down
        s.tick(10_000.0);
        assert_eq!(s.index(), 2);
        s.set_index(2, 10_000.0);
        s.tick(11_000.0);
        assert_eq!(s.index(), 1);
    }

    #[test]
    fn scrolling_while_playing_continues_from_there() {
        let mut s = Stack::new(100, 0);
        s.set_fps(10.0, 0.0);
        s.play(0.0);
        s.tick(500.0);
        assert_eq!(s.index(), 5);
        s.set_index(50, 500.0);
        s.tick(600.0);
        assert_eq!(s.index(), 51);
        let mut one = Stack::new(1, 0);
        one.play(0.0);
        assert!(!one.is_playing());
    }
}
