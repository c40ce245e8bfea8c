//! The match model in force on a database: stored in its settings, learned from its own
//! leads by [`App::train_matching`] (the `leadline matching train` command, and after a
//! large import), and cached here so captures do not parse it each time.
//!
//! Two settings rows: the model document and its version. Captures read the small
//! version row (cached for a few seconds like every setting) and reload the model only
//! when it changed, so every instance on the database picks up a new model within
//! seconds.

use crate::error::{Result, ServiceError};
use crate::App;
use leadline_domain::matching::{self, MatchModel, MatchRecord, TrainingError, TrainingOptions};
use leadline_store::leads;
use serde::Serialize;
use std::sync::{Arc, Mutex};

const MODEL: &str = "matching_model";
const VERSION: &str = "matching_model_version";

/// Most leads one training run reads. Beyond this an evenly spread sample is taken:
/// m and u are shares, which a few hundred thousand records estimate well, and the
/// memory of a run stays bounded.
pub const MAX_TRAINING_RECORDS: usize = 300_000;

/// Leads read per query while collecting training records.
const PAGE: usize = 5_000;

/// The model this instance last loaded, by version.
#[derive(Default)]
pub(crate) struct ModelCache {
    current: Mutex<Option<(u64, Arc<MatchModel>)>>,
    /// Set while a background training run is going, so imports do not pile them up.
    training: std::sync::atomic::AtomicBool,
}

/// What a training run did.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum TrainingOutcome {
    /// A new model was stored and is in force.
    Trained {
        model: Box<MatchModel>,
        leads_read: usize,
    },
    /// The data was not enough to learn from; the model in force stays.
    Kept { version: u64, reason: String },
}

impl App {
    /// The match model in force: the stored one, or the hand-set prior when none was
    /// trained (or the stored one cannot be read, which is logged).
    pub async fn match_model(&self) -> Result<Arc<MatchModel>> {
        let version = self
            .setting(VERSION)
            .await?
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0);
        if let Some((cached, model)) = self
            .model_cache
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            if *cached == version {
                return Ok(model.clone());
            }
        }
        let model = if version == 0 {
            MatchModel::prior()
        } else {
            let mut conn = self.db.acquire().await?;
            let text = leadline_store::settings::get(&mut conn, MODEL).await?;
            match text.as_deref().map(parse_model) {
                Some(Ok(model)) => model,
                Some(Err(e)) => {
                    tracing::error!(error = %e, version, "the stored match model is unreadable; matching with the prior");
                    MatchModel::prior()
                }
                None => MatchModel::prior(),
            }
        };
        let model = Arc::new(model);
        *self
            .model_cache
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some((version, model.clone()));
        Ok(model)
    }

    /// Learns a new model from this database's leads (every lead, merged-away ones
    /// included: they are what their survivors were) and puts it in force. With too
    /// few leads or candidate pairs the current model stays.
    pub async fn train_matching(&self, options: TrainingOptions) -> Result<TrainingOutcome> {
        let current = self.match_model().await?;
        let (records, leads_read) = self.training_records().await?;
        let now_s = self.now() / 1000;
        let current_for_run = current.clone();
        let trained = tokio::task::spawn_blocking(move || {
            matching::train(&records, &current_for_run, &options, now_s)
        })
        .await
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("training stopped: {e}")))?;
        match trained {
            Ok(model) => {
                let text = serde_json::to_string(&model).map_err(anyhow::Error::new)?;
                {
                    let mut tx = self.db.begin().await?;
                    leadline_store::settings::set(&mut tx, MODEL, &text, self.now()).await?;
                    leadline_store::settings::set(
                        &mut tx,
                        VERSION,
                        &model.version.to_string(),
                        self.now(),
                    )
                    .await?;
                    tx.commit()
                        .await
                        .map_err(leadline_store::StoreError::from)?;
                }
                // Forget the cached version so this instance switches at once.
                self.put_setting(VERSION, &model.version.to_string())
                    .await?;
                tracing::info!(version = model.version, leads_read, "match model trained");
                Ok(TrainingOutcome::Trained {
                    model: Box::new(model),
                    leads_read,
                })
            }
            Err(e @ (TrainingError::TooFewRecords { .. } | TrainingError::TooFewPairs { .. })) => {
                Ok(TrainingOutcome::Kept {
                    version: current.version,
                    reason: e.to_string(),
                })
            }
        }
    }

    /// Learns the model again in the background (after a large import). One run at a
    /// time; it stops with the server. Nothing depends on it finishing: captures keep
    /// the model in force until a new one is stored.
    pub fn retrain_in_background(&self) {
        use std::sync::atomic::Ordering;
        if self.model_cache.training.swap(true, Ordering::AcqRel) {
            return;
        }
        let app = self.clone();
        tokio::spawn(async move {
            tokio::select! {
                outcome = app.train_matching(TrainingOptions::default()) => match outcome {
                    Ok(TrainingOutcome::Trained { model, leads_read }) => {
                        tracing::info!(version = model.version, leads_read, "match model retrained after an import");
                    }
                    Ok(TrainingOutcome::Kept { version, reason }) => {
                        tracing::info!(version, %reason, "match model kept after an import");
                    }
                    Err(e) => tracing::warn!(error = %e, "retraining the match model failed"),
                },
                _ = app.stopped() => {}
            }
            app.model_cache.training.store(false, Ordering::Release);
        });
    }

    /// Every lead's comparable values, sampled evenly down to [`MAX_TRAINING_RECORDS`].
    async fn training_records(&self) -> Result<(Vec<MatchRecord>, usize)> {
        let mut conn = self.db.acquire().await?;
        let total = leads::count_all(&mut conn).await?.max(0) as usize;
        // Keep every k-th lead in id order: ids are time-ordered, so the sample spans
        // the database's whole history.
        let stride = total.div_ceil(MAX_TRAINING_RECORDS).max(1);
        let mut records = Vec::with_capacity(total.min(MAX_TRAINING_RECORDS));
        let mut after: Option<String> = None;
        let mut read = 0usize;
        loop {
            let page = leads::match_records_page(&mut conn, after.as_deref(), PAGE).await?;
            let Some((last, _)) = page.last() else { break };
            after = Some(last.clone());
            for (_, record) in page {
                if read.is_multiple_of(stride) {
                    records.push(record);
                }
                read += 1;
            }
        }
        Ok((records, read))
    }
}

fn parse_model(text: &str) -> std::result::Result<MatchModel, String> {
    let model: MatchModel = serde_json::from_str(text).map_err(|e| e.to_string())?;
    model.validate()?;
    Ok(model)
}

/// The settings row holding the form of the blocking keys stored
/// ([`matching::BLOCKING_KEYS_VERSION`]).
const KEYS_VERSION: &str = "matching_keys_version";

/// Leads and aliases whose keys are rebuilt per transaction.
const REINDEX_PAGE: usize = 1_000;

/// What a rebuild of the stored blocking keys did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ReindexReport {
    /// Leads (merged-away ones included) and aliases whose keys were rebuilt.
    pub rebuilt: u64,
    /// The key form now stored.
    pub version: u32,
}

impl App {
    /// The form of the blocking keys stored, if it was ever recorded. A database with
    /// leads and no record holds keys from before the record was kept (form 1).
    async fn stored_keys_version(&self) -> Result<Option<u32>> {
        let mut conn = self.db.acquire().await?;
        let stored = leadline_store::settings::get(&mut conn, KEYS_VERSION).await?;
        Ok(stored.and_then(|v| v.trim().parse().ok()))
    }

    /// Rebuilds the blocking keys of every lead and alias when the stored ones are of
    /// another form than this build makes (after an upgrade that changed the passes),
    /// so that new records find the old leads by every pass. `None` when they were
    /// current already.
    pub async fn ensure_match_keys_current(&self) -> Result<Option<ReindexReport>> {
        let stored = self.stored_keys_version().await?;
        if stored == Some(matching::BLOCKING_KEYS_VERSION) {
            return Ok(None);
        }
        tracing::info!(
            stored = ?stored,
            current = matching::BLOCKING_KEYS_VERSION,
            "rebuilding every lead's blocking keys in the current form"
        );
        self.reindex_match_keys().await.map(Some)
    }

    /// Rebuilds the blocking keys of every lead (merged-away ones keep theirs: a record
    /// with an old e-mail finds them) and every alias, a page per transaction, holding
    /// the capture lock per page so captures in between see whole pages. Safe to run
    /// again after an interruption: each page replaces its rows.
    pub async fn reindex_match_keys(&self) -> Result<ReindexReport> {
        let mut after = String::new();
        let mut rebuilt = 0u64;
        loop {
            let _guard = self.capture_lock.lock().await;
            let mut tx = self.db.begin().await?;
            let ids = leads::keyed_ids_page(&mut tx, &after, REINDEX_PAGE).await?;
            let Some(last) = ids.last() else {
                break;
            };
            after = last.clone();
            let records = leads::match_records(&mut tx, &ids).await?;
            let keys: Vec<(String, String)> = records
                .iter()
                .flat_map(|leads::MatchRow { id, record, .. }| {
                    matching::blocking_keys(record)
                        .into_iter()
                        .map(move |k| (k, id.clone()))
                })
                .collect();
            leads::delete_keys_of(&mut tx, &ids).await?;
            leads::insert_match_keys(&mut tx, &keys).await?;
            tx.commit()
                .await
                .map_err(leadline_store::StoreError::from)?;
            rebuilt += ids.len() as u64;
        }
        let mut conn = self.db.acquire().await?;
        let version = matching::BLOCKING_KEYS_VERSION;
        leadline_store::settings::set(&mut conn, KEYS_VERSION, &version.to_string(), self.now())
            .await?;
        // Blocks changed: what was oversized may not be now.
        *self.oversized_keys.lock().expect("oversized keys lock") = Default::default();
        Ok(ReindexReport { rebuilt, version })
    }
}
