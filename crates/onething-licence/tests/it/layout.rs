//! Layouts as data, and the font lookup's errors.

use std::path::Path;

use onething_licence::font::{CjkFonts, FontError};
use onething_licence::{FieldSource, Layout};

#[test]
fn a_layout_reads_from_toml() {
    let text = r#"
title = "道路运输证"
title_en = "Road Transport Certificate"
seal_caption = "道路运输管理专用章"

[[field]]
source = "holder_name"
label = "业户名称"

[[field]]
source = "holder_code"

[[field]]
source = { surface = "vehicle_type" }
label = "车辆类型"
label_en = "Vehicle type"
options = { truck = "载货汽车", tractor = "牵引车" }

[[field]]
source = "validity"
"#;
    let layout: Layout = toml::from_str(text).unwrap();
    assert_eq!(layout.title, "道路运输证");
    assert_eq!(layout.fields.len(), 4);
    assert_eq!(layout.fields[2].source, FieldSource::Surface("vehicle_type".into()));
    assert_eq!(layout.fields[2].options["truck"], "载货汽车");
    assert_eq!(layout.fields[1].label, None);
    let json = serde_json::to_value(&layout).unwrap();
    assert_eq!(json["field"][2]["source"]["surface"], "vehicle_type");
    assert_eq!(serde_json::from_value::<Layout>(json).unwrap(), layout);
    assert!(toml::from_str::<Layout>("title = \"x\"\n[[field]]\nsource = \"nope\"\n").is_err());
}

#[test]
fn the_standard_layout_of_a_catalogue_type() {
    let layout = Layout::standard(
        "道路运输证",
        Some("Road transport certificate"),
        &[("plate_number", "车辆号牌", Some("Plate number"))],
    );
    let sources: Vec<&FieldSource> = layout.fields.iter().map(|f| &f.source).collect();
    assert_eq!(
        sources,
        [
            &FieldSource::HolderName,
            &FieldSource::HolderCode,
            &FieldSource::LicenceNumber,
            &FieldSource::Surface("plate_number".into()),
            &FieldSource::Validity,
            &FieldSource::IssueDate,
        ]
    );
}

#[test]
fn a_missing_font_says_what_to_do() {
    let err = CjkFonts::find(Some((Path::new("/nonexistent/font.ttc"), 2))).unwrap_err();
    assert_eq!(err.code(), "font_unreadable");
    assert!(err.to_string().contains("/nonexistent/font.ttc"), "{err}");
    assert!(FontError::NotFound.to_string().contains("apt-get install fonts-noto-cjk"));
    let err = onething_licence::font::FontFile::from_bytes("x.ttf", b"not a font".to_vec(), 0).unwrap_err();
    assert_eq!(err.code(), "font_invalid");
}
