//! Settings: the import wizard. Upload a list; see the detected encoding, delimiter
//! and column mapping on its first rows, and change the mapping; start it and watch
//! its progress; then the created / merged / rejected counts and the per-row report.

use super::admin::{page, problems, refuse, require, respond, status_for};
use super::forms::refuse_form;
use super::layout::{csrf_field, field_errors};
use super::lead::error_response;
use super::{see_other, Signed};
use crate::AppState;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use leadline_domain::access::Permission;
use leadline_domain::fields::LeadField;
use leadline_domain::import::{parse_csv, ColumnTarget};
use leadline_domain::Channel;
use leadline_service::capture::CaptureCaller;
use leadline_service::imports::Staged;
use leadline_service::ServiceError;
use leadline_store::imports::ImportJob;
use maud::{html, Markup};

const IMPORTS: &str = "/admin/imports";
/// Rows shown under the mapping.
const SAMPLE_ROWS: usize = 5;

fn target_key(t: &ColumnTarget) -> String {
    match t {
        ColumnTarget::Field(f) => f.as_str().to_string(),
        ColumnTarget::Custom(name) => format!("custom.{name}"),
        ColumnTarget::Ignore => "ignore".to_string(),
    }
}

fn upload_page(signed: &Signed, errors: &[(String, String)]) -> Response {
    let who = &signed.principal;
    let body = html! {
        (problems(errors))
        form.card method="post" action={ (IMPORTS) "/upload" } enctype="multipart/form-data" {
            (csrf_field(who))
            h2 { "1. Upload a list" }
            p.hint { "A CSV in any common encoding (UTF-8, Excel's Windows-1252) and delimiter (, ; tab |); the first row names the columns. Each row is checked on its own: bad rows are reported with their line and reason, the good ones are imported." }
            label for="import-file" { "File" }
            input id="import-file" name="file" type="file" accept=".csv,text/csv" required;
            div.numbers {
                div { label for="import-source" { "Source (e.g. Expo 2026)" } input id="import-source" name="source" type="text" required maxlength="200"; }
                div { label for="import-campaign" { "Campaign (optional)" } input id="import-campaign" name="campaign" type="text" maxlength="200"; }
                div {
                    label for="import-channel" { "Channel" }
                    select id="import-channel" name="channel" {
                        @for c in Channel::ALL { option value=(c.as_str()) selected[c == Channel::Import] { (c.as_str().replace('_', " ")) } }
                    }
                }
                div { label for="import-region" { "Phone numbers without a country code are in" } input id="import-region" name="default_region" type="text" maxlength="60" placeholder="GB"; }
            }
            button type="submit" { "Upload and check" }
        }
    };
    let status = status_for(errors);
    respond(status, page(who, IMPORTS, "Import a list", body))
}

/// `GET /admin/imports`.
pub async fn show(signed: Signed) -> Response {
    if let Some(refused) = require(&signed, Permission::RunImports) {
        return refused;
    }
    upload_page(&signed, &[])
}

/// `POST /admin/imports/upload` (multipart): the file is kept, nothing imported yet.
pub async fn upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    mut multipart: Multipart,
) -> Response {
    if let Some(refused) = require(&signed, Permission::RunImports) {
        return refused;
    }
    let mut csrf = String::new();
    let mut staged = Staged {
        id: String::new(),
        file_name: "upload.csv".into(),
        bytes: Vec::new(),
        source: String::new(),
        campaign: None,
        channel: Channel::Import,
        default_region: None,
    };
    let mut errors = Vec::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return upload_page(
                    &signed,
                    &[(
                        "file".into(),
                        format!("the upload was cut off or too large: {e}"),
                    )],
                )
            }
        };
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            staged.file_name = field
                .file_name()
                .unwrap_or("upload.csv")
                .chars()
                .take(255)
                .collect();
            match field.bytes().await {
                Ok(b) => staged.bytes = b.to_vec(),
                Err(e) => {
                    return upload_page(
                        &signed,
                        &[(
                            "file".into(),
                            format!("the upload was cut off or too large: {e}"),
                        )],
                    )
                }
            }
            continue;
        }
        let text = field.text().await.unwrap_or_default();
        match name.as_str() {
            "csrf" => csrf = text,
            "source" => staged.source = text,
            "campaign" => staged.campaign = Some(text.trim().to_string()).filter(|c| !c.is_empty()),
            "channel" => staged.channel = text.parse().unwrap_or(Channel::Import),
            "default_region" if !text.trim().is_empty() => {
                match leadline_domain::normalize::normalize_country(&text) {
                    Some(code) => staged.default_region = Some(code),
                    None => errors.push((
                        "default_region".to_string(),
                        format!("{text:?} is not a country"),
                    )),
                }
            }
            _ => {}
        }
    }
    if let Some(refused) = refuse_form(&state, &headers, &signed, &csrf) {
        return refused;
    }
    if !errors.is_empty() {
        return upload_page(&signed, &errors);
    }
    match state
        .app
        .stage_upload(&signed.principal.user.id, &staged)
        .await
    {
        Ok(id) => see_other(&format!("{IMPORTS}/staged/{id}")),
        Err(ServiceError::Invalid(e)) => upload_page(&signed, &field_errors(e)),
        Err(e) => error_response(e),
    }
}

fn mapping_page(
    signed: &Signed,
    staged: &Staged,
    overrides: &[(String, String)],
    errors: &[(String, String)],
) -> Response {
    let parsed = match parse_csv(&staged.bytes, overrides) {
        Ok(p) => p,
        // The staged file parsed when it came in; only a bad override lands here.
        Err(e) => match parse_csv(&staged.bytes, &[]) {
            Ok(p) => {
                let mut errors = errors.to_vec();
                errors.push(("map".into(), e.to_string()));
                return mapping_markup(signed, staged, &p, &errors);
            }
            Err(e) => return upload_page(signed, &[("file".into(), e.to_string())]),
        },
    };
    mapping_markup(signed, staged, &parsed, errors)
}

fn mapping_markup(
    signed: &Signed,
    staged: &Staged,
    parsed: &leadline_domain::import::ParsedCsv,
    errors: &[(String, String)],
) -> Response {
    let who = &signed.principal;
    let sample: Vec<Vec<String>> = parsed
        .records()
        .filter_map(|r| match r {
            leadline_domain::import::Record::Row(row) => Some(row.raw),
            _ => None,
        })
        .take(SAMPLE_ROWS)
        .collect();
    let delimiter = match parsed.delimiter {
        '\t' => "tab".to_string(),
        c => format!("“{c}”"),
    };
    let options: Vec<(String, String)> =
        std::iter::once(("ignore".to_string(), "do not import".to_string()))
            .chain(
                LeadField::ALL
                    .iter()
                    .map(|f| (f.as_str().to_string(), f.as_str().replace('_', " "))),
            )
            .collect();
    let body = html! {
        (problems(errors))
        form.card method="post" action={ (IMPORTS) "/staged/" (staged.id) "/start" } {
            (csrf_field(who))
            h2 { "2. Check the columns" }
            dl.facts {
                dt { "File" } dd { (staged.file_name) }
                dt { "Read as" } dd { (parsed.encoding.as_str().replace('_', " ")) ", columns split by " (delimiter) }
                dt { "Source" } dd { (staged.source) @if let Some(c) = &staged.campaign { " · campaign " (c) } }
            }
            div.table-scroll {
                table.mapping {
                    caption { "Where each column goes, over the first rows of the file" }
                    thead {
                        tr {
                            @for (i, header) in parsed.headers.iter().enumerate() {
                                @let current = target_key(parsed.mapping.target(i));
                                @let custom = format!("custom.{}", header.trim());
                                th scope="col" {
                                    label for={ "map-" (i) } { (header) }
                                    select id={ "map-" (i) } name={ "map." (i) } {
                                        @for (key, text) in &options { option value=(key) selected[*key == current] { (text) } }
                                        @if !header.trim().is_empty() {
                                            option value=(custom) selected[custom == current] { "keep as “" (header.trim()) "”" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    tbody {
                        @for row in &sample {
                            tr { @for cell in row { td { (cell) } } }
                        }
                    }
                }
            }
            button type="submit" { "Start the import" }
            " "
            a href=(IMPORTS) { "Upload another file" }
        }
    };
    let status = status_for(errors);
    respond(status, page(who, IMPORTS, "Import a list", body))
}

/// `GET /admin/imports/staged/{id}`.
pub async fn staged(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Response {
    if let Some(refused) = require(&signed, Permission::RunImports) {
        return refused;
    }
    match state
        .app
        .staged_upload(&signed.principal.user.id, &id)
        .await
    {
        Ok(staged) => mapping_page(&signed, &staged, &[], &[]),
        Err(e) => error_response(e),
    }
}

/// `POST /admin/imports/staged/{id}/start`: the mapping as chosen, the import begun.
pub async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(r) = refuse(&state, &headers, &signed, &form, Permission::RunImports) {
        return r;
    }
    let who = &signed.principal;
    let staged = match state.app.staged_upload(&who.user.id, &id).await {
        Ok(s) => s,
        Err(e) => return error_response(e),
    };
    let detected = match parse_csv(&staged.bytes, &[]) {
        Ok(p) => p,
        Err(e) => return upload_page(&signed, &[("file".into(), e.to_string())]),
    };
    // Only the columns the person changed become overrides: the rest stay detected.
    let mut overrides = Vec::new();
    for (key, value) in &form {
        let Some(index) = key
            .strip_prefix("map.")
            .and_then(|i| i.parse::<usize>().ok())
        else {
            continue;
        };
        let Some(header) = detected.headers.get(index) else {
            continue;
        };
        if *value != target_key(detected.mapping.target(index)) {
            overrides.push((header.trim().to_string(), value.clone()));
        }
    }
    let caller = CaptureCaller {
        user_id: who.user.id.clone(),
        scope: who.scope.clone(),
    };
    let actor = format!("user:{}", who.user.id);
    match state
        .app
        .start_staged_import(caller, staged.clone(), overrides.clone(), &actor)
        .await
    {
        Ok(job) => see_other(&format!("{IMPORTS}/{}", job.id)),
        Err(ServiceError::Invalid(e)) => {
            mapping_page(&signed, &staged, &overrides, &field_errors(e))
        }
        Err(e) => error_response(e),
    }
}

fn progress(job: &ImportJob) -> Markup {
    let done = matches!(job.status.as_str(), "completed" | "failed");
    html! {
        div id="import-progress" data-live-src={ (IMPORTS) "/" (job.id) "/progress" } data-done=[done.then_some("1")] {
            @if done {
                @if job.status == "failed" {
                    p.alert.error role="alert" { "The import stopped: " (job.error.as_deref().unwrap_or("unknown error")) }
                } @else {
                    p.alert.ok role="status" { "Done: " (job.processed_rows) " rows." }
                }
                dl.facts.counts {
                    dt { "Created" } dd { (job.created_count) }
                    dt { "Merged into existing leads" } dd { (job.merged_count) }
                    dt { "Already there, unchanged" } dd { (job.unchanged_count) }
                    dt { "Rejected" } dd { (job.rejected_count) }
                    dt { "Skipped" } dd { (job.skipped_count) }
                }
                @if job.status == "completed" {
                    a.button href={ (IMPORTS) "/" (job.id) "/report.csv" } download { "Download the per-row report" }
                }
            } @else {
                label for="import-bar" { "Imported " (job.processed_rows) " of " @if job.total_rows > 0 { (job.total_rows) } @else { "…" } " rows" }
                progress id="import-bar" max=(job.total_rows.max(1)) value=(job.processed_rows) {}
            }
        }
    }
}

async fn job_of(state: &AppState, signed: &Signed, id: &str) -> Result<ImportJob, Response> {
    if let Some(refused) = require(signed, Permission::RunImports) {
        return Err(refused);
    }
    state.app.import_job(id).await.map_err(error_response)
}

/// `GET /admin/imports/{id}`: the import's progress, then its outcome.
pub async fn job(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Response {
    let job = match job_of(&state, &signed, &id).await {
        Ok(j) => j,
        Err(r) => return r,
    };
    let body = html! {
        section.card {
            h2 { "3. " (job.file_name) }
            (progress(&job))
        }
        p { a href=(IMPORTS) { "Import another list" } }
        script src="/assets/progress.js" {}
    };
    let mut response = respond(
        StatusCode::OK,
        page(&signed.principal, IMPORTS, "Import a list", body),
    );
    super::allow_own_script(response.headers_mut());
    response
}

/// `GET /admin/imports/{id}/progress`: the progress part alone, for the page to poll.
pub async fn progress_fragment(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Response {
    match job_of(&state, &signed, &id).await {
        Ok(job) => respond(StatusCode::OK, progress(&job)),
        Err(r) => r,
    }
}

/// `GET /admin/imports/{id}/report.csv`.
pub async fn report(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = job_of(&state, &signed, &id).await {
        return r;
    }
    match state.app.import_report(&signed.principal.scope, &id).await {
        Ok(Some(csv)) => super::csv_download(csv.into_bytes(), "import-report.csv"),
        Ok(None) => error_response(ServiceError::not_found("import report", &id)),
        Err(e) => error_response(e),
    }
}
