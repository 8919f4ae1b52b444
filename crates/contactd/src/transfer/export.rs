//! `contactd export`: a workspace's contacts as CSV or NDJSON, streamed page by page
//! (keyset paging, so memory stays flat whatever the size).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use clap::Args;
use serde_json::Value;

use super::Format;
use crate::api::ContactOut;
use crate::config::DatabaseArgs;
use crate::domain::contact_query::{ContactFilter, ContactQuery, Sort, SortField, Start};
use crate::domain::tenant::{Mode, Tenant};
use crate::store::{self, Store};

const PAGE: u32 = 1000;
const CSV_COLUMNS: [&str; 12] = [
    "id",
    "phone",
    "email",
    "first_name",
    "last_name",
    "full_name",
    "preferred_channel",
    "status",
    "created_at",
    "updated_at",
    "last_contacted",
    "metadata",
];

#[derive(Args, Debug, Clone)]
pub struct ExportArgs {
    /// Workspace to export.
    #[arg(long)]
    pub workspace: String,
    /// Live or test data of the workspace.
    #[arg(long, value_enum, default_value_t = crate::cli::KeyMode::Test)]
    pub data_mode: crate::cli::KeyMode,
    #[arg(long, value_enum, default_value_t = Format::Ndjson)]
    pub format: Format,
    /// File to write (default: standard output).
    #[arg(long)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

pub async fn run(args: ExportArgs) -> anyhow::Result<u64> {
    let store = store::open(&args.database.url, &args.database.options()).await?;
    let out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(File::create(path)?),
        None => Box::new(std::io::stdout().lock()),
    };
    let result = export(store.as_ref(), &args, BufWriter::new(out)).await;
    store.close().await;
    result
}

async fn export(store: &dyn Store, args: &ExportArgs, out: impl Write) -> anyhow::Result<u64> {
    let tenant = Tenant {
        workspace_id: store.ensure_workspace(args.workspace.trim()).await?,
        mode: Mode::from(args.data_mode),
    };
    let mut query = ContactQuery {
        filter: ContactFilter::default(),
        sort: Sort {
            field: SortField::CreatedAt,
            descending: false,
        },
        limit: PAGE,
        start: Start::After {
            value: crate::domain::contact_query::SortValue::Int(i64::MIN),
            id: String::new(),
        },
        include_total: false,
    };
    let mut sink = match args.format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(CSV_COLUMNS)?;
            Sink::Csv(Box::new(w))
        }
        Format::Ndjson => Sink::Ndjson(out),
    };
    let mut written = 0;
    loop {
        let page = store.list_contacts(&tenant, &query).await?;
        for contact in &page.items {
            sink.write(&serde_json::to_value(ContactOut::from(contact.clone()))?)?;
            written += 1;
        }
        match page.items.last() {
            Some(last) if page.has_more => {
                query.start = Start::After {
                    value: query.sort.value_of(last),
                    id: last.id.as_str().to_owned(),
                };
            }
            _ => break,
        }
    }
    sink.flush()?;
    Ok(written)
}

enum Sink<W: Write> {
    Csv(Box<csv::Writer<W>>),
    Ndjson(W),
}

impl<W: Write> Sink<W> {
    fn write(&mut self, contact: &Value) -> anyhow::Result<()> {
        match self {
            Sink::Csv(w) => w.write_record(CSV_COLUMNS.iter().map(|c| csv_cell(&contact[*c])))?,
            Sink::Ndjson(w) => {
                serde_json::to_writer(&mut *w, contact)?;
                w.write_all(b"\n")?;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        match self {
            Sink::Csv(w) => w.flush()?,
            Sink::Ndjson(w) => w.flush()?,
        }
        Ok(())
    }
}

fn csv_cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
