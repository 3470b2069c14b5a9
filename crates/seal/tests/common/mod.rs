#![allow(dead_code)]
//! Shared test helpers.

pub mod wycheproof_ecdh;

use obscura_seal::rand_core::{CryptoRng, Error, RngCore};
use sha2::{Digest, Sha256};

/// Deterministic test RNG (SHA-256 of seed || counter). Tests only: not a CSPRNG for real use.
pub struct TestRng {
    seed: Vec<u8>,
    counter: u64,
    buf: Vec<u8>,
}

impl TestRng {
    pub fn new(seed: &str) -> Self {
        TestRng { seed: seed.as_bytes().to_vec(), counter: 0, buf: Vec::new() }
    }
}

impl RngCore for TestRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for d in dest.iter_mut() {
            if self.buf.is_empty() {
                let h = Sha256::new().chain_update(&self.seed).chain_update(self.counter.to_be_bytes()).finalize();
                self.counter += 1;
                self.buf = h.to_vec();
            }
            *d = self.buf.remove(0);
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
impl CryptoRng for TestRng {}

pub fn block<F: core::future::Future>(f: F) -> F::Output {
    pollster::block_on(f)
}
