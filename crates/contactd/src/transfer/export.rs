//! `contactd export`: a workspace's contacts, or a saved segment's, as CSV or NDJSON,
//! streamed page by page (keyset paging, so memory stays flat whatever the size), straight
//! from a database or through a running server.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use contactd_client::{ContactPager, ListContacts, ListSegmentContacts};
use serde_json::Value;

use super::Format;
use crate::client_cli::ServerArgs;
use crate::config::DatabaseArgs;
use crate::domain::contact_query::{ContactFilter, ContactQuery, Sort, SortField, Start};
use crate::domain::ids::SegmentId;
use crate::domain::tenant::{Mode, Tenant};
use crate::store::{self, Store};

const PAGE: u32 = 1000;
/// The API's largest page, for an export through a server.
const SERVER_PAGE: u32 = 100;
const CSV_COLUMNS: [&str; 13] = [
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
    "identities",
];

#[derive(Args, Debug, Clone)]
pub struct ExportArgs {
    /// Workspace to export, straight from the database.
    #[arg(long, required_unless_present = "server_url")]
    pub workspace: Option<String>,
    // Or through a running server (the API key's workspace): --url and --api-key.
    #[command(flatten)]
    pub server: ServerArgs,
    /// Only the contacts of this saved segment (seg_…), as its filter matches them now.
    #[arg(long, value_name = "ID")]
    pub segment: Option<String>,
    /// Live or test data of the workspace.
    #[arg(long, value_enum, default_value_t = Mode::Test)]
    pub data_mode: Mode,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Ndjson)]
    pub format: Format,
    /// File to write (default: standard output).
    #[arg(long)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Where the contacts come from.
enum Source {
    Database {
        store: Arc<dyn Store>,
        tenant: Tenant,
        filter: ContactFilter,
    },
    Server {
        client: contactd_client::Client,
        segment: Option<String>,
    },
}

pub async fn run(args: ExportArgs) -> anyhow::Result<u64> {
    match (&args.server.url, &args.workspace) {
        (Some(_), Some(_)) => anyhow::bail!(
            "--workspace exports straight from a database, but a server URL is given too \
             (--url or CONTACTD_URL): give one of them"
        ),
        (Some(_), None) => {
            let client = args.server.client()?;
            if let Some(id) = &args.segment {
                // A missing segment fails before anything is written.
                client
                    .segments()
                    .get(id)
                    .await
                    .with_context(|| format!("segment {id}"))?;
            }
            let source = Source::Server {
                client,
                segment: args.segment.clone(),
            };
            export_to_output(&source, &args).await
        }
        (None, Some(workspace)) => {
            let store = store::open(&args.database.url, &args.database.options()).await?;
            let result = export_from_database(store.clone(), workspace, &args).await;
            store.close().await;
            result
        }
        (None, None) => {
            anyhow::bail!("say what to export: --workspace (a database) or --url (a server)")
        }
    }
}

async fn export_from_database(
    store: Arc<dyn Store>,
    workspace: &str,
    args: &ExportArgs,
) -> anyhow::Result<u64> {
    let tenant = Tenant {
        workspace_id: store.ensure_workspace(workspace.trim()).await?,
        mode: args.data_mode,
    };
    let filter = match &args.segment {
        None => ContactFilter::default(),
        Some(raw) => {
            let id = SegmentId::parse(raw.trim())
                .with_context(|| format!("--segment {raw}: not a segment id (seg_…)"))?;
            let segment = store.get_segment(&tenant, &id).await.with_context(|| {
                format!(
                    "segment {id} in the {} data of workspace \"{}\"",
                    tenant.mode,
                    workspace.trim()
                )
            })?;
            segment
                .contact_filter()
                .with_context(|| format!("the filter of segment {id}"))?
        }
    };
    let source = Source::Database {
        store,
        tenant,
        filter,
    };
    export_to_output(&source, args).await
}

async fn export_to_output(source: &Source, args: &ExportArgs) -> anyhow::Result<u64> {
    let out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    export(source, args.format, BufWriter::new(out)).await
}

async fn export(source: &Source, format: Format, out: impl Write) -> anyhow::Result<u64> {
    let mut sink = match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(CSV_COLUMNS)?;
            Sink::Csv(Box::new(w))
        }
        Format::Ndjson => Sink::Ndjson(out),
    };
    let written = match source {
        Source::Database {
            store,
            tenant,
            filter,
        } => export_database(store.as_ref(), tenant, filter, &mut sink).await?,
        Source::Server { client, segment } => {
            let pages = match segment {
                Some(id) => client.segments().contact_pages(
                    id,
                    &ListSegmentContacts::new()
                        .limit(SERVER_PAGE)
                        .include_total(false),
                ),
                None => client
                    .contacts()
                    .pages(&ListContacts::new().limit(SERVER_PAGE).include_total(false)),
            };
            export_server(pages, &mut sink).await?
        }
    };
    sink.flush()?;
    Ok(written)
}

/// The first page of an export: oldest first, by keyset, without a count.
fn first_page(filter: &ContactFilter) -> ContactQuery {
    ContactQuery {
        filter: filter.clone(),
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
    }
}

/// Writes one page to the sink; returns the query of the next page, if there is one.
async fn export_page<W: Write>(
    store: &dyn Store,
    tenant: &Tenant,
    mut query: ContactQuery,
    sink: &mut Sink<W>,
) -> anyhow::Result<(u64, Option<ContactQuery>)> {
    let page = store.list_contacts(tenant, &query).await?;
    for contact in &page.items {
        sink.write(&serde_json::to_value(contactd_wire::Contact::from(
            contact.clone(),
        ))?)?;
    }
    let written = page.items.len() as u64;
    match page.items.last() {
        Some(last) if page.has_more => {
            query.start = Start::After {
                value: query.sort.value_of(last),
                id: last.id.as_str().to_owned(),
            };
            Ok((written, Some(query)))
        }
        _ => Ok((written, None)),
    }
}

async fn export_database<W: Write>(
    store: &dyn Store,
    tenant: &Tenant,
    filter: &ContactFilter,
    sink: &mut Sink<W>,
) -> anyhow::Result<u64> {
    let mut next = Some(first_page(filter));
    let mut written = 0;
    while let Some(query) = next {
        let (n, following) = export_page(store, tenant, query, sink).await?;
        written += n;
        next = following;
    }
    Ok(written)
}

/// The contacts a filter matches as CSV, in the columns of `contactd export`, a page at a
/// time: the console streams its download from it, so memory stays flat whatever the size.
pub struct CsvPages {
    store: Arc<dyn Store>,
    tenant: Tenant,
    next: Option<ContactQuery>,
    started: bool,
}

impl CsvPages {
    pub fn new(store: Arc<dyn Store>, tenant: Tenant, filter: &ContactFilter) -> CsvPages {
        CsvPages {
            store,
            tenant,
            next: Some(first_page(filter)),
            started: false,
        }
    }

    /// The next piece of the file (the header row comes first); None at the end.
    pub async fn next_chunk(&mut self) -> anyhow::Result<Option<Vec<u8>>> {
        let Some(query) = self.next.take() else {
            return Ok(None);
        };
        let mut writer = csv::Writer::from_writer(Vec::new());
        if !self.started {
            writer.write_record(CSV_COLUMNS)?;
            self.started = true;
        }
        let mut sink = Sink::Csv(Box::new(writer));
        let (_, next) = export_page(self.store.as_ref(), &self.tenant, query, &mut sink).await?;
        self.next = next;
        let Sink::Csv(writer) = sink else {
            return Ok(None);
        };
        Ok(Some(
            writer
                .into_inner()
                .map_err(|e| anyhow::anyhow!("{}", e.error()))?,
        ))
    }
}

async fn export_server<W: Write>(
    mut pages: ContactPager<'_>,
    sink: &mut Sink<W>,
) -> anyhow::Result<u64> {
    let mut written = 0;
    while let Some(page) = pages.next_page().await? {
        for contact in &page.data {
            sink.write(&serde_json::to_value(contact)?)?;
            written += 1;
        }
    }
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
