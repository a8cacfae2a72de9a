//! The goods taxonomy: categories the classifier predicts and the HS codes that declare them,
//! read from `models/goods_categories.toml`.

use std::path::Path;

use serde::Deserialize;

use crate::ingest::HsCode;

/// The taxonomy file shipped with the models.
pub const DEFAULT_TAXONOMY_PATH: &str = "models/goods_categories.toml";
/// The committed taxonomy, built in so that tools work from any directory.
const BUILT_IN: &str = include_str!("../models/goods_categories.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Taxonomy {
    pub version: u32,
    #[serde(rename = "category")]
    pub categories: Vec<Category>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    /// Stable machine name, also the classifier's label.
    pub id: String,
    pub name: String,
    pub hs_prefixes: Vec<String>,
    pub examples: Vec<HsExample>,
}

/// A typical declaration line for goods of one category.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HsExample {
    pub hs_code: HsCode,
    pub description: String,
    pub unit: String,
}

/// Index of a category in the taxonomy, which is also the classifier's output index.
pub type CategoryIndex = usize;

#[derive(Debug, thiserror::Error)]
pub enum TaxonomyError {
    #[error("cannot read taxonomy {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("taxonomy is not valid TOML: {0}")]
    Syntax(#[from] toml::de::Error),
    #[error("taxonomy is inconsistent: {0}")]
    Inconsistent(String),
}

impl Taxonomy {
    pub fn built_in() -> Self {
        Self::parse(BUILT_IN).expect("the committed taxonomy is checked by tests")
    }

    pub fn load(path: &Path) -> Result<Self, TaxonomyError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| TaxonomyError::Read { path: path.display().to_string(), source })?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self, TaxonomyError> {
        let taxonomy: Self = toml::from_str(text)?;
        taxonomy.check()?;
        Ok(taxonomy)
    }

    fn check(&self) -> Result<(), TaxonomyError> {
        let mut seen_ids = std::collections::HashSet::new();
        let mut seen_prefixes = std::collections::HashMap::new();
        for category in &self.categories {
            if !seen_ids.insert(category.id.as_str()) {
                return Err(TaxonomyError::Inconsistent(format!("category id {:?} appears twice", category.id)));
            }
            for prefix in &category.hs_prefixes {
                let well_formed = matches!(prefix.len(), 2 | 4 | 6) && prefix.chars().all(|c| c.is_ascii_digit());
                if !well_formed {
                    return Err(TaxonomyError::Inconsistent(format!(
                        "{}: HS prefix {prefix:?} must be 2, 4 or 6 digits",
                        category.id
                    )));
                }
                if let Some(other) = seen_prefixes.insert(prefix.as_str(), category.id.as_str()) {
                    return Err(TaxonomyError::Inconsistent(format!(
                        "HS prefix {prefix} is claimed by both {other} and {}",
                        category.id
                    )));
                }
            }
        }
        for (index, category) in self.categories.iter().enumerate() {
            for example in &category.examples {
                if self.category_of(&example.hs_code) != Some(index) {
                    return Err(TaxonomyError::Inconsistent(format!(
                        "{}: example HS code {} maps to another category",
                        category.id, example.hs_code
                    )));
                }
            }
        }
        if self.index_of("empty").is_none() {
            return Err(TaxonomyError::Inconsistent("the category \"empty\" is required".into()));
        }
        Ok(())
    }

    /// The category an HS code declares: the one with the longest matching prefix, or `None`
    /// when the taxonomy does not cover the code.
    pub fn category_of(&self, code: &HsCode) -> Option<CategoryIndex> {
        self.categories
            .iter()
            .enumerate()
            .flat_map(|(index, c)| c.hs_prefixes.iter().map(move |p| (index, p)))
            .filter(|(_, prefix)| code.as_str().starts_with(prefix.as_str()))
            .max_by_key(|(_, prefix)| prefix.len())
            .map(|(index, _)| index)
    }

    pub fn index_of(&self, id: &str) -> Option<CategoryIndex> {
        self.categories.iter().position(|c| c.id == id)
    }

    pub fn len(&self) -> usize {
        self.categories.len()
    }

    pub fn is_empty(&self) -> bool {
        self.categories.is_empty()
    }

    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.categories.iter().map(|c| c.id.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hs(code: &str) -> HsCode {
        HsCode::parse(code).unwrap()
    }

    #[test]
    fn committed_taxonomy_is_consistent_and_covers_the_required_goods() {
        let taxonomy = Taxonomy::load(Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_TAXONOMY_PATH).as_path()).unwrap();
        assert!(taxonomy.len() >= 14);
        for id in [
            "empty", "textiles", "footwear", "electronics", "machinery", "vehicles", "foodstuffs",
            "bottled_liquids", "tobacco", "wood_furniture", "tyres_rubber", "paper",
            "ceramics_glass_stone", "scrap_metal", "chemicals_drums",
        ] {
            assert!(taxonomy.index_of(id).is_some(), "{id} missing");
        }
    }

    #[test]
    fn longest_prefix_wins() {
        let t = Taxonomy::built_in();
        assert_eq!(t.category_of(&hs("720449")), t.index_of("scrap_metal"));
        assert_eq!(t.category_of(&hs("720837")), t.index_of("machinery"));
        assert_eq!(t.category_of(&hs("847130")), t.index_of("electronics"));
        assert_eq!(t.category_of(&hs("24022090")), t.index_of("tobacco"));
    }

    #[test]
    fn uncovered_code_has_no_category() {
        assert_eq!(Taxonomy::built_in().category_of(&hs("970110")), None);
    }

    #[test]
    fn duplicate_prefix_is_refused() {
        let text = r#"
version = 1
[[category]]
id = "empty"
name = "Empty"
hs_prefixes = []
examples = []
[[category]]
id = "a"
name = "A"
hs_prefixes = ["61"]
examples = []
[[category]]
id = "b"
name = "B"
hs_prefixes = ["61"]
examples = []
"#;
        let err = Taxonomy::parse(text).unwrap_err().to_string();
        assert!(err.contains("claimed by both a and b"), "{err}");
    }
}
