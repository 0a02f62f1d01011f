//! A DICOM Part 10 file from a C-STORE's data set, and the data set back out of one: what the
//! screening use case takes (and gives, for the TDR) is a whole file, while the network
//! carries the data set alone, in the presentation context's transfer syntax.

use dicom_object::meta::FileMetaTableBuilder;

/// The length of a Part 10 file's preamble, before "DICM".
const PREAMBLE: usize = 128;

/// The Part 10 file of a data set received as `sop_class_uid` / `sop_instance_uid` in
/// `transfer_syntax`: a zero preamble, "DICM", a file meta group naming the three, then the
/// data set's bytes as received (they are not re-encoded, so what is screened is what came).
pub fn file_of(
    sop_class_uid: &str,
    sop_instance_uid: &str,
    transfer_syntax: &str,
    data_set: &[u8],
) -> Result<Vec<u8>, String> {
    let meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(sop_class_uid)
        .media_storage_sop_instance_uid(sop_instance_uid)
        .transfer_syntax(transfer_syntax)
        .build()
        .map_err(|e| e.to_string())?;
    let mut file = Vec::with_capacity(PREAMBLE + 4 + 256 + data_set.len());
    file.resize(PREAMBLE, 0);
    file.extend_from_slice(b"DICM");
    meta.write(&mut file).map_err(|e| e.to_string())?;
    file.extend_from_slice(data_set);
    Ok(file)
}

/// What a Part 10 file holds, split for the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split<'a> {
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    pub transfer_syntax: String,
    pub data_set: &'a [u8],
}

/// Splits a Part 10 file into its meta group's ids and its data set's bytes.
pub fn split(file: &[u8]) -> Result<Split<'_>, String> {
    let after_preamble = file
        .get(PREAMBLE..)
        .filter(|rest| rest.starts_with(b"DICM"))
        .ok_or("it has no 128-byte preamble followed by DICM")?;
    let mut reader = after_preamble;
    let meta =
        dicom_object::meta::FileMetaTable::from_reader(&mut reader).map_err(|e| e.to_string())?;
    let trim = |s: &str| s.trim_end_matches(['\0', ' ']).to_string();
    Ok(Split {
        sop_class_uid: trim(meta.media_storage_sop_class_uid()),
        sop_instance_uid: trim(meta.media_storage_sop_instance_uid()),
        transfer_syntax: trim(meta.transfer_syntax()),
        data_set: reader,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_splits_back_into_what_made_it() {
        let data_set = [0x08, 0x00, 0x16, 0x00, 0x02, 0x00, 0x00, 0x00, b'1', 0];
        let file = file_of("1.2.3", "4.5.6", "1.2.840.10008.1.2", &data_set).unwrap();
        assert_eq!(&file[128..132], b"DICM");
        let split = split(&file).unwrap();
        assert_eq!(split.sop_class_uid, "1.2.3");
        assert_eq!(split.sop_instance_uid, "4.5.6");
        assert_eq!(split.transfer_syntax, "1.2.840.10008.1.2");
        assert_eq!(split.data_set, &data_set);
    }

    #[test]
    fn bytes_without_dicm_are_refused_with_a_sentence() {
        let err = split(&[0u8; 200]).unwrap_err();
        assert!(err.contains("DICM"), "{err}");
    }
}
