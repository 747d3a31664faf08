//! National code checks: the unified social credit code (统一社会信用代码, GB 32100-2015), the resident ID
//! number (居民身份证号码, GB 11643-1999) and the electronic-licence identifier (电子证照标识, GB/T 36904-2018).
//!
//! "Parse, don't validate": each code is a type that can only be built by a successful parse, so a value of
//! [`CreditCode`], [`IdNumber`] or [`LicenceId`] is always well-formed and carries a correct check character.
//! Parsing never panics, whatever the input (non-ASCII text included); every mistake is a [`CodeError`] whose
//! message a window clerk can act on and whose [`CodeError::code`] is a stable snake_case code for the web layer.
//!
//! All three parsers trim surrounding whitespace (Unicode whitespace, so an ideographic space U+3000 too) and
//! accept lowercase ASCII letters by upper-casing them; the stored form is always the canonical upper-case one.
//! Full-width characters (e.g. `９`) are not folded: they are reported as bad characters.

use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

// ---------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------

/// Which code, or which part of an electronic-licence identifier, an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodePart {
    /// A unified social credit code (统一社会信用代码).
    CreditCode,
    /// A resident ID number (居民身份证号码).
    IdNumber,
    /// An electronic-licence identifier (电子证照标识) as a whole.
    LicenceId,
    /// The licence type code (证照类型代码) segment of a licence identifier: a credit code plus 3 digits.
    LicenceTypeCode,
    /// The issuing authority (颁发机构代码) segment of a licence identifier: a credit code.
    LicenceIssuer,
    /// The licence number (证照编号) segment of a licence identifier.
    LicenceNumber,
    /// The 3-digit version (版本号) segment of a licence identifier.
    LicenceVersion,
    /// The check character (校验位) segment of a licence identifier.
    LicenceCheck,
}

impl CodePart {
    /// A stable snake_case name of the part, for the web layer.
    pub fn code(&self) -> &'static str {
        match self {
            CodePart::CreditCode => "credit_code",
            CodePart::IdNumber => "id_number",
            CodePart::LicenceId => "licence_id",
            CodePart::LicenceTypeCode => "licence_type_code",
            CodePart::LicenceIssuer => "licence_issuer",
            CodePart::LicenceNumber => "licence_number",
            CodePart::LicenceVersion => "licence_version",
            CodePart::LicenceCheck => "licence_check",
        }
    }
}

impl fmt::Display for CodePart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CodePart::CreditCode => "unified social credit code",
            CodePart::IdNumber => "resident ID number",
            CodePart::LicenceId => "electronic licence identifier",
            CodePart::LicenceTypeCode => "licence type code in the electronic licence identifier",
            CodePart::LicenceIssuer => "issuer code in the electronic licence identifier",
            CodePart::LicenceNumber => "licence number in the electronic licence identifier",
            CodePart::LicenceVersion => "version in the electronic licence identifier",
            CodePart::LicenceCheck => "check character of the electronic licence identifier",
        })
    }
}

/// Why a code did not parse. Positions are 1-based character positions within the named [`CodePart`], counted
/// after surrounding whitespace is trimmed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// Nothing was entered (or only whitespace).
    #[error("the {part} is empty")]
    Empty { part: CodePart },
    /// The code has the wrong number of characters.
    #[error("the {part} must have {expected} characters, but {found} were entered")]
    WrongLength { part: CodePart, expected: usize, found: usize },
    /// A character is not allowed at its position.
    #[error("character {position} of the {part} is {found:?}, but it must be {expected}")]
    BadCharacter { part: CodePart, position: usize, found: char, expected: &'static str },
    /// The check character does not match the other characters: almost always a typing error.
    #[error(
        "the {part} does not add up: its check character is {found:?} but the other characters require \
         {expected:?}; there is probably a typing error, please compare it with the document"
    )]
    CheckCharacter { part: CodePart, expected: char, found: char },
    /// The birth date (characters 7–14, YYYYMMDD) of an ID number is not a possible date of birth.
    #[error("the date of birth {date} (characters 7–14) in the resident ID number is not valid: {reason}")]
    BadBirthDate { date: String, reason: &'static str },
    /// The birth date of an ID number is after the day of the check.
    #[error("the date of birth {date} in the resident ID number is in the future (today is {today})")]
    FutureBirthDate { date: Date, today: Date },
    /// The address code does not begin with a province-level region code of GB/T 2260.
    #[error("the {part} begins with {prefix}, which is not a province-level region code; check the first two digits")]
    UnknownRegion { part: CodePart, prefix: String },
    /// The code is not laid out as its standard requires (missing root, wrong number of segments, …).
    #[error("the {part} is not laid out correctly: {detail}")]
    BadStructure { part: CodePart, detail: String },
}

impl CodeError {
    /// A stable snake_case code for the kind of mistake, for the web layer (the English message may change).
    pub fn code(&self) -> &'static str {
        match self {
            CodeError::Empty { .. } => "empty",
            CodeError::WrongLength { .. } => "wrong_length",
            CodeError::BadCharacter { .. } => "bad_character",
            CodeError::CheckCharacter { .. } => "check_character_mismatch",
            CodeError::BadBirthDate { .. } => "bad_birth_date",
            CodeError::FutureBirthDate { .. } => "future_birth_date",
            CodeError::UnknownRegion { .. } => "unknown_region",
            CodeError::BadStructure { .. } => "bad_structure",
        }
    }

    /// The code or licence-identifier segment the error is about, when there is one.
    pub fn part(&self) -> Option<CodePart> {
        match self {
            CodeError::Empty { part }
            | CodeError::WrongLength { part, .. }
            | CodeError::BadCharacter { part, .. }
            | CodeError::CheckCharacter { part, .. }
            | CodeError::UnknownRegion { part, .. }
            | CodeError::BadStructure { part, .. } => Some(*part),
            CodeError::BadBirthDate { .. } | CodeError::FutureBirthDate { .. } => Some(CodePart::IdNumber),
        }
    }
}

/// Trims surrounding whitespace and upper-cases ASCII letters only (so character counts never change).
fn normalise(s: &str) -> String {
    s.trim().to_ascii_uppercase()
}

/// Checks the exact length in characters (not bytes), reporting an empty input as [`CodeError::Empty`].
fn exact_chars(s: &str, part: CodePart, expected: usize) -> Result<Vec<char>, CodeError> {
    let chars: Vec<char> = s.chars().collect();
    if chars.is_empty() {
        return Err(CodeError::Empty { part });
    }
    if chars.len() != expected {
        return Err(CodeError::WrongLength { part, expected, found: chars.len() });
    }
    Ok(chars)
}

// ---------------------------------------------------------------------------------------------------------
// 统一社会信用代码
// ---------------------------------------------------------------------------------------------------------

/// The 31 characters of GB 32100 in value order (I, O, S, V and Z are not used).
const USCC_CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// `3^(i-1) mod 31` for positions 1..=17.
const USCC_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
const USCC_LEN: usize = 18;
const USCC_ALNUM: &str = "a digit or a capital letter other than I, O, S, V and Z";
const USCC_REGION_DIGIT: &str = "a digit (characters 3–8 are the region code)";

fn uscc_value(c: char) -> Option<u32> {
    USCC_CHARSET.iter().position(|&b| char::from(b) == c).and_then(|i| u32::try_from(i).ok())
}

/// Value of a 0–9 digit or an A–Z letter (A = 10 … Z = 35), the charset of GB 11714 and of MOD 37,36.
fn alnum36_value(c: char) -> Option<u32> {
    match c {
        '0'..='9' | 'A'..='Z' => c.to_digit(36),
        _ => None,
    }
}

/// Checks the positional character rules of a credit code (`[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{n}`)
/// on `chars` (17 or 18 of them) and returns their charset values.
fn uscc_values(chars: &[char], part: CodePart) -> Result<Vec<u32>, CodeError> {
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let value =
                if (2..8).contains(&i) { c.is_ascii_digit().then(|| uscc_value(c)).flatten() } else { uscc_value(c) };
            value.ok_or(CodeError::BadCharacter {
                part,
                position: i + 1,
                found: c,
                expected: if (2..8).contains(&i) { USCC_REGION_DIGIT } else { USCC_ALNUM },
            })
        })
        .collect()
}

/// The GB 32100 check character for 17 charset values (`(31 − Σ Ci·Wi mod 31) mod 31`).
fn uscc_check(values: &[u32]) -> char {
    let sum: u32 = values.iter().zip(USCC_WEIGHTS).map(|(v, w)| v * w).sum();
    let check = (31 - sum % 31) % 31;
    USCC_CHARSET.get(check as usize).map_or('0', |&b| char::from(b))
}

/// Validates an already normalised credit code within `part`; returns it canonical.
fn parse_uscc(s: &str, part: CodePart) -> Result<String, CodeError> {
    let chars = exact_chars(s, part, USCC_LEN)?;
    let values = uscc_values(&chars, part)?;
    let expected = uscc_check(&values[..17]);
    let found = chars[17];
    if expected != found {
        return Err(CodeError::CheckCharacter { part, expected, found });
    }
    Ok(chars.iter().collect())
}

/// The GB 32100 check character (character 18) of the first 17 characters of a unified social credit code
/// (统一社会信用代码). The input follows the same rules as [`CreditCode::parse`]: trimmed, lowercase accepted,
/// characters 3–8 digits and the others from `0-9A-HJ-NPQRTUWXY`.
pub fn credit_code_check_char(first17: &str) -> Result<char, CodeError> {
    let s = normalise(first17);
    let chars = exact_chars(&s, CodePart::CreditCode, USCC_LEN - 1)?;
    let values = uscc_values(&chars, CodePart::CreditCode)?;
    Ok(uscc_check(&values))
}

/// 统一社会信用代码: an 18-character unified social credit code (GB 32100-2015), checksum verified.
///
/// Layout: character 1 is the registration authority (登记管理部门, e.g. `9` market regulation), 2 the kind of
/// organisation, 3–8 the GB/T 2260 region code of the registering office, 9–17 the organisation code (主体标识码,
/// GB 11714) and 18 the check character. Characters come from `0-9A-HJ-NPQRTUWXY` (no I, O, S, V, Z), with
/// 3–8 digits only. [`CreditCode::parse`] trims surrounding whitespace and accepts lowercase letters by
/// upper-casing them. Characters 1 and 2 are not checked against the code tables, and the GB 11714 inner check
/// of characters 9–17 is informational only ([`CreditCode::inner_check_ok`]), as legacy codes may fail it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CreditCode(String);

impl CreditCode {
    /// Parses a credit code, checking length, the character at each position and the check character.
    pub fn parse(s: &str) -> Result<CreditCode, CodeError> {
        parse_uscc(&normalise(s), CodePart::CreditCode).map(CreditCode)
    }

    /// The canonical (upper-case) 18 characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Characters 3–8: the GB/T 2260 region code (登记管理机关行政区划码) of the registering office.
    pub fn region(&self) -> &str {
        self.0.get(2..8).unwrap_or_default()
    }

    /// Character 1: the registration authority (登记管理部门代码), e.g. `1` 机构编制, `5` 民政, `9` 市场监管.
    pub fn registration_authority(&self) -> char {
        self.0.chars().next().unwrap_or('0')
    }

    /// Characters 9–17: the organisation code (主体标识码 / 组织机构代码, GB 11714), its check character last.
    pub fn organisation_code(&self) -> &str {
        self.0.get(8..17).unwrap_or_default()
    }

    /// Whether characters 9–17 pass the GB 11714 organisation-code check (weights 3, 7, 9, 10, 5, 8, 4, 2 on
    /// characters 9–16, `11 − Σ mod 11` with 10 → `X` and 11 → `0`). Informational only: the code is valid
    /// without it, but a failure is worth a second look on data imported from old registries.
    pub fn inner_check_ok(&self) -> bool {
        const WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
        let chars: Vec<char> = self.organisation_code().chars().collect();
        let Some((&last, body)) = chars.split_last() else {
            return false;
        };
        let mut sum = 0;
        for (&c, w) in body.iter().zip(WEIGHTS) {
            match alnum36_value(c) {
                Some(v) => sum += v * w,
                None => return false,
            }
        }
        let expected = match 11 - sum % 11 {
            10 => 'X',
            11 => '0',
            d => char::from_digit(d, 10).unwrap_or('?'),
        };
        last == expected
    }
}

// ---------------------------------------------------------------------------------------------------------
// 居民身份证号码
// ---------------------------------------------------------------------------------------------------------

/// `2^(18-i) mod 11` for positions 1..=17 (ISO 7064 MOD 11-2).
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character indexed by `S mod 11`.
const ID_CHECK: &[u8; 11] = b"10X98765432";
const ID_LEN: usize = 18;

/// Province-level prefixes of GB/T 2260 (the first two digits of an address code): 11–15 North, 21–23
/// North-east, 31–37 East, 41–46 Central-South, 50–54 South-west, 61–65 North-west, 71 Taiwan, 81 Hong Kong,
/// 82 Macao, plus 83, used by the residence permits of Taiwan residents (台湾居民居住证).
const PROVINCE_PREFIXES: [&str; 35] = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43", "44",
    "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82", "83",
];

/// 居民身份证号码: an 18-character resident ID number (GB 11643-1999), checksum verified.
///
/// Layout: characters 1–6 the address code (地址码, GB/T 2260; only its province-level prefix is checked),
/// 7–14 the date of birth YYYYMMDD, 15–17 the sequence code (顺序码, odd for men, even for women) and 18 the
/// ISO 7064 MOD 11-2 check character (a digit or `X`; a lowercase `x` is accepted and stored as `X`).
/// Surrounding whitespace is trimmed. The old 15-digit numbers are not accepted.
///
/// The birth date must be a real date no earlier than [`IdNumber::EARLIEST_BIRTH_DATE`]. Whether it is in the
/// future depends on today's date, which the core does not know: [`IdNumber::parse_at`] checks it,
/// [`IdNumber::parse`] (and `FromStr`, `Deserialize`) does not.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdNumber {
    code: String,
    birth_date: Date,
}

impl IdNumber {
    /// The earliest birth date accepted. GB 11643-1999's own worked example `440524188001010014` is born on
    /// 1880-01-01, so the floor sits below it.
    pub const EARLIEST_BIRTH_DATE: Date = jiff::civil::date(1800, 1, 1);

    /// Parses an ID number: length, digits, province prefix, a real birth date and the check character. Does
    /// not check that the birth date is in the past; use [`IdNumber::parse_at`] for that.
    pub fn parse(s: &str) -> Result<IdNumber, CodeError> {
        let part = CodePart::IdNumber;
        let s = normalise(s);
        let chars = exact_chars(&s, part, ID_LEN)?;
        let mut sum = 0;
        for (i, &c) in chars.iter().enumerate() {
            if i < 17 {
                let Some(d) = c.to_digit(10) else {
                    return Err(CodeError::BadCharacter { part, position: i + 1, found: c, expected: "a digit" });
                };
                sum += d * ID_WEIGHTS[i];
            } else if !(c.is_ascii_digit() || c == 'X') {
                return Err(CodeError::BadCharacter { part, position: i + 1, found: c, expected: "a digit or X" });
            }
        }
        // All 18 characters are ASCII from here on, so byte slicing is safe.
        let prefix = s.get(0..2).unwrap_or_default();
        if !PROVINCE_PREFIXES.contains(&prefix) {
            return Err(CodeError::UnknownRegion { part, prefix: prefix.to_owned() });
        }
        let birth_date = birth_date_of(s.get(6..14).unwrap_or_default())?;
        let expected = ID_CHECK.get((sum % 11) as usize).map_or('?', |&b| char::from(b));
        let found = chars[17];
        if expected != found {
            return Err(CodeError::CheckCharacter { part, expected, found });
        }
        Ok(IdNumber { code: s, birth_date })
    }

    /// Like [`IdNumber::parse`], and also rejects a birth date after `today`
    /// ([`CodeError::FutureBirthDate`]).
    pub fn parse_at(s: &str, today: Date) -> Result<IdNumber, CodeError> {
        let id = IdNumber::parse(s)?;
        if id.birth_date > today {
            return Err(CodeError::FutureBirthDate { date: id.birth_date, today });
        }
        Ok(id)
    }

    /// The canonical 18 characters (a final `x` is upper-cased).
    pub fn as_str(&self) -> &str {
        &self.code
    }

    /// The date of birth (出生日期码, characters 7–14).
    pub fn birth_date(&self) -> Date {
        self.birth_date
    }

    /// Whether the holder is male: the sequence code (characters 15–17) is odd for men, even for women.
    pub fn is_male(&self) -> bool {
        self.code.as_bytes().get(16).is_some_and(|b| b % 2 == 1)
    }

    /// Characters 1–6: the GB/T 2260 address code (地址码) of the place of first registration.
    pub fn region(&self) -> &str {
        self.code.get(0..6).unwrap_or_default()
    }
}

/// Parses the 8 ASCII digits YYYYMMDD of an ID number into a date no earlier than the floor.
fn birth_date_of(digits: &str) -> Result<Date, CodeError> {
    let bad = |reason| CodeError::BadBirthDate { date: digits.to_owned(), reason };
    let field = |range: std::ops::Range<usize>| digits.get(range).and_then(|f| f.parse::<i16>().ok());
    let (Some(year), Some(month), Some(day)) = (field(0..4), field(4..6), field(6..8)) else {
        return Err(bad("it is not 8 digits"));
    };
    let (Ok(month), Ok(day)) = (i8::try_from(month), i8::try_from(day)) else {
        return Err(bad("there is no such date"));
    };
    let date = Date::new(year, month, day).map_err(|_| bad("there is no such date"))?;
    if date < IdNumber::EARLIEST_BIRTH_DATE {
        return Err(bad("it is before 1800-01-01"));
    }
    Ok(date)
}

// ---------------------------------------------------------------------------------------------------------
// 电子证照标识
// ---------------------------------------------------------------------------------------------------------

/// The fixed OID root of every national electronic-licence identifier.
const LICENCE_ROOT: &str = "1.2.156.3005.2.";
const LICENCE_TYPE_LEN: usize = USCC_LEN + 3;
const LICENCE_NUMBER_MAX: usize = 40;
const LICENCE_VERSION_LEN: usize = 3;
const ALNUM36: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const ALNUM36_EXPECTED: &str = "a digit or a capital letter A–Z";

/// The ISO/IEC 7064 hybrid MOD 37,36 check character of a sequence of 0–35 values.
fn mod37_36_check(values: impl IntoIterator<Item = u32>) -> char {
    let mut p = 36;
    for v in values {
        p = (p + v) % 36;
        if p == 0 {
            p = 36;
        }
        p = (2 * p) % 37;
    }
    let check = (37 - p) % 36;
    ALNUM36.get(check as usize).map_or('0', |&b| char::from(b))
}

/// The GB/T 36904 check character (ISO/IEC 7064 hybrid MOD 37,36, charset `0-9A-Z`) of `body`: the
/// concatenation of the four middle segments of a licence identifier (type code, issuer, number, version).
/// Dots in `body` are ignored, so the dotted form `{type}.{issuer}.{number}.{version}` gives the same result;
/// surrounding whitespace is trimmed and lowercase letters are accepted.
pub fn licence_check_char(body: &str) -> Result<char, CodeError> {
    let part = CodePart::LicenceId;
    let s = normalise(body);
    let mut values = Vec::with_capacity(s.len());
    for (i, c) in s.chars().enumerate() {
        if c == '.' {
            continue;
        }
        match alnum36_value(c) {
            Some(v) => values.push(v),
            None => {
                return Err(CodeError::BadCharacter { part, position: i + 1, found: c, expected: ALNUM36_EXPECTED });
            }
        }
    }
    if values.is_empty() {
        return Err(CodeError::Empty { part });
    }
    Ok(mod37_36_check(values))
}

/// 电子证照标识: a national electronic-licence identifier (GB/T 36904-2018), checksum verified.
///
/// Form: `1.2.156.3005.2.{type code}.{issuer}.{number}.{version}.{check}`, e.g.
/// `1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.002.S`, where
///
/// - the type code (证照类型代码) is the credit code of the body that defines the licence type followed by a
///   3-digit type number (21 characters);
/// - the issuer (颁发机构代码) is the issuing authority's credit code;
/// - the number (证照编号) is 1–40 characters of `0-9A-Z`;
/// - the version (版本号) is 3 digits (`000`–`999`);
/// - the check character is the ISO/IEC 7064 hybrid MOD 37,36 check of the four middle segments with the dots
///   removed ([`licence_check_char`]).
///
/// Both embedded credit codes are fully checked, check characters included. Surrounding whitespace is trimmed
/// and lowercase letters are accepted by upper-casing them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LicenceId {
    text: String,
    type_code: String,
    issuer: CreditCode,
    number: String,
    version: u16,
}

/// Validates a licence type code (normalised): a credit code plus 3 digits.
fn parse_licence_type(s: &str) -> Result<String, CodeError> {
    let part = CodePart::LicenceTypeCode;
    let chars = exact_chars(s, part, LICENCE_TYPE_LEN)?;
    let (uscc, type_number) = chars.split_at(USCC_LEN);
    let values = uscc_values(uscc, part)?;
    for (i, &c) in type_number.iter().enumerate() {
        if !c.is_ascii_digit() {
            return Err(CodeError::BadCharacter {
                part,
                position: USCC_LEN + i + 1,
                found: c,
                expected: "a digit (the last 3 characters are the type number)",
            });
        }
    }
    let expected = uscc_check(&values[..17]);
    let found = uscc[17];
    if expected != found {
        return Err(CodeError::CheckCharacter { part, expected, found });
    }
    Ok(s.to_owned())
}

/// Validates a licence number (normalised): 1–40 characters of `0-9A-Z`.
fn parse_licence_number(s: &str) -> Result<String, CodeError> {
    let part = CodePart::LicenceNumber;
    let mut count = 0;
    for (i, c) in s.chars().enumerate() {
        if alnum36_value(c).is_none() {
            return Err(CodeError::BadCharacter { part, position: i + 1, found: c, expected: ALNUM36_EXPECTED });
        }
        count += 1;
    }
    if count == 0 {
        return Err(CodeError::Empty { part });
    }
    if count > LICENCE_NUMBER_MAX {
        return Err(CodeError::BadStructure {
            part,
            detail: format!("it has {count} characters, at most {LICENCE_NUMBER_MAX} are allowed"),
        });
    }
    Ok(s.to_owned())
}

/// Parses the 3-digit version segment.
fn parse_licence_version(s: &str) -> Result<u16, CodeError> {
    let part = CodePart::LicenceVersion;
    let chars = exact_chars(s, part, LICENCE_VERSION_LEN)?;
    let mut version = 0;
    for (i, &c) in chars.iter().enumerate() {
        let Some(d) = c.to_digit(10) else {
            return Err(CodeError::BadCharacter { part, position: i + 1, found: c, expected: "a digit" });
        };
        version = version * 10 + d as u16;
    }
    Ok(version)
}

impl LicenceId {
    /// Parses a licence identifier: the root, the five segments after it, each segment's rules (the embedded
    /// credit codes with their check characters) and the MOD 37,36 check character.
    pub fn parse(s: &str) -> Result<LicenceId, CodeError> {
        let s = normalise(s);
        if s.is_empty() {
            return Err(CodeError::Empty { part: CodePart::LicenceId });
        }
        let Some(rest) = s.strip_prefix(LICENCE_ROOT) else {
            return Err(CodeError::BadStructure {
                part: CodePart::LicenceId,
                detail: format!("it must begin with {LICENCE_ROOT}"),
            });
        };
        let segments: Vec<&str> = rest.split('.').collect();
        let &[type_code, issuer, number, version, check] = segments.as_slice() else {
            return Err(CodeError::BadStructure {
                part: CodePart::LicenceId,
                detail: format!(
                    "after {LICENCE_ROOT} it must have 5 parts separated by dots (type code, issuer code, \
                     licence number, version, check character), but it has {}",
                    segments.len()
                ),
            });
        };
        let id = LicenceId::build(type_code, issuer, number, version)?;
        let check_chars = exact_chars(check, CodePart::LicenceCheck, 1)?;
        let found = check_chars[0];
        if alnum36_value(found).is_none() {
            return Err(CodeError::BadCharacter {
                part: CodePart::LicenceCheck,
                position: 1,
                found,
                expected: ALNUM36_EXPECTED,
            });
        }
        let expected = id.check_char();
        if expected != found {
            return Err(CodeError::CheckCharacter { part: CodePart::LicenceId, expected, found });
        }
        Ok(id)
    }

    /// Builds an identifier from its parts and computes its check character. `type_code` is 21 characters (a
    /// credit code plus a 3-digit type number), `number` 1–40 characters of `0-9A-Z` (lowercase accepted) and
    /// `version` 0–999 (written with 3 digits).
    pub fn new(type_code: &str, issuer: &CreditCode, number: &str, version: u16) -> Result<LicenceId, CodeError> {
        if version > 999 {
            return Err(CodeError::BadStructure {
                part: CodePart::LicenceVersion,
                detail: format!("it is {version}, but it must be between 0 and 999"),
            });
        }
        let type_code = type_code.to_ascii_uppercase();
        let number = number.to_ascii_uppercase();
        LicenceId::build(&type_code, issuer.as_str(), &number, &format!("{version:03}"))
    }

    /// Validates the four normalised middle segments and assembles the identifier with its check character.
    fn build(type_code: &str, issuer: &str, number: &str, version: &str) -> Result<LicenceId, CodeError> {
        let type_code = parse_licence_type(type_code)?;
        let issuer = CreditCode(parse_uscc(issuer, CodePart::LicenceIssuer)?);
        let number = parse_licence_number(number)?;
        let version_value = parse_licence_version(version)?;
        let check = mod37_36_check(
            [type_code.as_str(), issuer.as_str(), number.as_str(), version]
                .into_iter()
                .flat_map(str::chars)
                .filter_map(alnum36_value),
        );
        let text = format!("{LICENCE_ROOT}{type_code}.{}.{number}.{version}.{check}", issuer.as_str());
        Ok(LicenceId { text, type_code, issuer, number, version: version_value })
    }

    /// The canonical identifier, check character included.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The 21-character licence type code (证照类型代码): the defining body's credit code and a 3-digit number.
    pub fn type_code(&self) -> &str {
        &self.type_code
    }

    /// The issuing authority's credit code (颁发机构代码).
    pub fn issuer(&self) -> &CreditCode {
        &self.issuer
    }

    /// The licence number (证照编号).
    pub fn number(&self) -> &str {
        &self.number
    }

    /// The version (版本号), written with 3 digits in the identifier.
    pub fn version(&self) -> u16 {
        self.version
    }

    /// The check character (the last character of the identifier).
    pub fn check_char(&self) -> char {
        self.text.chars().next_back().unwrap_or('0')
    }
}

// ---------------------------------------------------------------------------------------------------------
// Display, FromStr, AsRef<str>, serde (as strings, validated on deserialize)
// ---------------------------------------------------------------------------------------------------------

macro_rules! string_code_impls {
    ($ty:ident) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = CodeError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $ty::parse(s)
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = String::deserialize(deserializer)?;
                $ty::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

string_code_impls!(CreditCode);
string_code_impls!(IdNumber);
string_code_impls!(LicenceId);

// ---------------------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    const GOOD_CREDIT_CODES: [&str; 8] = [
        "91440300708461136T",
        "11100000000013338W",
        "914403001922038216",
        "91330100799655058B",
        "91350200MA2YJ1XR9G",
        "11370800MB28559184",
        "11430000006122244L",
        "12100000400000624D",
    ];

    const GOOD_LICENCE_IDS: [&str; 5] = [
        "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.002.S",
        "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
        "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F",
        "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0",
        "1.2.156.3005.2.11100000000013338W087.11370800MB28559184.37080001202411010001.001.3",
    ];

    // --- credit code ---

    #[test]
    fn credit_code_worked_examples_pass() {
        for s in GOOD_CREDIT_CODES {
            let code = CreditCode::parse(s).unwrap();
            assert_eq!(code.as_str(), s);
            assert_eq!(credit_code_check_char(&s[..17]).unwrap(), s.chars().last().unwrap());
            assert!(code.inner_check_ok(), "{s} should pass the GB 11714 inner check");
        }
    }

    #[test]
    fn credit_code_accessors() {
        let code = CreditCode::parse("91440300708461136T").unwrap();
        assert_eq!(code.region(), "440300");
        assert_eq!(code.registration_authority(), '9');
        assert_eq!(code.organisation_code(), "708461136");
    }

    #[test]
    fn credit_code_negative_example_fails_on_check() {
        let err = CreditCode::parse("91350203M0001QAY9B").unwrap_err();
        assert!(matches!(err, CodeError::CheckCharacter { part: CodePart::CreditCode, found: 'B', .. }), "{err:?}");
        assert_eq!(err.code(), "check_character_mismatch");
    }

    #[test]
    fn credit_code_trims_and_uppercases() {
        let code = CreditCode::parse("  91350200ma2yj1xr9g\u{3000}\n").unwrap();
        assert_eq!(code.as_str(), "91350200MA2YJ1XR9G");
    }

    #[test]
    fn credit_code_errors() {
        assert_eq!(CreditCode::parse("   ").unwrap_err(), CodeError::Empty { part: CodePart::CreditCode });
        assert_eq!(
            CreditCode::parse("9144030070846113").unwrap_err(),
            CodeError::WrongLength { part: CodePart::CreditCode, expected: 18, found: 16 }
        );
        // 'O' is not in the charset.
        let err = CreditCode::parse("91440300708461136O").unwrap_err();
        assert!(matches!(err, CodeError::BadCharacter { position: 18, found: 'O', .. }), "{err:?}");
        // Characters 3–8 must be digits.
        let err = CreditCode::parse("9144A300708461136T").unwrap_err();
        assert!(matches!(err, CodeError::BadCharacter { position: 5, found: 'A', .. }), "{err:?}");
        assert_eq!(err.code(), "bad_character");
        // Multi-byte characters count as one position each and never panic.
        let err = CreditCode::parse("914403007084611３６T").unwrap_err();
        assert!(matches!(err, CodeError::BadCharacter { position: 16, found: '３', .. }), "{err:?}");
        assert_eq!(CreditCode::parse("统一社会信用代码统一社会信用代码统一").unwrap_err().code(), "bad_character");
    }

    #[test]
    fn credit_code_inner_check_can_fail() {
        // Valid outer check, but the organisation code's own check character is wrong.
        let first17 = "91440300708461137";
        let check = credit_code_check_char(first17).unwrap();
        let code = CreditCode::parse(&format!("{first17}{check}")).unwrap();
        assert!(!code.inner_check_ok());
    }

    #[test]
    fn credit_code_check_char_input_rules() {
        assert_eq!(credit_code_check_char("91440300708461136").unwrap(), 'T');
        assert_eq!(credit_code_check_char("91350200ma2yj1xr9").unwrap(), 'G');
        assert_eq!(credit_code_check_char("").unwrap_err().code(), "empty");
        assert_eq!(credit_code_check_char("91440300708461136T").unwrap_err().code(), "wrong_length");
        assert_eq!(credit_code_check_char("9144030070846113I").unwrap_err().code(), "bad_character");
    }

    // --- ID number ---

    #[test]
    fn id_number_worked_examples_pass() {
        let id = IdNumber::parse("11010519491231002X").unwrap();
        assert_eq!(id.birth_date(), date(1949, 12, 31));
        assert!(!id.is_male());
        assert_eq!(id.region(), "110105");

        let id = IdNumber::parse("440524188001010014").unwrap();
        assert_eq!(id.birth_date(), date(1880, 1, 1));
        assert!(id.is_male());
        assert_eq!(id.region(), "440524");

        let id = IdNumber::parse("110101199003074477").unwrap();
        assert_eq!(id.birth_date(), date(1990, 3, 7));
        assert!(id.is_male());
    }

    #[test]
    fn id_number_negative_example_fails_on_check() {
        assert_eq!(
            IdNumber::parse("310104198001011238").unwrap_err(),
            CodeError::CheckCharacter { part: CodePart::IdNumber, expected: '9', found: '8' }
        );
        assert!(IdNumber::parse("310104198001011239").is_ok());
    }

    #[test]
    fn id_number_lowercase_x_is_normalised() {
        let id = IdNumber::parse(" 11010519491231002x ").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id.to_string(), "11010519491231002X");
    }

    #[test]
    fn id_number_errors() {
        let err = IdNumber::parse("11010519491231002").unwrap_err();
        assert_eq!(err, CodeError::WrongLength { part: CodePart::IdNumber, expected: 18, found: 17 });
        let err = IdNumber::parse("1101051949123100X2").unwrap_err();
        assert!(matches!(err, CodeError::BadCharacter { position: 17, found: 'X', .. }), "{err:?}");
        let err = IdNumber::parse("11010519491231002Y").unwrap_err();
        assert!(matches!(err, CodeError::BadCharacter { position: 18, found: 'Y', .. }), "{err:?}");
        let err = IdNumber::parse("99010519491231002X").unwrap_err();
        assert_eq!(err, CodeError::UnknownRegion { part: CodePart::IdNumber, prefix: "99".into() });
        assert_eq!(err.code(), "unknown_region");
        // 1949-02-30 does not exist, 1949-13-01 neither: reported before the check character.
        for s in ["110105194902300021", "110105194913010021", "110105194900010021"] {
            let err = IdNumber::parse(s).unwrap_err();
            assert_eq!(err.code(), "bad_birth_date", "{s}: {err:?}");
        }
        let err = IdNumber::parse("110105179912310021").unwrap_err();
        assert!(matches!(err, CodeError::BadBirthDate { reason: "it is before 1800-01-01", .. }), "{err:?}");
        // Multi-byte input never panics.
        assert_eq!(IdNumber::parse("１１０１０５１９４９１２３１００２Ｘ").unwrap_err().code(), "bad_character");
    }

    #[test]
    fn id_number_future_birth_date() {
        let s = with_id_check("11010520300101001");
        assert!(IdNumber::parse(&s).is_ok());
        let today = date(2026, 5, 1);
        let err = IdNumber::parse_at(&s, today).unwrap_err();
        assert_eq!(err, CodeError::FutureBirthDate { date: date(2030, 1, 1), today });
        assert_eq!(err.code(), "future_birth_date");
        let born_today = with_id_check("11010520260501001");
        assert!(IdNumber::parse_at(&born_today, today).is_ok());
    }

    #[test]
    fn id_number_special_regions() {
        for prefix in ["71", "81", "82", "83"] {
            let s = with_id_check(&format!("{prefix}000019900101001"));
            assert!(IdNumber::parse(&s).is_ok(), "{s}");
        }
    }

    fn with_id_check(first17: &str) -> String {
        let sum: u32 = first17.chars().zip(ID_WEIGHTS).map(|(c, w)| c.to_digit(10).unwrap() * w).sum();
        format!("{first17}{}", char::from(ID_CHECK[(sum % 11) as usize]))
    }

    // --- licence identifier ---

    #[test]
    fn licence_real_identifiers_pass() {
        for s in GOOD_LICENCE_IDS {
            let id = LicenceId::parse(s).unwrap();
            assert_eq!(id.as_str(), s);
            let dotted = s.strip_prefix(LICENCE_ROOT).unwrap();
            let (body, check) = dotted.rsplit_once('.').unwrap();
            assert_eq!(licence_check_char(body).unwrap().to_string(), check);
            assert_eq!(licence_check_char(&body.replace('.', "")).unwrap().to_string(), check);
        }
        let id = LicenceId::parse(GOOD_LICENCE_IDS[0]).unwrap();
        assert_eq!(id.type_code(), "11100000000013338W011");
        assert_eq!(id.issuer().as_str(), "11430000006122244L");
        assert_eq!(id.number(), "20230000403");
        assert_eq!(id.version(), 2);
        assert_eq!(id.check_char(), 'S');
    }

    #[test]
    fn licence_new_matches_parse() {
        let issuer = CreditCode::parse("11370800MB28559184").unwrap();
        let id = LicenceId::new("11100000000013338W087", &issuer, "37080001202411010001", 1).unwrap();
        assert_eq!(id.as_str(), GOOD_LICENCE_IDS[4]);
        let id = LicenceId::new(
            "11100000000013338w011",
            &CreditCode::parse("11430000006122244L").unwrap(),
            "20230000403",
            2,
        )
        .unwrap();
        assert_eq!(id.as_str(), GOOD_LICENCE_IDS[0]);
        assert_eq!(LicenceId::new("11100000000013338W087", &issuer, "1", 1000).unwrap_err().code(), "bad_structure");
        assert_eq!(LicenceId::new("11100000000013338W087", &issuer, "", 1).unwrap_err().code(), "empty");
        assert_eq!(
            LicenceId::new("11100000000013338W087", &issuer, &"1".repeat(41), 1).unwrap_err().code(),
            "bad_structure"
        );
        assert!(LicenceId::new("11100000000013338W087", &issuer, &"Z".repeat(40), 0).is_ok());
    }

    #[test]
    fn licence_errors() {
        let lower = GOOD_LICENCE_IDS[0].to_ascii_lowercase();
        assert_eq!(LicenceId::parse(&lower).unwrap().as_str(), GOOD_LICENCE_IDS[0]);

        assert_eq!(LicenceId::parse("").unwrap_err().code(), "empty");
        let err =
            LicenceId::parse("1.2.156.3005.3.11100000000013338W011.11430000006122244L.20230000403.002.S").unwrap_err();
        assert!(matches!(err, CodeError::BadStructure { part: CodePart::LicenceId, .. }), "{err:?}");
        let err =
            LicenceId::parse("1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.002").unwrap_err();
        assert!(matches!(err, CodeError::BadStructure { part: CodePart::LicenceId, .. }), "{err:?}");
        // Wrong check character.
        let err =
            LicenceId::parse("1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.002.T").unwrap_err();
        assert_eq!(err, CodeError::CheckCharacter { part: CodePart::LicenceId, expected: 'S', found: 'T' });
        // Issuer with a bad check character is reported as the issuer's.
        let err =
            LicenceId::parse("1.2.156.3005.2.11100000000013338W011.11430000006122244M.20230000403.002.S").unwrap_err();
        assert!(
            matches!(err, CodeError::CheckCharacter { part: CodePart::LicenceIssuer, expected: 'L', found: 'M' }),
            "{err:?}"
        );
        // Type code with a bad embedded credit code.
        let err =
            LicenceId::parse("1.2.156.3005.2.11100000000013338X011.11430000006122244L.20230000403.002.S").unwrap_err();
        assert!(matches!(err, CodeError::CheckCharacter { part: CodePart::LicenceTypeCode, .. }), "{err:?}");
        let err =
            LicenceId::parse("1.2.156.3005.2.11100000000013338W01A.11430000006122244L.20230000403.002.S").unwrap_err();
        assert!(
            matches!(err, CodeError::BadCharacter { part: CodePart::LicenceTypeCode, position: 21, .. }),
            "{err:?}"
        );
        let err =
            LicenceId::parse("1.2.156.3005.2.11100000000013338W011.11430000006122244L.2023-0000403.002.S").unwrap_err();
        assert!(
            matches!(err, CodeError::BadCharacter { part: CodePart::LicenceNumber, position: 5, found: '-', .. }),
            "{err:?}"
        );
        let err =
            LicenceId::parse("1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.02.S").unwrap_err();
        assert!(matches!(err, CodeError::WrongLength { part: CodePart::LicenceVersion, .. }), "{err:?}");
        let err =
            LicenceId::parse("1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.002.SS").unwrap_err();
        assert!(matches!(err, CodeError::WrongLength { part: CodePart::LicenceCheck, .. }), "{err:?}");
        assert_eq!(licence_check_char("..").unwrap_err().code(), "empty");
        assert_eq!(licence_check_char("ab_c").unwrap_err().code(), "bad_character");
    }

    // --- traits ---

    #[test]
    fn display_fromstr_and_serde_round_trip() {
        let code: CreditCode = "91440300708461136t".parse().unwrap();
        assert_eq!(code.to_string(), "91440300708461136T");
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(json, "\"91440300708461136T\"");
        assert_eq!(serde_json::from_str::<CreditCode>(&json).unwrap(), code);
        assert!(serde_json::from_str::<CreditCode>("\"91350203M0001QAY9B\"").is_err());

        let id: IdNumber = "11010519491231002X".parse().unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<IdNumber>(&json).unwrap(), id);
        let err = serde_json::from_str::<IdNumber>("\"310104198001011238\"").unwrap_err();
        assert!(err.to_string().contains("check character"), "{err}");

        let lic: LicenceId = GOOD_LICENCE_IDS[2].parse().unwrap();
        assert_eq!(lic.to_string(), GOOD_LICENCE_IDS[2]);
        let json = serde_json::to_string(&lic).unwrap();
        assert_eq!(serde_json::from_str::<LicenceId>(&json).unwrap(), lic);
        assert!(serde_json::from_str::<LicenceId>("42").is_err());
    }

    #[test]
    fn messages_name_the_code_and_the_mistake() {
        let err = CreditCode::parse("9144030070846113").unwrap_err();
        assert_eq!(err.to_string(), "the unified social credit code must have 18 characters, but 16 were entered");
        let err = IdNumber::parse("310104198001011238").unwrap_err();
        assert!(err.to_string().starts_with("the resident ID number does not add up"), "{err}");
        let err = IdNumber::parse("110105194902300021").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the date of birth 19490230 (characters 7–14) in the resident ID number is not valid: there is no such date"
        );
    }

    // --- properties ---

    fn credit_code_strategy() -> impl Strategy<Value = String> {
        "[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{9}".prop_map(|first17| {
            let check = credit_code_check_char(&first17).unwrap();
            format!("{first17}{check}")
        })
    }

    fn id_number_strategy() -> impl Strategy<Value = String> {
        (proptest::sample::select(PROVINCE_PREFIXES.to_vec()), "[0-9]{4}", 0i32..110_000, "[0-9]{3}").prop_map(
            |(prefix, area, days, seq)| {
                let birth = IdNumber::EARLIEST_BIRTH_DATE.checked_add(jiff::Span::new().days(days)).unwrap();
                with_id_check(&format!("{prefix}{area}{}{seq}", birth.strftime("%Y%m%d")))
            },
        )
    }

    fn licence_strategy() -> impl Strategy<Value = LicenceId> {
        (credit_code_strategy(), "[0-9]{3}", credit_code_strategy(), "[0-9A-Za-z]{1,40}", 0u16..1000).prop_map(
            |(definer, type_number, issuer, number, version)| {
                let issuer = CreditCode::parse(&issuer).unwrap();
                LicenceId::new(&format!("{definer}{type_number}"), &issuer, &number, version).unwrap()
            },
        )
    }

    /// Replaces the character at `index` (a char index) with `c`.
    fn substitute(s: &str, index: usize, c: char) -> String {
        s.chars().enumerate().map(|(i, old)| if i == index { c } else { old }).collect()
    }

    /// Replacement characters: mostly from the codes' own alphabets (where only the check can catch a typo), plus
    /// punctuation, whitespace and multi-byte characters.
    fn replacement_strategy() -> impl Strategy<Value = char> {
        prop_oneof![
            8 => proptest::char::ranges(vec!['0'..='9', 'A'..='Z', 'a'..='z'].into()),
            1 => proptest::sample::select(vec![' ', '.', '-', 'X', 'x', '\u{3000}', '中', '９', 'Ｘ', 'ß']),
            1 => any::<char>(),
        ]
    }

    proptest! {
        #[test]
        fn any_valid_credit_code_parses(code in credit_code_strategy()) {
            let parsed = CreditCode::parse(&code).unwrap();
            prop_assert_eq!(parsed.as_str(), code.as_str());
            prop_assert_eq!(CreditCode::parse(&code.to_ascii_lowercase()).unwrap(), parsed);
        }

        /// GB 32100 detects every single substitution: 31 is prime, every weight is non-zero mod 31 and the
        /// charset has exactly 31 values, so a changed value always changes the sum mod 31.
        #[test]
        fn credit_code_single_substitution_is_detected(
            code in credit_code_strategy(),
            index in 0usize..18,
            c in replacement_strategy(),
        ) {
            let original = code.chars().nth(index).unwrap();
            prop_assume!(c.to_ascii_uppercase() != original);
            let changed = substitute(&code, index, c);
            prop_assert!(CreditCode::parse(&changed).is_err(), "{} parsed", changed);
        }

        #[test]
        fn any_valid_id_number_parses(s in id_number_strategy()) {
            let id = IdNumber::parse(&s).unwrap();
            prop_assert_eq!(id.as_str(), s.as_str());
            prop_assert_eq!(id.is_male(), (s.as_bytes()[16] - b'0') % 2 == 1);
            prop_assert_eq!(id.birth_date().strftime("%Y%m%d").to_string(), &s[6..14]);
        }

        /// MOD 11-2 detects every single substitution: 11 is prime, every weight is non-zero mod 11 and two
        /// digits differ by less than 11; the check character itself maps one-to-one to the sum mod 11.
        #[test]
        fn id_number_single_substitution_is_detected(
            s in id_number_strategy(),
            index in 0usize..18,
            c in replacement_strategy(),
        ) {
            let original = s.chars().nth(index).unwrap();
            prop_assume!(c.to_ascii_uppercase() != original);
            let changed = substitute(&s, index, c);
            prop_assert!(IdNumber::parse(&changed).is_err(), "{} parsed", changed);
        }

        #[test]
        fn licence_new_parse_round_trip(id in licence_strategy()) {
            let parsed = LicenceId::parse(id.as_str()).unwrap();
            prop_assert_eq!(&parsed, &id);
            prop_assert!(parsed.version() < 1000);
        }

        /// The hybrid MOD 37,36 system detects every single substitution within 0-9A-Z; a changed dot or root
        /// character breaks the structure, and the embedded credit codes have their own checks.
        #[test]
        fn licence_single_substitution_is_detected(
            id in licence_strategy(),
            index in any::<proptest::sample::Index>(),
            c in replacement_strategy(),
        ) {
            let s = id.as_str();
            let index = index.index(s.chars().count());
            let original = s.chars().nth(index).unwrap();
            prop_assume!(c.to_ascii_uppercase() != original);
            let changed = substitute(s, index, c);
            prop_assert!(LicenceId::parse(&changed).is_err(), "{} parsed", changed);
        }

        #[test]
        fn parsers_never_panic(s in any::<String>()) {
            let _ = CreditCode::parse(&s);
            let _ = IdNumber::parse(&s);
            let _ = IdNumber::parse_at(&s, date(2026, 1, 1));
            let _ = LicenceId::parse(&s);
            let _ = credit_code_check_char(&s);
            let _ = licence_check_char(&s);
        }

        #[test]
        fn parsers_never_panic_on_near_misses(
            s in "[0-9A-Za-z xX.\u{3000}中９Ｘß\u{301}]{14,22}",
            tail in "[0-9A-Za-z.中ß]{0,30}",
        ) {
            let _ = CreditCode::parse(&s);
            let _ = IdNumber::parse(&s);
            let _ = credit_code_check_char(&s);
            let _ = LicenceId::parse(&format!("{LICENCE_ROOT}{s}.{tail}"));
            let _ = LicenceId::parse(&format!("{LICENCE_ROOT}{s}"));
            let _ = licence_check_char(&tail);
        }
    }
}
