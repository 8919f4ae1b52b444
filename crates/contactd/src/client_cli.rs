//! `contactd contact …` and `contactd segment …`: the API from the command line, through
//! the Rust SDK (`contactd-client`), against a running server; and what every command that
//! talks to a server shares: the client flags, `--output json|table`, and errors for people.

use clap::{Args, Subcommand, ValueEnum};
use contactd_client::{
    Channel, Client, Contact, ContactStatus, ContactUpdate, Delivery, ListContacts,
    ListSegmentContacts, NewContact, NewWebhook, Page, Segment, SegmentFilter, SegmentUpdate, Sort,
    SortField, Webhook,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// Where `contact` and `segment` find the server when neither `--url` nor `CONTACTD_URL`
/// says: where `contactd serve` listens by default.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8080";

/// The client flags: the server, the key and how to print. Every command that talks to a
/// server flattens this (or, for `export`, whose `--output` is a file, [`ServerArgs`]).
#[derive(Args, Debug, Clone)]
pub struct ClientArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

impl ClientArgs {
    pub fn output(&self) -> Output {
        self.output.output
    }
}

/// Where the server is and the key to use.
// A heading per flag: one for the struct would also take in the flags declared after it.
#[derive(Args, Debug, Clone)]
pub struct ServerArgs {
    /// Base URL of the contactd server.
    // Its id is not `url`: that is `--database`'s, which `import` and `export` also take.
    #[arg(
        id = "server_url",
        long = "url",
        value_name = "URL",
        env = "CONTACTD_URL",
        global = true,
        help_heading = CLIENT_OPTIONS
    )]
    pub url: Option<String>,
    /// API key (sk_live_… or sk_test_…).
    #[arg(
        long,
        env = "CONTACTD_API_KEY",
        global = true,
        hide_env_values = true,
        help_heading = CLIENT_OPTIONS
    )]
    pub api_key: Option<String>,
}

impl ServerArgs {
    /// A client of the server named by `--url`, with `--api-key`.
    pub fn client(&self) -> anyhow::Result<Client> {
        let url = self
            .url
            .clone()
            .ok_or_else(|| anyhow::anyhow!("say which server: --url or CONTACTD_URL"))?;
        let key = self.api_key.clone().ok_or_else(|| {
            anyhow::anyhow!("the server at {url} needs an API key: --api-key or CONTACTD_API_KEY")
        })?;
        Ok(Client::new(url, key))
    }
}

/// How a command prints what it did. The default is JSON; `import` and `keys list`, whose
/// answers are for people, make it table where they are declared (and `keys list`, which
/// talks to no server, shows it among its own options).
#[derive(Args, Debug, Clone)]
pub struct OutputArgs {
    /// json: one object, or an array for a list (even of one); table: aligned columns.
    #[arg(
        long,
        value_enum,
        default_value_t = Output::Json,
        global = true,
        help_heading = CLIENT_OPTIONS
    )]
    pub output: Output,
}

/// The help heading of the flags shared by the client commands (`--url`, `--api-key`,
/// `--output`), so they read the same in `contact`, `segment`, `import` and `export`.
pub const CLIENT_OPTIONS: &str = "Client options";

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// JSON on standard output.
    Json,
    /// An aligned text table.
    Table,
}

/// What a command got: one thing, printed as a JSON object, or a list, printed as a JSON
/// array whatever its length. In a table both are rows under a header.
pub enum Shown<T> {
    One(T),
    List(Vec<T>),
}

/// A thing as a table row.
pub trait Row {
    const HEADER: &'static [&'static str];
    fn cells(&self) -> Vec<String>;
}

/// Prints what a command got, as JSON or as a table.
pub fn print<T: Serialize + Row>(shown: &Shown<T>, output: Output) -> anyhow::Result<()> {
    match (output, shown) {
        (Output::Json, Shown::One(one)) => println!("{}", serde_json::to_string_pretty(one)?),
        (Output::Json, Shown::List(list)) => println!("{}", serde_json::to_string_pretty(list)?),
        (Output::Table, Shown::One(one)) => print!("{}", table(T::HEADER, &[one.cells()])),
        (Output::Table, Shown::List(list)) => {
            let rows: Vec<Vec<String>> = list.iter().map(Row::cells).collect();
            print!("{}", table(T::HEADER, &rows));
        }
    }
    Ok(())
}

/// Fields of a contact, as flags.
#[derive(Args, Debug, Clone, Default)]
pub struct ContactFields {
    /// Phone number, E.164 (+14155550123) or national with --default-country.
    #[arg(long)]
    pub phone: Option<String>,
    /// Email address.
    #[arg(long)]
    pub email: Option<String>,
    /// First name.
    #[arg(long)]
    pub first_name: Option<String>,
    /// Last name.
    #[arg(long)]
    pub last_name: Option<String>,
    /// whatsapp, instagram, sms or email.
    #[arg(long)]
    pub channel: Option<String>,
    /// active or inactive.
    #[arg(long)]
    pub status: Option<String>,
    /// A JSON object (merged into the metadata on update).
    #[arg(long)]
    pub metadata: Option<String>,
    /// Country (ISO 3166 alpha-2) for a phone written without its country code.
    #[arg(long)]
    pub default_country: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum ContactCommand {
    /// Show a contact by id, phone or email.
    Get {
        /// The contact: its id (cnt_…), phone (+…) or email.
        contact_ref: String,
    },
    /// Create a contact.
    Create(ContactFields),
    /// Change the fields given; --clear FIELD empties one.
    Update {
        /// The contact: its id (cnt_…), phone (+…) or email.
        contact_ref: String,
        #[command(flatten)]
        fields: ContactFields,
        /// first_name, last_name, phone, email, channel or metadata; repeatable.
        #[arg(long = "clear", value_name = "FIELD")]
        clear: Vec<String>,
    },
    /// Delete a contact (and its conversations and messages).
    Delete {
        /// The contact: its id (cnt_…), phone (+…) or email.
        contact_ref: String,
    },
    /// List and search contacts, or list a saved segment's contacts.
    List {
        /// Prefix of a name, the email or the phone.
        #[arg(long)]
        q: Option<String>,
        /// Only contacts with this status: active or inactive.
        #[arg(long)]
        status: Option<String>,
        /// Only contacts with this preferred channel.
        #[arg(long)]
        channel: Option<String>,
        /// A metadata equality filter, PATH=VALUE; repeatable.
        #[arg(long = "metadata", value_name = "PATH=VALUE")]
        metadata: Vec<String>,
        /// The contacts of this saved segment (seg_…), chosen by its filter.
        #[arg(
            long,
            value_name = "ID",
            conflicts_with_all = ["q", "status", "channel", "metadata"]
        )]
        segment: Option<String>,
        /// created_at, updated_at, last_contacted or full_name; - in front for descending.
        #[arg(long, allow_hyphen_values = true)]
        sort: Option<String>,
        /// Contacts per page (1 to 100).
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Every page, not just the first.
        #[arg(long)]
        all: bool,
    },
    /// Add or remove a contact's identity (TYPE:VALUE, e.g. instagram:17841400000000001).
    Identity {
        /// The contact: its id (cnt_…), phone (+…), email or an identity (TYPE:VALUE).
        contact_ref: String,
        /// The identity to add.
        #[arg(long, value_name = "TYPE:VALUE", required_unless_present = "remove")]
        add: Option<String>,
        /// The identity to remove.
        #[arg(long, value_name = "TYPE:VALUE", conflicts_with = "add")]
        remove: Option<String>,
    },
    /// Merge SOURCE into TARGET (prints the merged contact and the merge, as JSON).
    Merge {
        /// The contact kept.
        target: String,
        /// The contact folded into it.
        source: String,
        /// Show what the merge would do; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Undo a merge (mrg_…) within 30 days (prints both contacts, as JSON).
    Unmerge {
        /// The merge's id.
        merge_id: String,
    },
    /// The merges a contact took part in (JSON).
    Merges {
        /// The contact.
        contact_ref: String,
    },
    /// The contacts suggested as duplicates of one (JSON).
    Duplicates {
        /// The contact.
        contact_ref: String,
    },
}

/// An identity written TYPE:VALUE on the command line.
fn identity_arg(raw: &str) -> anyhow::Result<contactd_client::Identity> {
    let (kind, value) = raw.split_once(':').ok_or_else(|| {
        anyhow::anyhow!("{raw}: expected TYPE:VALUE, e.g. instagram:17841400000000001")
    })?;
    Ok(contactd_client::Identity::new(kind, value))
}

fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// `contactd segment …`: saved contact filters.
#[derive(Subcommand, Debug)]
pub enum SegmentCommand {
    /// Save a segment: a name and the list's filter parameters.
    Create {
        /// The segment's name.
        #[arg(long)]
        name: String,
        /// A filter parameter of the contact list, NAME=VALUE (status=active,
        /// metadata.plan=premium, metadata.mrr[gte]=100, q=ada); repeatable.
        #[arg(long = "filter", value_name = "NAME=VALUE")]
        filter: Vec<String>,
    },
    /// List the segments, each with its count.
    List {
        /// Segments per page (1 to 100).
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// How many segments to skip.
        #[arg(long, default_value_t = 0)]
        offset: u64,
    },
    /// Show a segment with its count.
    Get {
        /// The segment's id (seg_…).
        id: String,
    },
    /// Rename a segment or replace its filter.
    Update {
        /// The segment's id (seg_…).
        id: String,
        /// A new name.
        #[arg(long)]
        name: Option<String>,
        /// The new filter, NAME=VALUE, replacing the whole old one; repeatable.
        #[arg(long = "filter", value_name = "NAME=VALUE")]
        filter: Vec<String>,
    },
    /// Delete a segment (never its contacts).
    Delete {
        /// The segment's id (seg_…).
        id: String,
    },
}

pub async fn run(remote: ClientArgs, command: ContactCommand) -> anyhow::Result<()> {
    let client = remote.server.client()?;
    let contacts = client.contacts();
    let shown = match command {
        ContactCommand::Get { contact_ref } => Shown::One(contacts.get(&contact_ref).await?),
        ContactCommand::Create(fields) => Shown::One(contacts.create(&new_contact(fields)?).await?),
        ContactCommand::Update {
            contact_ref,
            fields,
            clear,
        } => {
            let update = contact_update(fields, &clear)?;
            Shown::One(contacts.update(&contact_ref, &update).await?)
        }
        ContactCommand::Delete { contact_ref } => Shown::One(contacts.delete(&contact_ref).await?),
        ContactCommand::Identity {
            contact_ref,
            add,
            remove,
        } => Shown::One(match (add, remove) {
            (Some(add), _) => {
                contacts
                    .add_identity(&contact_ref, &identity_arg(&add)?)
                    .await?
            }
            (None, Some(remove)) => {
                contacts
                    .remove_identity(&contact_ref, &identity_arg(&remove)?)
                    .await?
            }
            (None, None) => anyhow::bail!("give --add or --remove"),
        }),
        ContactCommand::Merge {
            target,
            source,
            dry_run,
        } => return print_json(&contacts.merge(&target, &source, dry_run).await?),
        ContactCommand::Unmerge { merge_id } => {
            return print_json(&contacts.undo_merge(&merge_id).await?)
        }
        ContactCommand::Merges { contact_ref } => {
            return print_json(&contacts.merges(&contact_ref).await?)
        }
        ContactCommand::Duplicates { contact_ref } => {
            return print_json(&contacts.duplicates(&contact_ref).await?)
        }
        // clap refuses the filters with --segment: the segment's own filter chooses.
        ContactCommand::List {
            segment: Some(id),
            sort,
            limit,
            all,
            ..
        } => {
            let mut query = ListSegmentContacts::new().limit(limit);
            if let Some(sort) = sort {
                query = query.sort(parse_sort(&sort)?);
            }
            let segments = client.segments();
            Shown::List(if all {
                segments.all_contacts(&id, &query).await?
            } else {
                segments.contacts(&id, &query).await?.data
            })
        }
        ContactCommand::List {
            q,
            status,
            channel,
            metadata,
            segment: None,
            sort,
            limit,
            all,
        } => {
            let mut query = ListContacts::new().limit(limit);
            if let Some(q) = q {
                query = query.q(q);
            }
            if let Some(status) = status {
                query = query.status(parse_enum::<ContactStatus>("status", &status)?);
            }
            if let Some(channel) = channel {
                query = query.preferred_channel(parse_enum::<Channel>("channel", &channel)?);
            }
            for filter in metadata {
                let (path, value) = filter
                    .split_once('=')
                    .ok_or_else(|| anyhow::anyhow!("--metadata {filter}: expected PATH=VALUE"))?;
                query = query.metadata_eq(path, value);
            }
            if let Some(sort) = sort {
                query = query.sort(parse_sort(&sort)?);
            }
            Shown::List(if all {
                contacts.list_all(&query).await?
            } else {
                contacts.list(&query).await?.data
            })
        }
    };
    print(&shown, remote.output())
}

pub async fn run_segment(remote: ClientArgs, command: SegmentCommand) -> anyhow::Result<()> {
    let client = remote.server.client()?;
    let segments = client.segments();
    let shown = match command {
        SegmentCommand::Create { name, filter } => {
            let new = contactd_client::NewSegment {
                name,
                filter: segment_filter(&filter)?,
            };
            Shown::One(segments.create(&new).await?)
        }
        SegmentCommand::List { limit, offset } => {
            Shown::List(segments.list(Page::new(limit, offset)).await?.data)
        }
        SegmentCommand::Get { id } => Shown::One(segments.get(&id).await?),
        SegmentCommand::Update { id, name, filter } => {
            let update = SegmentUpdate {
                name,
                filter: (!filter.is_empty())
                    .then(|| segment_filter(&filter))
                    .transpose()?,
            };
            if update.name.is_none() && update.filter.is_none() {
                anyhow::bail!("nothing to change: give --name or --filter");
            }
            Shown::One(segments.update(&id, &update).await?)
        }
        SegmentCommand::Delete { id } => Shown::One(segments.delete(&id).await?),
    };
    print(&shown, remote.output())
}

/// `contactd webhook …`.
#[derive(Subcommand, Debug)]
pub enum WebhookCommand {
    /// Create an endpoint; prints it with its signing secret (shown this once).
    Create {
        /// Where events are POSTed (http or https).
        endpoint: String,
        /// Event types to deliver, comma separated (contact.created,contact.deleted);
        /// all when left out.
        #[arg(long, value_delimiter = ',')]
        event_types: Vec<String>,
        /// What the endpoint is for.
        #[arg(long)]
        description: Option<String>,
    },
    /// List the endpoints.
    List,
    /// Show an endpoint's deliveries, newest first.
    Deliveries {
        /// The endpoint's id (wh_…).
        id: String,
        /// Deliveries to show (1 to 100).
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// The next_cursor of a previous page.
        #[arg(long)]
        cursor: Option<String>,
    },
}

pub async fn run_webhook(remote: ClientArgs, command: WebhookCommand) -> anyhow::Result<()> {
    let client = remote.server.client()?;
    let webhooks = client.webhooks();
    match command {
        WebhookCommand::Create {
            endpoint,
            event_types,
            description,
        } => {
            let new = NewWebhook {
                url: endpoint,
                event_types: (!event_types.is_empty()).then_some(event_types),
                description,
            };
            print(&Shown::One(webhooks.create(&new).await?), remote.output())
        }
        WebhookCommand::List => print(&Shown::List(webhooks.list().await?), remote.output()),
        WebhookCommand::Deliveries { id, limit, cursor } => {
            let page = webhooks.deliveries(&id, limit, cursor.as_deref()).await?;
            print(&Shown::List(page.data), remote.output())
        }
    }
}

impl Row for Webhook {
    const HEADER: &'static [&'static str] = &["id", "url", "status", "event_types", "secret"];

    fn cells(&self) -> Vec<String> {
        vec![
            self.id.clone(),
            self.url.clone(),
            self.status.clone(),
            self.event_types
                .as_ref()
                .map_or_else(|| "all".to_owned(), |t| t.join(",")),
            self.secret.clone().unwrap_or_default(),
        ]
    }
}

impl Row for Delivery {
    const HEADER: &'static [&'static str] = &[
        "id",
        "event",
        "type",
        "state",
        "attempt",
        "status",
        "error",
        "latency_ms",
        "next_attempt",
    ];

    fn cells(&self) -> Vec<String> {
        let opt = |v: Option<String>| v.unwrap_or_default();
        vec![
            self.id.clone(),
            self.event_id.clone(),
            self.event_type.clone(),
            self.state.clone(),
            self.attempt.to_string(),
            opt(self.response_status.map(|s| s.to_string())),
            opt(self.error.clone()),
            opt(self.latency_ms.map(|l| l.to_string())),
            opt(self.next_attempt_at.clone()),
        ]
    }
}

/// `NAME=VALUE` pairs as a segment filter; a name given twice is refused.
fn segment_filter(pairs: &[String]) -> anyhow::Result<SegmentFilter> {
    let mut filter = SegmentFilter::new();
    for pair in pairs {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--filter {pair}: expected NAME=VALUE"))?;
        if filter
            .insert(name.trim().to_owned(), value.to_owned())
            .is_some()
        {
            anyhow::bail!("--filter {}: given more than once", name.trim());
        }
    }
    Ok(filter)
}

impl Row for Segment {
    const HEADER: &'static [&'static str] = &["id", "name", "count", "filter"];

    fn cells(&self) -> Vec<String> {
        let filter: Vec<String> = self
            .filter
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        vec![
            self.id.clone(),
            self.name.clone(),
            self.count.to_string(),
            filter.join(" "),
        ]
    }
}

fn parse_enum<T: DeserializeOwned>(what: &str, value: &str) -> anyhow::Result<T> {
    serde_json::from_value(Value::from(value))
        .map_err(|_| anyhow::anyhow!("unknown {what}: {value}"))
}

fn parse_sort(value: &str) -> anyhow::Result<Sort> {
    let (descending, field) = match value.strip_prefix('-') {
        Some(field) => (true, field),
        None => (false, value),
    };
    let field = parse_enum::<SortField>("sort field", field)?;
    Ok(if descending {
        Sort::desc(field)
    } else {
        Sort::asc(field)
    })
}

fn metadata(raw: &str) -> anyhow::Result<Value> {
    serde_json::from_str(raw).map_err(|e| anyhow::anyhow!("--metadata is not JSON: {e}"))
}

fn new_contact(f: ContactFields) -> anyhow::Result<NewContact> {
    let mut c = NewContact::new();
    c.phone = f.phone;
    c.email = f.email;
    c.first_name = f.first_name;
    c.last_name = f.last_name;
    c.default_country = f.default_country;
    c.preferred_channel = f
        .channel
        .as_deref()
        .map(|v| parse_enum("channel", v))
        .transpose()?;
    c.status = f
        .status
        .as_deref()
        .map(|v| parse_enum("status", v))
        .transpose()?;
    c.metadata = f.metadata.as_deref().map(metadata).transpose()?;
    Ok(c)
}

fn contact_update(f: ContactFields, clear: &[String]) -> anyhow::Result<ContactUpdate> {
    let mut u = ContactUpdate::new();
    if let Some(v) = f.phone {
        u = u.phone(v);
    }
    if let Some(v) = f.email {
        u = u.email(v);
    }
    if let Some(v) = f.first_name {
        u = u.first_name(v);
    }
    if let Some(v) = f.last_name {
        u = u.last_name(v);
    }
    if let Some(v) = f.channel {
        u = u.preferred_channel(parse_enum("channel", &v)?);
    }
    if let Some(v) = f.status {
        u = u.status(parse_enum("status", &v)?);
    }
    if let Some(v) = f.metadata {
        u = u.metadata(metadata(&v)?);
    }
    if let Some(v) = f.default_country {
        u = u.default_country(v);
    }
    for field in clear {
        u = match field.as_str() {
            "phone" => u.clear_phone(),
            "email" => u.clear_email(),
            "first_name" => u.clear_first_name(),
            "last_name" => u.clear_last_name(),
            "channel" | "preferred_channel" => u.clear_preferred_channel(),
            "metadata" => u.clear_metadata(),
            other => anyhow::bail!("--clear {other}: not a field that can be cleared"),
        };
    }
    Ok(u)
}

impl Row for Contact {
    const HEADER: &'static [&'static str] = &["id", "phone", "email", "name", "channel", "status"];

    fn cells(&self) -> Vec<String> {
        let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        vec![
            self.id.clone(),
            or_dash(&self.phone),
            or_dash(&self.email),
            or_dash(&self.full_name),
            self.preferred_channel
                .map_or("-", |ch| ch.as_str())
                .to_owned(),
            self.status.as_str().to_owned(),
        ]
    }
}

/// Rows under a header, each column as wide as its widest cell (counted in characters),
/// two spaces apart; the last column is not padded.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            if i + 1 < row.len() {
                line.extend(std::iter::repeat_n(' ', width - cell.chars().count()));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// An error of a command, for people: the context it happened in, then what the API said
/// with its details (`received`, `expected`) and what to try, each said once.
pub fn describe_error(error: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in error.chain() {
        if let Some(client_error) = cause.downcast_ref::<contactd_client::Error>() {
            push_part(&mut out, &describe_client_error(client_error));
            // Its sources are what `describe_client_error` already said.
            break;
        }
        let text = cause.to_string();
        // A wrapper often repeats its source's words; say them once.
        if !out.contains(&text) {
            push_part(&mut out, &text);
        }
    }
    out
}

fn push_part(out: &mut String, text: &str) {
    if !out.is_empty() {
        out.push_str(": ");
    }
    out.push_str(text);
}

fn describe_client_error(error: &contactd_client::Error) -> String {
    use contactd_client::Error;
    match error {
        Error::InvalidInput {
            field,
            received,
            expected,
            ..
        } => {
            let mut text = error.to_string();
            if let Some(received) = received {
                text.push_str(&format!("\n  received: {received}"));
            }
            if let Some(expected) = expected {
                text.push_str(&format!("\n  expected: {expected}"));
            }
            if field.as_deref() == Some("phone") {
                text.push_str(
                    "\n  hint: write the number with its country code (+44…), or a valid \
                     national number with --default-country (ISO 3166 alpha-2, e.g. GB)",
                );
            }
            text
        }
        Error::Transport(e) => {
            let url = e.url().map_or_else(String::new, |u| {
                format!(" at {}", u.origin().ascii_serialization())
            });
            let cause = root_cause(e);
            if e.is_connect() {
                format!(
                    "cannot connect to the server{url}: {cause} \
                     (is contactd serve running there? --url or CONTACTD_URL names it)"
                )
            } else if e.is_timeout() {
                format!("the server{url} did not answer in time: {cause}")
            } else {
                format!("the request to the server{url} failed: {cause}")
            }
        }
        other => other.to_string(),
    }
}

/// The innermost error under `error`: for a refused connection, "Connection refused".
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_sizes_columns_by_characters_and_leaves_no_trailing_spaces() {
        let rows = vec![
            vec!["1".to_owned(), "Zoë".to_owned(), "x".to_owned()],
            vec!["22".to_owned(), "李".to_owned(), String::new()],
        ];
        let text = table(&["id", "name", "note"], &rows);
        assert_eq!(text, "id  name  note\n1   Zoë   x\n22  李\n");
    }

    #[test]
    fn a_wrapper_that_repeats_its_source_is_said_once() {
        let error = anyhow::anyhow!("connection reset")
            .context("export: connection reset")
            .context("segment seg_1");
        assert_eq!(
            describe_error(&error),
            "segment seg_1: export: connection reset"
        );
    }

    #[test]
    fn invalid_input_shows_received_expected_and_a_hint_for_phones() {
        let error = contactd_client::Error::from(contactd_client::ApiError {
            error: "invalid_input".into(),
            message: "Phone number must be in E.164 format".into(),
            code: 400,
            details: serde_json::json!({"field": "phone", "received": "1234567890",
                "expected": "+1234567890"})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        });
        let text = describe_error(&anyhow::Error::new(error));
        assert!(text.contains("received: \"1234567890\""), "{text}");
        assert!(text.contains("expected: \"+1234567890\""), "{text}");
        assert!(text.contains("--default-country"), "{text}");
        // Said also to a number sent with --default-country: it may not claim that one is
        // missing.
        assert!(text.contains("with its country code"), "{text}");
        assert!(!text.contains("needs --default-country"), "{text}");
    }
}
