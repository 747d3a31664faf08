//! Tests that need programs outside the toolchain: the PDF is rendered with poppler (`pdftoppm`, `pdftotext`,
//! `pdfdetach`), its QR code scanned with `zbarimg`, Chinese text drawn with the system's Noto CJK font; and an
//! independent eddsa-jcs-2022 implementation (Digital Bazaar's, from npm) verifies one of our credentials.

use std::path::{Path, PathBuf};
use std::process::Command;

use onething_licence::font::CjkFonts;
use onething_licence::{FieldSource, Layout, VerifiedFrom, issue_credential, qr_payload, render_pdf, verify};

use crate::fixtures::*;

fn out_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} could not be started ({e}); install poppler-utils and zbar-tools"));
    assert!(output.status.success(), "{program} {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

fn road_transport_layout() -> Layout {
    let mut layout: Layout = toml::from_str(
        r#"
title = "道路运输证"
title_en = "Road Transport Certificate"
[[field]]
source = "holder_name"
label = "业户名称"
label_en = "Operator"
[[field]]
source = "holder_code"
[[field]]
source = "licence_number"
[[field]]
source = { surface = "plate_number" }
label = "车辆号牌"
label_en = "Plate number"
[[field]]
source = { surface = "vehicle_type" }
label = "车辆类型"
label_en = "Vehicle type"
options = { truck = "载货汽车", tractor = "牵引车", trailer = "挂车" }
[[field]]
source = { surface = "tonnage" }
label = "核定载质量（吨）"
label_en = "Rated load (t)"
[[field]]
source = "validity"
"#,
    )
    .unwrap();
    layout.fields.push(onething_licence::LayoutField::new(FieldSource::IssueDate));
    layout
}

#[test]
#[ignore = "needs poppler-utils, zbar-tools, fonts-noto-cjk (.ci/run installs them)"]
fn the_pdf_renders_reads_and_scans() {
    let fonts = CjkFonts::find(None).unwrap();
    let keys = keys();
    let licence = licence();
    let layout = road_transport_layout();
    let qr = qr_payload(&licence, &keys, None).unwrap();
    let credential = issue_credential(&licence, &keys, None, signed_at()).unwrap();
    let pdf = render_pdf(&licence, &layout, &qr, Some(&credential), &fonts).unwrap();
    assert_eq!(pdf, render_pdf(&licence, &layout, &qr, Some(&credential), &fonts).unwrap(), "deterministic");
    assert!(pdf.len() < 200_000, "the font is subset: {} bytes", pdf.len());

    let dir = out_dir("licence-pdf");
    let pdf_path = dir.join("licence.pdf");
    std::fs::write(&pdf_path, &pdf).unwrap();
    let pdf_arg = pdf_path.to_str().unwrap();

    // The page renders; the PNG is what a person (and the scanner) sees.
    let png_base = dir.join("licence");
    run("pdftoppm", &["-r", "200", "-png", "-singlefile", pdf_arg, png_base.to_str().unwrap()]);
    let png = dir.join("licence.png");
    assert!(std::fs::metadata(&png).unwrap().len() > 10_000);

    // The Chinese text is real text, in the right characters.
    let text = run("pdftotext", &["-layout", pdf_arg, "-"]);
    // The title is letter-spaced, so it is extracted with spaces between the characters.
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(compact.contains("道路运输证RoadTransportCertificate"), "{text}");
    for expected in [HOLDER_NAME, ISSUER_NAME, "鲁H12345", "载货汽车", HOLDER_CODE, "2030年11月30日"] {
        assert!(text.contains(expected), "pdftotext lacks {expected:?}:\n{text}");
    }
    assert!(text.contains(licence.id().as_str()), "{text}");

    // The QR code scans to the signed payload, which verifies; a tampered one does not.
    let scanned = run("zbarimg", &["--raw", "-q", png.to_str().unwrap()]);
    let scanned = scanned.trim();
    assert_eq!(scanned, qr);
    let verified = verify(scanned, &keys.public_keys(), now(), None).unwrap();
    assert_eq!(verified.from, VerifiedFrom::QrCode);
    assert_eq!(verified.licence.holder.name, HOLDER_NAME);
    let tampered = scanned.replacen("OTL1.ey", "OTL1.ez", 1);
    assert_eq!(verify(&tampered, &keys.public_keys(), now(), None).unwrap_err().code(), "malformed");
    let (head, signature) = scanned.rsplit_once('.').unwrap();
    let flipped = format!("{head}.{}{}", if signature.starts_with('A') { "B" } else { "A" }, &signature[1..]);
    assert_eq!(verify(&flipped, &keys.public_keys(), now(), None).unwrap_err().code(), "tampered");

    // The attached credential is extractable and verifies on its own.
    let listed = run("pdfdetach", &["-list", pdf_arg]);
    assert!(listed.contains("licence-credential.json"), "{listed}");
    let json_path = dir.join("licence-credential.json");
    run("pdfdetach", &["-save", "1", "-o", json_path.to_str().unwrap(), pdf_arg]);
    let attached = std::fs::read_to_string(&json_path).unwrap();
    verify(&attached, &keys.public_keys(), now(), None).unwrap();
}

#[test]
#[ignore = "needs poppler-utils, zbar-tools, fonts-noto-cjk (.ci/run installs them)"]
fn a_person_licence_with_the_standard_layout_renders() {
    let fonts = CjkFonts::find(None).unwrap();
    let licence = person_licence();
    let layout = Layout::standard("户口登记（居民户口簿登记页）", Some("Household registration"), &[]);
    let qr = qr_payload(&licence, &keys(), None).unwrap();
    let pdf = render_pdf(&licence, &layout, &qr, None, &fonts).unwrap();
    let dir = out_dir("licence-pdf");
    let path = dir.join("person.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let text = run("pdftotext", &["-layout", path.to_str().unwrap(), "-"]);
    assert!(text.contains("王小明") && text.contains("公民身份号码") && text.contains("长期"), "{text}");
    let png = dir.join("person");
    run("pdftoppm", &["-r", "200", "-png", "-singlefile", path.to_str().unwrap(), png.to_str().unwrap()]);
    let scanned = run("zbarimg", &["--raw", "-q", dir.join("person.png").to_str().unwrap()]);
    verify(scanned.trim(), &keys().public_keys(), now(), None).unwrap();
}

/// An independent implementation verifies our credential: Digital Bazaar's `eddsa-jcs-2022` cryptosuite with
/// `jsonld-signatures` and `@digitalbazaar/data-integrity` (npm), offline, given only the published key document.
#[test]
#[ignore = "needs node and the npm packages of tests/interop (npm ci --prefix crates/onething-licence/tests/interop)"]
fn digital_bazaars_eddsa_jcs_2022_verifies_our_credential() {
    let interop = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop");
    assert!(
        interop.join("node_modules/@digitalbazaar/eddsa-jcs-2022-cryptosuite").is_dir(),
        "run `npm ci --prefix {}` first",
        interop.display()
    );
    let dir = out_dir("licence-interop");
    let mut keys = keys();
    let old = issue_credential(&licence(), &keys, None, signed_at()).unwrap();
    keys.rotate().unwrap();
    let entry = onething_licence::StatusEntry { list_url: LIST_URL.into(), index: 12 };
    let new = issue_credential(&person_licence(), &keys, Some(&entry), signed_at()).unwrap();
    let list = onething_licence::StatusList::new(131_072).unwrap().to_credential(&keys, LIST_URL, signed_at()).unwrap();
    let key_path = dir.join("keys.json");
    std::fs::write(&key_path, serde_json::to_string_pretty(&keys.key_document()).unwrap()).unwrap();
    let script = interop.join("verify.mjs");
    for (name, credential) in [("old", &old), ("new", &new), ("status-list", &list)] {
        let path = dir.join(format!("{name}.json"));
        std::fs::write(&path, credential.to_json_pretty()).unwrap();
        let out = run("node", &[script.to_str().unwrap(), path.to_str().unwrap(), key_path.to_str().unwrap()]);
        assert_eq!(out.trim(), "verified", "{name}");
    }
    // And it refuses a tampered one, so the check is real.
    let mut tampered = old.into_value();
    tampered["credentialSubject"]["name"] = "别的公司".into();
    let path = dir.join("tampered.json");
    std::fs::write(&path, tampered.to_string()).unwrap();
    let output = Command::new("node")
        .args([script.to_str().unwrap(), path.to_str().unwrap(), key_path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!output.status.success(), "{}", String::from_utf8_lossy(&output.stdout));
}
