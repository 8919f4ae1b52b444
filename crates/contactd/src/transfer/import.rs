//! `contactd import FILE`: CSV (with a header row) or NDJSON into a workspace, in batches.
//!
//! Every row is judged by the same parsers as the API; a row that fails, or that the
//! database refuses (a duplicate in create mode), goes to the rejected-rows file with its
//! reason, and the others land. Upsert mode makes a re-run change nothing.
//!
//! An export imports back. A row that carries a contactd id (`cnt_…`) is restored: written
//! with its id, timestamps and `last_contacted`, unless the workspace already holds its id,
//! phone or email (then the row is rejected); so an export imported into an empty
//! workspace exports again byte for byte. With `--new-ids` its read-only fields (`id`,
//! `full_name`, timestamps) are set aside and the contacts get new ids. CSV's `metadata`
//! column (a JSON object) is read as metadata.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, ValueEnum};
use serde_json::{json, Map, Value};

use super::progress::Progress;
use super::Format;
use crate::client_cli::{ClientArgs, Output};
use crate::config::DatabaseArgs;
use crate::domain::batch::BatchItem;
// Fields an export writes that a request may not set; `--new-ids` sets them aside.
use crate::domain::contact::{NewContact, UpsertContact, UpsertOutcome};
use crate::domain::ids::ContactId;
use crate::domain::restore;

const READ_ONLY: [&str; 5] = contactd_wire::Contact::READ_ONLY;
use crate::domain::tenant::{Mode, Tenant};
use crate::domain::FieldError;
use crate::error::ApiError;
use crate::store::{self, Store, StoreOptions};

/// Contact fields a CSV column can fill.
const FIELDS: [&str; 6] = [
    "phone",
    "email",
    "first_name",
    "last_name",
    "preferred_channel",
    "status",
];

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    /// Every row is a new contact; a row whose phone or email exists is rejected.
    Create,
    /// A row updates the contact its phone or email names, or creates it.
    Upsert,
}

#[derive(Args, Debug, Clone)]
pub struct ImportArgs {
    /// The file to import (.csv with a header row, or .ndjson / .jsonl).
    pub file: PathBuf,
    /// The file's format, when its extension does not tell.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Workspace to import into, straight into the database (created if needed).
    #[arg(long, required_unless_present = "server_url")]
    pub workspace: Option<String>,
    // Or through a running server (its batch endpoint): --url and --api-key.
    #[command(flatten)]
    pub client: ClientArgs,
    /// Live or test data of the workspace.
    #[arg(long, value_enum, default_value_t = Mode::Test)]
    pub data_mode: Mode,
    /// create: rows are new contacts; upsert: rows update the contact they name, or create it.
    #[arg(long, value_enum, default_value_t = ImportMode::Create)]
    pub mode: ImportMode,
    /// Give the contacts new ids: set aside an export's id, full_name and timestamps.
    /// Without it, rows carrying contactd ids are restored with their ids and timestamps.
    #[arg(long)]
    pub new_ids: bool,
    /// CSV column for a field, as FIELD=COLUMN (e.g. --map phone="Mobile number"); repeatable.
    /// Columns named like a field (phone, email, first_name, …) map without it.
    #[arg(long = "map", value_name = "FIELD=COLUMN")]
    pub map: Vec<String>,
    /// CSV column to keep in metadata under its own name; repeatable. Columns named
    /// `metadata.KEY` always go to metadata KEY.
    #[arg(long = "metadata-column", value_name = "COLUMN")]
    pub metadata_columns: Vec<String>,
    /// Country (ISO 3166 alpha-2) for phone numbers written without a country code.
    #[arg(long)]
    pub default_country: Option<String>,
    /// Where rejected rows go, one JSON object each with the row number and the reason
    /// (default: FILE.rejected.ndjson).
    #[arg(long)]
    pub rejected: Option<PathBuf>,
    /// Rows per transaction.
    #[arg(long, default_value_t = 1000)]
    pub batch_size: usize,
    /// Memory for SQLite's page cache while importing straight into a database, in MiB:
    /// a large import writes all over the indexes, and runs faster when they stay cached.
    #[arg(long, value_name = "MIB", default_value_t = 512)]
    pub sqlite_cache_mib: u32,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// How rows become request bodies: what `contactd import` takes as flags, and the
/// console's upload as form fields.
#[derive(Debug, Clone)]
pub struct RowRules {
    pub mode: ImportMode,
    pub new_ids: bool,
    pub map: Vec<String>,
    pub metadata_columns: Vec<String>,
    pub default_country: Option<String>,
}

impl RowRules {
    /// Columns named like a field map to it, `metadata.KEY` columns to metadata.
    pub fn new(mode: ImportMode) -> RowRules {
        RowRules {
            mode,
            new_ids: false,
            map: Vec::new(),
            metadata_columns: Vec::new(),
            default_country: None,
        }
    }
}

impl ImportArgs {
    fn rules(&self) -> RowRules {
        RowRules {
            mode: self.mode,
            new_ids: self.new_ids,
            map: self.map.clone(),
            metadata_columns: self.metadata_columns.clone(),
            default_country: self.default_country.clone(),
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    /// Upserts that found their contact as the row has it.
    pub unchanged: u64,
    pub rejected: u64,
}

impl ImportSummary {
    /// Rows that landed: created, updated or already so.
    pub fn imported(&self) -> u64 {
        self.created + self.updated + self.unchanged
    }

    /// "4 of 5 rows imported, 1 rejected (4 created, 0 updated, 0 unchanged)".
    pub fn sentence(&self) -> String {
        format!(
            "{} of {} rows imported, {} rejected ({} created, {} updated, {} unchanged)",
            self.imported(),
            self.rows,
            self.rejected,
            self.created,
            self.updated,
            self.unchanged
        )
    }
}

/// One row of the file: its number (1 = first data row), what was read, and the request
/// body it makes (or why it cannot make one).
struct Row {
    number: u64,
    record: Value,
    body: Result<Map<String, Value>, FieldError>,
    /// The row carries a contactd id: it is restored with it, whatever `--mode` says.
    restore: bool,
}

/// Where the rows go: straight into a database, or through a server's batch endpoint.
enum Destination {
    Database {
        store: Arc<dyn Store>,
        tenant: Tenant,
    },
    Server(contactd_client::Client),
}

pub async fn run(args: ImportArgs) -> anyhow::Result<ImportSummary> {
    let format = args
        .format
        .or_else(|| Format::of_path(&args.file))
        .context(
            "cannot tell the file's format from its name; pass --format csv or --format ndjson",
        )?;
    match (&args.client.server.url, &args.workspace) {
        (Some(_), Some(_)) => anyhow::bail!(
            "--workspace imports straight into a database, but a server URL is given too \
             (--url or CONTACTD_URL): give one of them"
        ),
        (Some(_), None) => {
            let target = Destination::Server(args.client.server.client()?);
            import(&target, &args, format).await
        }
        (None, Some(workspace)) => {
            let options = StoreOptions {
                sqlite_cache_mib: args.sqlite_cache_mib.max(1),
                ..args.database.options()
            };
            let store = store::open(&args.database.url, &options).await?;
            let tenant = Tenant {
                workspace_id: store.ensure_workspace(workspace.trim()).await?,
                mode: args.data_mode,
            };
            let target = Destination::Database {
                store: store.clone(),
                tenant,
            };
            let result = import(&target, &args, format).await;
            // Fresh statistics, so the first queries after a bulk load use the indexes.
            let analyzed = store.analyze().await;
            store.close().await;
            let summary = result?;
            analyzed?;
            Ok(summary)
        }
        (None, None) => {
            anyhow::bail!("say where to import: --workspace (a database) or --url (a server)")
        }
    }
}

async fn import(
    target: &Destination,
    args: &ImportArgs,
    format: Format,
) -> anyhow::Result<ImportSummary> {
    let file =
        File::open(&args.file).with_context(|| format!("cannot open {}", args.file.display()))?;
    let total_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    let read_bytes = Arc::new(AtomicU64::new(0));
    let reader = BufReader::new(Counting {
        inner: file,
        count: read_bytes.clone(),
    });
    let rejected_path = args
        .rejected
        .clone()
        .unwrap_or_else(|| with_suffix(&args.file, ".rejected.ndjson"));
    let mut rejected = BufWriter::new(
        File::create(&rejected_path)
            .with_context(|| format!("cannot create {}", rejected_path.display()))?,
    );
    let rules = args.rules();
    let mut rows: Box<dyn Iterator<Item = anyhow::Result<Row>>> = match format {
        Format::Csv => {
            let (ignored, rows) = csv_rows(reader, &rules)?;
            if !ignored.is_empty() {
                eprintln!(
                    "import: ignoring columns {ignored:?} (use --map or --metadata-column to keep them)"
                );
            }
            Box::new(rows)
        }
        Format::Ndjson => Box::new(ndjson_rows(reader, args.new_ids)),
    };
    let mut summary = ImportSummary::default();
    let mut progress = Progress::new(total_bytes);
    let batch_size = args.batch_size.clamp(1, crate::domain::batch::MAX_ITEMS);
    loop {
        let mut batch = Vec::with_capacity(batch_size);
        for row in rows.by_ref().take(batch_size) {
            let row = row?;
            if row.restore && args.mode == ImportMode::Upsert {
                anyhow::bail!("row {}: {}", row.number, upsert_cannot_restore());
            }
            batch.push(row);
        }
        if batch.is_empty() {
            break;
        }
        let mut out = Outcomes {
            summary: &mut summary,
            rejected: &mut rejected,
        };
        match target {
            Destination::Database { store, tenant } => {
                to_database(store.as_ref(), tenant, &rules, batch, &mut out).await?
            }
            Destination::Server(client) => to_server(client, &rules, batch, &mut out).await?,
        }
        progress.update(
            read_bytes.load(Ordering::Relaxed),
            summary.rows,
            summary.rejected,
        );
    }
    rejected.flush()?;
    progress.finish();
    let seconds = progress.elapsed().as_secs_f64();
    match args.client.output() {
        Output::Table => println!(
            "{} in {:.1} s ({:.0} rows/s){}",
            summary.sentence(),
            seconds,
            summary.rows as f64 / seconds.max(0.001),
            if summary.rejected > 0 {
                format!("; reasons in {}", rejected_path.display())
            } else {
                String::new()
            }
        ),
        Output::Json => println!(
            "{}",
            json!({
                "rows": summary.rows,
                "imported": summary.imported(),
                "created": summary.created,
                "updated": summary.updated,
                "unchanged": summary.unchanged,
                "rejected": summary.rejected,
                "rejected_file": (summary.rejected > 0)
                    .then(|| rejected_path.display().to_string()),
                "seconds": seconds,
            })
        ),
    }
    Ok(summary)
}

/// The counts of an import and its rejected-rows file.
struct Outcomes<'a, W: Write> {
    summary: &'a mut ImportSummary,
    rejected: &'a mut W,
}

impl<W: Write> Outcomes<'_, W> {
    fn created(&mut self) {
        self.summary.created += 1;
    }

    fn updated(&mut self) {
        self.summary.updated += 1;
    }

    fn unchanged(&mut self) {
        self.summary.unchanged += 1;
    }

    /// Writes the row, its number and the error envelope to the rejected-rows file.
    fn reject(&mut self, row: &Row, mut envelope: Value) -> anyhow::Result<()> {
        self.summary.rejected += 1;
        if let Value::Object(map) = &mut envelope {
            map.insert("row".into(), Value::from(row.number));
            map.insert("record".into(), row.record.clone());
        }
        serde_json::to_writer(&mut *self.rejected, &envelope)?;
        self.rejected.write_all(b"\n")?;
        Ok(())
    }
}

/// The request body of a row, with the import's default country.
fn body_of(row: &Row, args: &RowRules) -> Result<Map<String, Value>, FieldError> {
    row.body.clone().map(|mut body| {
        if let Some(country) = &args.default_country {
            body.entry("default_country")
                .or_insert_with(|| Value::from(country.clone()));
        }
        body
    })
}

/// Sends the rows to the batch endpoint: a request per run of rows to restore or not,
/// since a batch has one mode.
async fn to_server(
    client: &contactd_client::Client,
    args: &RowRules,
    batch: Vec<Row>,
    out: &mut Outcomes<'_, impl Write>,
) -> anyhow::Result<()> {
    for run in batch.chunk_by(|a, b| a.restore == b.restore) {
        let mode = match args.mode {
            _ if run.first().is_some_and(|row| row.restore) => contactd_client::BatchMode::Restore,
            ImportMode::Create => contactd_client::BatchMode::Create,
            ImportMode::Upsert => contactd_client::BatchMode::Upsert,
        };
        to_server_as(client, args, mode, run, out).await?;
    }
    Ok(())
}

async fn to_server_as(
    client: &contactd_client::Client,
    args: &RowRules,
    mode: contactd_client::BatchMode,
    batch: &[Row],
    out: &mut Outcomes<'_, impl Write>,
) -> anyhow::Result<()> {
    let mut sent = Vec::new();
    let mut bodies = Vec::new();
    for row in batch {
        out.summary.rows += 1;
        match body_of(row, args) {
            Ok(body) => {
                bodies.push(Value::Object(body));
                sent.push(row);
            }
            Err(e) => out.reject(row, ApiError::InvalidInput(e).body())?,
        }
    }
    if bodies.is_empty() {
        return Ok(());
    }
    let result = client.contacts().batch_json(mode, &bodies).await?;
    for item in result.results {
        let Some(row) = sent.get(item.index) else {
            continue;
        };
        match item.outcome {
            contactd_client::BatchOutcome::Created(_) => out.created(),
            contactd_client::BatchOutcome::Updated(_) => out.updated(),
            contactd_client::BatchOutcome::Unchanged(_) => out.unchanged(),
            contactd_client::BatchOutcome::Failed(e) => {
                out.reject(row, serde_json::to_value(e)?)?
            }
        }
    }
    Ok(())
}

async fn to_database(
    store: &dyn Store,
    tenant: &Tenant,
    args: &RowRules,
    batch: Vec<Row>,
    out: &mut Outcomes<'_, impl Write>,
) -> anyhow::Result<()> {
    let mut pending = Vec::new();
    let mut items = Vec::new();
    for row in batch {
        out.summary.rows += 1;
        let item = body_of(&row, args).and_then(|body| match args.mode {
            _ if row.restore => restore::contact_from_json(body).map(BatchItem::Restore),
            ImportMode::Create => NewContact::from_json(body).map(BatchItem::Create),
            ImportMode::Upsert => UpsertContact::from_json(body).map(BatchItem::Upsert),
        });
        match item {
            Ok(item) => {
                items.push(item);
                pending.push(row);
            }
            Err(e) => out.reject(&row, ApiError::InvalidInput(e).body())?,
        }
    }
    if items.is_empty() {
        return Ok(());
    }
    let results = store.batch_contacts(tenant, items).await?;
    for (row, result) in pending.iter().zip(results) {
        match result {
            Ok((_, UpsertOutcome::Created)) => out.created(),
            Ok((_, UpsertOutcome::Updated)) => out.updated(),
            Ok((_, UpsertOutcome::Unchanged)) => out.unchanged(),
            Err(e) => out.reject(row, ApiError::from(e).body())?,
        }
    }
    Ok(())
}

/// What [`import_csv`] did.
#[derive(Debug, Clone, Default)]
pub struct CsvImported {
    pub summary: ImportSummary,
    /// Columns of the file that went nowhere (neither a field nor `metadata.KEY`).
    pub ignored_columns: Vec<String>,
}

/// Imports a CSV file held in memory straight into a tenant, as `contactd import` does
/// (the console's upload): rejected rows go to `rejected` as NDJSON (the row number, the
/// row as read, and the error envelope), and `progress` hears the counts after each batch.
pub async fn import_csv(
    store: &dyn Store,
    tenant: &Tenant,
    csv: Vec<u8>,
    rules: &RowRules,
    rejected: &mut impl Write,
    mut progress: impl FnMut(&ImportSummary),
) -> anyhow::Result<CsvImported> {
    const BATCH: usize = 500;
    let (ignored_columns, mut rows) = csv_rows(std::io::Cursor::new(csv), rules)?;
    let mut summary = ImportSummary::default();
    loop {
        let mut batch = Vec::with_capacity(BATCH);
        for row in rows.by_ref().take(BATCH) {
            let row = row?;
            if row.restore && rules.mode == ImportMode::Upsert {
                anyhow::bail!("row {}: {}", row.number, upsert_cannot_restore());
            }
            batch.push(row);
        }
        if batch.is_empty() {
            break;
        }
        let mut out = Outcomes {
            summary: &mut summary,
            rejected: &mut *rejected,
        };
        to_database(store, tenant, rules, batch, &mut out).await?;
        progress(&summary);
    }
    Ok(CsvImported {
        summary,
        ignored_columns,
    })
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Counts the bytes read, for progress.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Where each CSV column goes.
#[derive(Debug, Clone, PartialEq)]
enum Target {
    Field(&'static str),
    Metadata(String),
    /// A `metadata` column: a JSON object, as export writes it.
    MetadataObject,
    /// An `identity.TYPE` column: the row's identity of that type.
    Identity(String),
    /// An `identities` column: a JSON array of `{"type", "value"}`, as export writes it.
    IdentitiesArray,
    /// A column export writes that a request cannot set (`id`, `full_name`, timestamps):
    /// kept when the row is restored, else set aside.
    ReadOnly(&'static str),
    Ignore,
}

fn column_targets(headers: &csv::StringRecord, args: &RowRules) -> anyhow::Result<Vec<Target>> {
    let mut explicit = Vec::new();
    for pair in &args.map {
        let (field, column) = pair
            .split_once('=')
            .with_context(|| format!("--map {pair}: expected FIELD=COLUMN"))?;
        let field = FIELDS
            .iter()
            .find(|f| **f == field.trim())
            .with_context(|| {
                format!("--map {pair}: unknown field; one of {}", FIELDS.join(", "))
            })?;
        anyhow::ensure!(
            headers.iter().any(|h| h == column),
            "--map {pair}: the file has no column named {column:?}"
        );
        explicit.push((*field, column.to_owned()));
    }
    Ok(headers
        .iter()
        .map(|header| {
            if let Some((field, _)) = explicit.iter().find(|(_, column)| column == header) {
                return Target::Field(field);
            }
            if let Some(key) = header.strip_prefix("metadata.") {
                return Target::Metadata(key.to_owned());
            }
            if header.trim().eq_ignore_ascii_case("metadata") {
                return Target::MetadataObject;
            }
            if let Some(kind) = header.strip_prefix("identity.") {
                return Target::Identity(kind.to_owned());
            }
            if header.trim().eq_ignore_ascii_case("identities") {
                return Target::IdentitiesArray;
            }
            if let Some(field) = READ_ONLY
                .iter()
                .find(|f| f.eq_ignore_ascii_case(header.trim()))
            {
                return Target::ReadOnly(field);
            }
            if args.metadata_columns.iter().any(|c| c == header) {
                return Target::Metadata(header.to_owned());
            }
            let mapped_elsewhere = |f: &&str| explicit.iter().any(|(field, _)| field == f);
            match FIELDS
                .iter()
                .find(|f| f.eq_ignore_ascii_case(header.trim()))
            {
                Some(field) if !mapped_elsewhere(field) => Target::Field(field),
                _ => Target::Ignore,
            }
        })
        .collect())
}

/// The rows of a CSV file, and the columns that go nowhere (neither a field nor metadata).
fn csv_rows<R: Read + 'static>(
    reader: R,
    args: &RowRules,
) -> anyhow::Result<(Vec<String>, impl Iterator<Item = anyhow::Result<Row>>)> {
    let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let headers = csv
        .headers()
        .context("cannot read the CSV header row")?
        .clone();
    let targets = column_targets(&headers, args)?;
    // Without --new-ids, a row with contactd's own id (an export) is restored with it;
    // another system's `id` column is only set aside.
    let id_column = (!args.new_ids)
        .then(|| {
            headers
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case("id"))
        })
        .flatten();
    let ignored: Vec<String> = headers
        .iter()
        .zip(&targets)
        .filter(|(_, t)| **t == Target::Ignore)
        .map(|(h, _)| h.to_owned())
        .collect();
    let mut number = 0;
    let rows = csv.into_records().map(move |record| {
        number += 1;
        match record {
            Ok(record) => {
                let restore = id_column
                    .and_then(|i| record.get(i))
                    .is_some_and(|id| id.trim().starts_with(ContactId::PREFIX));
                let raw: Map<String, Value> = headers
                    .iter()
                    .zip(record.iter())
                    .map(|(h, v)| (h.to_owned(), Value::from(v)))
                    .collect();
                let body = if record.len() != headers.len() {
                    Err(FieldError::new(
                        "row",
                        format!(
                            "The row has {} columns; the header has {}",
                            record.len(),
                            headers.len()
                        ),
                    ))
                } else {
                    csv_body(&targets, &record, restore)
                };
                Ok(Row {
                    number,
                    record: Value::Object(raw),
                    body,
                    restore,
                })
            }
            Err(e) if e.is_io_error() => Err(anyhow::Error::new(e).context("cannot read the file")),
            Err(e) => Ok(Row {
                number,
                record: Value::Null,
                body: Err(FieldError::new("row", format!("Unreadable CSV row: {e}"))),
                restore: false,
            }),
        }
    });
    Ok((ignored, rows))
}

/// The body of a CSV row; a row to restore keeps its read-only columns.
fn csv_body(
    targets: &[Target],
    record: &csv::StringRecord,
    restore: bool,
) -> Result<Map<String, Value>, FieldError> {
    let mut body = Map::new();
    let mut object = Map::new();
    let mut keys = Map::new();
    let mut identities = Vec::new();
    for (target, value) in targets.iter().zip(record.iter()) {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        match target {
            Target::Field(field) => {
                body.insert((*field).to_owned(), Value::from(value));
            }
            Target::Metadata(key) => {
                keys.insert(key.clone(), Value::from(value));
            }
            Target::MetadataObject => object = metadata_cell(value)?,
            Target::Identity(kind) => identities.push(json!({"type": kind, "value": value})),
            Target::IdentitiesArray => identities.extend(identities_cell(value)?),
            Target::ReadOnly(field) if restore => {
                body.insert((*field).to_owned(), Value::from(value));
            }
            Target::ReadOnly(_) | Target::Ignore => {}
        }
    }
    // A `metadata.KEY` column says more precisely what it means than the object does.
    object.extend(keys);
    if !object.is_empty() {
        body.insert("metadata".into(), Value::Object(object));
    }
    if !identities.is_empty() {
        body.insert("identities".into(), Value::Array(identities));
    }
    Ok(body)
}

/// An `identities` cell: a JSON array, as export writes it.
fn identities_cell(cell: &str) -> Result<Vec<Value>, FieldError> {
    match serde_json::from_str::<Value>(cell) {
        Ok(Value::Array(items)) => Ok(items),
        _ => Err(
            FieldError::new("identities", "The identities column must hold a JSON array")
                .received(crate::domain::input::truncate(cell, 500))
                .expected(r#"e.g. [{"type": "instagram", "value": "17841400000000001"}]"#),
        ),
    }
}

/// A `metadata` cell: a JSON object, as export writes it.
fn metadata_cell(cell: &str) -> Result<Map<String, Value>, FieldError> {
    match serde_json::from_str::<Value>(cell) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(
            FieldError::new("metadata", "The metadata column must hold a JSON object")
                .received(crate::domain::input::truncate(cell, 500))
                .expected(r#"a JSON object, e.g. {"plan": "premium"}"#),
        ),
    }
}

fn upsert_cannot_restore() -> String {
    "the file carries contact ids (an export?): such rows are restored with their ids, \
     which --mode upsert cannot do; import without --mode upsert to restore them, or pass \
     --new-ids to upsert them by phone and email"
        .to_owned()
}

fn ndjson_rows<R: BufRead>(reader: R, new_ids: bool) -> impl Iterator<Item = anyhow::Result<Row>> {
    reader
        .lines()
        .enumerate()
        .filter(|(_, line)| line.as_ref().map_or(true, |l| !l.trim().is_empty()))
        .map(move |(index, line)| {
            let line = line.context("cannot read the file")?;
            let number = index as u64 + 1;
            Ok(match serde_json::from_str::<Value>(&line) {
                Ok(Value::Object(mut map)) => {
                    let record = Value::Object(map.clone());
                    if new_ids {
                        for field in READ_ONLY {
                            map.remove(field);
                        }
                    }
                    Row {
                        number,
                        record,
                        restore: map.contains_key("id"),
                        body: Ok(map),
                    }
                }
                Ok(other) => Row {
                    number,
                    record: other,
                    body: Err(FieldError::new("row", "Each line must be a JSON object")),
                    restore: false,
                },
                Err(e) => Row {
                    number,
                    record: json!(crate::domain::input::truncate(&line, 500)),
                    body: Err(FieldError::new(
                        "row",
                        format!("The line is not valid JSON: {e}"),
                    )),
                    restore: false,
                },
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_metadata_column_and_metadata_key_columns_merge_the_keys_winning() {
        let targets = [
            Target::Field("phone"),
            Target::MetadataObject,
            Target::Metadata("plan".into()),
            Target::ReadOnly("id"),
        ];
        let record = csv::StringRecord::from(vec![
            "+14155550101",
            r#"{"plan": "basic", "tags": ["vip"]}"#,
            "premium",
            "cnt_0000000000000000",
        ]);
        let body = csv_body(&targets, &record, false).map(Value::Object);
        assert_eq!(
            body.ok(),
            Some(json!({"phone": "+14155550101",
                "metadata": {"plan": "premium", "tags": ["vip"]}}))
        );
    }

    #[test]
    fn a_metadata_cell_that_is_not_an_object_is_a_row_error() {
        for cell in ["[1]", "plan=premium", "\"x\""] {
            let error = metadata_cell(cell).err();
            assert_eq!(
                error.map(|e| e.field),
                Some("metadata".to_owned()),
                "{cell}"
            );
        }
    }

    #[test]
    fn the_summary_counts_every_landed_row() {
        let summary = ImportSummary {
            rows: 5,
            created: 2,
            updated: 1,
            unchanged: 1,
            rejected: 1,
        };
        assert_eq!(
            summary.sentence(),
            "4 of 5 rows imported, 1 rejected (2 created, 1 updated, 1 unchanged)"
        );
    }
}
