//! CSV imports: a file goes through the same capture pipeline as a form post, in
//! batches, with a per-row report (created / merged into lead X / unchanged /
//! rejected with line and reason / skipped blank line) and progress a terminal or an
//! API client can follow. Every line of the file but the header has one line in the
//! report, so the report and the counts reconcile with the file.

use crate::access::visible_leads;
use crate::capture::{Capture, CaptureOutcome};
use crate::error::{Result, ServiceError};
use crate::App;
use leadline_domain::access::LeadScope;
use leadline_domain::import::{self, neutralize_formula, ParsedRow, Record};
use leadline_domain::Channel;
use leadline_store::imports::{self, ImportJob};
use leadline_store::{new_id, sources};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// Rows per transaction: large enough to amortise commits and blocking-key lookups,
/// small enough that progress moves and a failure loses little work.
pub const BATCH_ROWS: usize = 10_000;

/// A batch of an import being prepared on a blocking thread.
type PreparingBatch = tokio::task::JoinHandle<crate::capture::PreparedBatch>;

/// What to import and how.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    pub file_name: String,
    pub bytes: Vec<u8>,
    pub source: String,
    /// Channel of the source if it has to be created (default `import`).
    pub channel: Channel,
    pub campaign: Option<String>,
    /// `--map column=field` overrides.
    pub overrides: Vec<(String, String)>,
    pub default_region: Option<String>,
    pub actor: String,
    /// The user running the import through the API; its rows merge only into leads
    /// that user may see. `None` for the server's own (the CLI).
    pub caller: Option<crate::capture::CaptureCaller>,
}

/// Receives progress as rows are processed (a terminal bar, a job row).
pub trait ImportProgress: Send + Sync {
    fn start(&self, estimated_rows: u64);
    fn advance(&self, rows: u64);
}

/// No progress display.
pub struct NoProgress;
impl ImportProgress for NoProgress {
    fn start(&self, _: u64) {}
    fn advance(&self, _: u64) {}
}

/// One line of the per-row report.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct RowReport {
    pub line: u64,
    pub outcome: &'static str,
    pub lead_id: Option<String>,
    pub reason: Option<String>,
}

impl RowReport {
    fn from_outcome(line: u64, outcome: &CaptureOutcome) -> RowReport {
        let (name, reason) = match outcome {
            CaptureOutcome::Created {
                possible_duplicate_of: Some(other),
                ..
            } => (
                "created",
                Some(format!("possible duplicate of lead {other}")),
            ),
            CaptureOutcome::Created { .. } => ("created", None),
            CaptureOutcome::Merged { lead_id, .. } => {
                ("merged", Some(format!("merged into lead {lead_id}")))
            }
            CaptureOutcome::Unchanged { lead_id } => (
                "unchanged",
                Some(format!("already imported as lead {lead_id}")),
            ),
            CaptureOutcome::RecordedForOwner { .. } => (
                "recorded_for_owner",
                Some(
                    "already a lead you cannot see; added to that lead's history for its owner"
                        .into(),
                ),
            ),
            CaptureOutcome::Rejected { errors } => (
                "rejected",
                Some(
                    errors
                        .iter()
                        .map(|e| format!("{}: {}", e.field, e.message))
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
            ),
        };
        RowReport {
            line,
            outcome: name,
            lead_id: match outcome {
                CaptureOutcome::RecordedForOwner { .. } => None,
                other => other.lead_id().map(str::to_string),
            },
            reason,
        }
    }
}

/// Outcome and reason of a blank line in the report.
const SKIPPED: &str = "skipped";
const EMPTY_ROW: &str = "empty row";

/// The finished job and its rows.
pub struct ImportResult {
    pub job: ImportJob,
    pub rows: Vec<RowReport>,
}

/// Writes the report as CSV, with formula-looking cells neutralised so opening it in a
/// spreadsheet cannot run anything a hostile input row smuggled in.
pub fn report_csv(rows: &[RowReport]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(["line", "outcome", "lead_id", "reason"]);
    for r in rows {
        let line = r.line.to_string();
        let _ = w.write_record([
            line.as_str(),
            r.outcome,
            r.lead_id.as_deref().unwrap_or(""),
            &neutralize_formula(r.reason.as_deref().unwrap_or("")),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// The leads a report row names: its `lead_id`, and the lead its reason ends with
/// ("possible duplicate of lead X", "merged into lead X", "already imported as lead X").
fn row_leads(record: &csv::StringRecord) -> Vec<String> {
    let mut named: Vec<String> = record
        .get(2)
        .filter(|id| !id.is_empty())
        .map(str::to_string)
        .into_iter()
        .collect();
    if matches!(record.get(1), Some("created" | "merged" | "unchanged")) {
        if let Some((_, id)) = record.get(3).and_then(|r| r.rsplit_once("lead ")) {
            named.push(id.to_string());
        }
    }
    named
}

fn report_records(report: &str) -> Vec<csv::StringRecord> {
    csv::Reader::from_reader(report.as_bytes())
        .records()
        .filter_map(|r| r.ok())
        .collect()
}

/// Every lead the report names.
fn leads_named(report: &str) -> Vec<String> {
    report_records(report).iter().flat_map(row_leads).collect()
}

/// The report with every row that names a lead `visible` refuses cut down to its line
/// and outcome.
fn hide_leads(report: &str, visible: impl Fn(&str) -> bool) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(["line", "outcome", "lead_id", "reason"]);
    for record in report_records(report) {
        if row_leads(&record).iter().all(|id| visible(id)) {
            let _ = w.write_record(&record);
        } else {
            let _ = w.write_record([
                record.get(0).unwrap_or(""),
                record.get(1).unwrap_or(""),
                "",
                "a lead you cannot see",
            ]);
        }
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Fingerprint of the n-th occurrence of a row's content: the same file imported
/// twice maps every row onto its first import, while identical rows inside one file
/// stay distinct captures.
fn occurrence_fingerprint(
    seen: &mut HashMap<String, u32>,
    source: &str,
    row: &ParsedRow,
) -> String {
    let base = import::row_fingerprint(source, &row.input);
    let n = seen.entry(base.clone()).or_insert(0);
    *n += 1;
    hex::encode(Sha256::digest(format!("{base}:{n}").as_bytes()))
}

impl App {
    /// Registers an import job (status `queued`) and resolves its source and campaign.
    pub async fn create_import(&self, req: &ImportRequest) -> Result<ImportJob> {
        if req.bytes.is_empty() {
            return Err(ServiceError::invalid(
                "file",
                "empty_file",
                "the file is empty",
            ));
        }
        let source_name = req.source.trim();
        if source_name.is_empty() || source_name.chars().count() > 200 {
            return Err(ServiceError::invalid(
                "source",
                "invalid_source",
                "a source name of 1 to 200 characters is required",
            ));
        }
        let now = self.now();
        let mut conn = self.db.acquire().await?;
        let source =
            sources::ensure_source(&mut conn, source_name, req.channel.as_str(), now).await?;
        let campaign = sources::ensure_named_campaign(
            &mut conn,
            req.campaign.as_deref(),
            &source,
            req.channel.as_str(),
            now,
        )
        .await?;
        let job = ImportJob {
            id: new_id(),
            file_name: req.file_name.clone(),
            file_sha256: hex::encode(Sha256::digest(&req.bytes)),
            source_id: source.id,
            campaign_id: campaign.map(|c| c.id),
            status: "queued".into(),
            encoding: None,
            delimiter: None,
            total_rows: 0,
            processed_rows: 0,
            created_count: 0,
            merged_count: 0,
            unchanged_count: 0,
            rejected_count: 0,
            skipped_count: 0,
            error: None,
            created_at: now,
            finished_at: None,
        };
        imports::insert(&mut conn, &job).await?;
        Ok(job)
    }

    /// Runs a registered import to the end. A file-level problem (empty, unreadable,
    /// bad mapping) fails the job with a clear error; row problems only reject the row.
    pub async fn run_import(
        &self,
        mut job: ImportJob,
        req: &ImportRequest,
        progress: &dyn ImportProgress,
    ) -> Result<ImportResult> {
        job.status = "running".into();
        self.save_job(&job).await?;
        let parsed = match import::parse_csv(&req.bytes, &req.overrides) {
            Ok(p) => p,
            Err(e) => {
                job.status = "failed".into();
                job.error = Some(e.to_string());
                job.finished_at = Some(self.now());
                self.save_job(&job).await?;
                return Err(ServiceError::invalid(
                    "file",
                    "unreadable_file",
                    e.to_string(),
                ));
            }
        };
        job.encoding = Some(format!("{:?}", parsed.encoding).to_lowercase());
        job.delimiter = Some((parsed.delimiter as char).to_string());
        let estimated = req.bytes.iter().filter(|b| **b == b'\n').count() as u64;
        progress.start(estimated);

        let source_name = req.source.trim().to_string();
        let mut seen = HashMap::new();
        let mut report: Vec<RowReport> = Vec::new();
        let mut pending: Vec<(u64, Capture)> = Vec::with_capacity(BATCH_ROWS);
        // The batch being prepared, with its file lines.
        let mut in_flight: Option<(Vec<u64>, PreparingBatch)> = None;
        let mut records = parsed.records();
        loop {
            let next = records.next();
            match &next {
                Some(Record::Row(row)) => {
                    let mut capture =
                        Capture::new(row.input.clone(), req.channel, &job.source_id, &req.actor);
                    capture.campaign_id = job.campaign_id.clone();
                    capture.import_id = Some(job.id.clone());
                    capture.caller = req.caller.clone();
                    capture.default_region = req.default_region.clone();
                    capture.fingerprint =
                        Some(occurrence_fingerprint(&mut seen, &source_name, row));
                    pending.push((row.line, capture));
                }
                Some(Record::Error(e)) => {
                    report.push(RowReport {
                        line: e.line,
                        outcome: "rejected",
                        lead_id: None,
                        reason: Some(e.reason.clone()),
                    });
                    job.rejected_count += 1;
                    job.total_rows += 1;
                }
                Some(Record::Blank { line }) => {
                    report.push(RowReport {
                        line: *line,
                        outcome: SKIPPED,
                        lead_id: None,
                        reason: Some(EMPTY_ROW.into()),
                    });
                    job.skipped_count += 1;
                    job.total_rows += 1;
                }
                None => {}
            }
            if pending.len() >= BATCH_ROWS || (next.is_none() && !pending.is_empty()) {
                // This batch is prepared on another thread while the one before it is
                // matched and written; batches are still written one after another,
                // in file order.
                let (lines, captures): (Vec<u64>, Vec<Capture>) =
                    std::mem::take(&mut pending).into_iter().unzip();
                let today = crate::clock::date_of(self.now());
                let preparing = tokio::task::spawn_blocking(move || {
                    crate::capture::PreparedBatch::new(captures, today)
                });
                if let Some((lines, earlier)) = in_flight.replace((lines, preparing)) {
                    self.write_import_batch(&mut job, &mut report, lines, earlier, progress)
                        .await?;
                }
            }
            if next.is_none() {
                break;
            }
        }
        if let Some((lines, last)) = in_flight.take() {
            self.write_import_batch(&mut job, &mut report, lines, last, progress)
                .await?;
        }
        job.processed_rows = job.total_rows;
        report.sort_by_key(|r| r.line);
        job.status = "completed".into();
        job.finished_at = Some(self.now());
        let mut conn = self.db.acquire().await?;
        imports::save_report(&mut conn, &job.id, &report_csv(&report)).await?;
        drop(conn);
        // Saved after the report so a client that sees "completed" can fetch it.
        self.finish_job(&job).await?;
        let landed = u64::try_from(job.created_count + job.merged_count).unwrap_or(0);
        if self
            .retrain_after_import_rows
            .is_some_and(|rows| landed >= rows)
        {
            self.retrain_in_background();
        }
        Ok(ImportResult { job, rows: report })
    }

    /// Writes one prepared batch of an import and accounts for its rows in the job,
    /// the report and the progress.
    async fn write_import_batch(
        &self,
        job: &mut ImportJob,
        report: &mut Vec<RowReport>,
        lines: Vec<u64>,
        preparing: PreparingBatch,
        progress: &dyn ImportProgress,
    ) -> Result<()> {
        let prepared = preparing.await.map_err(|e| {
            ServiceError::Internal(anyhow::anyhow!("preparing an import batch failed: {e}"))
        })?;
        let n = lines.len() as u64;
        let outcomes = self.capture_prepared(prepared).await?;
        for (line, outcome) in lines.into_iter().zip(&outcomes) {
            match outcome {
                CaptureOutcome::Created { .. } => job.created_count += 1,
                CaptureOutcome::Merged { .. } | CaptureOutcome::RecordedForOwner { .. } => {
                    job.merged_count += 1
                }
                CaptureOutcome::Unchanged { .. } => job.unchanged_count += 1,
                CaptureOutcome::Rejected { .. } => job.rejected_count += 1,
            }
            report.push(RowReport::from_outcome(line, outcome));
        }
        job.total_rows += n as i64;
        job.processed_rows = job.total_rows;
        self.save_job(job).await?;
        progress.advance(n);
        Ok(())
    }

    /// Saves a finished (or failed) job and announces it as `import.finished`.
    async fn finish_job(&self, job: &ImportJob) -> Result<()> {
        let mut tx = self.db.begin().await?;
        imports::save_progress(&mut tx, job).await?;
        let payload = serde_json::to_value(job).map_err(anyhow::Error::new)?;
        let event = leadline_store::outbox::OutboxEvent::new(
            leadline_domain::notify::IMPORT_FINISHED,
            None,
            Vec::new(),
            serde_json::json!({ "import": payload }),
            job.finished_at.unwrap_or_else(|| self.now()),
        );
        leadline_store::outbox::emit(&mut tx, &[event]).await?;
        tx.commit()
            .await
            .map_err(leadline_store::StoreError::from)?;
        self.import_updates.send_modify(|n| *n += 1);
        self.outbox_written();
        Ok(())
    }

    async fn save_job(&self, job: &ImportJob) -> Result<()> {
        let mut conn = self.db.acquire().await?;
        imports::save_progress(&mut conn, job).await?;
        self.import_updates.send_modify(|n| *n += 1);
        Ok(())
    }

    /// The job, once it has finished or `timeout` has passed, whichever comes first.
    pub async fn wait_for_import(
        &self,
        id: &str,
        timeout: std::time::Duration,
    ) -> Result<ImportJob> {
        let mut updates = self.import_updates.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let job = self.import_job(id).await?;
            if matches!(job.status.as_str(), "completed" | "failed") {
                return Ok(job);
            }
            match tokio::time::timeout_at(deadline, updates.changed()).await {
                Ok(Ok(())) => continue,
                _ => return Ok(job),
            }
        }
    }

    pub async fn import_job(&self, id: &str) -> Result<ImportJob> {
        let mut conn = self.db.acquire().await?;
        imports::get(&mut conn, id)
            .await?
            .ok_or_else(|| ServiceError::not_found("import", id))
    }

    /// The per-row report as a caller with `scope` may read it: a row about a lead
    /// outside the scope keeps its line and outcome but names no lead (see
    /// `hide_leads`), since the report of someone else's import is no way round it.
    pub async fn import_report(&self, scope: &LeadScope, id: &str) -> Result<Option<String>> {
        let mut conn = self.db.acquire().await?;
        self.import_job(id).await?;
        let Some(report) = imports::report(&mut conn, id).await? else {
            return Ok(None);
        };
        if scope.is_all() {
            return Ok(Some(report));
        }
        let named = leads_named(&report);
        let visible = visible_leads(&mut conn, scope, &named).await?;
        Ok(Some(hide_leads(&report, |lead| visible.contains(lead))))
    }

    /// Marks a job failed after an unexpected error, so pollers see it end.
    pub async fn fail_import(&self, mut job: ImportJob, error: &str) -> Result<()> {
        job.status = "failed".into();
        job.error = Some(error.to_string());
        job.finished_at = Some(self.now());
        self.finish_job(&job).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_names_only_the_leads_its_reader_may_see() {
        let row = |line, outcome, lead_id: Option<&str>, reason: Option<&str>| RowReport {
            line,
            outcome,
            lead_id: lead_id.map(str::to_string),
            reason: reason.map(str::to_string),
        };
        let csv = report_csv(&[
            row(2, "created", Some("L1"), None),
            row(
                3,
                "created",
                Some("L2"),
                Some("possible duplicate of lead L3"),
            ),
            row(4, "merged", Some("L3"), Some("merged into lead L3")),
            row(5, "rejected", None, Some("email: not an e-mail lead L3")),
            row(
                6,
                "unchanged",
                Some("L1"),
                Some("already imported as lead L1"),
            ),
        ]);
        assert_eq!(
            leads_named(&csv),
            ["L1", "L2", "L3", "L3", "L3", "L1", "L1"]
        );
        let seen = hide_leads(&csv, |id| id != "L3");
        assert_eq!(
            seen,
            "line,outcome,lead_id,reason\n2,created,L1,\n3,created,,a lead you cannot see\n\
             4,merged,,a lead you cannot see\n5,rejected,,email: not an e-mail lead L3\n\
             6,unchanged,L1,already imported as lead L1\n"
        );
        assert_eq!(
            hide_leads(&csv, |_| true),
            csv,
            "a reader who sees all gets it all"
        );
    }

    #[test]
    fn report_neutralises_formulas_and_quotes_commas() {
        let rows = vec![RowReport {
            line: 7,
            outcome: "rejected",
            lead_id: None,
            reason: Some("=HYPERLINK(\"http://evil\",\"x\"), bad".into()),
        }];
        let csv = report_csv(&rows);
        assert!(csv.starts_with("line,outcome,lead_id,reason\n"));
        assert!(csv.contains("7,rejected,,\"'=HYPERLINK("), "{csv}");
    }
}

/// How long an upload waits for its import to be started.
pub const STAGED_UPLOAD_TTL_MS: i64 = 24 * 3_600_000;

/// An upload waiting for the person to confirm how its columns map.
#[derive(Debug, Clone)]
pub struct Staged {
    pub id: String,
    pub file_name: String,
    pub bytes: Vec<u8>,
    pub source: String,
    pub campaign: Option<String>,
    pub channel: Channel,
    pub default_region: Option<String>,
}

impl App {
    /// Keeps an upload for the import wizard (nothing is imported yet); the file must
    /// read as a CSV lead list, or the person is told why at once.
    pub async fn stage_upload(&self, user_id: &str, staged: &Staged) -> Result<String> {
        if staged.bytes.is_empty() {
            return Err(ServiceError::invalid(
                "file",
                "empty_file",
                "the file is empty",
            ));
        }
        let source = staged.source.trim();
        if source.is_empty() || source.chars().count() > 200 {
            return Err(ServiceError::invalid(
                "source",
                "invalid_source",
                "a source name of 1 to 200 characters is required",
            ));
        }
        import::parse_csv(&staged.bytes, &[])
            .map_err(|e| ServiceError::invalid("file", "unreadable_file", e.to_string()))?;
        use base64::Engine as _;
        let row = leadline_store::uploads::StagedUpload {
            id: new_id(),
            user_id: user_id.to_string(),
            file_name: staged.file_name.clone(),
            content: base64::engine::general_purpose::STANDARD.encode(&staged.bytes),
            source: source.to_string(),
            campaign: staged.campaign.clone(),
            channel: staged.channel.as_str().to_string(),
            default_region: staged.default_region.clone(),
            created_at: self.now(),
        };
        // Stale uploads go with the scheduled pruning (`prune_sessions`).
        let mut conn = self.db.acquire().await?;
        leadline_store::uploads::insert(&mut conn, &row).await?;
        Ok(row.id)
    }

    /// The person's own staged upload.
    pub async fn staged_upload(&self, user_id: &str, id: &str) -> Result<Staged> {
        use base64::Engine as _;
        let mut conn = self.db.acquire().await?;
        let row = leadline_store::uploads::get(&mut conn, user_id, id)
            .await?
            .ok_or_else(|| ServiceError::not_found("upload", id))?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(row.content.as_bytes())
            .map_err(|e| ServiceError::Internal(anyhow::anyhow!("staged upload {id}: {e}")))?;
        Ok(Staged {
            id: row.id,
            file_name: row.file_name,
            bytes,
            source: row.source,
            campaign: row.campaign,
            channel: row.channel.parse().unwrap_or(Channel::Import),
            default_region: row.default_region,
        })
    }

    /// Starts the import of a staged upload (read with [`App::staged_upload`], so its
    /// owner's) with the person's column choices
    /// (`overrides`, `column=field` as the API's `map`), in the background; the upload
    /// is gone once the job is registered.
    pub async fn start_staged_import(
        &self,
        caller: crate::capture::CaptureCaller,
        staged: Staged,
        overrides: Vec<(String, String)>,
        actor: &str,
    ) -> Result<ImportJob> {
        let upload_id = staged.id.clone();
        import::parse_csv(&staged.bytes, &overrides)
            .map_err(|e| ServiceError::invalid("map", "invalid_mapping", e.to_string()))?;
        let request = ImportRequest {
            file_name: staged.file_name,
            bytes: staged.bytes,
            source: staged.source,
            channel: staged.channel,
            campaign: staged.campaign,
            overrides,
            default_region: staged.default_region,
            actor: actor.to_string(),
            caller: Some(caller),
        };
        let job = self.create_import(&request).await?;
        let mut conn = self.db.acquire().await?;
        leadline_store::uploads::delete(&mut conn, &upload_id).await?;
        drop(conn);
        let app = self.clone();
        let started = job.clone();
        tokio::spawn(async move {
            if let Err(e) = app.run_import(started.clone(), &request, &NoProgress).await {
                tracing::error!(import_id = %started.id, error = %e, "import failed");
                let _ = app.fail_import(started, &e.to_string()).await;
            }
        });
        Ok(job)
    }
}
