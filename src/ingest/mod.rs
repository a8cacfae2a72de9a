//! First step of a scan's journey: the contract a scanner station speaks. Metadata arrives as
//! JSON beside the images; everything here is parsed into types that cannot hold invalid values.

mod container_number;
mod hs_code;
mod metadata;

pub use container_number::{ContainerNumber, ContainerNumberError};
pub use hs_code::{HsCode, HsCodeError};
pub use metadata::{
    ContainerInfo, ContainerLength, ContractError, Declaration, DeclaredItem, Energies,
    FieldError, IsoTypeCode, ScanMetadata, FORMAT_VERSION,
};
