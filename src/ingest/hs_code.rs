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

validated_string!(HsCode, HsCodeError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_six_eight_and_ten_digits() {
        for raw in ["610910", "61091000", "6109100010"] {
            assert_eq!(HsCode::parse(raw).unwrap().as_str(), raw);
        }
    }

    #[test]
    fn drops_dots_and_spaces() {
        assert_eq!(HsCode::parse("6109.10").unwrap().as_str(), "610910");
        assert_eq!(HsCode::parse("8703.23.19").unwrap().as_str(), "87032319");
        assert_eq!(HsCode::parse("6109 10 00").unwrap().as_str(), "61091000");
        assert_eq!(HsCode::parse("0101.21").unwrap().chapter(), "01");
    }

    #[test]
    fn rejects_wrong_lengths() {
        assert_eq!(HsCode::parse("61091"), Err(HsCodeError::Length(5)));
        assert_eq!(HsCode::parse("61091000101"), Err(HsCodeError::Length(11)));
        assert_eq!(HsCode::parse(""), Err(HsCodeError::Length(0)));
    }

    #[test]
    fn rejects_letters() {
        assert_eq!(HsCode::parse("6109AB"), Err(HsCodeError::NotDigits("6109AB".into())));
        assert_eq!(HsCode::parse("6109-10"), Err(HsCodeError::NotDigits("6109-10".into())));
        assert_eq!(HsCode::parse("６１０９１０"), Err(HsCodeError::NotDigits("６１０９１０".into())));
    }

    #[test]
    fn rejects_chapters_outside_the_system() {
        for (raw, chapter) in [("000000", 0), ("770000", 77), ("980000", 98), ("99.01.00", 99)] {
            assert_eq!(HsCode::parse(raw), Err(HsCodeError::Chapter(chapter)), "{raw}");
        }
        assert_eq!(HsCode::parse("970110").unwrap().chapter(), "97");
        assert!(HsCode::parse("000000").unwrap_err().to_string().starts_with("chapter 00 does not exist"));
    }
}
