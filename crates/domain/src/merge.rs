//! Merge planning: what happens to a lead when a duplicate of it arrives.
//!
//! The existing lead survives and is enriched: its blank fields are filled from the
//! incoming lead, and where both have different values the existing one is kept and the
//! incoming one recorded as an alternate, so nothing a person once told us is lost and a
//! merge can be reviewed or undone. This module only plans; the store applies the plan
//! and writes history.
//!
//! Rules beyond "fill blanks, keep existing":
//! * sameness is judged on the comparable form, so re-spellings are not conflicts: e-mail
//!   by its key (Gmail dot variants), company by its key, names/title/city/region
//!   case-insensitively, streets after unifying abbreviations ("High St" = "High
//!   Street"), website without scheme, `www.` and trailing slash, postal codes without
//!   spaces and case; phone, date of birth and custom values exactly;
//! * derived fields move with their source: `email_key` with `email`, `phone_valid` and
//!   the `PhoneUnparseable` flag with `phone`, `company_key` with `company`, the
//!   `CountryUnrecognised` flag with `country`; `domain` is filled when blank and never
//!   reported as a conflict (its sources are); the `DateOfBirthInvalid` flag stays
//!   while the merged lead has no date of birth (the text travels as its custom
//!   attribute);
//! * an existing phone that did not parse is replaced by an incoming valid E.164 one;
//! * the address (street, postal code, city, region, country) is one unit: when the two
//!   leads have different addresses, blanks of the existing address are not filled from
//!   the other one, which would mix two addresses into one that exists nowhere. Those
//!   incoming values are recorded as conflicts with an empty `kept`.

use crate::matching::same_street;
use crate::normalize::{DataFlag, NormalizedLead};
use serde::{Deserialize, Serialize};

/// A value the merged lead takes from the incoming lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FieldChange {
    /// Snake_case field name, or `custom.<key>` for a custom attribute.
    pub field: String,
    /// The value as stored in the merged lead.
    pub value: String,
}

/// A value of the incoming lead that the merged lead does not carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FieldConflict {
    /// Snake_case field name, or `custom.<key>` for a custom attribute.
    pub field: String,
    /// The value the merged lead has; empty when it has none (an address value that was
    /// not taken because it belongs to a different address).
    pub kept: String,
    /// The value that was not kept (the incoming one, or for a replaced unparseable
    /// phone the old raw value).
    pub alternate: String,
}

/// The result of merging an incoming lead into an existing one.
///
/// `filled` lists every field whose value in `merged` differs from the existing lead;
/// `conflicts` lists every value that `merged` does not carry. Together with the two
/// inputs they are everything history needs to explain or undo the merge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MergePlan {
    /// The existing lead after the merge.
    pub merged: NormalizedLead,
    /// Values taken from the incoming lead, in field order.
    pub filled: Vec<FieldChange>,
    /// Values not taken (alternates), in field order.
    pub conflicts: Vec<FieldConflict>,
}

/// Plans the merge of `incoming` into `existing` (which survives). Pure and
/// deterministic: fields are visited in a fixed order and custom keys in sorted order.
pub fn plan_merge(existing: &NormalizedLead, incoming: &NormalizedLead) -> MergePlan {
    let mut p = Planner {
        merged: existing.clone(),
        filled: Vec::new(),
        conflicts: Vec::new(),
    };
    let e = existing;
    let i = incoming;

    p.field("first_name", |l| &mut l.first_name, &i.first_name, same_ci);
    p.field("last_name", |l| &mut l.last_name, &i.last_name, same_ci);
    p.field("title", |l| &mut l.title, &i.title, same_ci);

    let same_email = |a: &str, b: &str| match (nonblank(&e.email_key), nonblank(&i.email_key)) {
        (Some(x), Some(y)) => x == y,
        _ => a.to_lowercase() == b.to_lowercase(),
    };
    if p.field("email", |l| &mut l.email, &i.email, same_email) {
        p.merged.email_key.clone_from(&i.email_key);
    }

    let phone_taken = p.phone(e, i);

    let same_company = |a: &str, b: &str| match (nonblank(&e.company_key), nonblank(&i.company_key))
    {
        (Some(x), Some(y)) => x == y,
        _ => same_ci(a, b),
    };
    if p.field("company", |l| &mut l.company, &i.company, same_company) {
        p.merged.company_key.clone_from(&i.company_key);
    }

    p.field("website", |l| &mut l.website, &i.website, same_website);
    if nonblank(&p.merged.domain).is_none() {
        if let Some(d) = nonblank(&i.domain) {
            p.merged.domain = Some(d.to_owned());
            p.fill("domain", d);
        }
    }

    let country_taken = p.address(e, i);
    p.field(
        "date_of_birth",
        |l| &mut l.date_of_birth,
        &i.date_of_birth,
        same_exact,
    );

    for (key, value) in &i.custom {
        let Some(value) = nonblank_str(value) else {
            continue;
        };
        let field = format!("custom.{key}");
        match p.merged.custom.get(key).and_then(|v| nonblank_str(v)) {
            Some(kept) if same_exact(kept, value) => {}
            Some(kept) => {
                let kept = kept.to_owned();
                p.conflict(&field, &kept, value);
            }
            None => {
                p.merged.custom.insert(key.clone(), value.to_owned());
                p.fill(&field, value);
            }
        }
    }

    p.flags(i, phone_taken, country_taken);
    MergePlan {
        merged: p.merged,
        filled: p.filled,
        conflicts: p.conflicts,
    }
}

/// The merge a person asked for on the side-by-side screen: [`plan_merge`], then for
/// each field in `take_incoming` (a lead field name or `custom.<key>`) the incoming
/// lead's value instead of the existing one. The value replaced becomes the alternate,
/// so history still holds both. Derived fields move with their source as in
/// [`plan_merge`]. A picked field the incoming lead has no value for, or one that is
/// not a field, changes nothing.
pub fn plan_merge_picking(
    existing: &NormalizedLead,
    incoming: &NormalizedLead,
    take_incoming: &[String],
) -> MergePlan {
    let mut plan = plan_merge(existing, incoming);
    for field in take_incoming {
        let Some(new) = field_value(incoming, field).map(str::to_owned) else {
            continue;
        };
        let old = field_value(&plan.merged, field).map(str::to_owned);
        if old.as_deref() == Some(new.as_str()) {
            continue;
        }
        let m = &mut plan.merged;
        match field.as_str() {
            "first_name" => m.first_name = Some(new.clone()),
            "last_name" => m.last_name = Some(new.clone()),
            "title" => m.title = Some(new.clone()),
            "email" => {
                m.email = Some(new.clone());
                m.email_key.clone_from(&incoming.email_key);
            }
            "phone" => {
                m.phone = Some(new.clone());
                m.phone_valid = incoming.phone_valid;
                set_flag(
                    &mut m.flags,
                    DataFlag::PhoneUnparseable,
                    !incoming.phone_valid,
                );
            }
            "company" => {
                m.company = Some(new.clone());
                m.company_key.clone_from(&incoming.company_key);
            }
            "website" => {
                m.website = Some(new.clone());
                if incoming.domain.is_some() {
                    m.domain.clone_from(&incoming.domain);
                }
            }
            "street" => m.street = Some(new.clone()),
            "postal_code" => m.postal_code = Some(new.clone()),
            "city" => m.city = Some(new.clone()),
            "region" => m.region = Some(new.clone()),
            "country" => {
                m.country = Some(new.clone());
                let unrecognised = incoming.flags.contains(&DataFlag::CountryUnrecognised);
                set_flag(&mut m.flags, DataFlag::CountryUnrecognised, unrecognised);
            }
            "date_of_birth" => {
                m.date_of_birth = Some(new.clone());
                set_flag(&mut m.flags, DataFlag::DateOfBirthInvalid, false);
            }
            other => match other.strip_prefix("custom.") {
                Some(key) => {
                    m.custom.insert(key.to_owned(), new.clone());
                }
                None => continue,
            },
        }
        plan.conflicts.retain(|c| &c.field != field);
        plan.filled.retain(|c| &c.field != field);
        plan.filled.push(FieldChange {
            field: field.clone(),
            value: new.clone(),
        });
        if let Some(old) = old {
            plan.conflicts.push(FieldConflict {
                field: field.clone(),
                kept: new,
                alternate: old,
            });
        }
    }
    plan
}

/// A lead's value for a field name as [`plan_merge`] reports them, blank as none.
pub fn field_value<'l>(lead: &'l NormalizedLead, field: &str) -> Option<&'l str> {
    let value = match field {
        "first_name" => &lead.first_name,
        "last_name" => &lead.last_name,
        "title" => &lead.title,
        "email" => &lead.email,
        "phone" => &lead.phone,
        "company" => &lead.company,
        "website" => &lead.website,
        "street" => &lead.street,
        "postal_code" => &lead.postal_code,
        "city" => &lead.city,
        "region" => &lead.region,
        "country" => &lead.country,
        "date_of_birth" => &lead.date_of_birth,
        other => {
            return other
                .strip_prefix("custom.")
                .and_then(|key| lead.custom.get(key))
                .and_then(|v| nonblank_str(v))
        }
    };
    nonblank(value)
}

/// One address field: name, existing value, incoming value, sameness test, and where
/// the value lives in a lead.
type AddressPart<'a> = (
    &'static str,
    Option<&'a str>,
    Option<&'a str>,
    fn(&str, &str) -> bool,
    fn(&mut NormalizedLead) -> &mut Option<String>,
);

/// Accumulates the merged lead and the change lists.
struct Planner {
    merged: NormalizedLead,
    filled: Vec<FieldChange>,
    conflicts: Vec<FieldConflict>,
}

impl Planner {
    fn fill(&mut self, field: &str, value: &str) {
        self.filled.push(FieldChange {
            field: field.to_owned(),
            value: value.to_owned(),
        });
    }

    fn conflict(&mut self, field: &str, kept: &str, alternate: &str) {
        self.conflicts.push(FieldConflict {
            field: field.to_owned(),
            kept: kept.to_owned(),
            alternate: alternate.to_owned(),
        });
    }

    /// The general rule for one field. Returns whether the incoming value was taken, so
    /// the caller can move derived fields along.
    fn field(
        &mut self,
        name: &str,
        slot: impl Fn(&mut NormalizedLead) -> &mut Option<String>,
        incoming: &Option<String>,
        same: impl Fn(&str, &str) -> bool,
    ) -> bool {
        let Some(new) = nonblank(incoming) else {
            return false;
        };
        match nonblank(slot(&mut self.merged)).map(str::to_owned) {
            None => {
                *slot(&mut self.merged) = Some(new.to_owned());
                self.fill(name, new);
                true
            }
            Some(kept) => {
                if !same(&kept, new) {
                    self.conflict(name, &kept, new);
                }
                false
            }
        }
    }

    /// Phone: the general rule, except that a valid E.164 number replaces one that did
    /// not parse. Returns whether the phone was taken from `incoming`.
    fn phone(&mut self, existing: &NormalizedLead, incoming: &NormalizedLead) -> bool {
        let Some(new) = nonblank(&incoming.phone) else {
            return false;
        };
        let taken = match nonblank(&existing.phone) {
            None => {
                self.fill("phone", new);
                true
            }
            Some(old) if old == new => false,
            Some(old) if !existing.phone_valid && incoming.phone_valid => {
                self.fill("phone", new);
                self.conflict("phone", new, old);
                true
            }
            Some(old) => {
                self.conflict("phone", old, new);
                false
            }
        };
        if taken {
            self.merged.phone = Some(new.to_owned());
            self.merged.phone_valid = incoming.phone_valid;
        }
        taken
    }

    /// Address fields as one unit (see module docs). Returns whether the country was
    /// taken from `incoming`.
    fn address(&mut self, existing: &NormalizedLead, incoming: &NormalizedLead) -> bool {
        let parts: [AddressPart; 5] = [
            (
                "street",
                nonblank(&existing.street),
                nonblank(&incoming.street),
                same_street,
                |l| &mut l.street,
            ),
            (
                "postal_code",
                nonblank(&existing.postal_code),
                nonblank(&incoming.postal_code),
                same_postal,
                |l| &mut l.postal_code,
            ),
            (
                "city",
                nonblank(&existing.city),
                nonblank(&incoming.city),
                same_ci,
                |l| &mut l.city,
            ),
            (
                "region",
                nonblank(&existing.region),
                nonblank(&incoming.region),
                same_ci,
                |l| &mut l.region,
            ),
            (
                "country",
                nonblank(&existing.country),
                nonblank(&incoming.country),
                same_ci,
                |l| &mut l.country,
            ),
        ];
        // Regions are written too many ways ("CA", "Calif.", "California") to decide
        // from them that two addresses differ.
        let other_address = parts.iter().filter(|(name, ..)| *name != "region").any(
            |(_, kept, new, same, _)| matches!((kept, new), (Some(a), Some(b)) if !same(a, b)),
        );
        let mut country_taken = false;
        for (name, kept, new, same, slot) in parts {
            let Some(new) = new else {
                continue;
            };
            match kept {
                Some(kept) if same(kept, new) => {}
                Some(kept) => self.conflict(name, kept, new),
                None if other_address => self.conflict(name, "", new),
                None => {
                    *slot(&mut self.merged) = Some(new.to_owned());
                    self.fill(name, new);
                    country_taken |= name == "country";
                }
            }
        }
        country_taken
    }

    /// Flags follow the field they describe: a flag of a field kept from the existing
    /// lead stays, one of a field taken from the incoming lead comes along with it. The
    /// phone flag is recomputed, since a valid phone may replace an unparseable one.
    fn flags(&mut self, incoming: &NormalizedLead, phone_taken: bool, country_taken: bool) {
        let taken = |flag: DataFlag| match source_field(flag) {
            "phone" => phone_taken,
            "country" => country_taken,
            _ => false,
        };
        let mut flags: Vec<DataFlag> = std::mem::take(&mut self.merged.flags);
        // A date of birth that could not be read is still worth the flag while the
        // merged lead has no real one; a real one from either side settles it.
        let invalid_dob = DataFlag::DateOfBirthInvalid;
        let dob_unread = self.merged.date_of_birth.is_none()
            && (flags.contains(&invalid_dob) || incoming.flags.contains(&invalid_dob));
        flags.retain(|f| !taken(*f));
        for &flag in &incoming.flags {
            if taken(flag) && !flags.contains(&flag) {
                flags.push(flag);
            }
        }
        if phone_taken {
            let unparseable = self.merged.phone.is_some() && !self.merged.phone_valid;
            set_flag(&mut flags, DataFlag::PhoneUnparseable, unparseable);
        }
        set_flag(&mut flags, invalid_dob, dob_unread);
        self.merged.flags = flags;
    }
}

/// The field a flag describes. Exhaustive on purpose: a new flag kind must say here
/// which field it travels with.
fn source_field(flag: DataFlag) -> &'static str {
    match flag {
        DataFlag::PhoneUnparseable => "phone",
        DataFlag::CountryUnrecognised => "country",
        DataFlag::DateOfBirthInvalid => "date_of_birth",
    }
}

fn set_flag(flags: &mut Vec<DataFlag>, flag: DataFlag, on: bool) {
    if on {
        if !flags.contains(&flag) {
            flags.push(flag);
        }
    } else {
        flags.retain(|f| *f != flag);
    }
}

/// Trimmed value, `None` when missing or blank.
fn nonblank(v: &Option<String>) -> Option<&str> {
    v.as_deref().and_then(nonblank_str)
}

fn nonblank_str(s: &str) -> Option<&str> {
    let t = s.trim();
    (!t.is_empty()).then_some(t)
}

fn same_exact(a: &str, b: &str) -> bool {
    a == b
}

/// Case-insensitive, with runs of whitespace treated as one space.
fn same_ci(a: &str, b: &str) -> bool {
    let fold = |s: &str| {
        s.split_whitespace()
            .flat_map(|w| w.chars().chain(std::iter::once(' ')))
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    a.eq_ignore_ascii_case(b) || fold(a) == fold(b)
}

fn same_postal(a: &str, b: &str) -> bool {
    let key = |s: &str| {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_uppercase)
            .collect::<String>()
    };
    key(a) == key(b)
}

fn same_website(a: &str, b: &str) -> bool {
    fn key(s: &str) -> String {
        let s = s.trim().to_lowercase();
        let s = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"))
            .unwrap_or(&s);
        let s = s.strip_prefix("www.").unwrap_or(s);
        s.trim_end_matches('/').to_owned()
    }
    key(a) == key(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn full() -> NormalizedLead {
        NormalizedLead {
            first_name: Some("Jane".into()),
            last_name: Some("Doe".into()),
            title: Some("Head of Operations".into()),
            email: Some("Jane.Doe@gmail.com".into()),
            email_key: Some("janedoe@gmail.com".into()),
            phone: Some("+447700900123".into()),
            phone_valid: true,
            company: Some("Acme Ltd".into()),
            company_key: Some("acme".into()),
            website: Some("https://acme.example".into()),
            domain: Some("acme.example".into()),
            street: Some("12 High Street".into()),
            postal_code: Some("SW1A 1AA".into()),
            city: Some("London".into()),
            region: Some("Greater London".into()),
            country: Some("GB".into()),
            date_of_birth: Some("1980-04-12".into()),
            custom: BTreeMap::from([
                ("source_event".to_owned(), "Home Show 2024".to_owned()),
                ("newsletter".to_owned(), "yes".to_owned()),
            ]),
            flags: vec![],
        }
    }

    fn fields(v: &[FieldChange]) -> Vec<&str> {
        v.iter().map(|c| c.field.as_str()).collect()
    }

    fn conflict_fields(v: &[FieldConflict]) -> Vec<&str> {
        v.iter().map(|c| c.field.as_str()).collect()
    }

    #[test]
    fn picked_fields_take_the_other_leads_value_and_keep_the_old_as_alternate() {
        let existing = full();
        let mut other = full();
        other.first_name = Some("Janet".into());
        other.email = Some("jd@acme.example".into());
        other.email_key = Some("jd@acme.example".into());
        other.phone = Some("call the office".into());
        other.phone_valid = false;
        other.flags = vec![DataFlag::PhoneUnparseable];
        other.company = Some("Acme Holdings".into());
        other.company_key = Some("acmeholdings".into());
        other.custom.insert("newsletter".into(), "no".into());
        let picks: Vec<String> = ["first_name", "email", "phone", "custom.newsletter"]
            .map(String::from)
            .to_vec();
        let plan = plan_merge_picking(&existing, &other, &picks);
        let m = &plan.merged;
        assert_eq!(m.first_name.as_deref(), Some("Janet"));
        assert_eq!(
            m.email_key.as_deref(),
            Some("jd@acme.example"),
            "key moves with e-mail"
        );
        assert!(!m.phone_valid && m.flags.contains(&DataFlag::PhoneUnparseable));
        assert_eq!(m.custom["newsletter"], "no");
        // Not picked: the existing company stays, the other one is its alternate.
        assert_eq!(m.company.as_deref(), Some("Acme Ltd"));
        assert_eq!(m.company_key.as_deref(), Some("acme"));
        let first = plan
            .conflicts
            .iter()
            .find(|c| c.field == "first_name")
            .unwrap();
        assert_eq!(
            (first.kept.as_str(), first.alternate.as_str()),
            ("Janet", "Jane")
        );
        assert_eq!(
            plan.conflicts
                .iter()
                .filter(|c| c.field == "first_name")
                .count(),
            1
        );
        assert!(plan
            .conflicts
            .iter()
            .any(|c| c.field == "company" && c.alternate == "Acme Holdings"));
        assert!(fields(&plan.filled).contains(&"email"));
    }

    #[test]
    fn picks_without_a_value_or_a_field_change_nothing() {
        let existing = full();
        let other = NormalizedLead {
            title: None,
            ..full()
        };
        let picks: Vec<String> = ["title", "nonsense", "custom.missing", "city"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            plan_merge_picking(&existing, &other, &picks),
            plan_merge(&existing, &other)
        );
        assert_eq!(field_value(&existing, "custom.newsletter"), Some("yes"));
        assert_eq!(field_value(&other, "title"), None);
    }

    #[test]
    fn a_picked_valid_phone_clears_the_unparseable_flag() {
        let mut existing = full();
        existing.phone = Some("ring reception".into());
        existing.phone_valid = false;
        existing.flags = vec![DataFlag::PhoneUnparseable];
        let mut other = full();
        other.phone = Some("+442079460958".into());
        // plan_merge already takes a valid phone over a raw one; picking keeps that.
        let plan = plan_merge_picking(&existing, &other, &["phone".to_string()]);
        assert!(plan.merged.phone_valid && plan.merged.flags.is_empty());
        assert_eq!(plan.merged.phone.as_deref(), Some("+442079460958"));
    }

    #[test]
    fn merge_into_itself_changes_nothing() {
        let mut odd = full();
        odd.phone = Some("ring reception".into());
        odd.phone_valid = false;
        odd.flags = vec![DataFlag::PhoneUnparseable, DataFlag::CountryUnrecognised];
        odd.country = Some("Atlantis".into());
        for lead in [full(), odd, NormalizedLead::default()] {
            let plan = plan_merge(&lead, &lead);
            assert_eq!(plan.merged, lead);
            assert!(plan.filled.is_empty(), "{:?}", plan.filled);
            assert!(plan.conflicts.is_empty(), "{:?}", plan.conflicts);
        }
    }

    #[test]
    fn merge_is_deterministic() {
        let mut other = full();
        other.first_name = Some("Janet".into());
        other.custom.insert("zeta".into(), "1".into());
        other.custom.insert("alpha".into(), "2".into());
        other.custom.insert("newsletter".into(), "no".into());
        let existing = NormalizedLead {
            phone: Some("0207 946".into()),
            ..full()
        };
        let first = plan_merge(&existing, &other);
        for _ in 0..5 {
            assert_eq!(plan_merge(&existing, &other), first);
        }
        assert_eq!(fields(&first.filled), ["custom.alpha", "custom.zeta"]);
    }

    #[test]
    fn merge_blank_existing_takes_everything() {
        let mut incoming = full();
        incoming.phone = Some("ext. 42".into());
        incoming.phone_valid = false;
        incoming.country = Some("Atlantis".into());
        incoming.flags = vec![DataFlag::PhoneUnparseable, DataFlag::CountryUnrecognised];
        let plan = plan_merge(&NormalizedLead::default(), &incoming);
        assert_eq!(plan.merged, incoming);
        assert!(plan.conflicts.is_empty());
        assert_eq!(
            fields(&plan.filled),
            [
                "first_name",
                "last_name",
                "title",
                "email",
                "phone",
                "company",
                "website",
                "domain",
                "street",
                "postal_code",
                "city",
                "region",
                "country",
                "date_of_birth",
                "custom.newsletter",
                "custom.source_event",
            ]
        );
    }

    #[test]
    fn merge_blank_incoming_changes_nothing() {
        let plan = plan_merge(&full(), &NormalizedLead::default());
        assert_eq!(plan.merged, full());
        assert!(plan.filled.is_empty() && plan.conflicts.is_empty());
    }

    #[test]
    fn merge_whitespace_only_values_are_blank() {
        let existing = NormalizedLead {
            title: Some("   ".into()),
            ..NormalizedLead::default()
        };
        let incoming = NormalizedLead {
            title: Some("CTO".into()),
            first_name: Some(" ".into()),
            ..NormalizedLead::default()
        };
        let plan = plan_merge(&existing, &incoming);
        assert_eq!(plan.merged.title.as_deref(), Some("CTO"));
        assert_eq!(plan.merged.first_name, None);
        assert_eq!(fields(&plan.filled), ["title"]);
    }

    #[test]
    fn merge_comparable_forms_are_not_conflicts() {
        let incoming = NormalizedLead {
            first_name: Some("JANE".into()),
            last_name: Some("doe".into()),
            title: Some("head of  operations".into()),
            email: Some("janedoe+news@gmail.com".into()),
            email_key: Some("janedoe@gmail.com".into()),
            company: Some("ACME Limited".into()),
            company_key: Some("acme".into()),
            website: Some("http://www.acme.example/".into()),
            street: Some("12 high st.".into()),
            postal_code: Some("sw1a1aa".into()),
            city: Some("LONDON".into()),
            country: Some("gb".into()),
            ..full()
        };
        let plan = plan_merge(&full(), &incoming);
        assert_eq!(plan.merged, full());
        assert!(plan.conflicts.is_empty(), "{:?}", plan.conflicts);
        assert!(plan.filled.is_empty());
    }

    #[test]
    fn merge_differing_values_keep_existing_and_record_alternates() {
        let incoming = NormalizedLead {
            first_name: Some("Janet".into()),
            email: Some("jane@work.example".into()),
            email_key: Some("jane@work.example".into()),
            phone: Some("+447700900999".into()),
            company: Some("Globex".into()),
            company_key: Some("globex".into()),
            date_of_birth: Some("1980-04-13".into()),
            ..full()
        };
        let plan = plan_merge(&full(), &incoming);
        assert_eq!(plan.merged, full());
        assert!(plan.filled.is_empty());
        assert_eq!(
            plan.conflicts,
            [
                ("first_name", "Jane", "Janet"),
                ("email", "Jane.Doe@gmail.com", "jane@work.example"),
                ("phone", "+447700900123", "+447700900999"),
                ("company", "Acme Ltd", "Globex"),
                ("date_of_birth", "1980-04-12", "1980-04-13"),
            ]
            .map(|(f, k, a)| FieldConflict {
                field: f.into(),
                kept: k.into(),
                alternate: a.into(),
            })
        );
        // Derived keys stay with the kept values.
        assert_eq!(plan.merged.email_key.as_deref(), Some("janedoe@gmail.com"));
        assert_eq!(plan.merged.company_key.as_deref(), Some("acme"));
    }

    #[test]
    fn merge_derived_fields_move_with_their_source() {
        let existing = NormalizedLead {
            first_name: Some("Jane".into()),
            ..NormalizedLead::default()
        };
        let plan = plan_merge(&existing, &full());
        assert_eq!(plan.merged.email_key.as_deref(), Some("janedoe@gmail.com"));
        assert_eq!(plan.merged.company_key.as_deref(), Some("acme"));
        assert!(plan.merged.phone_valid);
        assert_eq!(plan.merged.domain.as_deref(), Some("acme.example"));
        assert!(!fields(&plan.filled).contains(&"email_key"));
    }

    #[test]
    fn merge_domain_fills_blank_but_never_conflicts() {
        let existing = NormalizedLead {
            domain: Some("acme.example".into()),
            ..NormalizedLead::default()
        };
        let incoming = NormalizedLead {
            domain: Some("acme-group.example".into()),
            ..NormalizedLead::default()
        };
        let plan = plan_merge(&existing, &incoming);
        assert_eq!(plan.merged, existing);
        assert!(plan.conflicts.is_empty() && plan.filled.is_empty());
        let plan = plan_merge(&NormalizedLead::default(), &incoming);
        assert_eq!(plan.merged.domain.as_deref(), Some("acme-group.example"));
        assert_eq!(fields(&plan.filled), ["domain"]);
    }

    #[test]
    fn merge_phone_rules() {
        let valid = |p: &str| NormalizedLead {
            phone: Some(p.into()),
            phone_valid: true,
            ..NormalizedLead::default()
        };
        let raw = |p: &str| NormalizedLead {
            phone: Some(p.into()),
            phone_valid: false,
            flags: vec![DataFlag::PhoneUnparseable],
            ..NormalizedLead::default()
        };

        // Unparseable existing phone is replaced by a valid one; old raw kept as alternate.
        let plan = plan_merge(&raw("0207 946 ask for Jo"), &valid("+442079460000"));
        assert_eq!(plan.merged, valid("+442079460000"));
        assert_eq!(fields(&plan.filled), ["phone"]);
        assert_eq!(
            plan.conflicts,
            [FieldConflict {
                field: "phone".into(),
                kept: "+442079460000".into(),
                alternate: "0207 946 ask for Jo".into(),
            }]
        );

        // A valid existing phone is never replaced by a raw one.
        let plan = plan_merge(&valid("+442079460000"), &raw("call me"));
        assert_eq!(plan.merged, valid("+442079460000"));
        assert_eq!(conflict_fields(&plan.conflicts), ["phone"]);

        // Two raw phones: keep existing.
        let plan = plan_merge(&raw("a"), &raw("b"));
        assert_eq!(plan.merged, raw("a"));
        assert_eq!(plan.conflicts[0].alternate, "b");

        // Blank phone takes a raw one together with its flag and validity.
        let plan = plan_merge(&NormalizedLead::default(), &raw("call me"));
        assert_eq!(plan.merged, raw("call me"));

        // Same number: nothing to do.
        let plan = plan_merge(&valid("+442079460000"), &valid("+442079460000"));
        assert!(plan.filled.is_empty() && plan.conflicts.is_empty());
    }

    #[test]
    fn merge_flags_follow_their_fields() {
        let existing = NormalizedLead {
            country: Some("Atlantis".into()),
            flags: vec![DataFlag::CountryUnrecognised],
            ..NormalizedLead::default()
        };
        let incoming = NormalizedLead {
            country: Some("GB".into()),
            phone: Some("nope".into()),
            flags: vec![DataFlag::PhoneUnparseable],
            ..NormalizedLead::default()
        };
        let plan = plan_merge(&existing, &incoming);
        // Country kept (and its flag); unparseable phone taken (and its flag).
        assert_eq!(plan.merged.country.as_deref(), Some("Atlantis"));
        assert_eq!(
            plan.merged.flags,
            [DataFlag::CountryUnrecognised, DataFlag::PhoneUnparseable]
        );

        let plan = plan_merge(&NormalizedLead::default(), &existing);
        assert_eq!(plan.merged.flags, [DataFlag::CountryUnrecognised]);
        let plan = plan_merge(&NormalizedLead::default(), &incoming);
        assert_eq!(plan.merged.flags, [DataFlag::PhoneUnparseable]);
    }

    #[test]
    fn an_unread_date_of_birth_is_flagged_until_a_real_one_arrives() {
        let unread = NormalizedLead {
            custom: [(
                "date_of_birth_as_given".to_string(),
                "1930-43-02".to_string(),
            )]
            .into(),
            flags: vec![DataFlag::DateOfBirthInvalid],
            ..NormalizedLead::default()
        };
        let dated = NormalizedLead {
            date_of_birth: Some("1930-03-02".into()),
            ..NormalizedLead::default()
        };
        // A real date from the incoming lead settles it; the text stays as an attribute.
        let plan = plan_merge(&unread, &dated);
        assert_eq!(plan.merged.date_of_birth.as_deref(), Some("1930-03-02"));
        assert!(plan.merged.flags.is_empty(), "{:?}", plan.merged.flags);
        assert_eq!(plan.merged.custom, unread.custom);
        // An unread date does not flag a lead that has a real one.
        let plan = plan_merge(&dated, &unread);
        assert!(plan.merged.flags.is_empty());
        assert_eq!(plan.merged.custom, unread.custom, "the text comes along");
        // Neither has a real date: the flag comes along with the text.
        let plan = plan_merge(&NormalizedLead::default(), &unread);
        assert_eq!(plan.merged.flags, [DataFlag::DateOfBirthInvalid]);
        let plan = plan_merge(&unread, &NormalizedLead::default());
        assert_eq!(plan.merged.flags, [DataFlag::DateOfBirthInvalid]);
    }

    #[test]
    fn merge_custom_attributes_per_key() {
        let mut incoming = full();
        incoming.custom = BTreeMap::from([
            ("newsletter".to_owned(), "no".to_owned()),
            ("source_event".to_owned(), "Home Show 2024".to_owned()),
            ("budget".to_owned(), "10k".to_owned()),
            ("blank".to_owned(), "  ".to_owned()),
        ]);
        let plan = plan_merge(&full(), &incoming);
        assert_eq!(fields(&plan.filled), ["custom.budget"]);
        assert_eq!(
            plan.conflicts,
            [FieldConflict {
                field: "custom.newsletter".into(),
                kept: "yes".into(),
                alternate: "no".into(),
            }]
        );
        assert_eq!(
            plan.merged.custom.get("budget").map(String::as_str),
            Some("10k")
        );
        assert_eq!(
            plan.merged.custom.get("newsletter").map(String::as_str),
            Some("yes")
        );
        assert!(!plan.merged.custom.contains_key("blank"));
    }

    #[test]
    fn merge_fills_blank_address_parts_of_the_same_address() {
        let existing = NormalizedLead {
            street: Some("12 High St".into()),
            postal_code: Some("SW1A 1AA".into()),
            ..NormalizedLead::default()
        };
        let plan = plan_merge(&existing, &full());
        assert_eq!(plan.merged.street.as_deref(), Some("12 High St"));
        assert_eq!(plan.merged.city.as_deref(), Some("London"));
        assert_eq!(plan.merged.country.as_deref(), Some("GB"));
        assert!(plan.conflicts.is_empty());
        let filled = fields(&plan.filled);
        assert!(
            filled.contains(&"city") && filled.contains(&"region") && filled.contains(&"country")
        );
    }

    #[test]
    fn merge_does_not_mix_two_addresses() {
        let existing = NormalizedLead {
            street: Some("5 Low Road".into()),
            city: Some("Leeds".into()),
            ..NormalizedLead::default()
        };
        let plan = plan_merge(&existing, &full());
        assert_eq!(plan.merged.street.as_deref(), Some("5 Low Road"));
        assert_eq!(plan.merged.city.as_deref(), Some("Leeds"));
        assert_eq!(plan.merged.postal_code, None);
        assert_eq!(plan.merged.country, None);
        assert_eq!(
            plan.conflicts
                .iter()
                .map(|c| (c.field.as_str(), c.kept.as_str(), c.alternate.as_str()))
                .collect::<Vec<_>>(),
            [
                ("street", "5 Low Road", "12 High Street"),
                ("postal_code", "", "SW1A 1AA"),
                ("city", "Leeds", "London"),
                ("region", "", "Greater London"),
                ("country", "", "GB"),
            ]
        );
        // Non-address blanks are still filled.
        assert_eq!(plan.merged.first_name.as_deref(), Some("Jane"));
    }

    #[test]
    fn merge_plan_serialises() {
        let plan = plan_merge(&NormalizedLead::default(), &full());
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(json["filled"][0]["field"], "first_name");
        assert_eq!(json["filled"][0]["value"], "Jane");
        let back: MergePlan = serde_json::from_value(json).unwrap();
        assert_eq!(back, plan);
    }

    #[test]
    fn merge_every_filled_field_differs_and_every_conflict_is_absent() {
        // Invariants of the plan on a mixed pair.
        let existing = NormalizedLead {
            first_name: Some("Jane".into()),
            phone: Some("bad".into()),
            flags: vec![DataFlag::PhoneUnparseable],
            custom: BTreeMap::from([("a".to_owned(), "1".to_owned())]),
            ..NormalizedLead::default()
        };
        let mut incoming = full();
        incoming.custom.insert("a".into(), "2".into());
        let plan = plan_merge(&existing, &incoming);
        let merged = serde_json::to_value(&plan.merged).unwrap();
        let before = serde_json::to_value(&existing).unwrap();
        for c in &plan.filled {
            if let Some(key) = c.field.strip_prefix("custom.") {
                assert_eq!(merged["custom"][key], c.value.as_str());
                assert!(before["custom"].get(key).is_none());
            } else {
                assert_eq!(merged[&c.field], c.value.as_str(), "{}", c.field);
                assert_ne!(before[&c.field], c.value.as_str(), "{}", c.field);
            }
        }
        for c in &plan.conflicts {
            let now = match c.field.strip_prefix("custom.") {
                Some(key) => &merged["custom"][key],
                None => &merged[&c.field],
            };
            assert_ne!(now, c.alternate.as_str(), "{}", c.field);
        }
        assert!(plan.merged.flags.is_empty(), "phone became valid");
    }
}
