//! The access matrix (issue 9): every operation of the OpenAPI document, called by
//! every kind of caller, is allowed or denied as the table below says, and an allowed
//! read lists exactly the rows that caller may see. An operation the document lists
//! and the table does not — or the other way round — fails the test, so no endpoint
//! ships without its access decided here.
//!
//! Reads run first, over a fixed world: three leads (rep A's, rep B's, one nobody
//! owns) and one of everything else a path can name. Writes follow, each on objects
//! made for that one call (leads, merges, webhooks, tokens) or as a change that can be
//! made again (a title, a campaign's cost, a definition put back as it was), so no
//! cell depends on another. Every answer, allowed or not, is also searched for the id
//! of any lead outside the caller's scope: "exactly the rows that role may see" holds
//! for what an answer mentions, not only for what it lists.

use crate::backend_tests;
use crate::harness::*;
use crate::notifications::{HookServer, Receiver};
use leadline_web::openapi::OPERATIONS;
use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

// ---------------------------------------------------------------------------------
// Who calls.

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Caller {
    /// No `Authorization` header.
    Anonymous,
    /// A well-formed bearer token no one was ever given.
    BadToken,
    /// Rep A's token, revoked through `DELETE /api/v1/tokens/{id}`.
    RevokedToken,
    /// A rep of team North.
    RepA,
    /// A rep of team South: "a rep of another team".
    RepB,
    /// North's manager.
    ManagerNorth,
    /// South's manager: "a manager of another team".
    ManagerSouth,
    Marketer,
    Admin,
}
use Caller::*;

/// The columns of the table, in order.
const CALLERS: [Caller; 9] = [
    Anonymous,
    BadToken,
    RevokedToken,
    RepA,
    RepB,
    ManagerNorth,
    ManagerSouth,
    Marketer,
    Admin,
];

impl Caller {
    fn name(self) -> &'static str {
        match self {
            Anonymous => "anonymous",
            BadToken => "bad token",
            RevokedToken => "revoked token",
            RepA => "rep A (North)",
            RepB => "rep B (South)",
            ManagerNorth => "manager M1 (North)",
            ManagerSouth => "manager M2 (South)",
            Marketer => "marketer",
            Admin => "admin",
        }
    }
}

/// The leads of the world, by who owns them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    OfRepA,
    OfRepB,
    Unowned,
}

const KINDS: [Kind; 3] = [Kind::OfRepA, Kind::OfRepB, Kind::Unowned];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::OfRepA => "rep A's lead",
            Kind::OfRepB => "rep B's lead",
            Kind::Unowned => "the unowned lead",
        }
    }
}

/// The lead scope under test: which leads each caller may see, and so read, change,
/// capture into and merge. Callers without a valid token see none.
#[rustfmt::skip]
const SCOPE: [(Caller, [bool; 3]); 6] = [
    //                rep A's  rep B's  unowned
    (RepA,           [true,    false,   false]), // a rep: their own leads
    (RepB,           [false,   true,    false]),
    (ManagerNorth,   [true,    false,   true ]), // a manager: their team's and the unassigned pool
    (ManagerSouth,   [false,   true,    true ]),
    (Marketer,       [true,    true,    true ]), // marketers and admins: every lead
    (Admin,          [true,    true,    true ]),
];

fn sees(caller: Caller, kind: Kind) -> bool {
    SCOPE
        .iter()
        .find(|(c, _)| *c == caller)
        .is_some_and(|(_, seen)| seen[kind as usize])
}

// ---------------------------------------------------------------------------------
// The table.

/// What one caller gets from one operation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Cell {
    /// Allowed: a 2xx answer.
    Y,
    /// 401: no valid credentials.
    U,
    /// 403: the caller's role lacks the permission.
    F,
    /// 404: someone else's object, which does not exist for this caller.
    N,
    /// Scoped: the row runs once on a lead of each kind, allowed on a lead in the
    /// caller's scope (`SCOPE`) and answered as the row's `Outside` says elsewhere.
    S,
}
use Cell::*;

/// How a scoped operation answers for a lead outside the caller's scope.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Outside {
    /// 404, as if the lead (or the merge of it) did not exist.
    NotFound,
    /// A capture of someone the caller may not see: 202 `recorded_for_owner`, no lead.
    RecordedForOwner,
}

/// What an allowed answer must list exactly.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Rows {
    /// Nothing beyond the status (and the leak check every answer gets).
    Status,
    /// Of the world's leads, exactly those in scope: `(array pointer, id field)`.
    Leads(&'static str, &'static str),
    /// Exactly the caller's own tokens; an admin's: everyone's.
    Tokens,
    /// Not scoped: exactly what the admin gets (ids of the array at this pointer).
    AsAdmin(&'static str),
    /// The caller themselves.
    Me,
    /// The lead asked for (its id is in the answer).
    TheLead,
    /// Of the world's duplicate pairs, exactly those whose two leads are in scope.
    Pairs,
}

struct Row {
    method: &'static str,
    path: &'static str,
    cells: [Cell; 9],
    rows: Rows,
    outside: Outside,
}

const fn op(method: &'static str, path: &'static str, cells: [Cell; 9]) -> Row {
    Row {
        method,
        path,
        cells,
        rows: Rows::Status,
        outside: Outside::NotFound,
    }
}

impl Row {
    const fn rows(self, rows: Rows) -> Row {
        Row { rows, ..self }
    }

    const fn outside(self, outside: Outside) -> Row {
        Row { outside, ..self }
    }

    fn scoped(&self) -> bool {
        self.cells.contains(&S)
    }

    fn is_read(&self) -> bool {
        self.method == "get"
    }
}

const LEADS: Rows = Rows::Leads("/leads", "id");

/// Every operation × every caller. Columns: anonymous, bad token, revoked token,
/// rep A, rep B (another team), manager M1 (North), manager M2 (another team),
/// marketer, admin. Path ids: `{id}` of a lead is a lead of each kind (`S` rows);
/// `/users/{id}` is rep A; `/teams/{id}` is North; `/tokens/{id}` is one of rep A's.
#[rustfmt::skip]
const MATRIX: &[Row] = &[
    //  method    path                                       anon bad rev  A  B  M1 M2 mkt adm
    // Public: liveness, the document, and the hosted forms anyone may fill in.
    op("get",    "/healthz",                                [Y, Y, Y, Y, Y, Y, Y, Y, Y]),
    op("get",    "/api/v1/openapi.json",                    [Y, Y, Y, Y, Y, Y, Y, Y, Y]),
    op("get",    "/f/{key}",                                [Y, Y, Y, Y, Y, Y, Y, Y, Y]),
    op("get",    "/f/{key}/token",                          [Y, Y, Y, Y, Y, Y, Y, Y, Y]),
    op("post",   "/f/{key}",                                [Y, Y, Y, Y, Y, Y, Y, Y, Y]),
    // Leads: everyone signed in reads and writes, within their scope. A capture of a
    // person someone else owns is recorded for that owner, showing nothing of the lead.
    op("post",   "/api/v1/leads",                           [U, U, U, S, S, S, S, S, S]).outside(Outside::RecordedForOwner),
    op("get",    "/api/v1/leads",                           [U, U, U, Y, Y, Y, Y, Y, Y]).rows(LEADS),
    op("get",    "/api/v1/leads/{id}",                      [U, U, U, S, S, S, S, S, S]).rows(Rows::TheLead),
    op("patch",  "/api/v1/leads/{id}",                      [U, U, U, S, S, S, S, S, S]),
    op("get",    "/api/v1/leads/{id}/timeline",             [U, U, U, S, S, S, S, S, S]).rows(Rows::TheLead),
    // Merging is for managers, marketers and admins, and needs both leads in scope.
    op("post",   "/api/v1/leads/{id}/merge",                [U, U, U, F, F, S, S, S, S]),
    op("post",   "/api/v1/merges/{id}/undo",                [U, U, U, F, F, S, S, S, S]),
    // The duplicates queue: everyone reads the pairs whose two leads they both see;
    // merging or dismissing a pair is a merge decision, with both leads in scope.
    op("get",    "/api/v1/duplicates",                      [U, U, U, Y, Y, Y, Y, Y, Y]).rows(Rows::Pairs),
    op("post",   "/api/v1/duplicates/{id}/merge",           [U, U, U, F, F, S, S, S, S]),
    op("post",   "/api/v1/duplicates/{id}/dismiss",         [U, U, U, F, F, S, S, S, S]),
    // Forms are marketing's and the sales managers'.
    op("post",   "/api/v1/forms",                           [U, U, U, F, F, Y, Y, Y, Y]),
    op("get",    "/api/v1/forms",                           [U, U, U, F, F, Y, Y, Y, Y]).rows(Rows::AsAdmin("/forms")),
    op("get",    "/api/v1/forms/{id}",                      [U, U, U, F, F, Y, Y, Y, Y]),
    op("get",    "/api/v1/forms/{id}/embed",                [U, U, U, F, F, Y, Y, Y, Y]),
    // Imports: managers, marketers, admins.
    op("post",   "/api/v1/imports",                         [U, U, U, F, F, Y, Y, Y, Y]),
    op("get",    "/api/v1/imports/{id}",                    [U, U, U, F, F, Y, Y, Y, Y]),
    op("get",    "/api/v1/imports/{id}/report",             [U, U, U, F, F, Y, Y, Y, Y]),
    // The catalogue everyone picks from; campaigns are written by marketing.
    op("get",    "/api/v1/sources",                         [U, U, U, Y, Y, Y, Y, Y, Y]).rows(Rows::AsAdmin("")),
    op("get",    "/api/v1/campaigns",                       [U, U, U, Y, Y, Y, Y, Y, Y]).rows(Rows::AsAdmin("")),
    op("post",   "/api/v1/campaigns",                       [U, U, U, F, F, F, F, Y, Y]),
    op("get",    "/api/v1/campaigns/{id}",                  [U, U, U, Y, Y, Y, Y, Y, Y]),
    op("patch",  "/api/v1/campaigns/{id}",                  [U, U, U, F, F, F, F, Y, Y]),
    // Users: managers read them, only admins change them; anyone reads themselves.
    op("get",    "/api/v1/users",                           [U, U, U, F, F, Y, Y, F, Y]).rows(Rows::AsAdmin("/users")),
    op("post",   "/api/v1/users",                           [U, U, U, F, F, F, F, F, Y]),
    op("get",    "/api/v1/users/me",                        [U, U, U, Y, Y, Y, Y, Y, Y]).rows(Rows::Me),
    op("get",    "/api/v1/users/{id}",                      [U, U, U, Y, F, Y, Y, F, Y]),
    op("patch",  "/api/v1/users/{id}",                      [U, U, U, F, F, F, F, F, Y]),
    // Teams: a manager creates teams and changes their own, never another manager's
    // (that would hand them the other team's leads).
    op("get",    "/api/v1/teams",                           [U, U, U, F, F, Y, Y, F, Y]).rows(Rows::AsAdmin("/teams")),
    op("post",   "/api/v1/teams",                           [U, U, U, F, F, Y, Y, F, Y]),
    op("put",    "/api/v1/teams/{id}",                      [U, U, U, F, F, Y, F, F, Y]),
    // The lifecycle: everyone reads it and moves their leads; only admins redefine it.
    op("get",    "/api/v1/lifecycle",                       [U, U, U, Y, Y, Y, Y, Y, Y]),
    op("put",    "/api/v1/lifecycle",                       [U, U, U, F, F, F, F, F, Y]),
    op("get",    "/api/v1/leads/{id}/qualification",        [U, U, U, S, S, S, S, S, S]),
    op("put",    "/api/v1/leads/{id}/answers",              [U, U, U, S, S, S, S, S, S]),
    op("post",   "/api/v1/leads/{id}/stage",                [U, U, U, S, S, S, S, S, S]),
    // Scoring: everyone reads the rules; reps do not change them.
    op("get",    "/api/v1/scoring",                         [U, U, U, Y, Y, Y, Y, Y, Y]),
    op("put",    "/api/v1/scoring",                         [U, U, U, F, F, Y, Y, Y, Y]),
    op("post",   "/api/v1/leads/{id}/events",               [U, U, U, S, S, S, S, S, S]),
    op("get",    "/api/v1/leads/{id}/score",                [U, U, U, S, S, S, S, S, S]).rows(Rows::TheLead),
    // Touches, and the leads losing touch (of the caller's scope only).
    op("post",   "/api/v1/leads/{id}/touches",              [U, U, U, S, S, S, S, S, S]),
    op("get",    "/api/v1/leads/{id}/touches",              [U, U, U, S, S, S, S, S, S]).rows(Rows::TheLead),
    op("get",    "/api/v1/losing-touch",                    [U, U, U, Y, Y, Y, Y, Y, Y]).rows(Rows::Leads("/leads", "lead_id")),
    // Routing, speed-to-lead and accounts are the sales managers' (and admins').
    op("get",    "/api/v1/routing",                         [U, U, U, F, F, Y, Y, F, Y]),
    op("put",    "/api/v1/routing",                         [U, U, U, F, F, Y, Y, F, Y]),
    op("post",   "/api/v1/leads/{id}/route",                [U, U, U, F, F, S, S, F, S]),
    op("put",    "/api/v1/leads/{id}/owner",                [U, U, U, F, F, S, S, F, S]),
    op("get",    "/api/v1/sla-policies",                    [U, U, U, F, F, Y, Y, F, Y]),
    op("put",    "/api/v1/sla-policies",                    [U, U, U, F, F, Y, Y, F, Y]),
    op("get",    "/api/v1/accounts/{id}",                   [U, U, U, F, F, Y, Y, Y, Y]),
    op("put",    "/api/v1/accounts/{id}/owner",             [U, U, U, F, F, Y, Y, F, Y]),
    // The event stream is everyone's (filtered by scope); integrations are marketing's.
    op("get",    "/api/v1/stream",                          [U, U, U, Y, Y, Y, Y, Y, Y]),
    op("get",    "/api/v1/webhooks",                        [U, U, U, F, F, F, F, Y, Y]).rows(Rows::AsAdmin("/webhooks")),
    op("post",   "/api/v1/webhooks",                        [U, U, U, F, F, F, F, Y, Y]),
    op("get",    "/api/v1/webhooks/{id}",                   [U, U, U, F, F, F, F, Y, Y]),
    op("patch",  "/api/v1/webhooks/{id}",                   [U, U, U, F, F, F, F, Y, Y]),
    op("delete", "/api/v1/webhooks/{id}",                   [U, U, U, F, F, F, F, Y, Y]),
    op("post",   "/api/v1/webhooks/{id}/rotate-secret",     [U, U, U, F, F, F, F, Y, Y]),
    op("get",    "/api/v1/deliveries",                      [U, U, U, F, F, F, F, Y, Y]).rows(Rows::AsAdmin("/deliveries")),
    op("post",   "/api/v1/deliveries/replay",               [U, U, U, F, F, F, F, Y, Y]),
    // Tokens: everyone lists, makes and revokes their own; only an admin anyone's.
    // Someone else's token does not exist for the caller.
    op("get",    "/api/v1/tokens",                          [U, U, U, Y, Y, Y, Y, Y, Y]).rows(Rows::Tokens),
    op("post",   "/api/v1/tokens",                          [U, U, U, Y, Y, Y, Y, Y, Y]),
    op("delete", "/api/v1/tokens/{id}",                     [U, U, U, Y, N, N, N, N, Y]),
];

// ---------------------------------------------------------------------------------
// The world the table runs in.

struct World {
    /// Bearer secret per caller (none for the anonymous one).
    bearer: HashMap<Caller, String>,
    /// User id per signed-in caller.
    user: HashMap<Caller, String>,
    /// The fixed leads, by `Kind`.
    lead: [String; 3],
    /// The fixed duplicate pairs, with the kinds of their two leads.
    pairs: Vec<(String, [Kind; 2])>,
    /// Every lead made, with its kind: no answer may name one outside the caller's scope.
    all_leads: Mutex<Vec<(String, Kind)>>,
    form_id: String,
    form_key: String,
    import_id: String,
    campaign_id: String,
    account_id: String,
    webhook_id: String,
    hook_url: String,
    north: (String, Value),
    spare_user: String,
    counter: AtomicUsize,
}

impl World {
    fn unique(&self, what: &str) -> String {
        format!("{what}-{}", self.counter.fetch_add(1, Ordering::SeqCst))
    }

    /// Who makes a lead of this kind: a rep owns what they enter; the admin's stay unowned.
    fn maker(kind: Kind) -> Caller {
        match kind {
            Kind::OfRepA => RepA,
            Kind::OfRepB => RepB,
            Kind::Unowned => Admin,
        }
    }

    /// A new lead of `kind`: its id and e-mail.
    async fn fresh_lead(&self, srv: &TestServer, kind: Kind) -> (String, String) {
        let email = format!("{}@matrix.example.com", self.unique("lead"));
        let (status, body) = call(
            srv,
            self,
            World::maker(kind),
            Method::POST,
            "/api/v1/leads",
            Body::Json(json!({ "email": email, "first_name": "Fresh" })),
        )
        .await;
        assert_eq!(status, 201, "making {}: {body}", kind.name());
        let id = body["lead"]["id"].as_str().unwrap().to_string();
        self.all_leads.lock().unwrap().push((id.clone(), kind));
        (id, email)
    }

    /// Two new leads of `kind` merged by the admin: the merge id.
    async fn fresh_merge(&self, srv: &TestServer, kind: Kind) -> String {
        let (survivor, _) = self.fresh_lead(srv, kind).await;
        let (other, _) = self.fresh_lead(srv, kind).await;
        let (status, body) = srv
            .send(
                srv.post(&format!("/api/v1/leads/{survivor}/merge"))
                    .json(&json!({ "other_lead_id": other })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["merge_id"].as_str().unwrap().to_string()
    }

    /// A new possible-duplicate pair of two leads of `kind`, queued: its id.
    async fn fresh_pair(&self, srv: &TestServer, kind: Kind) -> String {
        // Letters only: a surname of this pair alone, so it matches nothing else.
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let suffix: String = format!("{n:04}")
            .bytes()
            .map(|d| char::from(b'a' + (d - b'0')))
            .collect();
        let last_name = format!("Quill{suffix}");
        let company = format!("Quill{suffix} Trading Ltd");
        let email = format!("robin.{suffix}@quill.example.com");
        let mut ids = BTreeSet::new();
        for person in [
            json!({ "first_name": "Robin", "last_name": last_name, "email": email,
                    "company": company, "country": "GB" }),
            json!({ "first_name": "Robin", "last_name": last_name, "company": company }),
        ] {
            let (status, body) = call(
                srv,
                self,
                World::maker(kind),
                Method::POST,
                "/api/v1/leads",
                Body::Json(person),
            )
            .await;
            assert_eq!(status, 201, "making {}: {body}", kind.name());
            let id = body["lead"]["id"].as_str().unwrap().to_string();
            self.all_leads.lock().unwrap().push((id.clone(), kind));
            ids.insert(id);
        }
        let (status, queue) = srv.send(srv.get("/api/v1/duplicates?limit=500")).await;
        assert_eq!(status, 200, "{queue}");
        queue["pairs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| pair_leads(p) == ids)
            .unwrap_or_else(|| panic!("the two leads {ids:?} are queued as a pair: {queue}"))["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn sees_id(&self, caller: Caller, text: &str, asked: &str) -> Vec<String> {
        self.all_leads
            .lock()
            .unwrap()
            .iter()
            .filter(|(id, kind)| !sees(caller, *kind) && text.contains(id) && !asked.contains(id))
            .map(|(id, kind)| format!("{id} ({})", kind.name()))
            .collect()
    }
}

/// The two lead ids of a listed duplicate pair.
fn pair_leads(pair: &Value) -> BTreeSet<String> {
    ["lead_a", "lead_b"]
        .iter()
        .filter_map(|k| pair[k]["id"].as_str().map(str::to_string))
        .collect()
}

enum Body {
    None,
    Json(Value),
    /// A CSV upload for `POST /api/v1/imports`.
    Csv(String),
}

impl Body {
    fn text(&self) -> String {
        match self {
            Body::None => String::new(),
            Body::Json(v) => v.to_string(),
            Body::Csv(s) => s.clone(),
        }
    }
}

struct Answer {
    status: u16,
    content_type: String,
    text: String,
    json: Value,
}

fn builder(
    srv: &TestServer,
    w: &World,
    caller: Caller,
    method: Method,
    path: &str,
    body: &Body,
) -> reqwest::RequestBuilder {
    let mut request = srv.client.request(method, srv.url(path));
    if let Some(secret) = w.bearer.get(&caller) {
        request = request.bearer_auth(secret);
    }
    match body {
        Body::None => request,
        Body::Json(v) => request.json(v),
        Body::Csv(csv) => request.multipart(
            Form::new()
                .part(
                    "file",
                    Part::bytes(csv.clone().into_bytes())
                        .file_name("matrix.csv")
                        .mime_str("text/csv")
                        .unwrap(),
                )
                .text("source", "Matrix import"),
        ),
    }
}

/// Sends as `caller`. An event stream's head is read and the connection dropped.
async fn answer(
    srv: &TestServer,
    w: &World,
    caller: Caller,
    method: Method,
    path: &str,
    body: &Body,
) -> Answer {
    let response = builder(srv, w, caller, method, path, body)
        .send()
        .await
        .expect("request reaches the server");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let text = if content_type.starts_with("text/event-stream") {
        drop(response);
        String::new()
    } else {
        response.text().await.unwrap_or_default()
    };
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        content_type,
        text,
        json,
    }
}

async fn call(
    srv: &TestServer,
    w: &World,
    caller: Caller,
    method: Method,
    path: &str,
    body: Body,
) -> (u16, Value) {
    let a = answer(srv, w, caller, method, path, &body).await;
    (a.status, a.json)
}

async fn world(srv: &TestServer) -> World {
    let admin = srv.app.default_admin().await.unwrap().id;
    let rep_a = srv.rep("a@seller.example.com", json!({})).await;
    let rep_b = srv.rep("b@seller.example.com", json!({})).await;
    let m1 = srv
        .user("m1@seller.example.com", "manager", json!({}))
        .await;
    let m2 = srv
        .user("m2@seller.example.com", "manager", json!({}))
        .await;
    let marketer = srv
        .user("mk@seller.example.com", "marketer", json!({}))
        .await;
    let spare_user = srv.rep("spare@seller.example.com", json!({})).await;
    let mut north = None;
    for (name, manager, rep) in [("North", &m1, &rep_a), ("South", &m2, &rep_b)] {
        let team = json!({ "name": name, "manager_id": manager, "member_ids": [rep] });
        let (status, body) = srv.send(srv.post("/api/v1/teams").json(&team)).await;
        assert_eq!(status, 201, "{body}");
        north.get_or_insert((body["id"].as_str().unwrap().to_string(), team));
    }

    let mut bearer = HashMap::new();
    let mut user = HashMap::new();
    for (caller, id) in [
        (RepA, &rep_a),
        (RepB, &rep_b),
        (ManagerNorth, &m1),
        (ManagerSouth, &m2),
        (Marketer, &marketer),
        (Admin, &admin),
    ] {
        bearer.insert(caller, srv.token_for(id).await);
        user.insert(caller, id.clone());
    }
    bearer.insert(BadToken, format!("ll_{}", "0123456789abcdef".repeat(4)));
    let (revoked, secret) = srv.app.create_token("revoked", &rep_a).await.unwrap();
    let (status, body) = srv
        .send(
            srv.client
                .delete(srv.url(&format!("/api/v1/tokens/{}", revoked.id)))
                .bearer_auth(&srv.token),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    bearer.insert(RevokedToken, secret);

    let mut w = World {
        bearer,
        user,
        lead: Default::default(),
        pairs: Vec::new(),
        all_leads: Mutex::new(Vec::new()),
        form_id: String::new(),
        form_key: String::new(),
        import_id: String::new(),
        campaign_id: String::new(),
        account_id: String::new(),
        webhook_id: String::new(),
        hook_url: String::new(),
        north: north.unwrap(),
        spare_user,
        counter: AtomicUsize::new(0),
    };

    // The three leads. A's is the same person as B's by name and company: a possible
    // duplicate that only those who see both may be told of.
    let people = [
        (
            Kind::OfRepB,
            json!({ "first_name": "Pat", "last_name": "Lee", "email": "pat@buyer.example.com",
                    "company": "Buyer Ltd", "country": "GB" }),
        ),
        (
            Kind::OfRepA,
            json!({ "first_name": "Pat", "last_name": "Lee", "company": "Buyer Ltd" }),
        ),
        (
            Kind::Unowned,
            json!({ "first_name": "Sam", "email": "sam@prospect.example.com", "company": "Prospect Inc",
                    "website": "https://prospect.example" }),
        ),
    ];
    for (kind, person) in people {
        let (status, body) = call(
            srv,
            &w,
            World::maker(kind),
            Method::POST,
            "/api/v1/leads",
            Body::Json(person),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        let id = body["lead"]["id"].as_str().unwrap().to_string();
        let (_, q) = srv
            .send(srv.get(&format!("/api/v1/leads/{id}/qualification")))
            .await;
        let owner = match kind {
            Kind::OfRepA => json!(rep_a),
            Kind::OfRepB => json!(rep_b),
            Kind::Unowned => Value::Null,
        };
        assert_eq!(q["owner_id"], owner, "{}: {q}", kind.name());
        if kind == Kind::Unowned {
            w.account_id = body["lead"]["account_id"]
                .as_str()
                .unwrap_or_else(|| panic!("a lead with a website has an account: {body}"))
                .to_string();
        }
        // Worked once, with no next step: on everyone's losing-touch list later.
        let (status, body) = srv
            .send(
                srv.post(&format!("/api/v1/leads/{id}/touches"))
                    .json(&json!({ "kind": "call_attempt" })),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        w.lead[kind as usize] = id.clone();
        w.all_leads.lock().unwrap().push((id, kind));
    }
    let (_, a_view) = srv
        .send(srv.get(&format!("/api/v1/leads/{}", w.lead[0])))
        .await;
    assert_eq!(
        a_view["possible_duplicate_of"],
        w.lead[1].as_str(),
        "the admin sees A's lead may be B's: {a_view}"
    );
    // The same pair waits in the duplicates queue, for those who see both leads.
    let (status, queue) = srv.send(srv.get("/api/v1/duplicates")).await;
    assert_eq!(status, 200, "{queue}");
    let pairs = queue["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), 1, "{queue}");
    let ab = BTreeSet::from([w.lead[0].clone(), w.lead[1].clone()]);
    assert_eq!(pair_leads(&pairs[0]), ab, "{queue}");
    w.pairs.push((
        pairs[0]["id"].as_str().unwrap().to_string(),
        [Kind::OfRepA, Kind::OfRepB],
    ));

    let form = srv
        .create_form(json!({ "name": "Matrix", "source": "Website",
            "fields": [{ "name": "email", "label": "E-mail", "required": true }] }))
        .await;
    w.form_id = form["id"].as_str().unwrap().to_string();
    w.form_key = form["key"].as_str().unwrap().to_string();

    let (status, campaign) = srv
        .send(
            srv.post("/api/v1/campaigns")
                .json(&json!({ "name": "Matrix", "source": "Website" })),
        )
        .await;
    assert_eq!(status, 201, "{campaign}");
    w.campaign_id = campaign["id"].as_str().unwrap().to_string();

    // An import by the admin whose one row is B's lead again.
    let csv = Body::Csv("email,first_name\npat@buyer.example.com,Pat\n".into());
    let (status, job) = call(srv, &w, Admin, Method::POST, "/api/v1/imports", csv).await;
    assert_eq!(status, 202, "{job}");
    w.import_id = job["id"].as_str().unwrap().to_string();
    let (_, done) = srv
        .send(srv.get(&format!("/api/v1/imports/{}?wait=60", w.import_id)))
        .await;
    assert_eq!(done["status"], "completed", "{done}");

    let receiver = Receiver::start().await;
    w.hook_url = format!("{}/hook", receiver.base);
    let (status, hook) = srv
        .send(
            srv.post("/api/v1/webhooks")
                .json(&json!({ "url": w.hook_url })),
        )
        .await;
    assert_eq!(status, 201, "{hook}");
    w.webhook_id = hook["id"].as_str().unwrap().to_string();
    // Fan the events so far out into deliveries, so the deliveries list has rows.
    srv.app.run_outbox().await.unwrap();

    // Two hours on, every worked lead without a next step is losing touch.
    srv.clock.advance(2 * 3_600_000);
    w
}

/// The call one cell makes: its path, body, and the lead the answer is about.
struct Call {
    path: String,
    body: Body,
    about: Option<String>,
}

/// Builds the request for `row` as `caller`, on a lead of `kind` for scoped rows.
/// Reads use the fixed world; writes objects made for this call alone.
async fn request(srv: &TestServer, w: &World, row: &Row, kind: Option<Kind>) -> Option<Call> {
    let fixed = kind.map(|k| w.lead[k as usize].clone());
    let lead = || async {
        match kind {
            Some(k) => w.fresh_lead(srv, k).await.0,
            None => unreachable!("a lead write is scoped"),
        }
    };
    let on = |id: &str| row.path.replace("{id}", id);
    let plain = |path: String, body: Body| {
        Some(Call {
            path,
            body,
            about: None,
        })
    };
    let about = |id: String, body: Body| {
        Some(Call {
            path: on(&id),
            body,
            about: Some(id),
        })
    };
    match (row.method, row.path) {
        ("get", "/healthz" | "/api/v1/openapi.json") => plain(row.path.into(), Body::None),
        ("get", "/f/{key}" | "/f/{key}/token") => {
            plain(row.path.replace("{key}", &w.form_key), Body::None)
        }
        ("post", "/f/{key}") => {
            let token = srv.form_token(&w.form_key).await;
            let email = format!("{}@form.example.com", w.unique("visitor"));
            plain(
                row.path.replace("{key}", &w.form_key),
                Body::Json(json!({ "_ts": token, "email": email })),
            )
        }
        // Capture the person of a lead of `kind` again, with a title it lacks.
        ("post", "/api/v1/leads") => {
            let (id, email) = w.fresh_lead(srv, kind?).await;
            Some(Call {
                path: row.path.into(),
                body: Body::Json(json!({ "email": email, "title": "Head of Buying" })),
                about: Some(id),
            })
        }
        (
            "get",
            "/api/v1/leads/{id}"
            | "/api/v1/leads/{id}/timeline"
            | "/api/v1/leads/{id}/qualification"
            | "/api/v1/leads/{id}/score"
            | "/api/v1/leads/{id}/touches",
        ) => about(fixed?, Body::None),
        ("patch", "/api/v1/leads/{id}") => {
            about(lead().await, Body::Json(json!({ "title": "CFO" })))
        }
        ("post", "/api/v1/leads/{id}/merge") => {
            let survivor = lead().await;
            let other = lead().await;
            about(survivor, Body::Json(json!({ "other_lead_id": other })))
        }
        ("get", "/api/v1/duplicates") => plain(row.path.into(), Body::None),
        // Without a body: the older lead survives.
        ("post", "/api/v1/duplicates/{id}/merge" | "/api/v1/duplicates/{id}/dismiss") => {
            plain(on(&w.fresh_pair(srv, kind?).await), Body::None)
        }
        ("post", "/api/v1/merges/{id}/undo") => {
            plain(on(&w.fresh_merge(srv, kind?).await), Body::None)
        }
        ("put", "/api/v1/leads/{id}/answers") => about(
            lead().await,
            Body::Json(json!({ "answers": { "need": "yes" } })),
        ),
        ("post", "/api/v1/leads/{id}/stage") => about(
            lead().await,
            Body::Json(json!({ "stage": "disqualified", "reason": "not_a_lead" })),
        ),
        ("post", "/api/v1/leads/{id}/events") => {
            about(lead().await, Body::Json(json!({ "type": "email_opened" })))
        }
        ("post", "/api/v1/leads/{id}/touches") => about(
            lead().await,
            Body::Json(json!({ "kind": "connected_call", "outcome": "interested" })),
        ),
        ("post", "/api/v1/leads/{id}/route") => about(lead().await, Body::None),
        ("put", "/api/v1/leads/{id}/owner") => about(
            lead().await,
            Body::Json(json!({ "owner_id": w.spare_user })),
        ),
        (
            "get",
            "/api/v1/leads"
            | "/api/v1/forms"
            | "/api/v1/sources"
            | "/api/v1/campaigns"
            | "/api/v1/users"
            | "/api/v1/users/me"
            | "/api/v1/teams"
            | "/api/v1/lifecycle"
            | "/api/v1/scoring"
            | "/api/v1/routing"
            | "/api/v1/sla-policies"
            | "/api/v1/stream"
            | "/api/v1/webhooks"
            | "/api/v1/deliveries"
            | "/api/v1/tokens",
        ) => plain(row.path.into(), Body::None),
        ("get", "/api/v1/losing-touch") => {
            plain(format!("{}?max_idle_hours=1", row.path), Body::None)
        }
        ("post", "/api/v1/forms") => plain(
            row.path.into(),
            Body::Json(json!({ "name": w.unique("Form"), "source": "Website",
                "fields": [{ "name": "email", "label": "E-mail" }] })),
        ),
        ("get", "/api/v1/forms/{id}" | "/api/v1/forms/{id}/embed") => {
            plain(on(&w.form_id), Body::None)
        }
        ("post", "/api/v1/imports") => plain(
            row.path.into(),
            Body::Csv(format!("email\n{}@import.example.com\n", w.unique("row"))),
        ),
        ("get", "/api/v1/imports/{id}" | "/api/v1/imports/{id}/report") => {
            plain(on(&w.import_id), Body::None)
        }
        ("post", "/api/v1/campaigns") => plain(
            row.path.into(),
            Body::Json(json!({ "name": w.unique("Campaign"), "source": "Website" })),
        ),
        ("get", "/api/v1/campaigns/{id}") => plain(on(&w.campaign_id), Body::None),
        ("patch", "/api/v1/campaigns/{id}") => plain(
            on(&w.campaign_id),
            Body::Json(json!({ "cost_cents": 1000, "currency": "EUR" })),
        ),
        ("post", "/api/v1/users") => plain(
            row.path.into(),
            Body::Json(
                json!({ "email": format!("{}@seller.example.com", w.unique("new")),
                "name": "New", "role": "rep" }),
            ),
        ),
        ("get", "/api/v1/users/{id}") => plain(on(&w.user[&RepA]), Body::None),
        ("patch", "/api/v1/users/{id}") => {
            plain(on(&w.spare_user), Body::Json(json!({ "capacity": 10 })))
        }
        ("post", "/api/v1/teams") => plain(
            row.path.into(),
            Body::Json(json!({ "name": w.unique("Team") })),
        ),
        // North as it is: a change of nothing, which only its manager (or an admin) may make.
        ("put", "/api/v1/teams/{id}") => plain(on(&w.north.0), Body::Json(w.north.1.clone())),
        // Definitions put back as they are.
        (
            "put",
            "/api/v1/lifecycle" | "/api/v1/scoring" | "/api/v1/routing" | "/api/v1/sla-policies",
        ) => {
            let (status, current) = srv.send(srv.get(row.path)).await;
            assert_eq!(status, 200, "{current}");
            plain(row.path.into(), Body::Json(current))
        }
        ("get", "/api/v1/accounts/{id}") => plain(on(&w.account_id), Body::None),
        ("put", "/api/v1/accounts/{id}/owner") => {
            plain(on(&w.account_id), Body::Json(json!({ "owner_id": null })))
        }
        ("post", "/api/v1/webhooks") => plain(
            row.path.into(),
            Body::Json(json!({ "url": format!("{}/{}", w.hook_url, w.unique("hook")) })),
        ),
        ("get" | "post", "/api/v1/webhooks/{id}" | "/api/v1/webhooks/{id}/rotate-secret") => {
            plain(on(&w.webhook_id), Body::None)
        }
        ("patch", "/api/v1/webhooks/{id}") => plain(
            on(&w.webhook_id),
            Body::Json(json!({ "description": "matrix" })),
        ),
        ("delete", "/api/v1/webhooks/{id}") => {
            let (status, hook) = srv
                .send(
                    srv.post("/api/v1/webhooks")
                        .json(&json!({ "url": w.hook_url })),
                )
                .await;
            assert_eq!(status, 201, "{hook}");
            plain(on(hook["id"].as_str().unwrap()), Body::None)
        }
        ("post", "/api/v1/deliveries/replay") => plain(
            row.path.into(),
            Body::Json(json!({ "webhook_id": w.webhook_id })),
        ),
        ("post", "/api/v1/tokens") => {
            plain(row.path.into(), Body::Json(json!({ "name": "matrix" })))
        }
        // One of rep A's tokens.
        ("delete", "/api/v1/tokens/{id}") => {
            let (token, _) = srv
                .app
                .create_token("matrix", &w.user[&RepA])
                .await
                .unwrap();
            plain(on(&token.id), Body::None)
        }
        _ => None,
    }
}

/// What a cell expects, resolved for one caller and (scoped rows) one lead.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Allowed,
    Status(u16),
    Recorded,
}

fn expect(row: &Row, cell: Cell, caller: Caller, kind: Option<Kind>) -> Expect {
    match cell {
        Y => Expect::Allowed,
        U => Expect::Status(401),
        F => Expect::Status(403),
        N => Expect::Status(404),
        S if kind.is_some_and(|k| sees(caller, k)) => Expect::Allowed,
        S => match row.outside {
            Outside::NotFound => Expect::Status(404),
            Outside::RecordedForOwner => Expect::Recorded,
        },
    }
}

fn ids_at(json: &Value, pointer: &str, field: &str) -> Option<BTreeSet<String>> {
    let items = json.pointer(pointer)?.as_array()?;
    items
        .iter()
        .map(|i| i[field].as_str().map(str::to_string))
        .collect()
}

fn short(text: &str) -> String {
    let mut s: String = text.chars().take(300).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    s
}

/// Runs one cell; returns what is wrong with it, if anything.
async fn run_cell(
    srv: &TestServer,
    w: &World,
    row: &Row,
    cell: Cell,
    caller: Caller,
    kind: Option<Kind>,
) -> Vec<String> {
    let label = format!(
        "{} {}{} — {}",
        row.method.to_uppercase(),
        row.path,
        kind.map(|k| format!(" on {}", k.name()))
            .unwrap_or_default(),
        caller.name()
    );
    let Some(call) = request(srv, w, row, kind).await else {
        return vec![format!("{label}: the test cannot build this request")];
    };
    let method = Method::from_bytes(row.method.to_uppercase().as_bytes()).unwrap();
    let a = answer(srv, w, caller, method, &call.path, &call.body).await;
    let want = expect(row, cell, caller, kind);
    let mut wrong = Vec::new();
    let got = format!("got {} {}", a.status, short(&a.text));
    match want {
        Expect::Allowed if !(200..300).contains(&a.status) => {
            wrong.push(format!("{label}: expected allowed (2xx), {got}"))
        }
        Expect::Status(s) if a.status != s => wrong.push(format!("{label}: expected {s}, {got}")),
        Expect::Recorded
            if a.status != 202
                || a.json["outcome"] != "recorded_for_owner"
                || !a.json["lead"].is_null() =>
        {
            wrong.push(format!(
                "{label}: expected 202 recorded_for_owner without the lead, {got}"
            ))
        }
        _ => {}
    }
    let asked = format!("{} {}", call.path, call.body.text());
    let leaked = w.sees_id(caller, &a.text, &asked);
    if !leaked.is_empty() {
        wrong.push(format!(
            "{label}: the answer names leads outside the caller's scope: {}",
            leaked.join(", ")
        ));
    }
    if want == Expect::Allowed && (200..300).contains(&a.status) {
        if let Some(problem) = check_rows(srv, w, row, caller, &call, &a).await {
            wrong.push(format!("{label}: {problem}"));
        }
    }
    wrong
}

/// Whether an allowed answer lists exactly what the caller may see.
async fn check_rows(
    srv: &TestServer,
    w: &World,
    row: &Row,
    caller: Caller,
    call: &Call,
    a: &Answer,
) -> Option<String> {
    if row.path == "/api/v1/stream" && !a.content_type.starts_with("text/event-stream") {
        return Some(format!("the stream answered {:?}", a.content_type));
    }
    match row.rows {
        Rows::Status => {
            // A capture into a lead in scope answers with that lead.
            let about = call.about.as_deref()?;
            (row.path == "/api/v1/leads" && a.json["lead"]["id"] != about).then(|| {
                format!(
                    "the capture answers with another lead than {about}: {}",
                    short(&a.text)
                )
            })
        }
        Rows::Leads(pointer, field) => {
            let got = ids_at(&a.json, pointer, field);
            let want: BTreeSet<String> = KINDS
                .iter()
                .filter(|k| sees(caller, **k))
                .map(|k| w.lead[*k as usize].clone())
                .collect();
            (got.as_ref() != Some(&want))
                .then(|| format!("listed {got:?}, expected exactly {want:?}"))
        }
        Rows::Tokens => {
            let got = ids_at(&a.json, "/tokens", "id");
            let mine = w.user.get(&caller);
            let want: BTreeSet<String> = srv
                .app
                .list_tokens(None)
                .await
                .unwrap()
                .into_iter()
                .filter(|t| caller == Admin || t.user_id.as_ref() == mine)
                .map(|t| t.id)
                .collect();
            (got.as_ref() != Some(&want))
                .then(|| format!("listed tokens {got:?}, expected exactly {want:?}"))
        }
        Rows::AsAdmin(pointer) => {
            let admin = answer(srv, w, Admin, Method::GET, &call.path, &Body::None).await;
            let got = ids_at(&a.json, pointer, "id");
            let want = ids_at(&admin.json, pointer, "id");
            (got.is_none() || got != want).then(|| format!("listed {got:?}, the admin {want:?}"))
        }
        Rows::Me => (a.json["user"]["id"].as_str() != w.user.get(&caller).map(String::as_str))
            .then(|| format!("answered as someone else: {}", short(&a.text))),
        Rows::Pairs => {
            let got = ids_at(&a.json, "/pairs", "id");
            let want: BTreeSet<String> = w
                .pairs
                .iter()
                .filter(|(_, kinds)| kinds.iter().all(|k| sees(caller, *k)))
                .map(|(id, _)| id.clone())
                .collect();
            (got.as_ref() != Some(&want))
                .then(|| format!("listed pairs {got:?}, expected exactly {want:?}"))
        }
        Rows::TheLead => {
            let id = call.about.as_deref()?;
            (!a.text.contains(id))
                .then(|| format!("the answer is not about lead {id}: {}", short(&a.text)))
        }
    }
}

/// Operations missing from the table, rows for operations the document lacks, and
/// operations with two rows.
fn coverage() -> Vec<String> {
    let documented: BTreeSet<(&str, &str)> =
        OPERATIONS.iter().map(|o| (o.method, o.path)).collect();
    let mut wrong = Vec::new();
    let mut seen = BTreeSet::new();
    for row in MATRIX {
        if !seen.insert((row.method, row.path)) {
            wrong.push(format!(
                "{} {}: two rows in the table",
                row.method, row.path
            ));
        }
        if !documented.contains(&(row.method, row.path)) {
            wrong.push(format!(
                "{} {}: in the table but not in the OpenAPI document",
                row.method, row.path
            ));
        }
    }
    for (method, path) in &documented {
        if !seen.contains(&(*method, *path)) {
            wrong.push(format!(
                "{method} {path}: in the OpenAPI document but not in the access table — decide who may call it"
            ));
        }
    }
    wrong
}

#[test]
fn every_documented_operation_has_a_row() {
    let wrong = coverage();
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

backend_tests! {
    async fn every_operation_answers_every_caller_as_the_table_says(srv: HookServer) {
        let mut wrong = coverage();
        let w = world(&srv).await;
        let mut cells = 0;
        // Reads first, over the fixed world; then the writes, each on its own objects.
        for reads in [true, false] {
            for row in MATRIX.iter().filter(|r| r.is_read() == reads) {
                let kinds: Vec<Option<Kind>> = if row.scoped() {
                    KINDS.iter().copied().map(Some).collect()
                } else {
                    vec![None]
                };
                for kind in kinds {
                    for (caller, cell) in CALLERS.iter().zip(row.cells) {
                        cells += 1;
                        wrong.extend(run_cell(&srv, &w, row, cell, *caller, kind).await);
                    }
                }
            }
        }
        assert!(
            wrong.is_empty(),
            "{} of {cells} cells of the access matrix are wrong:\n  {}",
            wrong.len(),
            wrong.join("\n  ")
        );
    }
}

backend_tests! {
    /// The matrix's `PUT /api/v1/teams/{id}` row, in full: a manager's scope follows
    /// their teams, so no manager may reach another manager's people through them.
    async fn a_manager_cannot_take_over_another_managers_people(srv: HookServer) {
        let w = world(&srv).await;
        let (m1, m2) = (&w.user[&ManagerNorth], &w.user[&ManagerSouth]);
        let (rep_a, rep_b) = (&w.user[&RepA], &w.user[&RepB]);
        let north = format!("/api/v1/teams/{}", w.north.0);
        let body = |team: Value| Body::Json(team);
        for (caller, method, path, team, status) in [
            // Another team's rep, another manager, a manager as a member: refused.
            (ManagerSouth, Method::POST, "/api/v1/teams", json!({ "name": "Raid", "manager_id": m2, "member_ids": [rep_a] }), 403),
            (ManagerSouth, Method::POST, "/api/v1/teams", json!({ "name": "Gift", "manager_id": m1 }), 403),
            (ManagerNorth, Method::PUT, north.as_str(), json!({ "name": "North", "manager_id": m1, "member_ids": [rep_a, rep_b] }), 403),
            (ManagerNorth, Method::PUT, north.as_str(), json!({ "name": "North", "manager_id": m1, "member_ids": [rep_a, m2] }), 403),
            (ManagerNorth, Method::PUT, north.as_str(), json!({ "name": "North", "manager_id": m2, "member_ids": [rep_a] }), 403),
            (ManagerSouth, Method::PUT, north.as_str(), json!({ "name": "North", "manager_id": m2, "member_ids": [rep_a] }), 403),
            // A rep nobody manages yet may join; unknown ids are still named as such.
            (ManagerNorth, Method::PUT, north.as_str(), json!({ "name": "North", "manager_id": m1, "member_ids": [rep_a, w.spare_user] }), 200),
            (ManagerSouth, Method::POST, "/api/v1/teams", json!({ "name": "Ghosts", "member_ids": ["nobody"] }), 422),
        ] {
            let (got, answer) = call(&srv, &w, caller, method.clone(), path, body(team.clone())).await;
            assert_eq!(got, status, "{method} {path} {team} as {}: {answer}", caller.name());
        }
        let lead_a = format!("/api/v1/leads/{}", w.lead[Kind::OfRepA as usize]);
        let (status, _) = call(&srv, &w, ManagerSouth, Method::GET, &lead_a, Body::None).await;
        assert_eq!(status, 404, "South still does not see North's leads");

        // The admin hands North to M2, and with it North's leads.
        let (status, answer) = call(&srv, &w, Admin, Method::PUT, &north,
            body(json!({ "name": "North", "manager_id": m2, "member_ids": [rep_a] }))).await;
        assert_eq!(status, 200, "{answer}");
        let (status, _) = call(&srv, &w, ManagerSouth, Method::GET, &lead_a, Body::None).await;
        assert_eq!(status, 200, "the scope follows the teams");
        let (status, _) = call(&srv, &w, ManagerNorth, Method::GET, &lead_a, Body::None).await;
        assert_eq!(status, 404);
    }
}
