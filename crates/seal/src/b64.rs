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

/// The one implementation of a 16-byte identifier's text forms: `from_hex`, `Display` and serde as
/// 32 lowercase hex digits, `Debug` as `Name(hex)`.
macro_rules! hex_id_impls {
    ($name:ident) => {
        impl $name {
            /// Parses 32 hex digits.
            pub fn from_hex(s: &str) -> Result<Self, $crate::SealError> {
                $crate::b64::parse_hex(s).map($name).map_err($crate::SealError::Malformed)
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                $crate::b64::hex_array::serialize(&self.0, s)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::b64::hex_array::deserialize(d).map($name)
            }
        }
    };
}
pub(crate) use hex_id_impls;
