//! What opening costs before anything is authenticated: a header may claim chunks of up to 16 MiB,
//! and nothing that large may be allocated for input that is not there.
//!
//! Found by the `object_header` fuzz target: `ObjectOpener::open_chunk` allocated (and zeroised on
//! drop) the claimed chunk's whole plaintext before checking the length of the bytes it was given.
//! This binary counts allocations, so it holds this one test only.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::block;
use obscura_seal::*;

/// The system allocator, remembering the largest single request.
struct Largest;
static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Largest {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Largest = Largest;

/// A header claiming 16 MiB chunks, and a fetched chunk slice far shorter (or longer) than that:
/// refused as truncated (extended) without allocating the claimed chunk.
#[test]
fn short_chunk_slice_under_a_header_claiming_16_mib_chunks() {
    let key = StudyKey::from_bytes([1; 32]);
    let id = ObjectId([2; 16]);
    let header = ObjectHeader { chunk_size: MAX_CHUNK_SIZE, object_id: id, plaintext_len: 1 << 30 }.to_bytes();
    let opener = block(ObjectOpener::new(&key, &id, &header)).unwrap();
    let slice = vec![0u8; 4096];
    let longer = vec![0u8; MAX_CHUNK_SIZE as usize + TAG_LEN + 1];

    LARGEST.store(0, Ordering::Relaxed);
    assert!(matches!(block(opener.open_chunk(0, &slice)), Err(SealError::Truncated)));
    assert!(matches!(block(opener.open_chunk(63, &[])), Err(SealError::Truncated)));
    assert!(matches!(block(opener.open_chunk(1, &longer)), Err(SealError::Extended)));
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(largest < 1 << 20, "refusing a {}-byte slice allocated {largest} bytes", slice.len());
}
