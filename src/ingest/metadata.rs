use std::fmt;

use chrono::{DateTime, Duration, FixedOffset, TimeZone, Utc};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};

use super::{ContainerNumber, HsCode};

/// The metadata format this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

const DEFAULT_PIXEL_PITCH_MM: f64 = 5.0;
/// Above any ISO container's maximum gross mass (36 t for the newest 20 ft boxes).
pub const MAX_GROSS_KG_PER_CONTAINER: f64 = 36_000.0;
/// One consignment may fill both containers of a twin scan.
const MAX_ITEM_GROSS_KG: f64 = 2.0 * MAX_GROSS_KG_PER_CONTAINER;
const MAX_ITEMS: usize = 999;
/// Scanner clocks drift; anything further ahead than this is a configuration error.
const MAX_CLOCK_SKEW_HOURS: i64 = 1;

/// Everything a scanner station sends beside the images of one scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanMetadata {
    pub format_version: u32,
    /// The scanner station (portal, gate, lane) that produced the scan.
    pub station_id: String,
    /// The station's own id for this scan, unique per station; makes uploads idempotent.
    pub station_scan_id: String,
    #[serde(deserialize_with = "rfc3339")]
    pub captured_at: DateTime<FixedOffset>,
    /// Size of one pixel, both along the scan and vertically.
    #[serde(default = "default_pixel_pitch")]
    pub pixel_pitch_mm: f64,
    pub energies_mev: Energies,
    /// One container, or two 20 ft containers on one chassis, in scan order.
    pub containers: Vec<ContainerInfo>,
    pub declaration: Declaration,
}

/// Nominal accelerator end-point energies. `low` is absent for single-energy scanners.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Energies {
    pub high: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerInfo {
    pub number: ContainerNumber,
    pub iso_type: IsoTypeCode,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Declaration {
    pub number: String,
    pub declarant: String,
    /// The declarant states that the container travels empty; then `items` must be empty.
    #[serde(default)]
    pub empty: bool,
    #[serde(default)]
    pub items: Vec<DeclaredItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredItem {
    pub hs_code: HsCode,
    pub description: String,
    pub quantity: f64,
    pub unit: String,
    pub gross_weight_kg: f64,
    /// The container the goods travel in, one of the scan's `containers`, as a declaration's
    /// container list states it. Absent when the declaration does not say; then the goods may
    /// be in any of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerNumber>,
}

/// ISO 6346 size and type code such as `22G1` or `45G1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IsoTypeCode(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ContainerLength {
    #[serde(rename = "20ft")]
    Twenty,
    #[serde(rename = "40ft")]
    Forty,
    #[serde(rename = "45ft")]
    FortyFive,
}

impl ContainerLength {
    pub fn external_length_mm(self) -> f64 {
        match self {
            Self::Twenty => 6_058.0,
            Self::Forty => 12_192.0,
            Self::FortyFive => 13_716.0,
        }
    }
}

impl IsoTypeCode {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let code = raw.trim().to_ascii_uppercase();
        let chars: Vec<char> = code.chars().collect();
        if chars.len() != 4 || !chars.iter().all(char::is_ascii_alphanumeric) {
            return Err(format!("must be 4 letters or digits such as 22G1 or 45G1, got {raw:?}"));
        }
        if !matches!(chars[0], '2' | '4' | 'L') {
            return Err(format!(
                "length code must be 2 (20 ft), 4 (40 ft) or L (45 ft), got {:?}",
                chars[0]
            ));
        }
        if height_mm(chars[1]).is_none() {
            return Err(format!(
                "height code must be 0 (8 ft), 2 (8 ft 6 in), 4 (9 ft) or 5 (9 ft 6 in), got {:?}",
                chars[1]
            ));
        }
        Ok(Self(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn length(&self) -> ContainerLength {
        match self.0.as_bytes()[0] {
            b'2' => ContainerLength::Twenty,
            b'4' => ContainerLength::Forty,
            _ => ContainerLength::FortyFive,
        }
    }

    pub fn external_height_mm(&self) -> f64 {
        height_mm(self.0.as_bytes()[1] as char).unwrap_or(2_591.0)
    }
}

fn height_mm(code: char) -> Option<f64> {
    match code {
        '0' => Some(2_438.0),
        '2' => Some(2_591.0),
        '4' => Some(2_743.0),
        '5' => Some(2_896.0),
        _ => None,
    }
}

validated_string!(IsoTypeCode, String);

fn default_pixel_pitch() -> f64 {
    DEFAULT_PIXEL_PITCH_MM
}

/// chrono alone answers a missing offset, the commonest station mistake, with "premature end
/// of input"; say what is expected instead.
fn rfc3339<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<FixedOffset>, D::Error> {
    let raw = String::deserialize(deserializer)?;
    DateTime::parse_from_rfc3339(&raw).map_err(|e| {
        D::Error::custom(format!(
            "must be an RFC 3339 time with UTC offset such as 2024-05-14T09:31:07+02:00, got {raw:?} ({e})"
        ))
    })
}

/// One problem with one field, named by its JSON path (`declaration.items[2].hs_code`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Why a metadata document was refused: every problem found, each naming its field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ContractError {
    pub errors: Vec<FieldError>,
}

impl fmt::Display for ContractError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid scan metadata: ")?;
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", e.field, e.message)?;
        }
        Ok(())
    }
}

/// The field name used for errors about the document as a whole.
const DOCUMENT: &str = "(document)";

fn syntax_error(e: &serde_path_to_error::Error<serde_json::Error>) -> FieldError {
    let message = e.inner().to_string();
    let path = e.path().to_string();
    let parent = (path != ".").then_some(path);
    // serde blames a missing field on the object that lacks it; stations look for the field.
    let missing = message.strip_prefix("missing field `").and_then(|m| m.split('`').next());
    let field = match (parent, missing) {
        (Some(parent), Some(name)) => format!("{parent}.{name}"),
        (None, Some(name)) => name.to_owned(),
        (Some(parent), None) => parent,
        (None, None) => DOCUMENT.to_owned(),
    };
    FieldError { field, message }
}

impl ScanMetadata {
    /// Parses and validates a metadata document as a station sends it.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ContractError> {
        let document_error = |message: String| ContractError {
            errors: vec![FieldError { field: DOCUMENT.to_owned(), message }],
        };
        // serde also reads structs from arrays of their fields in order, which would turn a batch
        // `[{...}]` into an error about `[0]`; the contract is an object.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
            return Err(document_error("must be a JSON object, got an array".to_owned()));
        }
        let mut deserializer = serde_json::Deserializer::from_slice(bytes);
        let metadata: Self = serde_path_to_error::deserialize(&mut deserializer)
            .map_err(|e| ContractError { errors: vec![syntax_error(&e)] })?;
        // Without this, anything after the closing brace (a second document, junk) is ignored.
        deserializer.end().map_err(|e| document_error(e.to_string()))?;
        metadata.validate(Utc::now())?;
        Ok(metadata)
    }

    /// Checks what the types alone cannot; `now` bounds the capture time.
    pub fn validate(&self, now: DateTime<Utc>) -> Result<(), ContractError> {
        let mut check = Checker::default();
        check.that(self.format_version == FORMAT_VERSION, "format_version", || {
            format!("this service reads format version {FORMAT_VERSION}, got {}", self.format_version)
        });
        check.identifier("station_id", &self.station_id, 64);
        check.identifier("station_scan_id", &self.station_scan_id, 128);
        let earliest = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).single().unwrap_or(now);
        let latest = now + Duration::hours(MAX_CLOCK_SKEW_HOURS);
        check.that(
            (earliest..=latest).contains(&self.captured_at.with_timezone(&Utc)),
            "captured_at",
            || format!("{} is in the future or before 2000: check the station clock", self.captured_at),
        );
        check.that(
            self.pixel_pitch_mm.is_finite() && (1.0..=20.0).contains(&self.pixel_pitch_mm),
            "pixel_pitch_mm",
            || format!("must be between 1 and 20 mm, got {}", self.pixel_pitch_mm),
        );
        self.check_energies(&mut check);
        self.check_containers(&mut check);
        self.declaration.check(&mut check, &self.containers);
        check.finish()
    }

    pub fn is_dual_energy(&self) -> bool {
        self.energies_mev.low.is_some()
    }

    fn check_energies(&self, check: &mut Checker) {
        let high = self.energies_mev.high;
        let high_ok = high.is_finite() && (1.0..=15.0).contains(&high);
        check.that(high_ok, "energies_mev.high", || {
            format!("must be between 1 and 15 MeV, got {high}")
        });
        if let Some(low) = self.energies_mev.low {
            // Comparing against an invalid high energy would only repeat that error.
            let below_high = !high_ok || low < high;
            check.that(low.is_finite() && low >= 0.5 && below_high, "energies_mev.low", || {
                format!("must be at least 0.5 MeV and below the high energy ({high}), got {low}")
            });
        }
    }

    fn check_containers(&self, check: &mut Checker) {
        let n = self.containers.len();
        check.that((1..=2).contains(&n), "containers", || {
            format!("a scan holds one container or two 20 ft containers, got {n}")
        });
        if n == 2 {
            for (i, c) in self.containers.iter().enumerate() {
                check.that(c.iso_type.length() == ContainerLength::Twenty, &format!("containers[{i}].iso_type"), || {
                    format!("two containers in one scan must both be 20 ft, got {}", c.iso_type.as_str())
                });
            }
            check.that(self.containers[0].number != self.containers[1].number, "containers[1].number", || {
                format!("{} appears twice", self.containers[1].number)
            });
        }
    }
}

impl Declaration {
    /// Total declared gross weight of all items.
    pub fn gross_weight_kg(&self) -> f64 {
        // A fold from +0.0: `sum()` of no items would give -0.0.
        self.items.iter().map(|i| i.gross_weight_kg).fold(0.0, |a, b| a + b)
    }

    fn check(&self, check: &mut Checker, scanned: &[ContainerInfo]) {
        let containers = scanned.len();
        check.text("declaration.number", &self.number, 64);
        check.text("declaration.declarant", &self.declarant, 200);
        if self.empty {
            check.that(self.items.is_empty(), "declaration.items", || {
                format!("a declaration of an empty container lists no items, got {}", self.items.len())
            });
        } else {
            check.that(!self.items.is_empty(), "declaration.items", || {
                "must list at least one item, or set \"empty\": true".to_owned()
            });
        }
        check.that(self.items.len() <= MAX_ITEMS, "declaration.items", || {
            format!("at most {MAX_ITEMS} items, got {}", self.items.len())
        });
        for (i, item) in self.items.iter().enumerate().take(MAX_ITEMS) {
            let path = format!("declaration.items[{i}]");
            item.check(check, &path);
            if let Some(number) = &item.container {
                check.that(scanned.iter().any(|c| &c.number == number), &format!("{path}.container"), || {
                    let numbers: Vec<String> = scanned.iter().map(|c| c.number.to_string()).collect();
                    format!("{number} is not a container of this scan ({})", numbers.join(", "))
                });
            }
        }
        let total = self.gross_weight_kg();
        let limit = MAX_GROSS_KG_PER_CONTAINER * containers.max(1) as f64;
        check.that(!total.is_finite() || total <= limit, "declaration.items", || {
            format!("total gross weight {total:.0} kg exceeds what {containers} container(s) can carry ({limit:.0} kg)")
        });
    }
}

impl DeclaredItem {
    fn check(&self, check: &mut Checker, path: &str) {
        check.text(&format!("{path}.description"), &self.description, 500);
        check.text(&format!("{path}.unit"), &self.unit, 32);
        check.that(self.quantity.is_finite() && self.quantity > 0.0, &format!("{path}.quantity"), || {
            format!("must be a positive number, got {}", self.quantity)
        });
        let weight = self.gross_weight_kg;
        check.that(
            weight.is_finite() && weight > 0.0 && weight <= MAX_ITEM_GROSS_KG,
            &format!("{path}.gross_weight_kg"),
            || format!("must be a positive number of kilograms up to {MAX_ITEM_GROSS_KG}, got {weight}"),
        );
    }
}

/// Collects every failed check so that a station sees all its mistakes at once.
#[derive(Default)]
struct Checker {
    errors: Vec<FieldError>,
}

impl Checker {
    fn that(&mut self, ok: bool, field: &str, message: impl FnOnce() -> String) {
        if !ok {
            self.errors.push(FieldError { field: field.to_owned(), message: message() });
        }
    }

    /// Ids become part of file names and URLs: a safe character set only.
    fn identifier(&mut self, field: &str, value: &str, max_len: usize) {
        let safe = value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':'));
        self.that(!value.is_empty() && value.len() <= max_len && safe, field, || {
            format!("must be 1 to {max_len} characters of A-Z, a-z, 0-9, '.', '_', '-', ':', got {value:?}")
        });
    }

    fn text(&mut self, field: &str, value: &str, max_len: usize) {
        let len = value.chars().count();
        self.that(!value.trim().is_empty() && len <= max_len, field, || {
            format!("must be non-empty text of at most {max_len} characters, got {len} characters")
        });
    }

    fn finish(self) -> Result<(), ContractError> {
        if self.errors.is_empty() { Ok(()) } else { Err(ContractError { errors: self.errors }) }
    }
}
