//! The frame of every console page and the form controls they share: a skip link, the
//! navigation, one `h1`, labels on every control, and a field's error next to it
//! (`aria-invalid`, `aria-describedby`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

use super::assets::{HTMX_PATH, STYLESHEET_PATH};
use super::session::Session;
use crate::error::ApiError;

/// The part of the console a page belongs to, for the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Contacts,
    Import,
    None,
}

/// The navigation: pages of webhooks, duplicates and merges join here once they exist.
const NAV: [(Section, &str, &str); 2] = [
    (Section::Contacts, "Contacts", "/console/contacts"),
    (Section::Import, "Import", "/console/import"),
];

/// A whole page: `title` is its `h1`'s text too.
pub fn layout(title: &str, session: Option<&Session>, current: Section, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // htmx must not add an inline style (the CSP refuses it) or evaluate code.
                meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false}"#;
                title { (title) " · contactd console" }
                link rel="stylesheet" href=(STYLESHEET_PATH);
                script src=(HTMX_PATH) defer {}
            }
            body {
                a class="skip" href="#main" { "Skip to content" }
                header class="top" {
                    span class="brand" { "contactd" }
                    @if let Some(session) = session {
                        nav aria-label="Console" {
                            ul {
                                @for (section, label, href) in NAV {
                                    li {
                                        @if section == current {
                                            a href=(href) aria-current="page" { (label) }
                                        } @else {
                                            a href=(href) { (label) }
                                        }
                                    }
                                }
                            }
                        }
                        div class="who" {
                            span { (session.workspace) " · " (session.tenant.mode.as_str()) " data · key " (session.key_prefix) "…" }
                            form method="post" action="/console/sign-out" {
                                (csrf_input(session))
                                button type="submit" class="link" { "Sign out" }
                            }
                        }
                    }
                }
                main id="main" tabindex="-1" {
                    (body)
                }
            }
        }
    }
}

/// The hidden CSRF field every form that changes data carries.
pub fn csrf_input(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}

/// A page that only says why the request was refused.
pub fn refused(status: StatusCode, title: &str, message: &str) -> Response {
    let body = html! {
        h1 { (title) }
        p role="alert" { (message) }
        p { a href="/console/contacts" { "Back to the console" } }
    };
    (status, layout(title, None, Section::None, body)).into_response()
}

/// An error to show on a form: next to the field it names, else above the form.
#[derive(Debug, Clone, PartialEq)]
pub struct FormError {
    /// The control's name (`phone`, `metadata`, …).
    pub field: Option<String>,
    pub message: String,
    pub expected: Option<String>,
    /// A page that helps (the contact that already has this phone).
    pub link: Option<(String, String)>,
}

impl FormError {
    /// The API's error for a form whose controls are named `fields`: the control a
    /// `details.field` names (`metadata.plan` is the `metadata` control).
    pub fn from_api(e: &ApiError, fields: &[&str]) -> FormError {
        let envelope = e.envelope();
        let named = envelope
            .details
            .get("field")
            .and_then(|f| f.as_str())
            .map(|f| f.split(['.', '[']).next().unwrap_or(f).to_owned());
        let field = named.filter(|f| fields.contains(&f.as_str()));
        let expected = envelope.details.get("expected").map(|v| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        let link = envelope
            .details
            .get("existing_contact_id")
            .and_then(|v| v.as_str())
            .map(|id| {
                (
                    format!("/console/contacts/{id}"),
                    "Open that contact".to_owned(),
                )
            });
        FormError {
            field,
            message: envelope.message,
            expected,
            link,
        }
    }

    fn shown(&self, id: &str) -> Markup {
        html! {
            p class="field-error" id=(id) {
                (self.message)
                @if !self.message.ends_with('.') { "." }
                @if let Some(expected) = &self.expected {
                    " Expected: " code { (expected) }
                }
                @if let Some((href, label)) = &self.link {
                    " " a href=(href) { (label) }
                }
            }
        }
    }
}

/// The form's error above it: the whole error when it names no field, else a summary
/// that links to the field, where the error is shown in full.
pub fn form_alert(error: Option<&FormError>) -> Markup {
    html! {
        @match error {
            Some(e @ FormError { field: None, .. }) => {
                div class="alert" role="alert" { (e.shown("form-error")) }
            },
            Some(FormError { field: Some(field), message, .. }) => {
                div class="alert" role="alert" {
                    p { strong { "Not saved: one field needs a change." } }
                    ul { li { a href={ "#" (field) } { (message) } } }
                }
            },
            None => {},
        }
    }
}

/// One labelled input.
pub struct Field<'a> {
    pub name: &'a str,
    pub label: &'a str,
    pub value: &'a str,
    /// `text`, `email`, `tel`, `password`, `search`.
    pub kind: &'a str,
    pub hint: Option<&'a str>,
    /// The form's error; shown here when it names this field.
    pub error: Option<&'a FormError>,
    pub required: bool,
}

impl Field<'_> {
    fn own_error(&self) -> Option<&FormError> {
        self.error.filter(|e| e.field.as_deref() == Some(self.name))
    }

    fn described_by(&self) -> Option<String> {
        let mut ids = Vec::new();
        if self.hint.is_some() {
            ids.push(format!("{}-hint", self.name));
        }
        if self.own_error().is_some() {
            ids.push(format!("{}-error", self.name));
        }
        (!ids.is_empty()).then(|| ids.join(" "))
    }

    fn notes(&self) -> Markup {
        html! {
            @if let Some(hint) = self.hint {
                span class="hint" id=(format!("{}-hint", self.name)) { (hint) }
            }
            @if let Some(e) = self.own_error() {
                (e.shown(&format!("{}-error", self.name)))
            }
        }
    }
}

pub fn input_field(field: &Field) -> Markup {
    let invalid = field.own_error().is_some();
    html! {
        div class="field" {
            label for=(field.name) { (field.label) }
            input id=(field.name) name=(field.name) type=(field.kind) value=(field.value)
                required[field.required]
                autocomplete=(if field.kind == "password" { "off" } else { "on" })
                aria-invalid=[invalid.then_some("true")]
                aria-describedby=[field.described_by()];
            (field.notes())
        }
    }
}

pub fn textarea_field(field: &Field, rows: u32) -> Markup {
    let invalid = field.own_error().is_some();
    html! {
        div class="field" {
            label for=(field.name) { (field.label) }
            textarea id=(field.name) name=(field.name) rows=(rows) spellcheck="false"
                aria-invalid=[invalid.then_some("true")]
                aria-describedby=[field.described_by()] { (field.value) }
            (field.notes())
        }
    }
}

/// A labelled select of `(value, label)` options.
pub fn select_field(field: &Field, options: &[(&str, &str)]) -> Markup {
    let invalid = field.own_error().is_some();
    html! {
        div class="field" {
            label for=(field.name) { (field.label) }
            select id=(field.name) name=(field.name)
                aria-invalid=[invalid.then_some("true")]
                aria-describedby=[field.described_by()] {
                @for (value, label) in options {
                    option value=(value) selected[*value == field.value] { (label) }
                }
            }
            (field.notes())
        }
    }
}
