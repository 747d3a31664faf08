//! The parties of a mediation (当事人) and their agents (代理人): identities checked with [`crate::codes`],
//! contacts with [`PhoneNumber`], documents referenced by their SHA-256.

use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::MediationError;
use crate::codes::{CodeError, CreditCode, IdNumber};
use crate::workorder::PhoneNumber;

/// Why an identity document number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// A resident ID number or a credit code that does not pass its check ([`CodeError::code`] says why).
    #[error(transparent)]
    Code(#[from] CodeError),
    #[error("the document number is empty")]
    EmptyNumber,
    /// [`IdType::Other`] needs the document named.
    #[error("name the kind of document")]
    MissingKind,
}

impl IdentityError {
    /// A stable snake_case code: the [`CodeError`] code for a checked number.
    pub fn code(&self) -> &'static str {
        match self {
            IdentityError::Code(e) => e.code(),
            IdentityError::EmptyNumber => "empty",
            IdentityError::MissingKind => "missing_kind",
        }
    }
}

/// The SHA-256 of an attached file (附件), 64 lowercase hexadecimal digits: the file itself is stored
/// content-addressed outside the core.
#[derive(Clone, PartialEq, Eq, Debug, Hash, PartialOrd, Ord)]
pub struct Sha256(String);

impl Sha256 {
    /// Parses 64 hexadecimal digits (upper case accepted, stored lower case).
    pub fn parse(s: &str) -> Result<Sha256, MediationError> {
        let s = s.trim();
        if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Sha256(s.to_ascii_lowercase()))
        } else {
            Err(MediationError::BadAttachment(s.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Sha256 {
    type Err = MediationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Sha256::parse(s)
    }
}

impl Serialize for Sha256 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Sha256 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Sha256::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The kind of identity document (证件类型).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[serde(rename_all = "snake_case")]
pub enum IdType {
    /// 居民身份证
    ResidentId,
    /// 统一社会信用代码 (a company or another organisation)
    CreditCode,
    /// 护照
    Passport,
    /// Another document (港澳居民来往内地通行证, 台湾居民来往大陆通行证, …), named in `id_kind`.
    Other,
}

/// A checked identity: a resident ID number and a credit code carry their check characters.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug, Hash)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Identity {
    ResidentId { number: IdNumber },
    CreditCode { number: CreditCode },
    Passport { number: String },
    Other { kind: String, number: String },
}

impl Identity {
    /// Checks a document number of a kind: ID numbers and credit codes with [`crate::codes`] (an ID number's
    /// birth date must not be after `today`), the others for being present.
    pub fn parse(id_type: IdType, number: &str, kind: Option<&str>, today: Date) -> Result<Identity, IdentityError> {
        let trimmed = number.trim();
        match id_type {
            IdType::ResidentId => Ok(Identity::ResidentId { number: IdNumber::parse_at(number, today)? }),
            IdType::CreditCode => Ok(Identity::CreditCode { number: CreditCode::parse(number)? }),
            _ if trimmed.is_empty() => Err(IdentityError::EmptyNumber),
            IdType::Passport => Ok(Identity::Passport { number: trimmed.to_string() }),
            IdType::Other => match kind.map(str::trim).filter(|k| !k.is_empty()) {
                None => Err(IdentityError::MissingKind),
                Some(kind) => Ok(Identity::Other { kind: kind.to_string(), number: trimmed.to_string() }),
            },
        }
    }

    /// A company or another organisation (identified by its credit code).
    pub fn is_organisation(&self) -> bool {
        matches!(self, Identity::CreditCode { .. })
    }
}

/// What an agent may do (授权范围): a general authorisation (一般授权) lets the agent take part; only a special
/// authorisation (特别授权) lets the agent agree to terms and sign the agreement for the party.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[serde(rename_all = "snake_case")]
pub enum AuthorisationScope {
    General,
    Special,
}

/// An agent (委托代理人) with the authorisation letter (授权委托书) on file.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct Agent {
    pub name: String,
    pub identity: Identity,
    pub contact: Option<PhoneNumber>,
    pub scope: AuthorisationScope,
    /// The SHA-256 of the authorisation letter.
    pub authorisation: Sha256,
}

/// A party (当事人) with the basic facts the agreement states (§29 (一)).
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct Party {
    /// The party's id within the case, given by the caller (`p1`, `p2`).
    pub id: String,
    pub name: String,
    pub identity: Identity,
    /// 住所 / 地址.
    pub address: String,
    pub contact: Option<PhoneNumber>,
    pub agent: Option<Agent>,
}

/// An agent as typed in.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct AgentInput {
    pub name: String,
    pub id_type: IdType,
    pub id_number: String,
    pub id_kind: Option<String>,
    pub contact: Option<String>,
    pub scope: AuthorisationScope,
    pub authorisation_sha256: String,
}

/// A party as typed in; [`Party::parse`] checks it.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct PartyInput {
    pub id: String,
    pub name: String,
    pub id_type: IdType,
    pub id_number: String,
    /// The document's name for [`IdType::Other`].
    pub id_kind: Option<String>,
    pub address: String,
    pub contact: Option<String>,
    pub agent: Option<AgentInput>,
}

fn required(text: &str, what: &'static str) -> Result<String, MediationError> {
    let t = text.trim();
    if t.is_empty() { Err(MediationError::EmptyText(what)) } else { Ok(t.to_string()) }
}

fn contact(party: &str, raw: Option<&str>) -> Result<Option<PhoneNumber>, MediationError> {
    match raw.map(str::trim).filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(c) => PhoneNumber::parse(c)
            .map(Some)
            .map_err(|error| MediationError::BadContact { party: party.to_string(), error }),
    }
}

impl Party {
    /// Checks a party as typed in on `today` (the date of the registration).
    pub fn parse(input: &PartyInput, today: Date) -> Result<Party, MediationError> {
        let id = required(&input.id, "party id")?;
        let bad_identity = |error| MediationError::BadIdentity { party: id.clone(), error };
        let identity =
            Identity::parse(input.id_type, &input.id_number, input.id_kind.as_deref(), today).map_err(bad_identity)?;
        let agent = match &input.agent {
            None => None,
            Some(a) => {
                let identity = Identity::parse(a.id_type, &a.id_number, a.id_kind.as_deref(), today)
                    .map_err(|error| MediationError::BadIdentity { party: format!("{id} (agent)"), error })?;
                Some(Agent {
                    name: required(&a.name, "agent name")?,
                    identity,
                    contact: contact(&id, a.contact.as_deref())?,
                    scope: a.scope,
                    authorisation: Sha256::parse(&a.authorisation_sha256)?,
                })
            }
        };
        Ok(Party {
            name: required(&input.name, "party name")?,
            identity,
            address: required(&input.address, "party address")?,
            contact: contact(&id, input.contact.as_deref())?,
            agent,
            id,
        })
    }

    /// Whether the party's agent may sign for it (a special authorisation).
    pub fn agent_may_sign(&self) -> bool {
        self.agent.as_ref().is_some_and(|a| a.scope == AuthorisationScope::Special)
    }
}
