//! First step of a scan's journey: the contract a scanner station speaks. Metadata arrives as
//! JSON beside the images; everything here is parsed into types that cannot hold invalid values.

/// Conversions of a string newtype whose `parse` validates: serde reads it through `TryFrom`
/// and writes it through `Into<String>`.
macro_rules! validated_string {
    ($name:ident, $error:ty) => {
        impl TryFrom<String> for $name {
            type Error = $error;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

mod container_number;
mod hs_code;
pub mod images;
pub mod intake;
mod metadata;

pub use container_number::{ContainerNumber, ContainerNumberError};
pub use hs_code::{HsCode, HsCodeError};
pub use metadata::{
    ContainerInfo, ContainerLength, ContractError, Declaration, DeclaredItem, Energies,
    FieldError, IsoTypeCode, ScanMetadata, FORMAT_VERSION, MAX_GROSS_KG_PER_CONTAINER,
};
