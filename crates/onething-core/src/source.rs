//! Source positions for errors in data files (catalogue, calendar): a file name plus a byte span, turned into
//! the `file:line:column` that a person can jump to.

use std::fmt;

/// One text file handed to the core, with the name used in error messages.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self { name: name.into(), text: text.into() }
    }

    /// The 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = self.text.get(..offset).unwrap_or(&self.text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }

    /// A located error at a byte offset of this file.
    pub fn error_at(&self, offset: usize, message: impl Into<String>) -> SourceError {
        let (line, column) = self.line_col(offset);
        SourceError { file: self.name.clone(), line, column, message: message.into() }
    }
}

/// An error in a data file, located by file, line and column.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SourceError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.column, self.message)
    }
}

impl std::error::Error for SourceError {}

/// Turns a TOML parse or type error into a located error.
pub fn toml_error(file: &SourceFile, err: &toml::de::Error) -> SourceError {
    let offset = err.span().map_or(0, |s| s.start);
    file.error_at(offset, err.message().trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let f = SourceFile::new("a.toml", "x = 1\n名称 = \"y\"\n");
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(6), (2, 1));
        // "名称 = " is 2 chars + 3 chars; the quote sits at column 6 although it is byte 13 of the line.
        let quote = f.text.find('"').unwrap_or(0);
        assert_eq!(f.line_col(quote), (2, 6));
    }
}
