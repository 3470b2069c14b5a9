//! The reader's key store in IndexedDB.
//!
//! What is stored, and all that is ever stored: the reader's protected key record (its private
//! keys wrapped under a key derived from a second factor, public keys, the factor's public
//! parameters: `protect.rs`, docs/KEYS.md), its certificate (public), the last manifest version
//! seen per pseudonymous study UID (public; it is what makes a rolled-back manifest visible), the
//! pinned organisation key (public, `trust.rs`), and while a replacement key waits for its
//! certificate its protected record and enrolment request (`device.rs`; FORMAT.md §10).
//! No CryptoKey, no study key, no PHI and no pixel is ever put here.

use js_sys::{Promise, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbRequest, IdbTransactionMode};

const DB_NAME: &str = "obscura";
const STORE: &str = "keys";

/// Turns an IDBRequest into a future of its result.
async fn request(req: &IdbRequest) -> Result<JsValue, String> {
    let req2 = req.clone();
    let promise = Promise::new(&mut |resolve, reject| {
        let ok_req = req2.clone();
        let on_ok = Closure::once_into_js(move || {
            let _ = resolve.call1(&JsValue::NULL, &ok_req.result().unwrap_or(JsValue::UNDEFINED));
        });
        let err_req = req2.clone();
        let on_err = Closure::once_into_js(move || {
            let msg = js_sys::Reflect::get(&err_req, &JsValue::from_str("error"))
                .ok()
                .and_then(|e| js_sys::Reflect::get(&e, &JsValue::from_str("message")).ok())
                .and_then(|m| m.as_string())
                .unwrap_or_else(|| "IndexedDB request failed".into());
            let _ = reject.call1(&JsValue::NULL, &JsValue::from_str(&msg));
        });
        req2.set_onsuccess(Some(on_ok.unchecked_ref()));
        req2.set_onerror(Some(on_err.unchecked_ref()));
    });
    JsFuture::from(promise).await.map_err(crate::webcrypto::js_error)
}

/// The open key store.
pub struct KeyStore {
    db: IdbDatabase,
}

impl KeyStore {
    /// Opens (creating on first use) the key store.
    pub async fn open() -> Result<KeyStore, String> {
        let factory = web_sys::window()
            .ok_or("no window")?
            .indexed_db()
            .map_err(|_| "IndexedDB is unavailable")?
            .ok_or("IndexedDB is unavailable (private mode?): the reader key cannot be kept")?;
        let open = factory.open_with_u32(DB_NAME, 1).map_err(|_| "cannot open IndexedDB")?;
        let on_upgrade = Closure::once_into_js({
            let open = open.clone();
            move || {
                if let Ok(db) = open.result() {
                    let db: IdbDatabase = db.unchecked_into();
                    let _ = db.create_object_store(STORE);
                }
            }
        });
        open.set_onupgradeneeded(Some(on_upgrade.unchecked_ref()));
        let db: IdbDatabase = request(&open).await?.unchecked_into();
        Ok(KeyStore { db })
    }

    /// Reads one record (`undefined` when absent).
    pub async fn get(&self, key: &str) -> Result<JsValue, String> {
        let tx = self.db.transaction_with_str(STORE).map_err(|_| "IndexedDB transaction failed")?;
        let store = tx.object_store(STORE).map_err(|_| "IndexedDB store missing")?;
        request(&store.get(&JsValue::from_str(key)).map_err(|_| "IndexedDB get failed")?).await
    }

    /// Deletes one record (nothing happens when it is absent).
    pub async fn delete(&self, key: &str) -> Result<(), String> {
        let tx = self
            .db
            .transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite)
            .map_err(|_| "IndexedDB transaction failed")?;
        let store = tx.object_store(STORE).map_err(|_| "IndexedDB store missing")?;
        request(&store.delete(&JsValue::from_str(key)).map_err(|_| "IndexedDB delete failed")?).await?;
        Ok(())
    }

    /// Writes one record. Only public data and wrapped (encrypted) keys may be passed here.
    pub async fn put(&self, key: &str, value: &JsValue) -> Result<(), String> {
        let tx = self
            .db
            .transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite)
            .map_err(|_| "IndexedDB transaction failed")?;
        let store = tx.object_store(STORE).map_err(|_| "IndexedDB store missing")?;
        request(&store.put_with_key(value, &JsValue::from_str(key)).map_err(|_| "IndexedDB put failed")?).await?;
        Ok(())
    }
}

/// Reads a property of a stored record.
pub fn field(record: &JsValue, name: &str) -> JsValue {
    if record.is_object() {
        Reflect::get(record, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}
