mod common;

use common::machine_tdr;

use xray_dicos::{DicosError, TdrType, ThreatCategory, read_tdr, write_tdr};

#[test]
fn machine_tdr_round_trips() {
    let spec = machine_tdr();
    let summary = read_tdr(&write_tdr(&spec).unwrap()).unwrap();
    assert_eq!(summary.sop_instance_uid, "2.25.2001");
    assert_eq!(summary.kind, Some(TdrType::Machine));
    assert!(summary.alarm);
    assert_eq!(summary.alarm_time.as_deref(), Some("20240229123456.789"));
    assert_eq!(summary.algorithm, ["Acme", "xray-screen", "0.1.0"]);
    assert_eq!(
        summary.referenced_dx_sop_instance_uid.as_deref(),
        Some("2.25.1001")
    );
    assert_eq!(summary.referenced_tdr_uid, None);
    assert_eq!(summary.number_of_total_objects, Some(2));
    assert_eq!(summary.number_of_alarm_objects, Some(1));
    assert_eq!(summary.processing_time_ms, Some(12.5));
    assert_eq!(summary.threats.len(), 2);
    let knife = &summary.threats[0];
    assert_eq!(knife.id, 1);
    assert_eq!(
        knife.polygon,
        [10.0, 20.5, 110.0, 20.5, 110.0, 64.0, 10.0, 64.0]
    );
    assert_eq!(knife.category, Some(ThreatCategory::ProhibitedItem));
    assert_eq!(knife.description.as_deref(), Some("knife"));
    assert_eq!(knife.probability, Some(0.875));
    assert!(knife.alarm);
    let smokes = &summary.threats[1];
    assert_eq!(smokes.category, Some(ThreatCategory::Contraband));
    assert!(!smokes.alarm);
}

#[test]
fn operator_tdr_names_operator_and_machine_tdr() {
    let mut spec = machine_tdr();
    spec.kind = TdrType::Operator;
    spec.alarm = false;
    spec.operator = Some("inspector-7".into());
    spec.referenced_tdr_uid = Some("2.25.2001".into());
    spec.sop_instance_uid = "2.25.3001".into();
    spec.threats.clear();
    let summary = read_tdr(&write_tdr(&spec).unwrap()).unwrap();
    assert_eq!(summary.kind, Some(TdrType::Operator));
    assert!(!summary.alarm);
    assert_eq!(summary.operator.as_deref(), Some("inspector-7"));
    assert_eq!(summary.referenced_tdr_uid.as_deref(), Some("2.25.2001"));
    // A CLEAR report with no objects still names its DX.
    assert_eq!(
        summary.referenced_dx_sop_instance_uid.as_deref(),
        Some("2.25.1001")
    );
    assert_eq!(summary.number_of_total_objects, Some(0));
    assert!(summary.threats.is_empty());
}

#[test]
fn category_terms_are_dicos_defined_terms() {
    assert_eq!(ThreatCategory::ProhibitedItem.term(), "PROHIBITED_ITEM");
    assert_eq!(ThreatCategory::Contraband.term(), "CONTRABAND");
    assert_eq!(
        ThreatCategory::from_term("EXPLOSIVE"),
        Some(ThreatCategory::Explosive)
    );
    assert_eq!(ThreatCategory::from_term("WEAPON"), None);
}

#[test]
fn read_tdr_refuses_a_dx() {
    let err = read_tdr(&common::dx(4, 4, 1)).unwrap_err();
    assert!(matches!(err, DicosError::NotTdr(_)), "{err}");
}

#[test]
fn write_tdr_refuses_bad_input() {
    let mut spec = machine_tdr();
    spec.dx_sop_instance_uid.clear();
    assert!(matches!(write_tdr(&spec), Err(DicosError::Invalid(_))));
    let mut spec = machine_tdr();
    spec.threats[0].id = 70_000;
    assert!(matches!(write_tdr(&spec), Err(DicosError::Invalid(_))));
}
