//! DICOS TDR (threat detection report): what the ATR, an operator or the ground truth says
//! about one DX image.
//!
//! Layout written (NEMA IIC 1 TDR IOD, the parts a reader of 2D results needs):
//! - top level: TDR Type, Alarm Decision and its time, algorithm, object counts, total
//!   processing time, and the DX it is about in Referenced Series Sequence (0008,1115) >
//!   Referenced Instance Sequence (0008,114A) (the common instance reference);
//! - an OPERATOR TDR names the MACHINE TDR it reviews in Referenced TDR Instance Sequence
//!   (4010,1077), which is for TDRs, not images;
//! - Threat Sequence (4010,1011): per potential threat object its ID, an ATD Assessment
//!   Sequence (4010,1038) item (category, description, flag, probability) and a PTO
//!   Representation Sequence (4010,1037) item naming the DX again with the Bounding Polygon
//!   (4010,101D) in its pixels.

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_object::InMemDicomObject;

use crate::dt::unix_ms_to_dt;
use crate::dx::encode;
use crate::error::DicosError;
use crate::object::{float, floats, open, required_text, text, texts, uint};
use crate::tags::*;

/// Who made the report (TDR Type (4010,1027)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TdrType {
    Machine,
    Operator,
    GroundTruth,
}

impl TdrType {
    fn term(self) -> &'static str {
        match self {
            TdrType::Machine => "MACHINE",
            TdrType::Operator => "OPERATOR",
            TdrType::GroundTruth => "GROUND_TRUTH",
        }
    }

    fn from_term(term: &str) -> Option<Self> {
        [Self::Machine, Self::Operator, Self::GroundTruth]
            .into_iter()
            .find(|t| t.term() == term)
    }
}

/// DICOS Threat Category (4010,1012) defined terms.
///
/// The one mapping from what we detect to DICOS: weapons are prohibited items (not to be
/// carried at all), drugs and undeclared goods are contraband (goods that may not cross
/// the border undeclared); callers pick the variant, this type spells the term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreatCategory {
    /// Weapons: firearms, knives, ammunition.
    ProhibitedItem,
    /// Drugs, undeclared goods, smuggled cash or cigarettes.
    Contraband,
    Explosive,
    Pharmaceutical,
    Anomaly,
    Laptop,
    Other,
}

impl ThreatCategory {
    /// The DICOS category of each of the project's categories, in one table: weapons are
    /// prohibited items; drugs and undeclared goods are contraband; anything else is OTHER.
    /// The class name goes in the threat's description.
    pub fn of(category: xray_types::Category) -> Self {
        use xray_types::Category;
        match category {
            Category::Weapon => Self::ProhibitedItem,
            Category::Drugs | Category::UndeclaredGoods => Self::Contraband,
            Category::Other => Self::Other,
        }
    }

    const ALL: [ThreatCategory; 7] = [
        Self::ProhibitedItem,
        Self::Contraband,
        Self::Explosive,
        Self::Pharmaceutical,
        Self::Anomaly,
        Self::Laptop,
        Self::Other,
    ];

    /// The defined term written in the TDR.
    pub fn term(self) -> &'static str {
        match self {
            Self::ProhibitedItem => "PROHIBITED_ITEM",
            Self::Contraband => "CONTRABAND",
            Self::Explosive => "EXPLOSIVE",
            Self::Pharmaceutical => "PHARMACEUTICAL",
            Self::Anomaly => "ANOMALY",
            Self::Laptop => "LAPTOP",
            Self::Other => "OTHER",
        }
    }

    pub fn from_term(term: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.term() == term)
    }
}

/// One potential threat object.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreatSpec {
    pub id: u32,
    /// x1, y1, x2, y2 in the DX image's pixels.
    pub box_xyxy: [f32; 4],
    pub category: ThreatCategory,
    /// The detector's class name.
    pub description: String,
    pub probability: f32,
    /// Whether this object alarms (ATD Assessment Flag THREAT) or not (NO_THREAT).
    pub alarm: bool,
}

/// What [`write_tdr`] writes.
#[derive(Debug, Clone, PartialEq)]
pub struct TdrSpec {
    pub kind: TdrType,
    pub alarm: bool,
    /// When the alarm decision was made, Unix milliseconds (UTC).
    pub alarm_time_unix_ms: i64,
    /// Manufacturer, model, version.
    pub algorithm: [String; 3],
    /// For an OPERATOR TDR, the operator's identity (written as Operators' Name (0008,1070)).
    pub operator: Option<String>,
    /// For an OPERATOR TDR, the SOP Instance UID of the MACHINE TDR it reviews.
    pub referenced_tdr_uid: Option<String>,
    pub processing_time_ms: f64,
    pub dx_sop_class_uid: String,
    pub dx_sop_instance_uid: String,
    /// The DX's series, for the common instance reference.
    pub dx_series_instance_uid: String,
    pub study_instance_uid: String,
    /// The TDR's own series.
    pub series_instance_uid: String,
    /// The TDR's own SOP Instance UID.
    pub sop_instance_uid: String,
    pub threats: Vec<ThreatSpec>,
}

/// A potential threat object as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreatSummary {
    pub id: u32,
    /// The Bounding Polygon's x, y pairs.
    pub polygon: Vec<f32>,
    pub category: Option<ThreatCategory>,
    pub description: Option<String>,
    pub probability: Option<f32>,
    pub alarm: bool,
}

/// A TDR as read back: enough to check what was written.
#[derive(Debug, Clone, PartialEq)]
pub struct TdrSummary {
    pub sop_instance_uid: String,
    pub kind: Option<TdrType>,
    pub alarm: bool,
    pub alarm_time: Option<String>,
    pub algorithm: Vec<String>,
    pub operator: Option<String>,
    pub referenced_dx_sop_instance_uid: Option<String>,
    pub referenced_tdr_uid: Option<String>,
    pub number_of_total_objects: Option<u32>,
    pub number_of_alarm_objects: Option<u32>,
    pub processing_time_ms: Option<f64>,
    pub threats: Vec<ThreatSummary>,
}

fn put_str(obj: &mut InMemDicomObject, tag: Tag, vr: VR, value: &str) {
    obj.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
}

fn put_seq(obj: &mut InMemDicomObject, tag: Tag, items: Vec<InMemDicomObject>) {
    obj.put(DataElement::new(tag, VR::SQ, DataSetSequence::from(items)));
}

fn sop_reference(class: &str, instance: &str) -> InMemDicomObject {
    let mut item = InMemDicomObject::new_empty();
    put_str(&mut item, REFERENCED_SOP_CLASS_UID, VR::UI, class);
    put_str(&mut item, REFERENCED_SOP_INSTANCE_UID, VR::UI, instance);
    item
}

/// Writes a DICOS TDR Part 10 object (explicit VR little endian).
pub fn write_tdr(report: &TdrSpec) -> Result<Vec<u8>, DicosError> {
    for (name, uid) in [
        ("TDR's SOP Instance UID", &report.sop_instance_uid),
        ("Study Instance UID", &report.study_instance_uid),
        ("TDR's Series Instance UID", &report.series_instance_uid),
        ("DX's SOP Class UID", &report.dx_sop_class_uid),
        ("DX's SOP Instance UID", &report.dx_sop_instance_uid),
        ("DX's Series Instance UID", &report.dx_series_instance_uid),
    ] {
        if uid.is_empty() {
            return Err(DicosError::Invalid(format!("the {name} is empty")));
        }
    }
    let count = |n: usize| {
        u16::try_from(n).map_err(|_| {
            DicosError::Invalid(format!("{n} threat objects are more than a TDR can count"))
        })
    };
    let total = count(report.threats.len())?;
    let alarms = count(report.threats.iter().filter(|t| t.alarm).count())?;

    let mut obj = InMemDicomObject::new_empty();
    put_str(
        &mut obj,
        SOP_CLASS_UID,
        VR::UI,
        DICOS_THREAT_DETECTION_REPORT_STORAGE,
    );
    put_str(&mut obj, SOP_INSTANCE_UID, VR::UI, &report.sop_instance_uid);
    put_str(
        &mut obj,
        STUDY_INSTANCE_UID,
        VR::UI,
        &report.study_instance_uid,
    );
    put_str(
        &mut obj,
        SERIES_INSTANCE_UID,
        VR::UI,
        &report.series_instance_uid,
    );
    put_str(&mut obj, MODALITY, VR::CS, "TDR");
    put_str(&mut obj, TDR_TYPE, VR::CS, report.kind.term());
    let decision = if report.alarm { "ALARM" } else { "CLEAR" };
    put_str(&mut obj, ALARM_DECISION, VR::CS, decision);
    let time = unix_ms_to_dt(report.alarm_time_unix_ms);
    put_str(&mut obj, ALARM_DECISION_TIME, VR::DT, &time);
    obj.put(DataElement::new(
        THREAT_DETECTION_ALGORITHM_AND_VERSION,
        VR::LO,
        PrimitiveValue::Strs(report.algorithm.iter().cloned().collect()),
    ));
    obj.put(DataElement::new(
        NUMBER_OF_TOTAL_OBJECTS,
        VR::US,
        PrimitiveValue::from(total),
    ));
    obj.put(DataElement::new(
        NUMBER_OF_ALARM_OBJECTS,
        VR::US,
        PrimitiveValue::from(alarms),
    ));
    obj.put(DataElement::new(
        TOTAL_PROCESSING_TIME,
        VR::FL,
        PrimitiveValue::from(report.processing_time_ms as f32),
    ));
    if let Some(operator) = &report.operator {
        put_str(&mut obj, OPERATORS_NAME, VR::PN, operator);
    }
    if let Some(machine) = &report.referenced_tdr_uid {
        let item = sop_reference(DICOS_THREAT_DETECTION_REPORT_STORAGE, machine);
        put_seq(&mut obj, REFERENCED_TDR_INSTANCE_SEQUENCE, vec![item]);
    }

    let dx_reference = || sop_reference(&report.dx_sop_class_uid, &report.dx_sop_instance_uid);
    let mut series = InMemDicomObject::new_empty();
    put_str(
        &mut series,
        SERIES_INSTANCE_UID,
        VR::UI,
        &report.dx_series_instance_uid,
    );
    put_seq(
        &mut series,
        REFERENCED_INSTANCE_SEQUENCE,
        vec![dx_reference()],
    );
    put_seq(&mut obj, REFERENCED_SERIES_SEQUENCE, vec![series]);

    let mut threats = Vec::with_capacity(report.threats.len());
    for threat in &report.threats {
        let id = u16::try_from(threat.id).map_err(|_| {
            DicosError::Invalid(format!(
                "threat ID {} does not fit DICOS's 16 bits",
                threat.id
            ))
        })?;
        let mut assessment = InMemDicomObject::new_empty();
        put_str(
            &mut assessment,
            THREAT_CATEGORY,
            VR::CS,
            threat.category.term(),
        );
        put_str(
            &mut assessment,
            THREAT_CATEGORY_DESCRIPTION,
            VR::LT,
            &threat.description,
        );
        let flag = if threat.alarm { "THREAT" } else { "NO_THREAT" };
        put_str(&mut assessment, ATD_ASSESSMENT_FLAG, VR::CS, flag);
        assessment.put(DataElement::new(
            ATD_ASSESSMENT_PROBABILITY,
            VR::FL,
            PrimitiveValue::from(threat.probability),
        ));

        let [x1, y1, x2, y2] = threat.box_xyxy;
        let mut representation = InMemDicomObject::new_empty();
        put_seq(
            &mut representation,
            REFERENCED_INSTANCE_SEQUENCE,
            vec![dx_reference()],
        );
        representation.put(DataElement::new(
            BOUNDING_POLYGON,
            VR::FL,
            PrimitiveValue::F32(vec![x1, y1, x2, y1, x2, y2, x1, y2].into()),
        ));

        let mut item = InMemDicomObject::new_empty();
        item.put(DataElement::new(
            POTENTIAL_THREAT_OBJECT_ID,
            VR::US,
            PrimitiveValue::from(id),
        ));
        put_seq(&mut item, ATD_ASSESSMENT_SEQUENCE, vec![assessment]);
        put_seq(&mut item, PTO_REPRESENTATION_SEQUENCE, vec![representation]);
        threats.push(item);
    }
    put_seq(&mut obj, THREAT_SEQUENCE, threats);
    encode(obj)
}

fn items(obj: &InMemDicomObject, tag: Tag) -> &[InMemDicomObject] {
    obj.get(tag).and_then(|e| e.items()).unwrap_or(&[])
}

/// Reads back what [`write_tdr`] writes.
pub fn read_tdr(bytes: &[u8]) -> Result<TdrSummary, DicosError> {
    let obj = open(bytes, false)?;
    let class = required_text(&obj, SOP_CLASS_UID, "SOP Class UID (0008,0016)")?;
    if class != DICOS_THREAT_DETECTION_REPORT_STORAGE {
        return Err(DicosError::NotTdr(class));
    }
    let referenced_dx_sop_instance_uid = items(&obj, REFERENCED_SERIES_SEQUENCE)
        .iter()
        .flat_map(|s| items(s, REFERENCED_INSTANCE_SEQUENCE))
        .find_map(|i| text(i, REFERENCED_SOP_INSTANCE_UID));
    let referenced_tdr_uid = items(&obj, REFERENCED_TDR_INSTANCE_SEQUENCE)
        .first()
        .and_then(|i| text(i, REFERENCED_SOP_INSTANCE_UID));
    let mut threats = Vec::new();
    for item in items(&obj, THREAT_SEQUENCE) {
        let id = uint(
            item,
            POTENTIAL_THREAT_OBJECT_ID,
            "Potential Threat Object ID",
        )?
        .ok_or(DicosError::Missing(
            "Potential Threat Object ID (4010,1010)",
        ))?;
        let assessment = items(item, ATD_ASSESSMENT_SEQUENCE).first();
        let polygon = match items(item, PTO_REPRESENTATION_SEQUENCE).first() {
            Some(r) => floats(r, BOUNDING_POLYGON, "Bounding Polygon")?.unwrap_or_default(),
            None => Vec::new(),
        };
        let probability = match assessment {
            Some(a) => float(a, ATD_ASSESSMENT_PROBABILITY, "ATD Assessment Probability")?,
            None => None,
        };
        threats.push(ThreatSummary {
            id,
            polygon: polygon.into_iter().map(|v| v as f32).collect(),
            category: assessment
                .and_then(|a| text(a, THREAT_CATEGORY))
                .and_then(|t| ThreatCategory::from_term(&t)),
            description: assessment.and_then(|a| text(a, THREAT_CATEGORY_DESCRIPTION)),
            probability: probability.map(|p| p as f32),
            alarm: assessment
                .and_then(|a| text(a, ATD_ASSESSMENT_FLAG))
                .as_deref()
                == Some("THREAT"),
        });
    }
    Ok(TdrSummary {
        sop_instance_uid: required_text(&obj, SOP_INSTANCE_UID, "SOP Instance UID")?,
        kind: text(&obj, TDR_TYPE).and_then(|t| TdrType::from_term(&t)),
        alarm: text(&obj, ALARM_DECISION).as_deref() == Some("ALARM"),
        alarm_time: text(&obj, ALARM_DECISION_TIME),
        algorithm: texts(&obj, THREAT_DETECTION_ALGORITHM_AND_VERSION),
        operator: text(&obj, OPERATORS_NAME),
        referenced_dx_sop_instance_uid,
        referenced_tdr_uid,
        number_of_total_objects: uint(&obj, NUMBER_OF_TOTAL_OBJECTS, "Number of Total Objects")?,
        number_of_alarm_objects: uint(&obj, NUMBER_OF_ALARM_OBJECTS, "Number of Alarm Objects")?,
        processing_time_ms: float(&obj, TOTAL_PROCESSING_TIME, "Total Processing Time")?,
        threats,
    })
}
