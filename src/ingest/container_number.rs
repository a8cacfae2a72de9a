use std::fmt;

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

impl TryFrom<String> for ContainerNumber {
    type Error = ContainerNumberError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ContainerNumber> for String {
    fn from(value: ContainerNumber) -> Self {
        value.0
    }
}

impl fmt::Display for ContainerNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
