//! The cleartext cache: decoded slices under a byte budget, least recently used first out,
//! every buffer zeroised when it leaves (eviction, removal, replacement, refusal, clear, drop).
//!
//! The budget is the caller's setting ([`TABLET_BUDGET`], [`DESKTOP_BUDGET`] are the defaults we
//! suggest: a tab dies at about 1–1.5 GB, see `DESIGN.md`). The cache never holds more than its
//! budget: an item larger than the budget, or one that only fits by evicting pinned (displayed)
//! slices, is refused with a typed error.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::Hash;

use obscura_imaging::{DecodedImage, Frame, Lut};
use zeroize::Zeroize;

/// Suggested budget on a tablet: 384 MiB.
pub const TABLET_BUDGET: usize = 384 << 20;
/// Suggested budget on a desktop: 1 GiB.
pub const DESKTOP_BUDGET: usize = 1 << 30;

/// A value the cache can hold: it knows its size and wipes its cleartext.
pub trait CacheValue: Zeroize {
    /// Bytes it occupies (its buffers), what the budget counts.
    fn byte_size(&self) -> usize;
}

impl CacheValue for Vec<u8> {
    fn byte_size(&self) -> usize {
        self.capacity()
    }
}

impl CacheValue for Vec<u16> {
    fn byte_size(&self) -> usize {
        self.capacity() * 2
    }
}

/// A decoded image in the cache: its frames (and LUTs) are zeroised when it leaves.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedImage(pub DecodedImage);

fn zeroize_lut(l: &mut Lut) {
    l.data.zeroize();
}

impl Zeroize for CachedImage {
    fn zeroize(&mut self) {
        for f in &mut self.0.frames {
            match f {
                Frame::U8(v) => v.zeroize(),
                Frame::U16(v) => v.zeroize(),
                Frame::U32(v) => v.zeroize(),
            }
        }
        self.0.frames.clear();
        self.0.modality_lut.as_mut().map(zeroize_lut);
        self.0.voi_luts.iter_mut().for_each(zeroize_lut);
        if let Some(p) = &mut self.0.palette {
            for l in [&mut p.red, &mut p.green, &mut p.blue] {
                zeroize_lut(l);
            }
        }
    }
}

impl CacheValue for CachedImage {
    fn byte_size(&self) -> usize {
        let frames: usize = self
            .0
            .frames
            .iter()
            .map(|f| match f {
                Frame::U8(v) => v.capacity(),
                Frame::U16(v) => v.capacity() * 2,
                Frame::U32(v) => v.capacity() * 4,
            })
            .sum();
        let lut = |l: &Lut| l.data.capacity() * 2;
        let luts = self.0.modality_lut.as_ref().map_or(0, lut)
            + self.0.voi_luts.iter().map(lut).sum::<usize>()
            + self.0.palette.as_ref().map_or(0, |p| lut(&p.red) + lut(&p.green) + lut(&p.blue));
        frames + luts
    }
}

/// Why an item was not cached (it has been zeroised).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CacheError {
    /// The item alone is larger than the whole budget.
    #[error(
        "a {size}-byte slice does not fit in the {budget}-byte cleartext budget; raise the budget or show it uncached"
    )]
    LargerThanBudget {
        /// The item's size.
        size: usize,
        /// The budget.
        budget: usize,
    },
    /// Only pinned (displayed) items are left to evict.
    #[error(
        "a {size}-byte slice does not fit: {pinned} bytes of the {budget}-byte budget are pinned by displayed slices; unpin slices no longer shown"
    )]
    PinnedFull {
        /// The item's size.
        size: usize,
        /// Bytes pinned.
        pinned: usize,
        /// The budget.
        budget: usize,
    },
}

/// The cache's figures, for the memory benchmark and the status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheUsage {
    /// Bytes held.
    pub bytes: usize,
    /// Items held.
    pub items: usize,
    /// Bytes held by pinned items.
    pub pinned_bytes: usize,
    /// Items evicted to make room, since creation.
    pub evictions: u64,
    /// Items refused, since creation.
    pub refused: u64,
    /// Most bytes ever held.
    pub peak_bytes: usize,
    /// The budget.
    pub budget: usize,
}

struct Entry<V> {
    value: V,
    size: usize,
    /// Position in the recency order.
    stamp: u64,
}

/// An LRU cache of cleartext values under a byte budget.
pub struct SliceCache<K, V: CacheValue> {
    budget: usize,
    entries: HashMap<K, Entry<V>>,
    /// stamp → key, oldest first.
    order: BTreeMap<u64, K>,
    pinned: HashSet<K>,
    clock: u64,
    usage: CacheUsage,
}

impl<K, V: CacheValue> std::fmt::Debug for SliceCache<K, V> {
    // never print cleartext
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SliceCache").field("usage", &self.usage).finish_non_exhaustive()
    }
}

impl<K: Clone + Eq + Hash, V: CacheValue> SliceCache<K, V> {
    /// An empty cache that never holds more than `budget` bytes.
    pub fn new(budget: usize) -> Self {
        SliceCache {
            budget,
            entries: HashMap::new(),
            order: BTreeMap::new(),
            pinned: HashSet::new(),
            clock: 0,
            usage: CacheUsage { budget, ..Default::default() },
        }
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    fn refresh_usage(&mut self) {
        self.usage.items = self.entries.len();
        self.usage.pinned_bytes = self.pinned.iter().filter_map(|k| self.entries.get(k)).map(|e| e.size).sum();
        self.usage.peak_bytes = self.usage.peak_bytes.max(self.usage.bytes);
    }

    fn take(&mut self, key: &K) -> Option<V> {
        let e = self.entries.remove(key)?;
        self.order.remove(&e.stamp);
        self.usage.bytes -= e.size;
        Some(e.value)
    }

    /// Caches `value` under `key` (replacing and zeroising an older value of that key), evicting
    /// the least recently used unpinned items as needed.
    ///
    /// # Errors
    /// [`CacheError::LargerThanBudget`], [`CacheError::PinnedFull`]; `value` is zeroised and
    /// dropped, the cache is unchanged (except that an older value of `key` is gone).
    pub fn insert(&mut self, key: K, mut value: V) -> Result<(), CacheError> {
        let size = value.byte_size();
        if let Some(mut old) = self.take(&key) {
            old.zeroize();
        }
        if size > self.budget {
            value.zeroize();
            self.usage.refused += 1;
            self.refresh_usage();
            return Err(CacheError::LargerThanBudget { size, budget: self.budget });
        }
        let pinned: usize = self.pinned.iter().filter_map(|k| self.entries.get(k)).map(|e| e.size).sum();
        if pinned + size > self.budget {
            value.zeroize();
            self.usage.refused += 1;
            self.refresh_usage();
            return Err(CacheError::PinnedFull { size, pinned, budget: self.budget });
        }
        while self.usage.bytes + size > self.budget {
            let victim = self.order.values().find(|k| !self.pinned.contains(*k)).cloned();
            // unreachable without a victim: pinned + size ≤ budget
            let Some(victim) = victim else { break };
            if let Some(mut v) = self.take(&victim) {
                v.zeroize();
                self.usage.evictions += 1;
            }
        }
        let stamp = self.tick();
        self.order.insert(stamp, key.clone());
        self.entries.insert(key, Entry { value, size, stamp });
        self.usage.bytes += size;
        self.refresh_usage();
        Ok(())
    }

    /// The value of `key`, marked as just used.
    pub fn get(&mut self, key: &K) -> Option<&V> {
        let stamp = self.tick();
        let e = self.entries.get_mut(key)?;
        self.order.remove(&e.stamp);
        e.stamp = stamp;
        self.order.insert(stamp, key.clone());
        Some(&e.value)
    }

    /// The value of `key` without marking it used (for reading it, not for showing it).
    pub fn peek(&self, key: &K) -> Option<&V> {
        self.entries.get(key).map(|e| &e.value)
    }

    /// Whether `key` is cached (its recency unchanged).
    pub fn contains(&self, key: &K) -> bool {
        self.entries.contains_key(key)
    }

    /// Removes and zeroises `key`'s value; returns whether it was cached.
    pub fn remove(&mut self, key: &K) -> bool {
        let found = self.take(key).map(|mut v| v.zeroize()).is_some();
        self.pinned.remove(key);
        self.refresh_usage();
        found
    }

    /// Pins `key`: it is not evicted while pinned (pin the slices on screen). A key may be
    /// pinned before it is inserted.
    pub fn pin(&mut self, key: K) {
        self.pinned.insert(key);
        self.refresh_usage();
    }

    /// Unpins `key`.
    pub fn unpin(&mut self, key: &K) {
        self.pinned.remove(key);
        self.refresh_usage();
    }

    /// Pins exactly `keys` (the slices displayed now), unpinning the others.
    pub fn set_pinned(&mut self, keys: impl IntoIterator<Item = K>) {
        self.pinned = keys.into_iter().collect();
        self.refresh_usage();
    }

    /// Zeroises and forgets everything (study close, lock, logout).
    pub fn clear(&mut self) {
        for (_, mut e) in self.entries.drain() {
            e.value.zeroize();
        }
        self.order.clear();
        self.pinned.clear();
        self.usage.bytes = 0;
        self.refresh_usage();
    }

    /// Changes the budget, evicting least recently used unpinned items until the cache fits;
    /// pinned items stay even if they alone exceed the new budget (they are on screen), and
    /// nothing new fits until they are unpinned.
    pub fn set_budget(&mut self, budget: usize) {
        self.budget = budget;
        self.usage.budget = budget;
        while self.usage.bytes > self.budget {
            let Some(victim) = self.order.values().find(|k| !self.pinned.contains(*k)).cloned() else { break };
            if let Some(mut v) = self.take(&victim) {
                v.zeroize();
                self.usage.evictions += 1;
            }
        }
        self.refresh_usage();
    }

    /// The figures.
    pub fn usage(&self) -> CacheUsage {
        self.usage
    }
}

impl<K, V: CacheValue> Drop for SliceCache<K, V> {
    fn drop(&mut self) {
        for e in self.entries.values_mut() {
            e.value.zeroize();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    /// A value that records its wipes.
    struct Probe {
        size: usize,
        name: &'static str,
        wiped: Rc<RefCell<Vec<&'static str>>>,
    }

    impl Zeroize for Probe {
        fn zeroize(&mut self) {
            self.wiped.borrow_mut().push(self.name);
        }
    }

    impl CacheValue for Probe {
        fn byte_size(&self) -> usize {
            self.size
        }
    }

    fn probe(log: &Rc<RefCell<Vec<&'static str>>>, name: &'static str, size: usize) -> Probe {
        Probe { size, name, wiped: log.clone() }
    }

    #[test]
    fn evicts_least_recently_used_and_wipes_it() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut c = SliceCache::new(100);
        c.insert(1, probe(&log, "a", 40)).unwrap();
        c.insert(2, probe(&log, "b", 40)).unwrap();
        assert!(c.get(&1).is_some()); // 2 is now the oldest
        c.insert(3, probe(&log, "c", 40)).unwrap();
        assert_eq!(*log.borrow(), ["b"]);
        assert!(c.contains(&1) && !c.contains(&2) && c.contains(&3));
        let u = c.usage();
        assert_eq!((u.bytes, u.items, u.evictions, u.peak_bytes), (80, 2, 1, 80));
    }

    #[test]
    fn refuses_what_cannot_fit_and_respects_pins() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut c = SliceCache::new(100);
        assert_eq!(c.insert(9, probe(&log, "huge", 101)), Err(CacheError::LargerThanBudget { size: 101, budget: 100 }));
        c.insert(1, probe(&log, "a", 60)).unwrap();
        c.pin(1);
        assert_eq!(
            c.insert(2, probe(&log, "b", 50)),
            Err(CacheError::PinnedFull { size: 50, pinned: 60, budget: 100 })
        );
        assert_eq!(*log.borrow(), ["huge", "b"]);
        c.insert(3, probe(&log, "c", 40)).unwrap();
        c.set_pinned([3]);
        c.insert(4, probe(&log, "d", 50)).unwrap();
        assert!(c.contains(&3) && c.contains(&4) && !c.contains(&1), "the unpinned one went");
        let u = c.usage();
        assert_eq!((u.bytes, u.pinned_bytes, u.refused), (90, 40, 2));
        assert!(u.bytes <= u.budget);
    }

    #[test]
    fn replace_remove_clear_budget_and_drop_wipe() {
        let log = Rc::new(RefCell::new(Vec::new()));
        {
            let mut c = SliceCache::new(100);
            c.insert(1, probe(&log, "a1", 10)).unwrap();
            c.insert(1, probe(&log, "a2", 20)).unwrap();
            assert_eq!(c.usage().bytes, 20);
            c.insert(2, probe(&log, "b", 30)).unwrap();
            c.insert(3, probe(&log, "c", 30)).unwrap();
            assert!(c.remove(&2) && !c.remove(&2));
            c.set_budget(25);
            assert_eq!(c.usage().bytes, 0, "each of the two is over 25 alone, after the older went");
            c.insert(4, probe(&log, "d", 25)).unwrap();
            c.pin(4);
            c.insert(5, probe(&log, "e", 5)).unwrap_err();
            c.clear();
            assert_eq!(c.usage().items, 0);
            c.insert(6, probe(&log, "f", 1)).unwrap();
        }
        assert_eq!(*log.borrow(), ["a1", "b", "a2", "c", "e", "d", "f"]);
    }

    #[test]
    fn cached_images_count_and_wipe_their_frames() {
        let img = crate::window::tests::ct_image(4, 2, &[1, 2, 3, 4, 5, 6, 7, 8]);
        let mut cached = CachedImage(img);
        assert_eq!(cached.byte_size(), 16);
        cached.zeroize();
        assert!(cached.0.frames.is_empty());
        let mut c: SliceCache<(String, u32), Vec<u16>> = SliceCache::new(DESKTOP_BUDGET);
        c.insert(("1.2".into(), 0), vec![7u16; 8]).unwrap();
        assert_eq!(c.usage().bytes, 16);
    }
}
