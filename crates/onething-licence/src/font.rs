//! Finding a CJK font for the printed licence: the one module of this crate that does IO (it reads font files).
//!
//! [`CjkFonts::find`] takes a configured path (a `.ttc` collection or a `.otf`/`.ttf` file) or, without one,
//! looks in the places Debian's `fonts-noto-cjk` installs to. Noto Serif CJK (a Song style, as official
//! documents use) is preferred to Noto Sans CJK; in both collections the Simplified Chinese face is index 2. The
//! bold face beside the regular one, when present, prints the title.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where `fonts-noto-cjk` puts its collections, best first: (regular, bold, collection index of SC).
const SYSTEM_FONTS: [(&str, &str, u32); 4] = [
    (
        "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
        "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc",
        2,
    ),
    (
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
        2,
    ),
    ("/usr/share/fonts/noto-cjk/NotoSerifCJK-Regular.ttc", "/usr/share/fonts/noto-cjk/NotoSerifCJK-Bold.ttc", 2),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", "/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc", 2),
];

/// Why no font could be had.
#[derive(Debug, thiserror::Error)]
pub enum FontError {
    /// None of the standard places has a CJK font.
    #[error(
        "no Chinese font was found (looked for Noto Serif/Sans CJK in /usr/share/fonts); install the Debian \
         package fonts-noto-cjk (apt-get install fonts-noto-cjk) or configure the path of a CJK font"
    )]
    NotFound,
    /// The configured font file cannot be read.
    #[error("the font file {path} cannot be read: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    /// The file is not a font (or the collection has no face at the index).
    #[error("{path} is not a font with a face number {index}")]
    NotAFont { path: PathBuf, index: u32 },
    /// The font lacks Chinese characters.
    #[error("the font {path} has no Chinese characters; use a CJK font such as Noto Serif CJK SC")]
    NoChinese { path: PathBuf },
}

impl FontError {
    /// A stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            FontError::NotFound => "font_not_found",
            FontError::Unreadable { .. } => "font_unreadable",
            FontError::NotAFont { .. } => "font_invalid",
            FontError::NoChinese { .. } => "font_no_chinese",
        }
    }
}

/// One font face: the file's bytes and the face's index in it.
#[derive(Debug, Clone)]
pub struct FontFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// The file's bytes (shared: a CJK collection is 20–30 MB).
    pub data: Arc<Vec<u8>>,
    /// The face index within a collection (0 for a single font).
    pub index: u32,
}

impl FontFile {
    /// Wraps font bytes already in memory, checking that the face exists and has Chinese characters.
    pub fn from_bytes(path: impl Into<PathBuf>, data: Vec<u8>, index: u32) -> Result<FontFile, FontError> {
        let path = path.into();
        {
            use skrifa::MetadataProvider as _;
            let face = skrifa::FontRef::from_index(&data, index)
                .map_err(|_| FontError::NotAFont { path: path.clone(), index })?;
            let charmap = face.charmap();
            if ['证', '照', '发'].iter().any(|&c| charmap.map(c).is_none()) {
                return Err(FontError::NoChinese { path });
            }
        }
        Ok(FontFile { path, data: Arc::new(data), index })
    }

    /// Reads a font file.
    pub fn read(path: &Path, index: u32) -> Result<FontFile, FontError> {
        let data = std::fs::read(path)
            .map_err(|e| FontError::Unreadable { path: path.to_path_buf(), reason: e.to_string() })?;
        FontFile::from_bytes(path, data, index)
    }
}

/// The faces a licence prints with.
#[derive(Debug, Clone)]
pub struct CjkFonts {
    /// The text face.
    pub regular: FontFile,
    /// The title face (the regular one when there is no bold).
    pub bold: Option<FontFile>,
}

impl CjkFonts {
    /// The configured font (`path`, face `index`; a `.ttc` of Noto CJK needs 2 for Simplified Chinese), or the
    /// first Noto CJK font installed on the system.
    pub fn find(configured: Option<(&Path, u32)>) -> Result<CjkFonts, FontError> {
        if let Some((path, index)) = configured {
            return Ok(CjkFonts { regular: FontFile::read(path, index)?, bold: None });
        }
        for (regular, bold, index) in SYSTEM_FONTS {
            let regular = Path::new(regular);
            if regular.is_file() {
                let bold = Path::new(bold);
                let bold = if bold.is_file() { FontFile::read(bold, index).ok() } else { None };
                return Ok(CjkFonts { regular: FontFile::read(regular, index)?, bold });
            }
        }
        Err(FontError::NotFound)
    }
}
