//! Loading the generated demo data set, so a newcomer sees a living system.

use crate::capture::{Attribution, Capture, CaptureOutcome, ConsentGrant};
use crate::error::Result;
use crate::forms::{ConsentSpec, FormField, NewForm};
use crate::routing::RoutingRules;
use crate::users::{TeamEditor, UserInput};
use crate::App;
use leadline_domain::demo::{self, DemoCapture};
use leadline_domain::Channel;
use leadline_store::leads;
use leadline_store::sources::{self, CampaignDetails};
use serde_json::json;
use std::fmt;

const DEMO_EMAIL_WORDING: &str =
    "Yes, Leadline Demo Ltd may e-mail me about its products. I can unsubscribe at any time.";
const DEMO_PHONE_WORDING: &str = "Yes, Leadline Demo Ltd may call me about my enquiry.";

/// What `load_demo` did.
#[derive(Debug, Clone, PartialEq)]
pub enum DemoSummary {
    /// The database already held leads; nothing was added.
    Skipped { existing_leads: i64 },
    Loaded {
        captures: usize,
        created: usize,
        merged: usize,
        possible_duplicates: usize,
        rejected: usize,
        campaigns: usize,
        /// The "Contact us" form.
        form_key: String,
        /// The "Request a call" form, whose submissions are routed to a rep at once.
        call_form_key: String,
        /// Demo managers and reps added (existing e-mail addresses are kept as they are).
        users: usize,
        /// Demo teams added.
        teams: usize,
    },
}

impl fmt::Display for DemoSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DemoSummary::Skipped { existing_leads } => write!(
                f,
                "demo data not loaded: the database already holds {existing_leads} leads"
            ),
            DemoSummary::Loaded { captures, created, merged, possible_duplicates, rejected, campaigns, form_key, call_form_key, users, teams } => write!(
                f,
                "demo data loaded: {captures} captures over {campaigns} campaigns -> {created} leads \
                 ({merged} merged as repeats, {possible_duplicates} flagged as possible duplicates, \
                 {rejected} rejected as invalid); {users} demo users in {teams} follow-the-sun teams \
                 (London, New York, Singapore, weekend cover) with routing rules; demo forms at \
                 /f/{form_key} (contact us) and /f/{call_form_key} (request a call)"
            ),
        }
    }
}

fn capture_time(today_ms: i64, c: &DemoCapture) -> i64 {
    today_ms - i64::from(c.captured_days_ago) * 86_400_000
        + i64::from(c.captured_seconds_of_day) * 1000
}

impl App {
    /// Loads `leads` generated captures (deterministic from `seed`) into an empty
    /// database, through the real capture pipeline so matching and merging show.
    pub async fn load_demo(&self, seed: u64, leads: usize) -> Result<DemoSummary> {
        let mut conn = self.db.acquire().await?;
        let existing = leads::count(&mut conn).await?;
        if existing > 0 {
            return Ok(DemoSummary::Skipped {
                existing_leads: existing,
            });
        }
        let now = self.now();
        let today = crate::clock::date_of(now);
        let midnight = now - now.rem_euclid(86_400_000);
        let data = demo::generate(seed, leads, today);
        let mut campaign_ids = Vec::with_capacity(data.campaigns.len());
        for c in &data.campaigns {
            let source =
                sources::ensure_source(&mut conn, &c.source, c.channel.as_str(), now).await?;
            let details = CampaignDetails {
                cost_cents: Some(c.cost_cents),
                currency: Some("EUR".into()),
                starts_on: Some(c.starts_on.to_string()),
                ends_on: c.ends_on.map(|d| d.to_string()),
            };
            let campaign = sources::ensure_campaign(
                &mut conn,
                &c.name,
                &source,
                c.channel.as_str(),
                &details,
                now,
            )
            .await?;
            campaign_ids.push((source.id, campaign.id, c.channel));
        }
        drop(conn);

        let mut captures: Vec<&DemoCapture> = data.captures.iter().collect();
        captures.sort_by_key(|c| capture_time(midnight, c));
        let (mut created, mut merged, mut possible, mut rejected) = (0, 0, 0, 0);
        for chunk in captures.chunks(500) {
            let batch: Vec<Capture> = chunk
                .iter()
                .map(|c| {
                    let (source_id, campaign_id, channel) = &campaign_ids[c.campaign];
                    let mut capture = Capture::new(c.input.clone(), *channel, source_id, "demo");
                    capture.campaign_id = Some(campaign_id.clone());
                    capture.occurred_at = Some(capture_time(midnight, c).min(now));
                    capture.attribution = Attribution {
                        utm_source: c.utm.source.clone(),
                        utm_medium: c.utm.medium.clone(),
                        utm_campaign: c.utm.campaign.clone(),
                        utm_term: c.utm.term.clone(),
                        utm_content: c.utm.content.clone(),
                        referrer: c.referrer.clone(),
                        landing_page: None,
                    };
                    let evidence =
                        json!({ "demo": true, "campaign": data.campaigns[c.campaign].name });
                    for (given, channel, wording) in [
                        (c.email_consent, "email", DEMO_EMAIL_WORDING),
                        (c.phone_consent, "phone", DEMO_PHONE_WORDING),
                    ] {
                        if given {
                            capture.consents.push(ConsentGrant {
                                channel: channel.into(),
                                granted: true,
                                wording: Some(wording.into()),
                                evidence: evidence.clone(),
                            });
                        }
                    }
                    capture
                })
                .collect();
            for outcome in self.capture_batch(batch).await? {
                match outcome {
                    CaptureOutcome::Created {
                        possible_duplicate_of: Some(_),
                        ..
                    } => {
                        created += 1;
                        possible += 1;
                    }
                    CaptureOutcome::Created { .. } => created += 1,
                    CaptureOutcome::Merged { .. }
                    | CaptureOutcome::Unchanged { .. }
                    | CaptureOutcome::RecordedForOwner { .. } => merged += 1,
                    CaptureOutcome::Rejected { .. } => rejected += 1,
                }
            }
        }
        let (users, teams) = self.load_demo_sales_team().await?;
        let call_form = self
            .create_form(&NewForm {
                name: "Request a call".into(),
                source: "Website call requests".into(),
                channel: Some(Channel::WebForm),
                campaign: None,
                fields: vec![
                    FormField {
                        name: "full_name".into(),
                        label: "Your name".into(),
                        required: true,
                    },
                    FormField {
                        name: "email".into(),
                        label: "Work e-mail".into(),
                        required: true,
                    },
                    FormField {
                        name: "phone".into(),
                        label: "Phone".into(),
                        required: true,
                    },
                    FormField {
                        name: "company".into(),
                        label: "Company".into(),
                        required: false,
                    },
                    FormField {
                        name: "country".into(),
                        label: "Country".into(),
                        required: false,
                    },
                    FormField {
                        name: "answers.asked_to_be_contacted".into(),
                        label: "Shall we call you? (yes / no)".into(),
                        required: true,
                    },
                ],
                consent: Some(ConsentSpec {
                    channels: vec!["phone".into()],
                    wording: DEMO_PHONE_WORDING.into(),
                    required: false,
                }),
                redirect_url: None,
                default_region: Some("GB".into()),
                min_fill_seconds: None,
                submit_label: Some("Call me".into()),
                success_message: Some("Thank you: a rep will call you shortly.".into()),
            })
            .await?;
        let form = self
            .create_form(&NewForm {
                name: "Contact us".into(),
                source: "Website contact form".into(),
                channel: Some(Channel::WebForm),
                campaign: None,
                fields: vec![
                    FormField {
                        name: "first_name".into(),
                        label: "First name".into(),
                        required: true,
                    },
                    FormField {
                        name: "last_name".into(),
                        label: "Last name".into(),
                        required: true,
                    },
                    FormField {
                        name: "email".into(),
                        label: "Work e-mail".into(),
                        required: true,
                    },
                    FormField {
                        name: "phone".into(),
                        label: "Phone".into(),
                        required: false,
                    },
                    FormField {
                        name: "company".into(),
                        label: "Company".into(),
                        required: false,
                    },
                    FormField {
                        name: "custom.message".into(),
                        label: "How can we help?".into(),
                        required: false,
                    },
                ],
                consent: Some(ConsentSpec {
                    channels: vec!["email".into()],
                    wording: DEMO_EMAIL_WORDING.into(),
                    required: false,
                }),
                redirect_url: None,
                default_region: Some("GB".into()),
                min_fill_seconds: None,
                submit_label: Some("Send".into()),
                success_message: None,
            })
            .await?;
        Ok(DemoSummary::Loaded {
            captures: captures.len(),
            created,
            merged,
            possible_duplicates: possible,
            rejected,
            campaigns: data.campaigns.len(),
            form_key: form.key,
            call_form_key: call_form.key,
            users,
            teams,
        })
    }

    /// The demo's managers, reps and teams, and its routing rules (unless rules were set
    /// already). Users whose e-mail exists and teams whose name exists are kept as they
    /// are. Returns how many users and teams were added.
    async fn load_demo_sales_team(&self) -> Result<(usize, usize)> {
        let (demo_users, demo_teams) = demo::sales_team();
        let mut user_ids = std::collections::HashMap::new();
        let mut added_users = 0;
        for u in &demo_users {
            let id = match self.user_by_email(u.email).await? {
                Some(existing) => existing.id,
                None => {
                    added_users += 1;
                    self.create_user(UserInput {
                        email: Some(u.email.into()),
                        name: Some(u.name.into()),
                        role: Some(u.role.as_str().into()),
                        working_hours: Some(
                            serde_json::to_value(&u.working_hours).map_err(anyhow::Error::new)?,
                        ),
                        territories: Some(
                            serde_json::to_value(&u.territories).map_err(anyhow::Error::new)?,
                        ),
                        capacity: Some(i64::from(u.capacity)),
                        weight: Some(i64::from(u.weight)),
                        ..Default::default()
                    })
                    .await?
                    .id
                }
            };
            user_ids.insert(u.key, id);
        }
        let existing = self.list_teams().await?;
        let mut team_ids = std::collections::HashMap::new();
        let mut added_teams = 0;
        for t in &demo_teams {
            let id = match existing.iter().find(|e| e.name == t.name) {
                Some(e) => e.id.clone(),
                None => {
                    added_teams += 1;
                    let members: Vec<String> = t
                        .members
                        .iter()
                        .filter_map(|m| user_ids.get(m).cloned())
                        .collect();
                    self.save_team(
                        TeamEditor::Admin,
                        None,
                        t.name,
                        user_ids.get(t.manager).map(String::as_str),
                        &members,
                    )
                    .await?
                    .id
                }
            };
            team_ids.insert(t.key, id);
        }
        if self.routing_rules().await?.rules.is_empty() {
            self.set_routing_rules(&RoutingRules {
                rules: demo::routing_rules(&team_ids),
            })
            .await?;
        }
        Ok((added_users, added_teams))
    }
}

/// Demo people beside the sales team: one of each role the team has not.
const DEMO_EXTRA_USERS: &[(&str, &str, &str)] = &[
    ("admin@leadline-demo.example", "Alex Admin", "admin"),
    (
        "marketer@leadline-demo.example",
        "Morgan Marketer",
        "marketer",
    ),
];

/// How to sign in to a demo database: every demo person and the one password they
/// share (unless someone changed theirs).
#[derive(Debug, Clone, PartialEq)]
pub struct DemoSignIns {
    /// (e-mail, name, role), admin first, then managers, then reps.
    pub people: Vec<(String, String, String)>,
    pub password: String,
}

impl App {
    /// Makes the demo people able to sign in and says how: an admin and a marketer
    /// are added beside the demo sales team, and every demo person without a
    /// password gets this database's demo password (random, made once and kept in
    /// the settings so each start can print it). `None` when the demo team is not
    /// in this database.
    pub async fn demo_sign_ins(&self) -> Result<Option<DemoSignIns>> {
        let (team, _) = demo::sales_team();
        if self.user_by_email(team[0].email).await?.is_none() {
            return Ok(None);
        }
        let password = {
            use rand::distributions::{Alphanumeric, DistString};
            let fresh = Alphanumeric.sample_string(&mut rand::rngs::OsRng, 16);
            let mut conn = self.db.acquire().await?;
            leadline_store::settings::get_or_init(&mut conn, "demo_password", &fresh, self.now())
                .await?
        };
        let mut wanted: Vec<(String, String, String)> = DEMO_EXTRA_USERS
            .iter()
            .map(|(e, n, r)| (e.to_string(), n.to_string(), r.to_string()))
            .collect();
        wanted.extend(team.iter().map(|u| {
            (
                u.email.to_string(),
                u.name.to_string(),
                u.role.as_str().to_string(),
            )
        }));
        let rank = |role: &str| match role {
            "admin" => 0,
            "marketer" => 1,
            "manager" => 2,
            _ => 3,
        };
        wanted.sort_by_key(|(_, _, role)| rank(role));
        for (email, name, role) in &wanted {
            match self.user_by_email(email).await? {
                Some(u) if u.password_hash.is_some() => {}
                Some(u) => {
                    self.update_user(
                        &u.id,
                        UserInput {
                            password: Some(password.clone()),
                            ..Default::default()
                        },
                    )
                    .await?;
                }
                None => {
                    self.create_user(UserInput {
                        email: Some(email.clone()),
                        name: Some(name.clone()),
                        role: Some(role.clone()),
                        password: Some(password.clone()),
                        ..Default::default()
                    })
                    .await?;
                }
            }
        }
        Ok(Some(DemoSignIns {
            people: wanted,
            password,
        }))
    }
}
