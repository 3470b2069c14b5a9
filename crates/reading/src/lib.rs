//! The reading room's rules, in pure Rust: everything the viewer's UI decides, tested natively.
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
