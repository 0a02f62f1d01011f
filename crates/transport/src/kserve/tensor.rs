//! Tensors as the inference protocol carries them, whatever the door: an input's elements read
//! from raw little-endian bytes or from typed contents, checked against its datatype and
//! shape; an output's values written back as raw bytes. BYTES elements are each a 4-byte
//! little-endian length and that many bytes.

use bytes::Bytes;
use xray_service::Error;

/// An input tensor of a request.
#[derive(Debug, Clone)]
pub struct InputTensor {
    pub name: String,
    pub datatype: String,
    pub shape: Vec<i64>,
    pub data: InputData,
}

/// Where an input's elements are.
#[derive(Debug, Clone)]
pub enum InputData {
    /// Raw bytes (gRPC `raw_input_contents`, HTTP's binary-data extension).
    Raw(Bytes),
    /// BYTES elements, one by one (gRPC `bytes_contents`, JSON strings).
    Bytes(Vec<Bytes>),
    /// FP32 elements (gRPC `fp32_contents`, JSON numbers).
    Fp32(Vec<f32>),
    /// Elements of another type than the tensor is used as.
    Other(&'static str),
}

fn invalid(message: String) -> Error {
    Error::Invalid(message)
}

impl InputTensor {
    /// The number of elements its shape holds.
    pub fn elements(&self) -> Result<usize, Error> {
        self.shape.iter().try_fold(1usize, |n, &d| {
            let d = usize::try_from(d).map_err(|_| {
                invalid(format!(
                    "input {}: shape {:?} has a negative dimension",
                    self.name, self.shape
                ))
            })?;
            n.checked_mul(d).ok_or_else(|| {
                invalid(format!(
                    "input {}: shape {:?} is too large",
                    self.name, self.shape
                ))
            })
        })
    }

    fn expect_datatype(&self, datatype: &str) -> Result<(), Error> {
        if self.datatype == datatype {
            return Ok(());
        }
        Err(invalid(format!(
            "input {} is {}; it must be {datatype}",
            self.name, self.datatype
        )))
    }

    /// Its BYTES elements (taken, not copied).
    pub fn byte_elements(self) -> Result<Vec<Bytes>, Error> {
        self.expect_datatype("BYTES")?;
        let expected = self.elements()?;
        let elements = match self.data {
            InputData::Bytes(elements) => elements,
            InputData::Raw(raw) => split_length_prefixed(&self.name, &raw)?,
            InputData::Fp32(_) | InputData::Other(_) => {
                return Err(invalid(format!(
                    "input {} is BYTES but its contents are of another type",
                    self.name
                )));
            }
        };
        if elements.len() != expected {
            return Err(invalid(format!(
                "input {}: shape {:?} holds {expected} elements but {} were sent",
                self.name,
                self.shape,
                elements.len()
            )));
        }
        Ok(elements)
    }

    /// Its FP32 elements (taken, not copied, when they came as numbers).
    pub fn fp32_elements(self) -> Result<Vec<f32>, Error> {
        self.expect_datatype("FP32")?;
        let expected = self.elements()?;
        let values = match self.data {
            InputData::Fp32(values) => values,
            InputData::Raw(raw) => {
                if raw.len() != expected.saturating_mul(4) {
                    return Err(invalid(format!(
                        "input {}: shape {:?} of FP32 takes {} bytes but {} were sent",
                        self.name,
                        self.shape,
                        expected.saturating_mul(4),
                        raw.len()
                    )));
                }
                raw.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect()
            }
            InputData::Bytes(_) | InputData::Other(_) => {
                return Err(invalid(format!(
                    "input {} is FP32 but its contents are of another type",
                    self.name
                )));
            }
        };
        if values.len() != expected {
            return Err(invalid(format!(
                "input {}: shape {:?} holds {expected} elements but {} were sent",
                self.name,
                self.shape,
                values.len()
            )));
        }
        Ok(values)
    }
}

/// BYTES elements laid end to end, each after its 4-byte little-endian length.
fn split_length_prefixed(name: &str, raw: &Bytes) -> Result<Vec<Bytes>, Error> {
    let mut elements = Vec::new();
    let mut at = 0usize;
    while at < raw.len() {
        let Some(prefix) = raw.get(at..at + 4) else {
            return Err(invalid(format!(
                "input {name}: element {} has a cut-off length prefix at byte {at} of {}",
                elements.len(),
                raw.len()
            )));
        };
        let len = u32::from_le_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
        let start = at + 4;
        let end = start
            .checked_add(len)
            .filter(|&end| end <= raw.len())
            .ok_or_else(|| {
                invalid(format!(
                    "input {name}: element {} says it is {len} bytes, past the end of the {} sent",
                    elements.len(),
                    raw.len()
                ))
            })?;
        elements.push(raw.slice(start..end));
        at = end;
    }
    Ok(elements)
}

/// An output tensor of an answer.
#[derive(Debug, Clone)]
pub struct OutputTensor {
    pub name: String,
    pub shape: Vec<i64>,
    pub data: OutputData,
}

/// An output's values.
#[derive(Debug, Clone)]
pub enum OutputData {
    Fp32(Vec<f32>),
    Int32(Vec<i32>),
    Bool(Vec<bool>),
    Bytes(Vec<Vec<u8>>),
}

impl OutputData {
    /// The protocol's name of its datatype.
    pub fn datatype(&self) -> &'static str {
        match self {
            OutputData::Fp32(_) => "FP32",
            OutputData::Int32(_) => "INT32",
            OutputData::Bool(_) => "BOOL",
            OutputData::Bytes(_) => "BYTES",
        }
    }

    /// Its values as raw little-endian bytes (BYTES elements length-prefixed).
    pub fn raw(&self) -> Vec<u8> {
        match self {
            OutputData::Fp32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            OutputData::Int32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            OutputData::Bool(v) => v.iter().map(|&b| u8::from(b)).collect(),
            OutputData::Bytes(v) => v
                .iter()
                .flat_map(|e| {
                    let len = u32::try_from(e.len()).unwrap_or(u32::MAX).to_le_bytes();
                    len.into_iter().chain(e.iter().copied())
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes_input(shape: Vec<i64>, raw: Vec<u8>) -> InputTensor {
        InputTensor {
            name: "SCAN".into(),
            datatype: "BYTES".into(),
            shape,
            data: InputData::Raw(Bytes::from(raw)),
        }
    }

    #[test]
    fn bytes_elements_are_split_and_a_prefix_past_the_end_is_refused() {
        let two = OutputData::Bytes(vec![b"png!".to_vec(), b"tiff".to_vec()]).raw();
        let elements = bytes_input(vec![2], two.clone())
            .byte_elements()
            .expect("two elements");
        assert_eq!(elements, [Bytes::from("png!"), Bytes::from("tiff")]);
        let e = bytes_input(vec![3], two.clone())
            .byte_elements()
            .expect_err("count");
        assert!(e.to_string().contains("holds 3 elements but 2"), "{e}");
        let mut lying = two;
        lying[0] = 200;
        let e = bytes_input(vec![2], lying)
            .byte_elements()
            .expect_err("lying");
        assert!(e.to_string().contains("past the end"), "{e}");
        let e = bytes_input(vec![1], vec![1, 0])
            .byte_elements()
            .expect_err("cut");
        assert!(e.to_string().contains("cut-off length prefix"), "{e}");
    }

    #[test]
    fn fp32_is_read_little_endian_and_its_size_checked() {
        let raw = OutputData::Fp32(vec![1.5, -2.0]).raw();
        let t = InputTensor {
            name: "images".into(),
            datatype: "FP32".into(),
            shape: vec![1, 2],
            data: InputData::Raw(Bytes::from(raw)),
        };
        assert_eq!(t.clone().fp32_elements().expect("two"), [1.5, -2.0]);
        let wrong = InputTensor {
            shape: vec![1, 3],
            ..t.clone()
        };
        let e = wrong.fp32_elements().expect_err("size");
        assert!(e.to_string().contains("takes 12 bytes but 8"), "{e}");
        let e = InputTensor {
            datatype: "INT8".into(),
            ..t
        }
        .fp32_elements()
        .expect_err("type");
        assert!(e.to_string().contains("is INT8; it must be FP32"), "{e}");
    }
}
