//! `contactd import` and `contactd export`: contacts in and out as CSV or NDJSON, straight
//! to or from a database, in batches of the same rules as the API.

pub mod export;
pub mod import;
mod progress;

use std::path::Path;

use clap::ValueEnum;

/// File formats of import and export.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    Ndjson,
}

impl Format {
    /// The format a file name suggests (`.csv`, `.ndjson`, `.jsonl`).
    pub fn of_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "ndjson" | "jsonl" | "json" => Some(Format::Ndjson),
            _ => None,
        }
    }
}
