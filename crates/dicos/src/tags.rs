//! Every attribute tag and UID this crate reads or writes, named once.
//!
//! The DICOS (4010,xxxx) tags and the SOP class UIDs are re-exported from
//! dicom-dictionary-std 0.10.1, whose tables follow the DICOM registry (PS3.6), where NEMA
//! registers the DICOS attributes ("DICOM/DICOS" in its comments). Naming them here keeps
//! one place to check them against NEMA IIC 1.

pub use dicom_dictionary_std::tags::{
    ACCESSION_NUMBER, BITS_ALLOCATED, BITS_STORED, COLUMNS, HIGH_BIT, MODALITY, NUMBER_OF_FRAMES,
    OPERATORS_NAME, PHOTOMETRIC_INTERPRETATION, PIXEL_DATA, PIXEL_REPRESENTATION, PIXEL_SPACING,
    REFERENCED_INSTANCE_SEQUENCE, REFERENCED_SERIES_SEQUENCE, REFERENCED_SOP_CLASS_UID,
    REFERENCED_SOP_INSTANCE_UID, RESCALE_INTERCEPT, RESCALE_SLOPE, ROWS, SAMPLES_PER_PIXEL,
    SERIES_INSTANCE_UID, SOP_CLASS_UID, SOP_INSTANCE_UID, STUDY_INSTANCE_UID, WINDOW_CENTER,
    WINDOW_WIDTH,
};

// DICOS attributes (group 4010).
pub use dicom_dictionary_std::tags::{
    // (4010,1031) CS: ALARM or CLEAR.
    ALARM_DECISION,
    // (4010,102B) DT.
    ALARM_DECISION_TIME,
    // (4010,1015) CS: HIGH_THREAT, THREAT, NO_THREAT or UNKNOWN.
    ATD_ASSESSMENT_FLAG,
    // (4010,1016) FL.
    ATD_ASSESSMENT_PROBABILITY,
    // (4010,1038) SQ: one item per assessment of a potential threat object.
    ATD_ASSESSMENT_SEQUENCE,
    // (4010,101D) FL 6-n: x,y pairs in the referenced image's pixels.
    BOUNDING_POLYGON,
    // (4010,0002) CS.
    HIGH_ENERGY_DETECTORS,
    // (4010,0001) CS.
    LOW_ENERGY_DETECTORS,
    // (4010,1034) US.
    NUMBER_OF_ALARM_OBJECTS,
    // (4010,1033) US.
    NUMBER_OF_TOTAL_OBJECTS,
    // (4010,1010) US.
    POTENTIAL_THREAT_OBJECT_ID,
    // (4010,1037) SQ: where a potential threat object lies in the referenced images.
    PTO_REPRESENTATION_SEQUENCE,
    // (4010,1077) SQ: the TDR this one revises (an OPERATOR TDR names the MACHINE one).
    REFERENCED_TDR_INSTANCE_SEQUENCE,
    // (4010,1027) CS: MACHINE, OPERATOR or GROUND_TRUTH (among others).
    TDR_TYPE,
    // (4010,1012) CS.
    THREAT_CATEGORY,
    // (4010,1013) LT.
    THREAT_CATEGORY_DESCRIPTION,
    // (4010,1029) LO 1-n: manufacturer \ model \ version.
    THREAT_DETECTION_ALGORITHM_AND_VERSION,
    // (4010,1011) SQ: one item per potential threat object.
    THREAT_SEQUENCE,
    // (4010,1069) FL: milliseconds.
    TOTAL_PROCESSING_TIME,
};

pub use dicom_dictionary_std::uids::{
    DICOS_DIGITAL_X_RAY_IMAGE_STORAGE_FOR_PRESENTATION,
    DICOS_DIGITAL_X_RAY_IMAGE_STORAGE_FOR_PROCESSING, DICOS_THREAT_DETECTION_REPORT_STORAGE,
    DIGITAL_X_RAY_IMAGE_STORAGE_FOR_PRESENTATION, DIGITAL_X_RAY_IMAGE_STORAGE_FOR_PROCESSING,
    EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN,
};

/// The SOP classes [`crate::read_dx`] accepts: the two DICOS DX classes, and the medical
/// DX classes for convenience (same pixel module).
pub const DX_SOP_CLASSES: [&str; 4] = [
    DICOS_DIGITAL_X_RAY_IMAGE_STORAGE_FOR_PRESENTATION,
    DICOS_DIGITAL_X_RAY_IMAGE_STORAGE_FOR_PROCESSING,
    DIGITAL_X_RAY_IMAGE_STORAGE_FOR_PRESENTATION,
    DIGITAL_X_RAY_IMAGE_STORAGE_FOR_PROCESSING,
];
