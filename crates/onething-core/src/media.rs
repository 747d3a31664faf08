//! Media types of uploaded materials, sniffed from the content (never from the client's header or name).
//! The allow-list is PDF, JPEG, PNG and OFD (GB/T 33190, the Chinese fixed-layout document: a ZIP package
//! whose root holds `OFD.xml`).

/// An allowed media type of a material file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    Pdf,
    Jpeg,
    Png,
    Ofd,
}

impl MediaType {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaType::Pdf => "application/pdf",
            MediaType::Jpeg => "image/jpeg",
            MediaType::Png => "image/png",
            MediaType::Ofd => "application/ofd",
        }
    }
}

/// The media type of a file from its first bytes, if it is one of the allowed types.
pub fn sniff(bytes: &[u8]) -> Option<MediaType> {
    if bytes.starts_with(b"%PDF-") {
        return Some(MediaType::Pdf);
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(MediaType::Jpeg);
    }
    if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        return Some(MediaType::Png);
    }
    // A ZIP local file header; an OFD package names `OFD.xml` in one of its entries.
    if bytes.starts_with(b"PK\x03\x04") && bytes.windows(7).any(|w| w == b"OFD.xml") {
        return Some(MediaType::Ofd);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_the_allowed_types_only() {
        assert_eq!(sniff(b"%PDF-1.7\n..."), Some(MediaType::Pdf));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0]), Some(MediaType::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some(MediaType::Png));
        assert_eq!(sniff(b"PK\x03\x04....OFD.xml...."), Some(MediaType::Ofd));
        assert_eq!(sniff(b"PK\x03\x04....word/document.xml"), None, "a plain ZIP (docx) is not OFD");
        assert_eq!(sniff(b"MZ\x90\x00"), None);
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(b"<html>%PDF-"), None);
    }
}
