//! A DICOMweb client over a small HTTP trait: the browser hands down `fetch`, the gateway a
//! native client. Only GET is needed to read sealed studies.

use crate::carrier::{Carrier, CarrierKind};
use crate::layout::{Flavor, SealedSource, Store, WADO_ACCEPT};
use crate::{multipart, qido, DicomWebError};

/// A 2xx answer's body and media type.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// The one HTTP operation the reader side needs.
#[allow(async_fn_in_trait)]
pub trait HttpClient {
    /// GETs `url` (with `Accept: accept` when given) and returns a 2xx answer, or an error that
    /// names the URL and status.
    async fn get(&self, url: &str, accept: Option<&str>) -> Result<Answer, DicomWebError>;
}

/// One sealed study as the store lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedStudy {
    /// Pseudonymous Study Instance UID.
    pub study_uid: String,
    /// The carrier of the study's newest manifest (the highest Instance Number: each manifest
    /// version is its own instance, numbered by its version).
    pub manifest: Carrier,
}

/// Lists the sealed studies of a store: their UIDs and manifest carriers. Studies without a
/// manifest carrier (not ours, or half-uploaded) are skipped.
pub async fn list_studies(http: &impl HttpClient, store: &Store) -> Result<Vec<ListedStudy>, DicomWebError> {
    const JSON: Option<&str> = Some("application/dicom+json");
    let listed = qido::parse_study_series(&http.get(&store.studies_url(), JSON).await?.body)?;
    let mut out: Vec<ListedStudy> = Vec::new();
    for (study_uid, series_uid) in listed {
        let url = match &series_uid {
            Some(series) => store.series_instances_url(&study_uid, series),
            None => store.study_instances_url(&study_uid),
        };
        let instances = qido::parse_instances(&http.get(&url, JSON).await?.body)?;
        let Some(manifest) = newest_manifest(instances, &study_uid) else { continue };
        match out.iter_mut().find(|l| l.study_uid == study_uid) {
            Some(l) if l.manifest.instance_number < manifest.instance_number => l.manifest = manifest,
            Some(_) => {}
            None => out.push(ListedStudy { study_uid, manifest }),
        }
    }
    Ok(out)
}

/// The manifest carrier with the highest Instance Number among `instances` of `study_uid`.
pub fn newest_manifest(instances: Vec<Carrier>, study_uid: &str) -> Option<Carrier> {
    instances
        .into_iter()
        .filter(|c| c.kind == CarrierKind::Manifest && c.study_uid == study_uid)
        .max_by_key(|c| c.instance_number)
}

/// Fetches the exact sealed bytes of one instance whole (manifests; objects stream through the
/// viewer). From a DICOMweb server this is a WADO-RS retrieve, since only the carrier knows the
/// exact length of a value the raw endpoint pads to even length.
pub async fn fetch_sealed(
    http: &impl HttpClient,
    store: &Store,
    study: &str,
    series: &str,
    sop: &str,
) -> Result<Vec<u8>, DicomWebError> {
    match store.flavor() {
        Flavor::StaticTree => match store.sealed_source_parts(study, series, sop) {
            SealedSource::Raw(url) | SealedSource::WadoInstance { url, .. } => Ok(http.get(&url, None).await?.body),
        },
        Flavor::DicomWeb => {
            let answer = http.get(&store.wado_instance_url(study, series, sop), Some(WADO_ACCEPT)).await?;
            sealed_from_wado(&answer, sop)
        }
    }
}

/// The sealed bytes inside a WADO-RS instance retrieve answer for SOP Instance `sop`.
pub fn sealed_from_wado(answer: &Answer, sop: &str) -> Result<Vec<u8>, DicomWebError> {
    let ct = answer.content_type.as_deref().unwrap_or("");
    let parts = multipart::read_related(ct, &answer.body)?;
    let [part] = parts.as_slice() else {
        return Err(DicomWebError::BadMultipart(format!("expected one instance, got {} parts", parts.len())));
    };
    let (carrier, sealed) = Carrier::from_part10(part.body)?;
    if carrier.sop_instance_uid != sop {
        return Err(DicomWebError::NotACarrier(format!(
            "asked for instance {sop}, the store answered with {}",
            carrier.sop_instance_uid
        )));
    }
    Ok(sealed)
}
