//! The printable licence: one A4 landscape page drawn with krilla from a [`Layout`], Chinese text in an embedded
//! subset of a CJK font, and the signed QR payload ([`crate::qr`]) as a vector QR code.
//!
//! The page: a double frame; the title (bold, letter-spaced) with its English title; the licence number at the
//! top right; the fields of the layout as a two-column table; the QR code with "扫码核验"; the issuer line and the
//! date of issue with the issuer's seal over them (a red ring with the seal text along the arc, a star and the
//! caption); the identifier and a verification note at the foot. The credential can be attached to the PDF as
//! `licence-credential.json`, so the file alone carries everything needed to verify it offline. The output is
//! deterministic: the same inputs give the same bytes.

use std::sync::Arc;

use jiff::civil::Date;
use krilla::color::rgb;
use krilla::embed::{AssociationKind, EmbeddedFile, MimeType};
use krilla::geom::{Path, PathBuilder, Point, Rect, Transform};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, FillRule, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};
use krilla::{Data, Document};
use qrcode::{EcLevel, QrCode};
use skrifa::MetadataProvider as _;
use skrifa::instance::{LocationRef, Size};

use crate::credential::Credential;
use crate::font::{CjkFonts, FontFile};
use crate::layout::{FieldSource, Layout, standard_label};
use crate::record::Licence;

/// Why a PDF could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// The font cannot be used by the PDF writer.
    #[error("the font {0} cannot be used for the PDF")]
    Font(String),
    /// The QR payload does not fit a QR code.
    #[error("the QR payload cannot be encoded as a QR code: {0}")]
    Qr(String),
    /// The PDF writer failed.
    #[error("the PDF could not be written: {0}")]
    Writer(String),
}

impl PdfError {
    /// A stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            PdfError::Font(_) => "pdf_font",
            PdfError::Qr(_) => "pdf_qr",
            PdfError::Writer(_) => "pdf_writer",
        }
    }
}

/// A4 landscape, in points.
const PAGE_W: f32 = 842.0;
const PAGE_H: f32 = 595.0;

const INK: (u8, u8, u8) = (0x1f, 0x1f, 0x1f);
const GREY: (u8, u8, u8) = (0x6b, 0x6b, 0x6b);
const FRAME: (u8, u8, u8) = (0x8c, 0x1c, 0x13);
const RULE: (u8, u8, u8) = (0xb8, 0x8a, 0x6a);
const LABEL_BG: (u8, u8, u8) = (0xf6, 0xee, 0xe2);
const PAPER: (u8, u8, u8) = (0xff, 0xfd, 0xf8);
const SEAL: (u8, u8, u8) = (0xd4, 0x20, 0x1c);

fn colour((r, g, b): (u8, u8, u8)) -> rgb::Color {
    rgb::Color::new(r, g, b)
}

fn fill(c: (u8, u8, u8), opacity: f32) -> Fill {
    Fill {
        paint: colour(c).into(),
        opacity: NormalizedF32::new(opacity).unwrap_or(NormalizedF32::ONE),
        rule: FillRule::NonZero,
    }
}

fn stroke(c: (u8, u8, u8), width: f32) -> Stroke {
    Stroke { paint: colour(c).into(), width, ..Stroke::default() }
}

/// A face for drawing and measuring.
struct Face<'a> {
    font: Font,
    measure: skrifa::FontRef<'a>,
}

impl<'a> Face<'a> {
    fn new(file: &'a FontFile) -> Result<Face<'a>, PdfError> {
        let name = file.path.display().to_string();
        let font =
            Font::new(Data::from(Arc::clone(&file.data)), file.index).ok_or_else(|| PdfError::Font(name.clone()))?;
        let measure =
            skrifa::FontRef::from_index(file.data.as_slice(), file.index).map_err(|_| PdfError::Font(name))?;
        Ok(Face { font, measure })
    }

    /// The advance width of `text` at `size` points.
    fn width(&self, text: &str, size: f32) -> f32 {
        let charmap = self.measure.charmap();
        let metrics = self.measure.glyph_metrics(Size::new(size), LocationRef::default());
        text.chars().map(|c| charmap.map(c).and_then(|g| metrics.advance_width(g)).unwrap_or(size * 0.5)).sum()
    }

    /// Breaks `text` into lines no wider than `max` (at any character: Chinese has no spaces to break at).
    fn wrap(&self, text: &str, size: f32, max: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for c in text.chars() {
            let mut candidate = line.clone();
            candidate.push(c);
            if !line.is_empty() && self.width(&candidate, size) > max {
                lines.push(std::mem::take(&mut line));
                line.push(c);
            } else {
                line = candidate;
            }
        }
        if !line.is_empty() || lines.is_empty() {
            lines.push(line);
        }
        lines
    }
}

/// The drawing state: the surface and the faces.
struct Pen<'s, 'd, 'f> {
    surface: &'s mut Surface<'d>,
    regular: &'f Face<'f>,
    bold: &'f Face<'f>,
}

impl Pen<'_, '_, '_> {
    fn text(&mut self, x: f32, y: f32, size: f32, text: &str, c: (u8, u8, u8), bold: bool) {
        let face = if bold { self.bold } else { self.regular };
        self.surface.set_stroke(None);
        self.surface.set_fill(Some(fill(c, 1.0)));
        self.surface.draw_text(Point::from_xy(x, y), face.font.clone(), size, text, false, TextDirection::Auto);
    }

    fn text_centred(&mut self, cx: f32, y: f32, size: f32, text: &str, c: (u8, u8, u8), bold: bool) {
        let face = if bold { self.bold } else { self.regular };
        let w = face.width(text, size);
        self.text(cx - w / 2.0, y, size, text, c, bold);
    }

    fn text_right(&mut self, right: f32, y: f32, size: f32, text: &str, c: (u8, u8, u8)) {
        let w = self.regular.width(text, size);
        self.text(right - w, y, size, text, c, false);
    }

    /// Text with extra space between the characters, centred.
    fn text_spaced(&mut self, cx: f32, y: f32, size: f32, text: &str, spacing: f32, c: (u8, u8, u8)) {
        let widths: Vec<(char, f32)> = text.chars().map(|ch| (ch, self.bold.width(&ch.to_string(), size))).collect();
        let total: f32 = widths.iter().map(|(_, w)| w).sum::<f32>() + spacing * (widths.len().saturating_sub(1) as f32);
        let mut x = cx - total / 2.0;
        for (ch, w) in widths {
            self.text(x, y, size, &ch.to_string(), c, true);
            x += w + spacing;
        }
    }

    fn path(&mut self, path: Option<Path>, fill_with: Option<Fill>, stroke_with: Option<Stroke>) {
        if let Some(path) = path {
            self.surface.set_fill(fill_with);
            self.surface.set_stroke(stroke_with);
            self.surface.draw_path(&path);
        }
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, fill_with: Option<Fill>, stroke_with: Option<Stroke>) {
        let mut pb = PathBuilder::new();
        if let Some(r) = Rect::from_xywh(x, y, w, h) {
            pb.push_rect(r);
        }
        self.path(pb.finish(), fill_with, stroke_with);
    }

    fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, s: Stroke) {
        let mut pb = PathBuilder::new();
        pb.move_to(x1, y1);
        pb.line_to(x2, y2);
        self.path(pb.finish(), None, Some(s));
    }
}

/// A circle as four cubic Béziers.
fn circle(cx: f32, cy: f32, r: f32) -> Option<Path> {
    const K: f32 = 0.552_284_8;
    let k = K * r;
    let mut pb = PathBuilder::new();
    pb.move_to(cx + r, cy);
    pb.cubic_to(cx + r, cy + k, cx + k, cy + r, cx, cy + r);
    pb.cubic_to(cx - k, cy + r, cx - r, cy + k, cx - r, cy);
    pb.cubic_to(cx - r, cy - k, cx - k, cy - r, cx, cy - r);
    pb.cubic_to(cx + k, cy - r, cx + r, cy - k, cx + r, cy);
    pb.close();
    pb.finish()
}

/// A five-pointed star, point up.
fn star(cx: f32, cy: f32, r: f32) -> Option<Path> {
    let inner = r * 0.382;
    let mut pb = PathBuilder::new();
    for i in 0..10 {
        let radius = if i % 2 == 0 { r } else { inner };
        let angle = std::f32::consts::PI / 5.0 * i as f32;
        let (x, y) = (cx + radius * angle.sin(), cy - radius * angle.cos());
        if i == 0 {
            pb.move_to(x, y);
        } else {
            pb.line_to(x, y);
        }
    }
    pb.close();
    pb.finish()
}

/// 2026年12月1日.
fn chinese_date(date: Date) -> String {
    format!("{}年{}月{}日", date.year(), date.month(), date.day())
}

/// The value of a field for `licence`.
fn field_value(
    licence: &Licence,
    source: &FieldSource,
    options: &std::collections::BTreeMap<String, String>,
) -> String {
    match source {
        FieldSource::HolderName => licence.holder().name.clone(),
        FieldSource::HolderCode => licence.holder().code.as_str().to_owned(),
        FieldSource::LicenceNumber => licence.number().to_owned(),
        FieldSource::Identifier => licence.id().to_string(),
        FieldSource::IssueDate => chinese_date(licence.issue_date()),
        FieldSource::Validity => match licence.valid_until() {
            Some(until) => format!("{} 至 {}", chinese_date(licence.valid_from()), chinese_date(until)),
            None => format!("{} 起 长期", chinese_date(licence.valid_from())),
        },
        FieldSource::IssuerName => licence.issuer().name.clone(),
        FieldSource::Surface(code) => match licence.surface().get(code) {
            Some(value) => options.get(value).cloned().unwrap_or_else(|| value.clone()),
            None => "—".to_owned(),
        },
    }
}

/// Renders the printable licence. `qr_text` is the signed QR payload ([`crate::qr_payload`]); `credential`, when
/// given, is attached to the PDF.
pub fn render_pdf(
    licence: &Licence,
    layout: &Layout,
    qr_text: &str,
    credential: Option<&Credential>,
    fonts: &CjkFonts,
) -> Result<Vec<u8>, PdfError> {
    let qr =
        QrCode::with_error_correction_level(qr_text.as_bytes(), EcLevel::M).map_err(|e| PdfError::Qr(e.to_string()))?;
    let regular = Face::new(&fonts.regular)?;
    let bold = match &fonts.bold {
        Some(b) => Face::new(b)?,
        None => Face::new(&fonts.regular)?,
    };

    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(format!("{} {}", licence.type_name(), licence.number()))
            .authors(vec![licence.issuer().name.clone()])
            .language("zh-CN".into())
            .creator("onething".into()),
    );
    if let Some(credential) = credential {
        let file = EmbeddedFile {
            path: "licence-credential.json".into(),
            mime_type: MimeType::new("application/json"),
            description: Some("W3C Verifiable Credential of this licence (eddsa-jcs-2022)".into()),
            association_kind: AssociationKind::Data,
            data: Data::from(credential.to_json_pretty().into_bytes()),
            modification_date: None,
            compress: Some(true),
            location: None,
        };
        document.embed_file(file);
    }
    let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| PdfError::Writer("page size".into()))?;
    let mut page = document.start_page_with(settings);
    let mut surface = page.surface();
    let mut pen = Pen { surface: &mut surface, regular: &regular, bold: &bold };
    draw_page(&mut pen, licence, layout, &qr);
    surface.finish();
    page.finish();
    document.finish().map_err(|e| PdfError::Writer(format!("{e:?}")))
}

fn draw_page(pen: &mut Pen<'_, '_, '_>, licence: &Licence, layout: &Layout, qr: &QrCode) {
    // Paper and the double frame.
    pen.rect(0.0, 0.0, PAGE_W, PAGE_H, Some(fill(PAPER, 1.0)), None);
    pen.rect(22.0, 22.0, PAGE_W - 44.0, PAGE_H - 44.0, None, Some(stroke(FRAME, 2.6)));
    pen.rect(29.0, 29.0, PAGE_W - 58.0, PAGE_H - 58.0, None, Some(stroke(FRAME, 0.8)));
    for (x, y) in [(29.0, 29.0), (PAGE_W - 29.0, 29.0), (29.0, PAGE_H - 29.0), (PAGE_W - 29.0, PAGE_H - 29.0)] {
        pen.path(circle(x, y, 3.0), Some(fill(FRAME, 1.0)), None);
    }

    // The licence number, top right, and the title.
    pen.text_right(PAGE_W - 56.0, 58.0, 10.0, &format!("证照编号：{}", licence.number()), INK);
    pen.text_spaced(PAGE_W / 2.0, 100.0, 34.0, &layout.title, 14.0, FRAME);
    if let Some(en) = &layout.title_en {
        pen.text_centred(PAGE_W / 2.0, 122.0, 12.0, en, GREY, false);
    }
    pen.line(300.0, 134.0, PAGE_W - 300.0, 134.0, stroke(RULE, 0.8));

    // The fields table.
    let (left, label_w, value_w, value_size) = (64.0, 132.0, 372.0, 13.0);
    let mut y = 152.0;
    let top = y;
    let mut row_bottoms = Vec::new();
    let holder_label = licence.holder().code.label();
    for field in &layout.fields {
        let (std_label, std_en) = standard_label(&field.source, holder_label);
        let label = field.label.clone().unwrap_or(std_label);
        let label_en = field.label_en.as_deref().or(if field.label.is_none() { std_en } else { None });
        let value = field_value(licence, &field.source, &field.options);
        let lines = pen.regular.wrap(&value, value_size, value_w - 24.0);
        let height = (lines.len() as f32 * 18.0 + 16.0).max(if label_en.is_some() { 38.0 } else { 32.0 });
        pen.rect(left, y, label_w, height, Some(fill(LABEL_BG, 1.0)), None);
        let label_y = if label_en.is_some() { y + height / 2.0 - 1.0 } else { y + height / 2.0 + 4.5 };
        pen.text(left + 12.0, label_y, 12.0, &label, INK, false);
        if let Some(en) = label_en {
            pen.text(left + 12.0, label_y + 12.0, 7.5, en, GREY, false);
        }
        let text_top = y + (height - lines.len() as f32 * 18.0) / 2.0 + 13.5;
        for (i, line) in lines.iter().enumerate() {
            pen.text(left + label_w + 14.0, text_top + i as f32 * 18.0, value_size, line, INK, false);
        }
        y += height;
        row_bottoms.push(y);
    }
    // The rules go over the shaded label cells, so they are drawn after all rows.
    if let Some((_, inner)) = row_bottoms.split_last() {
        for &bottom in inner {
            pen.line(left, bottom, left + label_w + value_w, bottom, stroke(RULE, 0.6));
        }
    }
    pen.rect(left, top, label_w + value_w, y - top, None, Some(stroke(FRAME, 1.0)));
    pen.line(left + label_w, top, left + label_w, y, stroke(RULE, 0.6));

    // The QR code, drawn as vector squares (a module is 1 unit; runs of dark modules are merged).
    let (qr_x, qr_y, qr_size) = (PAGE_W - 64.0 - 156.0, 152.0, 156.0);
    let modules = qr.width();
    let quiet = 3usize;
    let unit = qr_size / (modules + 2 * quiet) as f32;
    pen.rect(qr_x, qr_y, qr_size, qr_size, Some(fill((255, 255, 255), 1.0)), Some(stroke(RULE, 0.6)));
    let colours = qr.to_colors();
    let mut pb = PathBuilder::new();
    for row in 0..modules {
        let mut col = 0;
        while col < modules {
            if colours.get(row * modules + col) == Some(&qrcode::Color::Dark) {
                let start = col;
                while col < modules && colours.get(row * modules + col) == Some(&qrcode::Color::Dark) {
                    col += 1;
                }
                let x = qr_x + (quiet + start) as f32 * unit;
                let y = qr_y + (quiet + row) as f32 * unit;
                if let Some(r) = Rect::from_xywh(x, y, (col - start) as f32 * unit, unit) {
                    pb.push_rect(r);
                }
            } else {
                col += 1;
            }
        }
    }
    pen.path(pb.finish(), Some(fill((0, 0, 0), 1.0)), None);
    let qr_cx = qr_x + qr_size / 2.0;
    pen.text_centred(qr_cx, qr_y + qr_size + 18.0, 11.0, "扫码核验", INK, false);
    pen.text_centred(qr_cx, qr_y + qr_size + 31.0, 7.5, "Scan to verify offline", GREY, false);

    // The issuer line, the date and the seal over them.
    let issuer_label = layout.issuer_label.as_deref().unwrap_or("发证机关");
    let issuer = &licence.issuer().name;
    // The issuer block is right-aligned; the seal sits over its end, as a stamp on paper would.
    let (right, issuer_y) = (PAGE_W - 84.0, 466.0);
    pen.text_right(right, issuer_y, 13.0, &format!("{issuer_label}：{issuer}"), INK);
    pen.text_right(right, issuer_y + 24.0, 13.0, &chinese_date(licence.issue_date()), INK);
    let seal_text = layout.seal_text.as_deref().unwrap_or(issuer);
    let caption = layout.seal_caption.as_deref().unwrap_or("电子证照专用章");
    draw_seal(pen, right - 62.0, issuer_y + 4.0, 50.0, seal_text, caption);

    // The foot: the identifier and how to verify.
    pen.line(64.0, PAGE_H - 70.0, PAGE_W - 64.0, PAGE_H - 70.0, stroke(RULE, 0.5));
    pen.text(64.0, PAGE_H - 54.0, 8.5, &format!("电子证照标识：{}", licence.id()), GREY, false);
    let note = if licence.supersedes().is_some() {
        format!("版本 {:03}，取代前一版本。", licence.version())
    } else {
        format!("版本 {:03}。", licence.version())
    };
    pen.text(
        64.0,
        PAGE_H - 41.0,
        7.5,
        &format!(
            "{note}本证照由发证机关以电子签名签发（Ed25519），可使用其公布的公钥离线核验二维码或所附电子证照文件。"
        ),
        GREY,
        false,
    );
}

/// A round official seal (公章): a ring, the text along the upper arc, a star and the caption.
fn draw_seal(pen: &mut Pen<'_, '_, '_>, cx: f32, cy: f32, r: f32, text: &str, caption: &str) {
    let opacity = 0.82;
    pen.path(
        circle(cx, cy, r),
        None,
        Some(Stroke { opacity: NormalizedF32::new(opacity).unwrap_or(NormalizedF32::ONE), ..stroke(SEAL, 2.8) }),
    );
    pen.path(star(cx, cy - 2.0, r * 0.26), Some(fill(SEAL, opacity)), None);
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len().max(1) as f32;
    let size = if chars.len() > 12 { 9.5 } else { 12.0 };
    // Spread the text over up to 240° of the upper arc, centred on the top.
    let span = (n * 24.0).min(250.0).to_radians();
    let step = if chars.len() > 1 { span / (n - 1.0) } else { 0.0 };
    for (i, ch) in chars.iter().enumerate() {
        let angle = -span / 2.0 + step * i as f32;
        let (sin, cos) = angle.sin_cos();
        pen.surface.push_transform(&Transform::from_row(cos, sin, -sin, cos, cx, cy));
        let s = ch.to_string();
        let w = pen.bold.width(&s, size);
        pen.surface.set_stroke(None);
        pen.surface.set_fill(Some(fill(SEAL, opacity)));
        pen.surface.draw_text(
            Point::from_xy(-w / 2.0, -r + 6.0 + size),
            pen.bold.font.clone(),
            size,
            &s,
            false,
            TextDirection::Auto,
        );
        pen.surface.pop();
    }
    let w = pen.regular.width(caption, 7.5);
    pen.surface.set_fill(Some(fill(SEAL, opacity)));
    pen.surface.draw_text(
        Point::from_xy(cx - w / 2.0, cy + r * 0.62),
        pen.regular.font.clone(),
        7.5,
        caption,
        false,
        TextDirection::Auto,
    );
}
