//! Electronic licences (电子证照) of onething: what a department's approval issues, signed so that anyone can
//! verify it offline with the issuer's published keys.
//!
//! - [`record`]: the licence record ([`Licence`]): identifier (GB/T 36904), type, number, holder, issuer, dates,
//!   status, surface fields (照面信息), the case and task it came from, what it supersedes.
//! - [`credential`]: the licence as a W3C Verifiable Credential 2.0 with an `eddsa-jcs-2022` Data Integrity proof
//!   ([`integrity`] implements the cryptosuite on any JSON document).
//! - [`keys`]: the issuer's Ed25519 keys with rotation, PKCS#8 PEM, and the published key document (Multikey).
//! - [`status`]: the W3C Bitstring Status List (revocation) and its signed credential.
//! - [`qr`]: the compact signed payload of the printed QR code.
//! - [`verify`](mod@verify): offline verification of a credential or a QR payload, with readable reasons.
//! - [`layout`] and [`pdf`]: the printable licence, laid out per licence type as data; [`font`] is the one
//!   place that touches the file system (finding a CJK font).
//! - `gm` (feature `sm2`): an optional second signature with SM2/SM3.
//!
//! No function reads the clock: every instant is a parameter. Randomness is used only to generate keys.

pub mod credential;
pub mod font;
#[cfg(feature = "sm2")]
pub mod gm;
pub mod integrity;
pub mod keys;
pub mod layout;
mod multibase;
pub mod pdf;
pub mod qr;
pub mod record;
pub mod status;
pub mod verify;

pub use credential::{Credential, IssueError, issue_credential};
pub use keys::{IssuerKey, IssuerKeys, KeyError, PublicKey, PublicKeys};
pub use layout::{FieldSource, Layout, LayoutField};
pub use pdf::{PdfError, render_pdf};
pub use qr::{QrPayload, qr_payload};
pub use record::{Holder, HolderCode, Issuer, Licence, LicenceDraft, LicenceError, LicenceStatus};
pub use status::{StatusEntry, StatusList, StatusListError};
pub use verify::{StatusCheck, TamperedPart, Verified, VerifiedFrom, VerifiedLicence, VerifyError, verify};
