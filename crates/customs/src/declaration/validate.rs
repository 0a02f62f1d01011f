//! The checks a declaration passes before it is stored; each refusal names the field.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::Declaration;

/// Longest accepted declaration id, in bytes.
pub const MAX_DECLARATION_ID_BYTES: usize = 128;

/// Most lines one declaration may have.
const MAX_ITEMS: usize = 999;

/// Longest declarant name, in bytes.
pub const MAX_DECLARANT_BYTES: usize = 256;

/// Longest description of one declared item, in bytes.
pub const MAX_ITEM_DESCRIPTION_BYTES: usize = 1024;

/// A declaration (or one of its fields) that cannot be accepted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidDeclaration(pub String);

/// A Harmonized System code, kept as its digits: 4 (heading), 6 (subheading) or up to 10
/// (national tariff lines) of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HsCode(String);

impl HsCode {
    /// Reads "2402.20", "2402 20 90" or "240220"; dots and spaces are dropped.
    pub fn parse(text: &str) -> Result<Self, InvalidDeclaration> {
        let digits: String = text.chars().filter(|c| !matches!(c, '.' | ' ')).collect();
        let ok = (4..=10).contains(&digits.len())
            && digits.len() % 2 == 0
            && digits.bytes().all(|b| b.is_ascii_digit());
        if ok {
            Ok(HsCode(digits))
        } else {
            Err(InvalidDeclaration(format!(
                "{text:?} is not an HS code: 4, 6, 8 or 10 digits, dots and spaces allowed (e.g. \"2402.20\")"
            )))
        }
    }

    pub fn digits(&self) -> &str {
        &self.0
    }

    /// Whether this code falls under `heading` (a 2- to 10-digit prefix).
    pub fn is_under(&self, heading: &str) -> bool {
        self.0.starts_with(heading)
    }
}

impl fmt::Display for HsCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for HsCode {
    type Error = InvalidDeclaration;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        HsCode::parse(&s)
    }
}

impl From<HsCode> for String {
    fn from(c: HsCode) -> String {
        c.0
    }
}

/// Checks the fields HS codes cannot: ids, countries, the prior, quantities and values.
pub fn validate(d: &Declaration) -> Result<(), InvalidDeclaration> {
    let bad = |m: String| Err(InvalidDeclaration(m));
    if d.id.trim().is_empty() {
        return bad("declaration.id is empty".into());
    }
    if d.id.len() > MAX_DECLARATION_ID_BYTES {
        return bad(format!(
            "declaration.id is {} bytes; the limit is {MAX_DECLARATION_ID_BYTES}",
            d.id.len()
        ));
    }
    if d.declarant.trim().is_empty() {
        return bad("declaration.declarant is empty".into());
    }
    if d.declarant.len() > MAX_DECLARANT_BYTES {
        return bad(format!(
            "declaration.declarant is {} bytes; the limit is {MAX_DECLARANT_BYTES}",
            d.declarant.len()
        ));
    }
    for (field, code) in [
        ("origin_country", &d.origin_country),
        ("destination_country", &d.destination_country),
    ] {
        let alpha2 = code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase());
        if !code.is_empty() && !alpha2 {
            return bad(format!(
                "declaration.{field} {code:?} is not an ISO 3166-1 alpha-2 code (two capital letters, e.g. \"DE\")"
            ));
        }
    }
    if !(0.0..=1.0).contains(&d.prior_risk) {
        return bad(format!(
            "declaration.prior_risk {} is outside 0..1",
            d.prior_risk
        ));
    }
    if d.items.len() > MAX_ITEMS {
        return bad(format!(
            "declaration has {} items; the limit is {MAX_ITEMS}",
            d.items.len()
        ));
    }
    for (i, item) in d.items.iter().enumerate() {
        if item.description.len() > MAX_ITEM_DESCRIPTION_BYTES {
            return bad(format!(
                "declaration.items[{i}].description is {} bytes; the limit is {MAX_ITEM_DESCRIPTION_BYTES}",
                item.description.len()
            ));
        }
        for (field, v) in [("quantity", item.quantity), ("value", item.value)] {
            if !v.is_finite() || v < 0.0 {
                return bad(format!(
                    "declaration.items[{i}].{field} {v} must be a number of at least 0"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::declaration::{DeclaredItem, TransportMode};

    fn declaration() -> Declaration {
        Declaration {
            id: "D-1".into(),
            declarant: "ACME Textiles".into(),
            origin_country: "CN".into(),
            destination_country: "DE".into(),
            transport_mode: TransportMode::Sea,
            items: vec![DeclaredItem {
                hs_code: HsCode::parse("6109.10").expect("valid"),
                description: "T-shirts".into(),
                quantity: 500.0,
                value: 2500.0,
            }],
            prior_risk: 0.2,
        }
    }

    #[test]
    fn hs_codes_keep_their_digits_and_refuse_the_rest() {
        assert_eq!(HsCode::parse("2402.20").map(|c| c.0), Ok("240220".into()));
        assert_eq!(
            HsCode::parse("8517 13 00").map(|c| c.0),
            Ok("85171300".into())
        );
        assert!(HsCode::parse("2402").expect("heading").is_under("2402"));
        for bad in ["", "24", "24A2", "240", "12345678901", "2402-20"] {
            let e = HsCode::parse(bad).expect_err(bad);
            assert!(e.0.contains("is not an HS code"), "{e}");
        }
    }

    #[test]
    fn a_good_declaration_passes_and_each_bad_field_is_named() {
        assert_eq!(validate(&declaration()), Ok(()));
        type Breaker = fn(&mut Declaration);
        let cases: [(Breaker, &str); 8] = [
            (|d| d.id = " ".into(), "declaration.id is empty"),
            (|d| d.declarant.clear(), "declarant is empty"),
            (
                |d| d.declarant = "A".repeat(257),
                "declaration.declarant is 257 bytes; the limit is 256",
            ),
            (
                |d| d.items[0].description = "x".repeat(1025),
                "declaration.items[0].description is 1025 bytes; the limit is 1024",
            ),
            (|d| d.origin_country = "Germany".into(), "origin_country"),
            (|d| d.prior_risk = 1.5, "prior_risk 1.5 is outside 0..1"),
            (|d| d.prior_risk = f64::NAN, "prior_risk NaN"),
            (|d| d.items[0].value = -1.0, "items[0].value -1"),
        ];
        for (break_it, expected) in cases {
            let mut d = declaration();
            break_it(&mut d);
            let e = validate(&d).expect_err(expected);
            assert!(e.0.contains(expected), "{e} lacks {expected:?}");
        }
    }
}
