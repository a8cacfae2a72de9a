use serde::{Deserialize, Serialize};

/// An ISO 6346 container number such as `MSCU1234566`: owner code, category, serial, check digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ContainerNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContainerNumberError {
    #[error("must be 11 characters (owner code, category letter, 6-digit serial, check digit), got {0}")]
    Length(usize),
    #[error("owner code must be three letters A-Z, got {0:?}")]
    Owner(String),
    #[error("category letter must be U, J or Z, got {0:?}")]
    Category(char),
    #[error("serial number must be six digits, got {0:?}")]
    Serial(String),
    #[error("check digit is {expected} but {given:?} was given")]
    CheckDigit { expected: u32, given: char },
}

impl ContainerNumber {
    /// Parses a container number, accepting lower case and the usual spaces or dashes
    /// (`MSCU 123456-6`), and verifies the check digit.
    pub fn parse(raw: &str) -> Result<Self, ContainerNumberError> {
        let compact: String = raw
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let chars: Vec<char> = compact.chars().collect();
        if chars.len() != 11 {
            return Err(ContainerNumberError::Length(chars.len()));
        }
        let owner: String = chars[..3].iter().collect();
        if !owner.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(ContainerNumberError::Owner(owner));
        }
        if !matches!(chars[3], 'U' | 'J' | 'Z') {
            return Err(ContainerNumberError::Category(chars[3]));
        }
        let serial: String = chars[4..10].iter().collect();
        if !serial.chars().all(|c| c.is_ascii_digit()) {
            return Err(ContainerNumberError::Serial(serial));
        }
        let expected = check_digit(&compact[..10]);
        let given = chars[10];
        if given.to_digit(10) != Some(expected) {
            return Err(ContainerNumberError::CheckDigit { expected, given });
        }
        Ok(Self(compact))
    }

    /// Builds a valid number from an owner code, category letter and serial by computing the
    /// check digit; used by the simulator.
    pub fn from_parts(owner_and_category: &str, serial: u32) -> Result<Self, ContainerNumberError> {
        let body = format!("{owner_and_category}{:06}", serial % 1_000_000);
        let digit = check_digit(&body);
        Self::parse(&format!("{body}{digit}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// ISO 6346 check digit over the first ten characters. Letters take the values 10..=38 with
/// multiples of 11 skipped; each position is weighted by 2^i; the sum mod 11, where 10 counts as 0.
fn check_digit(first_ten: &str) -> u32 {
    let sum: u32 = first_ten
        .chars()
        .enumerate()
        .map(|(i, c)| character_value(c) << i)
        .sum();
    (sum % 11) % 10
}

/// Letter values A..=Z: 10 upwards, skipping 11, 22 and 33.
const LETTER_VALUES: [u32; 26] = [
    10, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 34, 35,
    36, 37, 38,
];

fn character_value(c: char) -> u32 {
    match c {
        '0'..='9' => c as u32 - '0' as u32,
        'A'..='Z' => LETTER_VALUES[(c as u8 - b'A') as usize],
        _ => 0,
    }
}

validated_string!(ContainerNumber, ContainerNumberError);

#[cfg(test)]
mod tests {
    use super::*;

    /// Check digits verified by hand (letter values, weights 2^i, sum mod 11 mod 10):
    /// CSQU3054383, the ISO 6346 example: 13+60+112+256+48+0+320+512+768+4096 = 6185 ≡ 3.
    /// MSKU9070323: 24+60+84+256+144+0+448+0+768+1024 = 2808 ≡ 3.
    /// BICU1234565, the BIC's example: 12+38+52+256+16+64+192+512+1280+3072 = 5494 ≡ 5.
    /// MSCU1234566: 24+60+52+256+16+64+192+512+1280+3072 = 5528 ≡ 6.
    const VALID: [&str; 4] = ["CSQU3054383", "MSKU9070323", "BICU1234565", "MSCU1234566"];

    fn parse(raw: &str) -> Result<ContainerNumber, ContainerNumberError> {
        ContainerNumber::parse(raw)
    }

    #[test]
    fn accepts_published_numbers() {
        for raw in VALID {
            assert_eq!(parse(raw).unwrap().as_str(), raw);
        }
    }

    #[test]
    fn remainder_ten_gives_check_digit_zero() {
        // 13+60+112+256+7*512 = 4025 ≡ 10, which ISO 6346 writes as 0.
        assert_eq!(parse("CSQU0000070").unwrap().as_str(), "CSQU0000070");
    }

    #[test]
    fn normalises_case_spaces_and_dashes() {
        for raw in ["csqu3054383", "CSQU 305438 3", "CSQU 305438-3", "csqu-305438-3", " CSQU3054383 "] {
            assert_eq!(parse(raw).unwrap().as_str(), "CSQU3054383", "{raw:?}");
        }
    }

    #[test]
    fn reports_each_kind_of_error() {
        assert_eq!(parse("CSQU305438"), Err(ContainerNumberError::Length(10)));
        assert_eq!(parse("CSQU30543830"), Err(ContainerNumberError::Length(12)));
        assert_eq!(parse(""), Err(ContainerNumberError::Length(0)));
        assert_eq!(parse("C5QU3054383"), Err(ContainerNumberError::Owner("C5Q".into())));
        assert_eq!(parse("ÇSQU3054383"), Err(ContainerNumberError::Owner("ÇSQ".into())));
        assert_eq!(parse("CSQX3054383"), Err(ContainerNumberError::Category('X')));
        assert_eq!(parse("CSQU3O54383"), Err(ContainerNumberError::Serial("3O5438".into())));
        assert_eq!(
            parse("CSQU3054384"),
            Err(ContainerNumberError::CheckDigit { expected: 3, given: '4' })
        );
        assert_eq!(
            parse("CSQU305438X"),
            Err(ContainerNumberError::CheckDigit { expected: 3, given: 'X' })
        );
    }

    #[test]
    fn check_digit_message_names_the_expected_digit() {
        let message = parse("MSKU9070324").unwrap_err().to_string();
        assert_eq!(message, "check digit is 3 but '4' was given");
    }

    #[test]
    fn rejects_every_changed_digit() {
        for raw in VALID {
            for i in 4..11 {
                for d in '0'..='9' {
                    let mut corrupt: Vec<char> = raw.chars().collect();
                    if corrupt[i] == d {
                        continue;
                    }
                    corrupt[i] = d;
                    let corrupt: String = corrupt.into_iter().collect();
                    assert!(parse(&corrupt).is_err(), "{corrupt} accepted");
                }
            }
        }
    }

    #[test]
    fn rejects_every_adjacent_swap() {
        for raw in VALID {
            for i in 0..10 {
                let mut corrupt: Vec<char> = raw.chars().collect();
                if corrupt[i] == corrupt[i + 1] {
                    continue;
                }
                corrupt.swap(i, i + 1);
                let corrupt: String = corrupt.into_iter().collect();
                assert!(parse(&corrupt).is_err(), "{corrupt} accepted");
            }
        }
    }

    #[test]
    fn rejects_changed_letters() {
        for corrupt in ["DSQU3054383", "CTQU3054383", "CSRU3054383", "CSQJ3054383", "NSKU9070323"] {
            assert!(parse(corrupt).is_err(), "{corrupt} accepted");
        }
    }

    #[test]
    fn letters_congruent_mod_11_are_indistinguishable() {
        // A limit of ISO 6346 itself, not of this code: C = 13 and M = 24 leave the same
        // remainder, so swapping one for the other keeps the check digit.
        assert!(parse("MSQU3054383").is_ok());
    }

    #[test]
    fn from_parts_computes_the_check_digit() {
        assert_eq!(ContainerNumber::from_parts("CSQU", 305_438).unwrap().as_str(), "CSQU3054383");
        assert_eq!(ContainerNumber::from_parts("CSQU", 7).unwrap().as_str(), "CSQU0000070");
        assert!(ContainerNumber::from_parts("CSQ", 305_438).is_err());
    }
}
