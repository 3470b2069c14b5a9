//! A DICOMweb client over a small HTTP trait: the browser hands down `fetch`, the gateway a
//! native client. Only GET is needed to read sealed studies.

use crate::carrier::{Carrier, CarrierKind};
use crate::layout::Store;
use crate::{qido, DicomWebError};

/// The one HTTP operation the reader side needs.
#[allow(async_fn_in_trait)]
pub trait HttpClient {
    /// GETs `url` and returns the body of a 2xx answer, or an error that names the URL and status.
    async fn get(&self, url: &str) -> Result<Vec<u8>, DicomWebError>;
}

/// One sealed study as the store lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedStudy {
    /// Pseudonymous Study Instance UID.
    pub study_uid: String,
    /// The carrier of the study's manifest.
    pub manifest: Carrier,
}

/// Lists the sealed studies of a store: their UIDs and manifest carriers. Studies without a
/// manifest carrier (not ours, or half-uploaded) are skipped. Of several manifest carriers (a PACS
/// keeps every version, each under its own SOP Instance UID) the one with the highest Instance
/// Number is the current one; the version inside it is checked against rollback when it is opened.
pub async fn list_studies(http: &impl HttpClient, store: &Store) -> Result<Vec<ListedStudy>, DicomWebError> {
    let studies = qido::parse_study_uids(&http.get(&store.studies_url()).await?)?;
    let mut out = Vec::new();
    for study_uid in studies {
        let instances = qido::parse_instances(&http.get(&store.study_instances_url(&study_uid)).await?)?;
        if let Some(manifest) = instances
            .into_iter()
            .filter(|c| c.kind == CarrierKind::Manifest && c.study_uid == study_uid)
            .max_by_key(|c| c.instance_number)
        {
            out.push(ListedStudy { study_uid, manifest });
        }
    }
    Ok(out)
}

/// Fetches the sealed bytes of one instance.
pub async fn fetch_sealed(
    http: &impl HttpClient,
    store: &Store,
    study: &str,
    series: &str,
    sop: &str,
) -> Result<Vec<u8>, DicomWebError> {
    http.get(&store.sealed_url_parts(study, series, sop)).await
}
