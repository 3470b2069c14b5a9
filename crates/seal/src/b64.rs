//! serde helpers: bytes as standard base64 (with padding), fixed arrays too.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

pub(crate) fn encode(b: &[u8]) -> String {
    STANDARD.encode(b)
}

pub(crate) fn decode(s: &str) -> Result<Vec<u8>, base64::DecodeError> {
    STANDARD.decode(s)
}

/// `Vec<u8>` as base64.
pub(crate) mod vec {
    use super::*;
    pub(crate) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&encode(v))
    }
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        decode(&s).map_err(D::Error::custom)
    }
}

/// `[u8; N]` as base64.
pub(crate) mod array {
    use super::*;
    pub(crate) fn serialize<S: Serializer, const N: usize>(v: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&encode(v))
    }
    pub(crate) fn deserialize<'de, D: Deserializer<'de>, const N: usize>(d: D) -> Result<[u8; N], D::Error> {
        let s = String::deserialize(d)?;
        let v = decode(&s).map_err(D::Error::custom)?;
        v.as_slice().try_into().map_err(|_| D::Error::custom(format!("expected {N} bytes, got {}", v.len())))
    }
}

/// `[u8; N]` as lowercase hex.
pub(crate) mod hex_array {
    use super::*;
    pub(crate) fn serialize<S: Serializer, const N: usize>(v: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }
    pub(crate) fn deserialize<'de, D: Deserializer<'de>, const N: usize>(d: D) -> Result<[u8; N], D::Error> {
        let s = String::deserialize(d)?;
        parse_hex(&s).map_err(D::Error::custom)
    }
}

/// Strict lowercase-or-uppercase hex of exactly N bytes.
pub(crate) fn parse_hex<const N: usize>(s: &str) -> Result<[u8; N], String> {
    let mut out = [0u8; N];
    hex::decode_to_slice(s, &mut out).map_err(|e| format!("expected {N} bytes of hex: {e}"))?;
    Ok(out)
}
