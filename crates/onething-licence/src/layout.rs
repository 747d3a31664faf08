//! The printed layout of a licence type, as data the catalogue can hold (TOML or JSON):
//!
//! ```toml
//! title = "道路运输证"
//! title_en = "Road Transport Certificate"
//! [[field]]
//! source = "holder_name"
//! label = "业户名称"
//! [[field]]
//! source = { surface = "vehicle_type" }
//! label = "车辆类型"
//! label_en = "Vehicle type"
//! options = { truck = "载货汽车", tractor = "牵引车" }
//! ```
//!
//! Fields print in order in a two-column table (label, value). A field without a label gets the standard one of
//! its source; a surface field's stored value is printed through `options` when it has an entry for it. The
//! issuer line, the dates, the seal, the QR code and the identifier are always printed; `issuer_label`,
//! `seal_text` (default: the issuer's name) and `seal_caption` adjust them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Where a printed field's value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldSource {
    /// The holder's name (持证主体).
    HolderName,
    /// The holder's credit code or ID number; the standard label follows its kind.
    HolderCode,
    /// The licence number (证照编号).
    LicenceNumber,
    /// The licence identifier (电子证照标识).
    Identifier,
    /// The date of issue (发证日期).
    IssueDate,
    /// The validity (有效期限): "from 至 until", or 长期.
    Validity,
    /// The issuing department (发证机关).
    IssuerName,
    /// A surface field (照面信息) by its catalogue code.
    Surface(String),
}

/// One printed field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayoutField {
    /// Where the value comes from.
    pub source: FieldSource,
    /// The Chinese label; the source's standard label when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The English label, printed small under the Chinese one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_en: Option<String>,
    /// Printed texts for stored values (enumerations).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

impl LayoutField {
    /// A field with the standard label of its source.
    pub fn new(source: FieldSource) -> LayoutField {
        LayoutField { source, label: None, label_en: None, options: BTreeMap::new() }
    }
}

/// The layout of one licence type; see the module documentation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layout {
    /// The Chinese title, e.g. 道路运输证.
    pub title: String,
    /// The English title under it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_en: Option<String>,
    /// The fields in print order.
    #[serde(default, rename = "field")]
    pub fields: Vec<LayoutField>,
    /// The label of the issuer line (default 发证机关).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_label: Option<String>,
    /// The text around the seal (default: the issuer's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal_text: Option<String>,
    /// The text under the star of the seal (default 电子证照专用章).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal_caption: Option<String>,
}

impl Layout {
    /// The standard layout of a licence type from the catalogue: the holder, their code, the licence number,
    /// the surface fields in catalogue order (`(code, label, label_en)`), the validity and the issue date.
    pub fn standard(title: &str, title_en: Option<&str>, surface: &[(&str, &str, Option<&str>)]) -> Layout {
        let mut fields = vec![
            LayoutField::new(FieldSource::HolderName),
            LayoutField::new(FieldSource::HolderCode),
            LayoutField::new(FieldSource::LicenceNumber),
        ];
        for (code, label, label_en) in surface {
            fields.push(LayoutField {
                source: FieldSource::Surface((*code).to_owned()),
                label: Some((*label).to_owned()),
                label_en: label_en.map(str::to_owned),
                options: BTreeMap::new(),
            });
        }
        fields.push(LayoutField::new(FieldSource::Validity));
        fields.push(LayoutField::new(FieldSource::IssueDate));
        Layout {
            title: title.to_owned(),
            title_en: title_en.map(str::to_owned),
            fields,
            issuer_label: None,
            seal_text: None,
            seal_caption: None,
        }
    }
}

/// The standard (Chinese, English) labels of a source; `None` for a surface field (whose label is its code).
pub(crate) fn standard_label(source: &FieldSource, holder_code_label: &str) -> (String, Option<&'static str>) {
    match source {
        FieldSource::HolderName => ("持证主体".into(), Some("Holder")),
        FieldSource::HolderCode => (
            holder_code_label.into(),
            Some(if holder_code_label == "公民身份号码" {
                "Citizen ID number"
            } else {
                "Unified social credit code"
            }),
        ),
        FieldSource::LicenceNumber => ("证照编号".into(), Some("Licence number")),
        FieldSource::Identifier => ("证照标识".into(), Some("Licence identifier")),
        FieldSource::IssueDate => ("发证日期".into(), Some("Date of issue")),
        FieldSource::Validity => ("有效期限".into(), Some("Valid")),
        FieldSource::IssuerName => ("发证机关".into(), Some("Issued by")),
        FieldSource::Surface(code) => (code.clone(), None),
    }
}
