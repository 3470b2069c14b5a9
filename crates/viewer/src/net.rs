//! DICOMweb over `fetch`. Requests carry no credentials and are never cached by the browser as
//! cleartext: everything fetched is ciphertext or public indexes.

use js_sys::Uint8Array;
use obscura_dicomweb::{client::HttpClient, DicomWebError};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestInit, Response};

/// `fetch` as the dicomweb crate's HTTP client.
pub struct FetchClient;

impl FetchClient {
    /// GET or POST through fetch, returning the body of a 2xx answer.
    pub async fn request(&self, url: &str, method: &str, json_body: Option<&str>) -> Result<Vec<u8>, DicomWebError> {
        let err = |message: String, status: Option<u16>| DicomWebError::Http { url: url.to_string(), message, status };
        let init = RequestInit::new();
        init.set_method(method);
        if let Some(body) = json_body {
            init.set_body(&body.into());
            let headers = web_sys::Headers::new().map_err(|_| err("cannot build headers".into(), None))?;
            let _ = headers.set("Content-Type", "application/json");
            init.set_headers(&headers);
        }
        let window = web_sys::window().ok_or_else(|| err("no window".into(), None))?;
        let resp = JsFuture::from(window.fetch_with_str_and_init(url, &init))
            .await
            .map_err(|e| err(format!("network error: {}", crate::webcrypto::js_error(e)), None))?;
        let resp: Response = resp.unchecked_into();
        let status = resp.status();
        let buf = JsFuture::from(resp.array_buffer().map_err(|_| err("unreadable body".into(), Some(status)))?)
            .await
            .map_err(|e| err(format!("body interrupted: {}", crate::webcrypto::js_error(e)), Some(status)))?;
        let body = Uint8Array::new(&buf).to_vec();
        if !(200..300).contains(&status) {
            let detail = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
            return Err(err(format!("HTTP {status}: {detail}"), Some(status)));
        }
        Ok(body)
    }
}

impl HttpClient for FetchClient {
    async fn get(&self, url: &str) -> Result<Vec<u8>, DicomWebError> {
        self.request(url, "GET", None).await
    }
}
