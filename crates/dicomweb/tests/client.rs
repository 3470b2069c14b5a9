//! The listing client over a fake store: of several manifest carriers of a study (a PACS keeps
//! every version), the one with the highest Instance Number is the current one.

use obscura_dicomweb::carrier::{Carrier, CarrierKind};
use obscura_dicomweb::client::{list_studies, Answer, HttpClient};
use obscura_dicomweb::layout::Store;
use obscura_dicomweb::{qido, DicomWebError};
use std::collections::HashMap;

struct Fake(HashMap<String, Vec<u8>>);

impl HttpClient for Fake {
    async fn get(&self, url: &str, _accept: Option<&str>) -> Result<Answer, DicomWebError> {
        self.0
            .get(url)
            .map(|body| Answer { content_type: None, body: body.clone() })
            .ok_or_else(|| DicomWebError::Http { url: url.into(), message: "not found".into(), status: Some(404) })
    }
}

fn carrier(sop: &str, kind: CarrierKind, series_number: i32, instance_number: i32) -> Carrier {
    Carrier {
        study_uid: "2.25.1".into(),
        series_uid: format!("2.25.{}", 10 + series_number),
        sop_instance_uid: sop.into(),
        kind,
        series_number,
        instance_number,
    }
}

#[test]
fn the_highest_manifest_version_is_listed() {
    let store = Store::static_tree("https://store.example");
    let instances = [
        carrier("2.25.100", CarrierKind::Object, 1, 1),
        carrier("2.25.201", CarrierKind::Manifest, 0, 1),
        carrier("2.25.203", CarrierKind::Manifest, 0, 3),
        carrier("2.25.202", CarrierKind::Manifest, 0, 2),
    ];
    let entries: Vec<_> = instances.iter().map(qido::instance_entry).collect();
    let fake = Fake(HashMap::from([
        (store.studies_url(), serde_json::to_vec(&vec![qido::study_entry("2.25.1")]).unwrap()),
        (store.study_instances_url("2.25.1"), serde_json::to_vec(&entries).unwrap()),
    ]));
    let listed = pollster::block_on(list_studies(&fake, &store)).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].manifest.sop_instance_uid, "2.25.203");
    assert_eq!(listed[0].manifest.instance_number, 3);
}
