//! What a detected class means for customs.

use std::fmt;

use serde::Deserialize;

/// What a class means for customs; mirrors `xray.v1.Category`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Weapon,
    Drugs,
    UndeclaredGoods,
    Other,
}

impl Category {
    /// Whether a detection of this category raises the scan's alarm.
    pub fn alarming(self) -> bool {
        !matches!(self, Category::Other)
    }
}

impl std::str::FromStr for Category {
    type Err = String;
    /// The names `Display` writes (and model.toml uses).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "weapon" => Ok(Category::Weapon),
            "drugs" => Ok(Category::Drugs),
            "undeclared_goods" => Ok(Category::UndeclaredGoods),
            "other" => Ok(Category::Other),
            _ => Err(format!(
                "category {s:?} is not weapon, drugs, undeclared_goods or other"
            )),
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Category::Weapon => "weapon",
            Category::Drugs => "drugs",
            Category::UndeclaredGoods => "undeclared_goods",
            Category::Other => "other",
        })
    }
}
