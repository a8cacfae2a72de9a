use std::fmt;

use serde::{Deserialize, Serialize};

/// A Harmonized System code: 6 digits harmonised worldwide, extended to 8-10 digits by
/// national tariffs. Dots and spaces (`6109.10`) are accepted on input and dropped.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HsCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HsCodeError {
    #[error("must contain only digits, got {0:?}")]
    NotDigits(String),
    #[error("must have 6 to 10 digits, got {0}")]
    Length(usize),
    #[error("chapter {0:02} does not exist in the Harmonized System (chapters run 01 to 97, 77 is reserved)")]
    Chapter(u32),
}

impl HsCode {
    pub fn parse(raw: &str) -> Result<Self, HsCodeError> {
        let digits: String = raw.chars().filter(|c| !matches!(c, '.' | ' ')).collect();
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(HsCodeError::NotDigits(raw.to_owned()));
        }
        if !(6..=10).contains(&digits.len()) {
            return Err(HsCodeError::Length(digits.len()));
        }
        let chapter: u32 = digits[..2].parse().unwrap_or(0);
        if !(1..=97).contains(&chapter) || chapter == 77 {
            return Err(HsCodeError::Chapter(chapter));
        }
        Ok(Self(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 2-digit chapter.
    pub fn chapter(&self) -> &str {
        &self.0[..2]
    }
}

impl TryFrom<String> for HsCode {
    type Error = HsCodeError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<HsCode> for String {
    fn from(value: HsCode) -> Self {
        value.0
    }
}

impl fmt::Display for HsCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
