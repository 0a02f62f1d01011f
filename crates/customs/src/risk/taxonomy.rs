//! `models/<name>/taxonomy.toml`: for the classes of undeclared goods, the HS headings under
//! which declared items cover them (cigarettes: 2402; phones: 8517). The class categories
//! themselves are in model.toml.

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
};

use serde::Deserialize;

use xray_types::Category;

/// A taxonomy file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct TaxonomyError {
    pub path: PathBuf,
    pub reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TaxonomyFile {
    #[serde(default)]
    classes: BTreeMap<String, ClassEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassEntry {
    hs_headings: Vec<String>,
}

/// What a taxonomy is checked against: a model's name and its classes with their categories
/// (from its model.toml).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelClasses {
    pub model: String,
    pub classes: Vec<(String, Category)>,
}

/// The HS headings of one model's classes of undeclared goods.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Taxonomy {
    headings: HashMap<String, Vec<String>>,
}

impl Taxonomy {
    /// Reads `dir/taxonomy.toml` for the model `spec`; a model without the file has no
    /// headings (its goods are never covered by a declaration).
    pub fn load(dir: &Path, spec: &ModelClasses) -> Result<Self, TaxonomyError> {
        let path = dir.join("taxonomy.toml");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => {
                return Err(TaxonomyError {
                    path,
                    reason: e.to_string(),
                });
            }
        };
        Self::parse(&text, spec).map_err(|reason| TaxonomyError { path, reason })
    }

    fn parse(text: &str, spec: &ModelClasses) -> Result<Self, String> {
        let file: TaxonomyFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut headings = HashMap::new();
        for (class, entry) in file.classes {
            let Some((_, category)) = spec.classes.iter().find(|(name, _)| *name == class) else {
                return Err(format!(
                    "class {class:?} is not a class of model {} ({})",
                    spec.model,
                    spec.classes
                        .iter()
                        .map(|(name, _)| name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            };
            if *category != Category::UndeclaredGoods {
                return Err(format!(
                    "class {class:?} is a {category} class; only undeclared goods can be covered by a declaration"
                ));
            }
            for h in &entry.hs_headings {
                if !(2..=10).contains(&h.len()) || !h.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!(
                        "class {class:?}: HS heading {h:?} is not 2 to 10 digits"
                    ));
                }
            }
            headings.insert(class, entry.hs_headings);
        }
        Ok(Self { headings })
    }

    /// The headings that cover `class` (empty: none does).
    pub fn headings(&self, class: &str) -> &[String] {
        self.headings.get(class).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// The taxonomies of every loaded model, by model name.
pub type Taxonomies = HashMap<String, Taxonomy>;

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ModelClasses {
        ModelClasses {
            model: "m".into(),
            classes: vec![
                ("pistol".into(), Category::Weapon),
                ("cigarettes".into(), Category::UndeclaredGoods),
            ],
        }
    }

    #[test]
    fn reads_headings_and_refuses_what_cannot_be_meant() {
        let t = Taxonomy::parse(
            "[classes.cigarettes]\nhs_headings = [\"2402\", \"2403\"]\n",
            &spec(),
        )
        .expect("valid");
        assert_eq!(t.headings("cigarettes"), ["2402", "2403"]);
        assert!(t.headings("pistol").is_empty());
        for (text, expected) in [
            (
                "[classes.cigars]\nhs_headings = [\"2402\"]\n",
                "not a class of model m",
            ),
            (
                "[classes.pistol]\nhs_headings = [\"9302\"]\n",
                "is a weapon class",
            ),
            (
                "[classes.cigarettes]\nhs_headings = [\"24x2\"]\n",
                "not 2 to 10 digits",
            ),
        ] {
            let e = Taxonomy::parse(text, &spec()).expect_err(text);
            assert!(e.contains(expected), "{e}");
        }
    }
}
