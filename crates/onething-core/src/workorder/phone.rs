//! Telephone numbers (联系电话) as callers give them: `138-0635-1234`, `+86 138 0635 1234`, `(0635) 8321234`,
//! `０６３５－８３２１２３４`. Parsed once into [`PhoneNumber`]: digits only, a mainland mobile number (11 digits,
//! `1[3-9]…`) or a landline with its area code (区号: `010`, `02x`, or four digits `0xxx`; a local number of
//! 7 or 8 digits not starting with 0 or 1).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Mobile (手机) or landline (固定电话).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[serde(rename_all = "snake_case")]
pub enum PhoneKind {
    Mobile,
    Landline,
}

/// A validated mainland telephone number, stored as its digits (`13806351234`, `06358321234`).
#[derive(Clone, PartialEq, Eq, Debug, Hash, PartialOrd, Ord)]
pub struct PhoneNumber(String);

/// Why a telephone number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("the telephone number is empty")]
    Empty,
    /// A character other than digits, spaces, `-`, `.`, parentheses or a leading `+`.
    #[error("the telephone number contains {found:?}: write digits only, e.g. 138-0635-1234")]
    BadCharacter { found: char },
    /// Neither an 11-digit mobile number nor a landline number with its area code.
    #[error(
        "{digits} is neither a mainland mobile number (11 digits starting 13–19) nor a landline number with \
         its area code (e.g. 0635-8321234)"
    )]
    NotMobileOrLandline { digits: String },
}

impl PhoneError {
    pub fn code(&self) -> &'static str {
        match self {
            PhoneError::Empty => "empty",
            PhoneError::BadCharacter { .. } => "bad_character",
            PhoneError::NotMobileOrLandline { .. } => "not_mobile_or_landline",
        }
    }
}

/// A full-width digit or sign (as typed with a Chinese input method) as its ASCII counterpart.
fn fold(c: char) -> char {
    match c {
        '０'..='９' => char::from_u32(u32::from(c) - u32::from('０') + u32::from('0')).unwrap_or(c),
        '－' | '—' | '–' => '-',
        '＋' => '+',
        '（' => '(',
        '）' => ')',
        '　' => ' ',
        other => other,
    }
}

impl PhoneNumber {
    /// Parses and normalises a number; see the module documentation for what is accepted.
    pub fn parse(input: &str) -> Result<PhoneNumber, PhoneError> {
        let folded: String = input.trim().chars().map(fold).collect();
        let folded = folded.trim();
        if folded.is_empty() {
            return Err(PhoneError::Empty);
        }
        let (international, rest) = match folded.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, folded),
        };
        let mut digits = String::new();
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                found => return Err(PhoneError::BadCharacter { found }),
            }
        }
        if digits.is_empty() {
            return Err(PhoneError::Empty);
        }
        // The country code: `+86…`, `0086…`, or `86` before a mobile number (13 digits in all).
        let not_valid = || PhoneError::NotMobileOrLandline { digits: digits.clone() };
        let (with_country_code, national) = if international {
            (true, digits.strip_prefix("86").ok_or_else(not_valid)?)
        } else if let Some(rest) = digits.strip_prefix("0086") {
            (true, rest)
        } else if digits.len() == 13 && digits.starts_with("861") {
            (true, digits.get(2..).unwrap_or_default())
        } else {
            (false, digits.as_str())
        };
        // After a country code a landline drops its trunk 0 (+86 635 8321234, +86 10 8765 4321).
        let national = if with_country_code && !is_mobile(national) && !national.starts_with('0') {
            format!("0{national}")
        } else {
            national.to_string()
        };
        if is_mobile(&national) || is_landline(&national) {
            return Ok(PhoneNumber(national));
        }
        Err(not_valid())
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn kind(&self) -> PhoneKind {
        if is_mobile(&self.0) { PhoneKind::Mobile } else { PhoneKind::Landline }
    }

    /// The area code (区号) of a landline, with its 0 (`0635`, `010`).
    pub fn area_code(&self) -> Option<&str> {
        match self.kind() {
            PhoneKind::Mobile => None,
            PhoneKind::Landline => self.0.get(..area_code_len(&self.0)),
        }
    }
}

fn is_mobile(d: &str) -> bool {
    let b = d.as_bytes();
    b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) && b.iter().all(u8::is_ascii_digit)
}

/// `010` and `020`–`029` are three digits, every other area code four.
fn area_code_len(d: &str) -> usize {
    if d.starts_with("010") || d.starts_with("02") { 3 } else { 4 }
}

fn is_landline(d: &str) -> bool {
    let b = d.as_bytes();
    if b.len() < 3 || b[0] != b'0' || b[1] == b'0' || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    if b[1] == b'1' && b[2] != b'0' {
        return false;
    }
    let local = &b[area_code_len(d).min(b.len())..];
    (7..=8).contains(&local.len()) && !matches!(local.first(), Some(b'0' | b'1'))
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for PhoneNumber {
    type Err = PhoneError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PhoneNumber::parse(s)
    }
}

impl Serialize for PhoneNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PhoneNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        PhoneNumber::parse(&s).map_err(serde::de::Error::custom)
    }
}
