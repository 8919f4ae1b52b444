//! CSV import in the console: an upload runs `transfer::import::import_csv` (the code of
//! `contactd import`, the API's rules) in the background; its page shows live progress
//! (htmx polls a fragment; without script, reloading does) and offers the rejected rows,
//! with their reasons, as a CSV download.
//!
//! Imports are kept in memory, like sessions, and only the tenant that started one sees it.

use std::sync::{Arc, Mutex};

use axum::extract::{Multipart, Path};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use maud::{html, Markup};
use serde_json::Value;

use super::page::{self, Field, FormError, Section};
use super::session::{Session, SignedIn};
use super::{error_page, ConsoleState};
use crate::domain::tenant::Tenant;
use crate::error::ApiError;
use crate::transfer::import::{import_csv, CsvImported, ImportMode, ImportSummary, RowRules};

/// Largest file the upload takes.
pub const MAX_UPLOAD: usize = 64 * 1024 * 1024;
/// Imports remembered; past it, the oldest finished one is forgotten.
const KEPT: usize = 100;

#[derive(Default)]
pub struct Imports {
    jobs: Mutex<Vec<(String, Arc<Mutex<Job>>)>>,
}

struct Job {
    tenant: Tenant,
    file_name: String,
    /// Data rows in the file, about (lines after the header).
    expected_rows: u64,
    summary: ImportSummary,
    /// Columns of the file that went nowhere.
    ignored_columns: Vec<String>,
    state: JobState,
    /// Rejected rows as `import` writes them: NDJSON of the row, its number and the error.
    rejected: Vec<u8>,
}

#[derive(Clone, PartialEq)]
enum JobState {
    Running,
    Done,
    Failed(String),
}

impl Imports {
    fn start(&self, job: Job) -> (String, Arc<Mutex<Job>>) {
        let id = format!("imp_{}", hex::encode(rand::random::<[u8; 12]>()));
        let job = Arc::new(Mutex::new(job));
        let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        if jobs.len() >= KEPT {
            let finished = jobs.iter().position(|(_, j)| {
                j.lock().unwrap_or_else(|e| e.into_inner()).state != JobState::Running
            });
            if let Some(i) = finished {
                jobs.remove(i);
            }
        }
        jobs.push((id.clone(), job.clone()));
        (id, job)
    }

    /// The tenant's import of that id; another tenant's is not found.
    fn get(&self, id: &str, tenant: &Tenant) -> Option<Arc<Mutex<Job>>> {
        let jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        jobs.iter()
            .find(|(i, _)| i == id)
            .map(|(_, job)| job.clone())
            .filter(|job| &job.lock().unwrap_or_else(|e| e.into_inner()).tenant == tenant)
    }

    /// The tenant's imports, newest first.
    fn of(&self, tenant: &Tenant) -> Vec<(String, String, JobState)> {
        let jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        jobs.iter()
            .rev()
            .filter_map(|(id, job)| {
                let job = job.lock().unwrap_or_else(|e| e.into_inner());
                (&job.tenant == tenant)
                    .then(|| (id.clone(), job.file_name.clone(), job.state.clone()))
            })
            .collect()
    }
}

pub async fn upload_form(
    signed_in: SignedIn,
    Extension(console): Extension<Arc<ConsoleState>>,
) -> Response {
    upload_page(&signed_in.session, &console, StatusCode::OK, None)
}

fn upload_page(
    session: &Session,
    console: &ConsoleState,
    status: StatusCode,
    error: Option<&FormError>,
) -> Response {
    let earlier = console.imports.of(&session.tenant);
    let modes = [
        ("create", "Create: every row is a new contact"),
        (
            "upsert",
            "Upsert: update the contact a row's phone or email names",
        ),
    ];
    let body = html! {
        h1 { "Import contacts" }
        p { "A CSV file with a header row. Columns named like a field (phone, email, first_name, last_name, preferred_channel, status) fill it; columns named metadata.KEY go to metadata. Rows are checked by the same rules as the API; rows that fail are kept aside with their reason, for download." }
        (page::form_alert(error))
        form method="post" action="/console/import" enctype="multipart/form-data" class="stack" {
            (page::csrf_input(session))
            div class="field" {
                label for="file" { "CSV file" }
                input id="file" name="file" type="file" accept=".csv,text/csv" required
                    aria-invalid=[error.filter(|e| e.field.as_deref() == Some("file")).map(|_| "true")]
                    aria-describedby=[error.filter(|e| e.field.as_deref() == Some("file")).map(|_| "file-error")];
                @if let Some(e) = error.filter(|e| e.field.as_deref() == Some("file")) {
                    p class="field-error" id="file-error" { (e.message) }
                }
            }
            (page::select_field(&Field { name: "mode", label: "Mode", value: "create", kind: "", hint: None, error: None, required: false }, &modes))
            (page::input_field(&Field { name: "default_country", label: "Default country (optional)", value: "", kind: "text",
                hint: Some("ISO code such as US or DE, for phone numbers written without a country code"), error, required: false }))
            div class="actions" { button type="submit" { "Import" } }
        }
        @if !earlier.is_empty() {
            section aria-labelledby="earlier" {
                h2 id="earlier" { "Imports of this session's workspace" }
                ul {
                    @for (id, name, state) in &earlier {
                        li {
                            a href={ "/console/import/" (id) } { (name) }
                            " · " (match state { JobState::Running => "running", JobState::Done => "done", JobState::Failed(_) => "failed" })
                        }
                    }
                }
            }
        }
    };
    (
        status,
        page::layout("Import contacts", Some(session), Section::Import, body),
    )
        .into_response()
}

/// What the upload form sent.
#[derive(Default)]
struct Upload {
    csrf: Option<String>,
    mode: Option<String>,
    default_country: Option<String>,
    file_name: String,
    file: Option<Vec<u8>>,
}

async fn read_upload(mut multipart: Multipart) -> Result<Upload, String> {
    let mut upload = Upload::default();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return Ok(upload),
            Err(e) => return Err(format!("The upload could not be read: {}", e.body_text())),
        };
        let name = field.name().unwrap_or("").to_owned();
        if name == "file" {
            upload.file_name = field.file_name().unwrap_or("upload.csv").to_owned();
            let bytes = field
                .bytes()
                .await
                .map_err(|e| format!("The file could not be read: {}", e.body_text()))?;
            upload.file = Some(bytes.to_vec());
        } else {
            let text = field
                .text()
                .await
                .map_err(|e| format!("The form could not be read: {}", e.body_text()))?;
            match name.as_str() {
                "csrf" => upload.csrf = Some(text),
                "mode" => upload.mode = Some(text),
                "default_country" => upload.default_country = Some(text),
                _ => {}
            }
        }
    }
}

pub async fn upload(
    signed_in: SignedIn,
    Extension(console): Extension<Arc<ConsoleState>>,
    multipart: Multipart,
) -> Response {
    let session = &signed_in.session;
    let upload = match read_upload(multipart).await {
        Ok(upload) => upload,
        Err(message) => {
            let error = file_error(message);
            return upload_page(session, &console, StatusCode::BAD_REQUEST, Some(&error));
        }
    };
    if let Err(refused) = signed_in.check_csrf(upload.csrf.as_deref()) {
        return refused;
    }
    let file = match upload.file {
        Some(file) if !file.is_empty() => file,
        _ => {
            let error = file_error("Choose a CSV file to import".into());
            return upload_page(session, &console, StatusCode::BAD_REQUEST, Some(&error));
        }
    };
    let mut rules = RowRules::new(match upload.mode.as_deref() {
        Some("upsert") => ImportMode::Upsert,
        _ => ImportMode::Create,
    });
    rules.default_country = upload
        .default_country
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    let lines = file.iter().filter(|b| **b == b'\n').count() as u64;
    let ends_with_newline = file.last() == Some(&b'\n');
    let expected_rows = if ends_with_newline {
        lines.saturating_sub(1)
    } else {
        lines
    };
    let (id, job) = console.imports.start(Job {
        tenant: session.tenant.clone(),
        file_name: upload.file_name,
        expected_rows,
        summary: ImportSummary::default(),
        ignored_columns: Vec::new(),
        state: JobState::Running,
        rejected: Vec::new(),
    });
    let store = console.store.clone();
    let tenant = session.tenant.clone();
    tokio::spawn(async move {
        let mut rejected = Vec::new();
        let report = job.clone();
        let result = import_csv(
            store.as_ref(),
            &tenant,
            file,
            &rules,
            &mut rejected,
            |summary| {
                report.lock().unwrap_or_else(|e| e.into_inner()).summary = summary.clone();
            },
        )
        .await;
        let mut job = job.lock().unwrap_or_else(|e| e.into_inner());
        job.rejected = rejected;
        match result {
            Ok(CsvImported {
                summary,
                ignored_columns,
            }) => {
                job.summary = summary;
                job.ignored_columns = ignored_columns;
                job.state = JobState::Done;
            }
            Err(e) => {
                tracing::warn!(error = format!("{e:#}"), "console: an import failed");
                job.state = JobState::Failed(format!("{e:#}"));
            }
        }
    });
    Redirect::to(&format!("/console/import/{id}")).into_response()
}

fn file_error(message: String) -> FormError {
    FormError {
        field: Some("file".into()),
        message,
        expected: None,
        link: None,
    }
}

fn find_job(
    console: &ConsoleState,
    session: &Session,
    id: &str,
) -> Result<Arc<Mutex<Job>>, Response> {
    console
        .imports
        .get(id, &session.tenant)
        .ok_or_else(|| error_page(ApiError::NotFound("No such import".into())))
}

pub async fn job_page(
    signed_in: SignedIn,
    Extension(console): Extension<Arc<ConsoleState>>,
    Path(id): Path<String>,
) -> Response {
    let session = &signed_in.session;
    let job = match find_job(&console, session, &id) {
        Ok(job) => job,
        Err(page) => return page,
    };
    let (title, fragment) = {
        let job = job.lock().unwrap_or_else(|e| e.into_inner());
        (
            format!("Import of {}", job.file_name),
            progress_fragment(&id, &job),
        )
    };
    let body = html! {
        h1 { (title) }
        (fragment)
        p { a href="/console/import" { "Import another file" } " · " a href="/console/contacts" { "Contacts" } }
    };
    page::layout(&title, Some(session), Section::Import, body).into_response()
}

pub async fn progress(
    signed_in: SignedIn,
    Extension(console): Extension<Arc<ConsoleState>>,
    Path(id): Path<String>,
) -> Response {
    match find_job(&console, &signed_in.session, &id) {
        Ok(job) => {
            let job = job.lock().unwrap_or_else(|e| e.into_inner());
            progress_fragment(&id, &job).into_response()
        }
        Err(page) => page,
    }
}

/// The import's state; while it runs, htmx replaces it with a fresh copy every half second.
fn progress_fragment(id: &str, job: &Job) -> Markup {
    let s = &job.summary;
    let running = job.state == JobState::Running;
    let poll = format!("/console/import/{id}/progress");
    html! {
        div id="progress" class="progress" role="status" aria-live="polite"
            hx-get=[running.then_some(poll.as_str())]
            hx-trigger=[running.then_some("every 500ms")]
            hx-swap=[running.then_some("outerHTML")] {
            @match &job.state {
                JobState::Running => {
                    p { "Importing… " (s.rows) " of about " (job.expected_rows) " rows read." }
                    progress value=(s.rows) max=(job.expected_rows.max(1)) aria-label="Rows read" { (s.rows) }
                    noscript { p { "Reload the page to see the progress." } }
                },
                JobState::Done => {
                    p class="done" { strong { "Done." } " " (s.sentence()) "." }
                    @if !job.ignored_columns.is_empty() {
                        p {
                            "Columns not imported: "
                            @for (i, column) in job.ignored_columns.iter().enumerate() {
                                @if i > 0 { ", " }
                                code { (column) }
                            }
                            ". Name a column like a field (phone, email, first_name, last_name, preferred_channel, status) or metadata.KEY to import it."
                        }
                    }
                },
                JobState::Failed(reason) => {
                    p class="field-error" { strong { "The import stopped: " } (reason) }
                    p { (s.sentence()) " before it stopped." }
                },
            }
            @if s.rejected > 0 && !running {
                p {
                    a class="button" href={ "/console/import/" (id) "/rejected.csv" } download { "Download the " (s.rejected) " rejected rows (CSV)" }
                }
                table class="rejected" {
                    caption { "Rejected rows" @if s.rejected > PREVIEW as u64 { " (the first " (PREVIEW) ")" } }
                    thead { tr { th scope="col" { "Row" } th scope="col" { "Field" } th scope="col" { "Reason" } } }
                    tbody {
                        @for (row, field, reason) in preview(&job.rejected) {
                            tr { td { (row) } td { (field) } td { (reason) } }
                        }
                    }
                }
            }
        }
    }
}

pub async fn rejected(
    signed_in: SignedIn,
    Extension(console): Extension<Arc<ConsoleState>>,
    Path(id): Path<String>,
) -> Response {
    let job = match find_job(&console, &signed_in.session, &id) {
        Ok(job) => job,
        Err(page) => return page,
    };
    let csv = {
        let job = job.lock().unwrap_or_else(|e| e.into_inner());
        rejected_csv(&job.rejected)
    };
    match csv {
        Ok(csv) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"rejected-rows.csv\"",
                ),
            ],
            csv,
        )
            .into_response(),
        Err(e) => error_page(ApiError::Internal(e)),
    }
}

/// Rejected rows shown on the import's page; all of them are in the download.
const PREVIEW: usize = 20;

/// The first rejected rows: number, field, reason.
fn preview(ndjson: &[u8]) -> Vec<(String, String, String)> {
    ndjson
        .split(|b| *b == b'\n')
        .filter_map(|line| serde_json::from_slice::<Value>(line).ok())
        .take(PREVIEW)
        .map(|r| {
            (
                cell(&r["row"]),
                cell(&r["details"]["field"]),
                cell(&r["message"]),
            )
        })
        .collect()
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The rejected rows as CSV: the row's number, the field and the reason, then the row's
/// own columns as the file had them, so it can be fixed and imported again.
fn rejected_csv(ndjson: &[u8]) -> anyhow::Result<Vec<u8>> {
    let rows: Vec<Value> = ndjson
        .split(|b| *b == b'\n')
        .filter(|line| !line.is_empty())
        .map(serde_json::from_slice)
        .collect::<Result<_, _>>()?;
    let columns: Vec<String> = rows
        .iter()
        .find_map(|r| r["record"].as_object())
        .map(|record| record.keys().cloned().collect())
        .unwrap_or_default();
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut header = vec![
        "row".to_owned(),
        "error_field".to_owned(),
        "error".to_owned(),
    ];
    header.extend(columns.iter().cloned());
    out.write_record(&header)?;
    for row in &rows {
        let mut record = vec![
            cell(&row["row"]),
            cell(&row["details"]["field"]),
            cell(&row["message"]),
        ];
        record.extend(columns.iter().map(|c| cell(&row["record"][c])));
        out.write_record(&record)?;
    }
    out.into_inner()
        .map_err(|e| anyhow::anyhow!("{}", e.error()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(state: JobState) -> Job {
        Job {
            tenant: Tenant {
                workspace_id: "ws_1".into(),
                mode: crate::domain::tenant::Mode::Test,
            },
            file_name: "people.csv".into(),
            expected_rows: 10,
            summary: ImportSummary {
                rows: 4,
                ..ImportSummary::default()
            },
            ignored_columns: Vec::new(),
            state,
            rejected: Vec::new(),
        }
    }

    #[test]
    fn a_running_import_polls_its_progress_and_a_finished_one_stops() {
        let running = progress_fragment("imp_1", &job(JobState::Running)).into_string();
        assert!(
            running.contains(r#"hx-get="/console/import/imp_1/progress""#),
            "{running}"
        );
        assert!(running.contains(r#"hx-trigger="every 500ms""#), "{running}");
        assert!(running.contains("4 of about 10 rows read"), "{running}");
        let done = progress_fragment("imp_1", &job(JobState::Done)).into_string();
        assert!(!done.contains("hx-get"), "{done}");
    }

    #[test]
    fn rejected_rows_keep_their_columns_and_say_why() {
        let ndjson = br#"{"error":"invalid_input","message":"Phone number must be in E.164 format","code":400,"details":{"field":"phone"},"row":2,"record":{"phone":"12","email":""}}
"#;
        let csv = rejected_csv(ndjson).unwrap_or_default();
        assert_eq!(
            String::from_utf8_lossy(&csv),
            "row,error_field,error,phone,email\n2,phone,Phone number must be in E.164 format,12,\n"
        );
    }
}
