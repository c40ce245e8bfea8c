//! Decision tables and properties of matching under the hand-set prior model.

use super::text::surname_code;
use super::*;

/// `compare` under the prior model (the tests' default).
fn compare(a: &MatchRecord, b: &MatchRecord) -> MatchEvidence {
    super::compare(a, b, &MatchModel::prior())
}

/// Builds a record from `field=value` pairs.
fn rec(fields: &[(&str, &str)]) -> MatchRecord {
    let mut r = MatchRecord::default();
    for &(k, v) in fields {
        let v = Some(v.to_owned());
        match k {
            "email" => r.email_key = v,
            "phone" => r.phone = v,
            "first" => r.first_name = v,
            "last" => r.last_name = v,
            "company" => r.company_key = v,
            "domain" => r.domain = v,
            "street" => r.street = v,
            "postal" => r.postal_code = v,
            "city" => r.city = v,
            "country" => r.country = v,
            "dob" => r.date_of_birth = v,
            other => panic!("unknown test field {other}"),
        }
    }
    r
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Sure,
    Possible,
    Distinct,
    NotSure,
}

struct Case {
    name: &'static str,
    a: Vec<(&'static str, &'static str)>,
    b: Vec<(&'static str, &'static str)>,
    expect: Expect,
}

fn case(
    name: &'static str,
    a: &[(&'static str, &'static str)],
    b: &[(&'static str, &'static str)],
    expect: Expect,
) -> Case {
    Case {
        name,
        a: a.to_vec(),
        b: b.to_vec(),
        expect,
    }
}

fn cases() -> Vec<Case> {
    use Expect::*;
    vec![
        case(
            "same email, same names",
            &[
                ("email", "jane.doe@acme.com"),
                ("first", "Jane"),
                ("last", "Doe"),
            ],
            &[
                ("email", "jane.doe@acme.com"),
                ("first", "Jane"),
                ("last", "Doe"),
            ],
            Sure,
        ),
        case(
            "same email, similar names",
            &[
                ("email", "jon.smith@example.org"),
                ("first", "Jon"),
                ("last", "Smith"),
            ],
            &[
                ("email", "jon.smith@example.org"),
                ("first", "John"),
                ("last", "Smith"),
            ],
            Sure,
        ),
        case(
            "same email key only",
            &[("email", "jane@example.org")],
            &[
                ("email", "jane@example.org"),
                ("first", "Jane"),
                ("last", "Doe"),
            ],
            Sure,
        ),
        // A shared inbox (info@, office@) is used by several people: the key says
        // "same organisation", the names say "different people". A human decides.
        case(
            "shared inbox, totally different names",
            &[
                ("email", "info@bakery.de"),
                ("first", "Anna"),
                ("last", "Becker"),
            ],
            &[
                ("email", "info@bakery.de"),
                ("first", "Thomas"),
                ("last", "Wolf"),
            ],
            Possible,
        ),
        case(
            "couple sharing an e-mail address",
            &[
                ("email", "smiths@example.org"),
                ("first", "Mary"),
                ("last", "Smith"),
            ],
            &[
                ("email", "smiths@example.org"),
                ("first", "John"),
                ("last", "Smith"),
            ],
            Possible,
        ),
        case(
            "same email, surname changed by marriage",
            &[
                ("email", "anna@example.org"),
                ("first", "Anna"),
                ("last", "Becker"),
            ],
            &[
                ("email", "anna@example.org"),
                ("first", "Anna"),
                ("last", "Wolf"),
            ],
            Sure,
        ),
        case(
            "same email, typo in last name",
            &[
                ("email", "p.johnson@example.com"),
                ("first", "Paul"),
                ("last", "Johnson"),
            ],
            &[
                ("email", "p.johnson@example.com"),
                ("first", "Paul"),
                ("last", "Jonhson"),
            ],
            Sure,
        ),
        case(
            "same phone, same last name, similar first name",
            &[
                ("phone", "+447700900123"),
                ("first", "Katherine"),
                ("last", "Brown"),
            ],
            &[
                ("phone", "+447700900123"),
                ("first", "Katharine"),
                ("last", "Brown"),
            ],
            Sure,
        ),
        case(
            "same phone, same first name, Smith vs Smyth",
            &[
                ("phone", "+14155550100"),
                ("first", "Peter"),
                ("last", "Smith"),
            ],
            &[
                ("phone", "+14155550100"),
                ("first", "Peter"),
                ("last", "Smyth"),
            ],
            Sure,
        ),
        case(
            "same phone only",
            &[("phone", "+14155550100")],
            &[("phone", "+14155550100")],
            Possible,
        ),
        case(
            "spouses: shared phone and address, different first names",
            &[
                ("phone", "+442079460000"),
                ("first", "John"),
                ("last", "Smith"),
                ("street", "12 High Street"),
                ("postal", "SW1A 1AA"),
            ],
            &[
                ("phone", "+442079460000"),
                ("first", "Mary"),
                ("last", "Smith"),
                ("street", "12 High St"),
                ("postal", "SW1A 1AA"),
            ],
            Possible,
        ),
        case(
            "consumer list: Jon/John Smith at the same address",
            &[
                ("first", "Jon"),
                ("last", "Smith"),
                ("street", "12 High Street"),
                ("postal", "SW1A 1AA"),
            ],
            &[
                ("first", "John"),
                ("last", "Smith"),
                ("street", "12 High St"),
                ("postal", "SW1A1AA"),
            ],
            Sure,
        ),
        case(
            "consumer list: same address, different first name",
            &[
                ("first", "John"),
                ("last", "Smith"),
                ("street", "12 High Street"),
                ("postal", "SW1A 1AA"),
            ],
            &[
                ("first", "Mary"),
                ("last", "Smith"),
                ("street", "12 High St"),
                ("postal", "SW1A 1AA"),
            ],
            NotSure,
        ),
        case(
            "same name and street, postcode in another town",
            &[
                ("first", "John"),
                ("last", "Smith"),
                ("street", "12 High Street"),
                ("postal", "SW1A 1AA"),
            ],
            &[
                ("first", "John"),
                ("last", "Smith"),
                ("street", "12 High Street"),
                ("postal", "M1 1AE"),
            ],
            NotSure,
        ),
        case(
            "same name, different postcode and street",
            &[
                ("first", "John"),
                ("last", "Smith"),
                ("street", "12 High Street"),
                ("postal", "SW1A 1AA"),
            ],
            &[
                ("first", "John"),
                ("last", "Smith"),
                ("street", "3 Mill Lane"),
                ("postal", "M1 1AE"),
            ],
            Distinct,
        ),
        case(
            "same name and postcode only",
            &[("first", "John"), ("last", "Smith"), ("postal", "10001")],
            &[("first", "John"), ("last", "Smith"), ("postal", "10001")],
            Possible,
        ),
        case(
            "same name and postcode, same date of birth",
            &[
                ("first", "John"),
                ("last", "Smith"),
                ("postal", "10001"),
                ("dob", "1980-04-12"),
            ],
            &[
                ("first", "John"),
                ("last", "Smith"),
                ("postal", "10001"),
                ("dob", "1980-04-12"),
            ],
            Sure,
        ),
        case(
            "father and son: same name and address, different dates of birth",
            &[
                ("first", "John"),
                ("last", "Smith"),
                ("street", "12 High Street"),
                ("postal", "SW1A 1AA"),
                ("dob", "1955-02-01"),
            ],
            &[
                ("first", "John"),
                ("last", "Smith"),
                ("street", "12 High Street"),
                ("postal", "SW1A 1AA"),
                ("dob", "1984-09-30"),
            ],
            Possible,
        ),
        case(
            "full name and date of birth",
            &[("first", "Anna"), ("last", "Müller"), ("dob", "1990-12-24")],
            &[
                ("first", "Anna"),
                ("last", "Mueller"),
                ("dob", "1990-12-24"),
            ],
            Sure,
        ),
        // Same employer and the same full name is almost always the same person when
        // the company key and the web domain both agree; with only one of them it
        // could be a namesake at a big employer, so a human confirms.
        case(
            "B2B: same company and domain, same full name, no email on one side",
            &[
                ("email", "j.weber@contoso.com"),
                ("first", "Julia"),
                ("last", "Weber"),
                ("company", "contoso"),
                ("domain", "contoso.com"),
            ],
            &[
                ("first", "Julia"),
                ("last", "Weber"),
                ("company", "contoso"),
                ("domain", "contoso.com"),
            ],
            // The domain is the company's and adds nothing to it: a full name at one
            // company is not enough on its own (namesakes work at large companies).
            Possible,
        ),
        case(
            "B2B: same company, similar full name",
            &[
                ("first", "Jon"),
                ("last", "Weber"),
                ("company", "contoso"),
                ("domain", "contoso.com"),
            ],
            &[
                ("first", "John"),
                ("last", "Weber"),
                ("company", "contoso"),
                ("domain", "contoso.com"),
            ],
            // As above: a (similar) name at one company alone goes to review.
            Possible,
        ),
        case(
            "B2B: same company key only, same full name",
            &[
                ("first", "Julia"),
                ("last", "Weber"),
                ("company", "contoso"),
            ],
            &[
                ("first", "Julia"),
                ("last", "Weber"),
                ("company", "contoso"),
            ],
            Possible,
        ),
        case(
            "B2B: colleagues",
            &[
                ("first", "Julia"),
                ("last", "Weber"),
                ("company", "contoso"),
                ("domain", "contoso.com"),
            ],
            &[
                ("first", "Omar"),
                ("last", "Haddad"),
                ("company", "contoso"),
                ("domain", "contoso.com"),
            ],
            Distinct,
        ),
        // One person's own work address at one company: a first name that differs is
        // a slip or a nickname the lists do not know.
        case(
            "first names differ on one named work address",
            &[
                ("email", "anne.duval@horizontextile.fr"),
                ("phone", "+33600558233"),
                ("first", "Aqnne"),
                ("last", "Duval"),
                ("company", "horizon textile"),
            ],
            &[
                ("email", "anne.duval@horizontextile.fr"),
                ("phone", "+33600558233"),
                ("first", "Anne"),
                ("last", "Duval"),
                ("company", "horizon textile"),
            ],
            Sure,
        ),
        case(
            "nickname the list does not know on one named work address",
            &[
                ("email", "patricia.anderson@harborview-health.com"),
                ("first", "Trish"),
                ("last", "Anderson"),
                ("company", "harborview health"),
                ("country", "US"),
            ],
            &[
                ("email", "patricia.anderson@harborview-health.com"),
                ("first", "Pat"),
                ("last", "Anderson"),
                ("company", "harborview health"),
                ("country", "US"),
            ],
            Sure,
        ),
        // Namesakes at one employer get a mailbox each.
        case(
            "one full name on two named work addresses at one domain and switchboard",
            &[
                ("email", "paul.roberts1@hadley-interiors.co.uk"),
                ("phone", "+441614960000"),
                ("country", "GB"),
                ("first", "Paul"),
                ("last", "Roberts"),
                ("company", "hadley interiors"),
                ("domain", "hadley-interiors.co.uk"),
            ],
            &[
                ("email", "paul.roberts@hadley-interiors.co.uk"),
                ("phone", "+441614960000"),
                ("country", "GB"),
                ("first", "Paul"),
                ("last", "Roberts"),
                ("company", "hadley interiors"),
                ("domain", "hadley-interiors.co.uk"),
            ],
            Possible,
        ),
        case(
            "one full name on a work address and on free mail",
            &[
                ("email", "paul.roberts@gmail.com"),
                ("phone", "+447723484756"),
                ("first", "Paul"),
                ("last", "Roberts"),
                ("company", "hadley interiors"),
            ],
            &[
                ("email", "paul.roberts@hadley-interiors.co.uk"),
                ("phone", "+447723484756"),
                ("first", "Paul"),
                ("last", "Roberts"),
                ("company", "hadley interiors"),
            ],
            Sure,
        ),
        // A shared mailbox is two people's: a role address, free mail, or a family
        // business's surname-only address.
        case(
            "first names differ on a role mailbox",
            &[
                ("email", "info@weber-bau.de"),
                ("phone", "+4930123456"),
                ("first", "Julia"),
                ("last", "Weber"),
                ("company", "weber bau"),
            ],
            &[
                ("email", "info@weber-bau.de"),
                ("phone", "+4930123456"),
                ("first", "Markus"),
                ("last", "Weber"),
                ("company", "weber bau"),
            ],
            NotSure,
        ),
        case(
            "first names differ on a family business's surname address",
            &[
                ("email", "weber@weber-bau.de"),
                ("phone", "+4930123456"),
                ("first", "Julia"),
                ("last", "Weber"),
                ("company", "weber bau"),
            ],
            &[
                ("email", "weber@weber-bau.de"),
                ("phone", "+4930123456"),
                ("first", "Markus"),
                ("last", "Weber"),
                ("company", "weber bau"),
            ],
            NotSure,
        ),
        case(
            "first names differ on a household's free-mail address",
            &[
                ("email", "anne.duval@gmail.com"),
                ("phone", "+33600558233"),
                ("first", "Marc"),
                ("last", "Duval"),
                ("street", "12 rue de la Paix"),
                ("postal", "75002"),
            ],
            &[
                ("email", "anne.duval@gmail.com"),
                ("phone", "+33600558233"),
                ("first", "Anne"),
                ("last", "Duval"),
                ("street", "12 rue de la Paix"),
                ("postal", "75002"),
            ],
            NotSure,
        ),
        case(
            "first names differ on a named work address without a shared company",
            &[
                ("email", "anne.duval@horizontextile.fr"),
                ("phone", "+33600558233"),
                ("first", "Marc"),
                ("last", "Duval"),
                ("street", "12 rue de la Paix"),
                ("postal", "75002"),
            ],
            &[
                ("email", "anne.duval@horizontextile.fr"),
                ("phone", "+33600558233"),
                ("first", "Anne"),
                ("last", "Duval"),
                ("street", "12 rue de la Paix"),
                ("postal", "75002"),
            ],
            NotSure,
        ),
        // A household shares its phone: "J Schmidt" could be Jürgen or Julia.
        case(
            "initial and full first name with phone",
            &[
                ("phone", "+4930123456"),
                ("first", "J"),
                ("last", "Schmidt"),
            ],
            &[
                ("phone", "+4930123456"),
                ("first", "Jürgen"),
                ("last", "Schmidt"),
            ],
            Possible,
        ),
        // At a workplace the same line and company pin the initial to one person.
        case(
            "initial and full first name with phone at one company",
            &[
                ("phone", "+4930123456"),
                ("first", "J"),
                ("last", "Schmidt"),
                ("company", "contoso"),
            ],
            &[
                ("phone", "+4930123456"),
                ("first", "Jürgen"),
                ("last", "Schmidt"),
                ("company", "contoso"),
            ],
            Sure,
        ),
        case(
            "initial and full first name at one company, another phone",
            &[
                ("phone", "+4930123456"),
                ("first", "J"),
                ("last", "Schmidt"),
                ("company", "contoso"),
            ],
            &[
                ("phone", "+4930999999"),
                ("first", "Jürgen"),
                ("last", "Schmidt"),
                ("company", "contoso"),
            ],
            Possible,
        ),
        case(
            "initial and full first name with email",
            &[
                ("email", "juergen.schmidt@example.org"),
                ("first", "J"),
                ("last", "Schmidt"),
            ],
            &[
                ("email", "juergen.schmidt@example.org"),
                ("first", "Jürgen"),
                ("last", "Schmidt"),
            ],
            Sure,
        ),
        case(
            "nickname with email",
            &[
                ("email", "bob@example.org"),
                ("first", "Bob"),
                ("last", "Miller"),
            ],
            &[
                ("email", "bob@example.org"),
                ("first", "Robert"),
                ("last", "Miller"),
            ],
            Sure,
        ),
        case(
            "German address spelled two ways",
            &[
                ("first", "Jörg"),
                ("last", "Weiß"),
                ("street", "Hauptstraße 5"),
                ("postal", "10115"),
            ],
            &[
                ("first", "Joerg"),
                ("last", "Weiss"),
                ("street", "Hauptstr. 5"),
                ("postal", "10115"),
            ],
            Sure,
        ),
        case(
            "completely different people",
            &[
                ("email", "a@x.com"),
                ("phone", "+14155550100"),
                ("first", "Alice"),
                ("last", "Nguyen"),
                ("postal", "94110"),
                ("street", "1 Valencia St"),
                ("dob", "1970-01-01"),
            ],
            &[
                ("email", "b@y.com"),
                ("phone", "+442079460000"),
                ("first", "Robert"),
                ("last", "Okafor"),
                ("postal", "SW1A 1AA"),
                ("street", "10 Downing Street"),
                ("dob", "1985-06-15"),
            ],
            Distinct,
        ),
        case(
            "empty record vs full record",
            &[],
            &[("email", "a@x.com"), ("first", "Alice"), ("last", "Nguyen")],
            Distinct,
        ),
        case("empty vs empty", &[], &[], Distinct),
        case(
            "blank strings count as missing",
            &[("email", "  "), ("first", ""), ("last", " ")],
            &[("email", "a@x.com"), ("first", "Alice"), ("last", "Nguyen")],
            Distinct,
        ),
    ]
}

fn check(e: Expect, d: MatchDecision) -> bool {
    match e {
        Expect::Sure => d == MatchDecision::Sure,
        Expect::Possible => d == MatchDecision::Possible,
        Expect::Distinct => d == MatchDecision::Distinct,
        Expect::NotSure => d != MatchDecision::Sure,
    }
}

#[test]
fn matching_table_decisions() {
    let t = MatchModel::prior();
    let mut failures = Vec::new();
    for c in cases() {
        let (a, b) = (rec(&c.a), rec(&c.b));
        let e = compare(&a, &b);
        let d = decide(&e, &t);
        if !check(c.expect, d) {
            failures.push(format!(
                "{}: expected {:?}, got {d:?} ({e:#?})",
                c.name, c.expect
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn matching_weights_sum_to_score() {
    for c in cases() {
        let e = compare(&rec(&c.a), &rec(&c.b));
        let sum: f64 = e.comparisons.iter().map(|c| c.weight).sum();
        assert!(
            (sum - e.score).abs() < 1e-9,
            "{}: {sum} vs {}",
            c.name,
            e.score
        );
        assert!(e.score.is_finite(), "{}", c.name);
    }
}

#[test]
fn matching_is_symmetric() {
    for c in cases() {
        let (a, b) = (rec(&c.a), rec(&c.b));
        let ab = compare(&a, &b);
        let ba = compare(&b, &a);
        assert!((ab.score - ba.score).abs() < 1e-9, "{}", c.name);
        let fields = |e: &MatchEvidence| {
            e.comparisons
                .iter()
                .map(|c| (c.field.clone(), c.outcome))
                .collect::<Vec<_>>()
        };
        assert_eq!(fields(&ab), fields(&ba), "{}", c.name);
    }
}

#[test]
fn matching_sure_pairs_share_a_blocking_key() {
    let t = MatchModel::prior();
    let mut sure = 0;
    for c in cases() {
        let (a, b) = (rec(&c.a), rec(&c.b));
        if decide(&compare(&a, &b), &t) != MatchDecision::Sure {
            continue;
        }
        sure += 1;
        let ka = blocking_keys(&a);
        let kb = blocking_keys(&b);
        assert!(
            ka.iter().any(|k| kb.contains(k)),
            "{}: no shared key between {ka:?} and {kb:?}",
            c.name
        );
    }
    assert!(sure >= 12, "only {sure} sure cases");
}

#[test]
fn matching_possible_pairs_share_a_blocking_key() {
    // Review candidates should be findable too.
    let t = MatchModel::prior();
    for c in cases() {
        let (a, b) = (rec(&c.a), rec(&c.b));
        if decide(&compare(&a, &b), &t) != MatchDecision::Possible {
            continue;
        }
        // Same name and street in another town shares no key on purpose: keying on
        // name plus street alone would make huge "Smith, High Street" blocks.
        if c.name == "same name and street, postcode in another town" {
            continue;
        }
        let ka = blocking_keys(&a);
        let kb = blocking_keys(&b);
        assert!(
            ka.iter().any(|k| kb.contains(k)),
            "{}: {ka:?} / {kb:?}",
            c.name
        );
    }
}

fn outcome_of(e: &MatchEvidence, field: &str) -> Option<ComparisonOutcome> {
    e.comparisons
        .iter()
        .find(|c| c.field == field)
        .map(|c| c.outcome)
}

fn weight_of(e: &MatchEvidence, field: &str) -> f64 {
    e.comparisons
        .iter()
        .find(|c| c.field == field)
        .map_or(0.0, |c| c.weight)
}

#[test]
fn matching_name_outcomes() {
    use ComparisonOutcome::*;
    let table: &[(&str, &str, ComparisonOutcome)] = &[
        ("John", "John", Agree),
        ("JOHN", "john", Agree),
        ("José", "Jose", Agree),
        ("Zoë", "ZOE", Agree),
        ("Jon", "John", Partial),
        ("J", "John", Partial),
        ("J.", "John", Partial),
        ("Bob", "Robert", Partial),
        ("Katie", "Katherine", Partial),
        ("Mary", "John", Disagree),
        ("J", "M", Disagree),
        ("Anna", "Thomas", Disagree),
    ];
    for &(x, y, want) in table {
        let e = compare(&rec(&[("first", x)]), &rec(&[("first", y)]));
        assert_eq!(outcome_of(&e, "first_name"), Some(want), "{x} vs {y}");
    }
    let last: &[(&str, &str, ComparisonOutcome)] = &[
        ("Smith", "Smyth", Partial),
        ("Johnson", "Jonhson", Partial),
        ("O'Brien", "OBrien", Agree),
        ("Müller", "MULLER", Agree),
        ("Weiß", "Weiss", Agree),
        ("García López", "García", Partial),
        ("Smith", "Jones", Disagree),
    ];
    for &(x, y, want) in last {
        let e = compare(&rec(&[("last", x)]), &rec(&[("last", y)]));
        assert_eq!(outcome_of(&e, "last_name"), Some(want), "{x} vs {y}");
    }
}

#[test]
fn matching_partial_weights_lie_between_zero_and_agreement() {
    let full = compare(&rec(&[("first", "John")]), &rec(&[("first", "John")]));
    let part = compare(&rec(&[("first", "Jon")]), &rec(&[("first", "John")]));
    let none = compare(&rec(&[("first", "Mary")]), &rec(&[("first", "John")]));
    let (f, p, n) = (
        weight_of(&full, "first_name"),
        weight_of(&part, "first_name"),
        weight_of(&none, "first_name"),
    );
    assert!(n < 0.0 && 0.0 < p && p < f, "{n} {p} {f}");
}

#[test]
fn matching_street_outcomes() {
    use ComparisonOutcome::*;
    let table: &[(&str, &str, ComparisonOutcome)] = &[
        ("12 High Street", "12 High St", Agree),
        ("12 High Street", "12 high st.", Agree),
        ("Flat 3, 12 High Street", "12 High St", Agree),
        ("Hauptstraße 5", "Hauptstr. 5", Agree),
        ("Haupt Straße 5", "Hauptstrasse 5", Agree),
        ("5 Elm Avenue", "5 Elm Ave", Agree),
        ("7 Mill Road", "7 Mill Rd", Agree),
        ("3 Oak Drive", "3 Oak Dr", Agree),
        ("12a High Street", "12 A High Street", Agree),
        ("12 High Street", "14 High Street", Disagree),
        ("12 High Street", "12 Mill Lane", Disagree),
        ("12 High Street", "12 Hihg Street", Partial),
        ("High Street", "High Street", Partial),
        ("12 High Street", "High Street", Partial),
        ("100 1st Avenue", "100 1st Ave", Agree),
    ];
    for &(x, y, want) in table {
        let e = compare(
            &rec(&[("street", x), ("postal", "AB1 2CD")]),
            &rec(&[("street", y), ("postal", "AB1 2CD")]),
        );
        assert_eq!(outcome_of(&e, "street"), Some(want), "{x} vs {y}: {e:?}");
    }
}

#[test]
fn matching_street_counts_less_outside_a_known_locality() {
    let s = ("street", "12 High Street");
    let same = compare(
        &rec(&[s, ("postal", "SW1A 1AA")]),
        &rec(&[s, ("postal", "SW1A 1AA")]),
    );
    let unknown = compare(&rec(&[s]), &rec(&[s]));
    let other = compare(
        &rec(&[s, ("postal", "SW1A 1AA")]),
        &rec(&[s, ("postal", "M1 1AE")]),
    );
    let by_city = compare(&rec(&[s, ("city", "Leeds")]), &rec(&[s, ("city", "LEEDS")]));
    let (ws, wu, wo, wc) = (
        weight_of(&same, "street"),
        weight_of(&unknown, "street"),
        weight_of(&other, "street"),
        weight_of(&by_city, "street"),
    );
    // Unknown locality keeps the level (the model weighs it); a known other place
    // makes it "elsewhere", worth much less.
    assert!(ws >= wu && wu > wo && wo > 0.0, "{ws} {wu} {wo}");
    assert_eq!(ws, wc);
    assert_eq!(
        outcome_of(&other, "street"),
        Some(ComparisonOutcome::Partial)
    );
}

#[test]
fn matching_postal_codes() {
    use ComparisonOutcome::*;
    let table: &[(&str, &str, ComparisonOutcome)] = &[
        ("SW1A 1AA", "sw1a1aa", Agree),
        ("10115", "10115", Agree),
        ("SW1A 1AA", "SW1A 2BB", Partial),
        ("10115", "10117", Partial),
        ("10001", "10999", Disagree),
        ("SW1A 1AA", "M1 1AE", Disagree),
    ];
    for &(x, y, want) in table {
        let e = compare(&rec(&[("postal", x)]), &rec(&[("postal", y)]));
        assert_eq!(outcome_of(&e, "postal_code"), Some(want), "{x} vs {y}");
    }
    // A code without letters or digits is missing, not a disagreement.
    let e = compare(&rec(&[("postal", "-")]), &rec(&[("postal", "10115")]));
    assert_eq!(outcome_of(&e, "postal_code"), None);
    // Same digits in different countries are different places.
    let e = compare(
        &rec(&[("postal", "10115"), ("country", "DE")]),
        &rec(&[("postal", "10115"), ("country", "US")]),
    );
    assert_eq!(outcome_of(&e, "postal_code"), Some(Disagree));
}

#[test]
fn matching_date_of_birth_moves_the_score_strongly() {
    let base = [("first", "John"), ("last", "Smith"), ("postal", "10001")];
    let with = |dob: &'static str| {
        let mut v = base.to_vec();
        v.push(("dob", dob));
        rec(&v)
    };
    let plain = compare(&rec(&base), &rec(&base)).score;
    let agree = compare(&with("1980-04-12"), &with("1980-04-12")).score;
    let typo = compare(&with("1980-04-12"), &with("1980-04-13")).score;
    let swapped = compare(&with("1980-04-12"), &with("1980-12-04")).score;
    let differ = compare(&with("1980-04-12"), &with("1975-11-30")).score;
    assert!(agree - plain > 10.0, "{agree} {plain}");
    assert!(plain - differ > 4.0, "{plain} {differ}");
    assert!(plain < typo && typo < agree);
    assert!(plain < swapped && swapped < agree);
    // Without the date of birth this pair is Possible; a conflicting one leaves
    // it Possible at most (the household guard), never Sure.
    let t = MatchModel::prior();
    let e = compare(&with("1980-04-12"), &with("1975-11-30"));
    assert_ne!(decide(&e, &t), MatchDecision::Sure);
    assert_eq!(
        decide(&compare(&with("1980-04-12"), &with("1980-04-12")), &t),
        MatchDecision::Sure
    );
}

#[test]
fn matching_company_partial_and_domain() {
    let e = compare(
        &rec(&[("company", "acme"), ("domain", "acme.com")]),
        &rec(&[("company", "acme"), ("domain", "ACME.com")]),
    );
    assert_eq!(outcome_of(&e, "company"), Some(ComparisonOutcome::Agree));
    // The domain is the company's: compared only where the company names differ.
    assert_eq!(outcome_of(&e, "domain"), None);
    let e = compare(
        &rec(&[("company", "acme"), ("domain", "acme.com")]),
        &rec(&[("company", "acme corporation"), ("domain", "ACME.com")]),
    );
    assert_ne!(outcome_of(&e, "company"), Some(ComparisonOutcome::Agree));
    assert_eq!(outcome_of(&e, "domain"), Some(ComparisonOutcome::Agree));
    let e = compare(
        &rec(&[("company", "contoso")]),
        &rec(&[("company", "contosso")]),
    );
    assert_eq!(outcome_of(&e, "company"), Some(ComparisonOutcome::Partial));
    let exact = compare(
        &rec(&[("company", "contoso")]),
        &rec(&[("company", "contoso")]),
    );
    assert!(weight_of(&e, "company") < weight_of(&exact, "company"));
    let e = compare(&rec(&[("company", "ibm")]), &rec(&[("company", "ibx")]));
    assert_eq!(outcome_of(&e, "company"), Some(ComparisonOutcome::Disagree));
}

#[test]
fn matching_missing_fields_are_omitted() {
    let e = compare(
        &rec(&[("email", "a@x.com"), ("first", "Ann")]),
        &rec(&[("phone", "+14155550100"), ("first", "Ann")]),
    );
    let fields: Vec<&str> = e.comparisons.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, ["first_name"]);
    let empty = compare(&MatchRecord::default(), &rec(&[("email", "a@x.com")]));
    assert!(empty.comparisons.is_empty());
    assert_eq!(empty.score, 0.0);
}

#[test]
fn matching_explanation_fields_use_documented_names_and_order() {
    let full = rec(&[
        ("email", "a@x.com"),
        ("phone", "+14155550100"),
        ("first", "Ann"),
        ("last", "Lee"),
        ("company", "acme"),
        ("domain", "acme.com"),
        ("street", "1 Main St"),
        ("postal", "94110"),
        ("city", "San Francisco"),
        ("country", "US"),
        ("dob", "1990-01-02"),
    ]);
    // Another spelling of the company, so the domain is compared too.
    let mut other = full.clone();
    other.company_key = Some("acme labs".into());
    let e = compare(&full, &other);
    let fields: Vec<&str> = e.comparisons.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "email",
            "phone",
            "first_name",
            "last_name",
            "company",
            "domain",
            "country",
            "postal_code",
            "street",
            "date_of_birth"
        ]
    );
    assert!(e
        .comparisons
        .iter()
        .all(|c| c.outcome == ComparisonOutcome::Agree || c.field == "company"));
}

#[test]
fn matching_prior_level_weights_are_ordered() {
    // Within a field, a closer level is worth at least as much as a looser one, and
    // disagreement always costs.
    let m = MatchModel::prior();
    for f in &m.fields {
        let w = |level: Level| {
            f.levels
                .iter()
                .find(|l| l.level == level)
                .map(LevelParams::weight)
        };
        let exact = w(Level::Exact).unwrap();
        let disagree = w(Level::Disagree).unwrap();
        assert!(disagree < 0.0, "{:?} disagree {disagree}", f.field);
        for l in &f.levels {
            assert!(l.weight() <= exact + 1e-9, "{:?} {:?}", f.field, l.level);
        }
    }
    // The identifiers carry the most weight.
    let email = m.level(Field::Email, Level::Exact).weight();
    assert!((email - 20.70).abs() < 0.01, "{email}");
    assert!(m.level(Field::Phone, Level::Exact).weight() > 16.0);
}

#[test]
fn matching_decide_thresholds_and_guard() {
    let mut t = MatchModel::prior();
    t.prior_log2_odds = 0.0;
    t.sure_probability = 0.75; // log2 odds 1.58
    t.possible_probability = 0.5; // log2 odds 0
    let ev = |score: f64, guard: bool| MatchEvidence {
        score,
        probability: t.probability(score),
        household_guard: guard,
        comparisons: vec![],
    };
    assert_eq!(decide(&ev(1.6, false), &t), MatchDecision::Sure);
    assert_eq!(decide(&ev(1.5, false), &t), MatchDecision::Possible);
    assert_eq!(decide(&ev(0.0, false), &t), MatchDecision::Possible);
    assert_eq!(decide(&ev(-0.01, false), &t), MatchDecision::Distinct);
    assert_eq!(decide(&ev(50.0, true), &t), MatchDecision::Possible);
    assert_eq!(decide(&ev(-5.0, true), &t), MatchDecision::Distinct);
    // The guard comes from the comparisons.
    let guarded = |a: &[(&'static str, &'static str)], b: &[(&'static str, &'static str)]| {
        compare(&rec(a), &rec(b)).household_guard
    };
    assert!(guarded(&[("first", "Mary")], &[("first", "Peter")]));
    assert!(guarded(&[("dob", "1970-01-01")], &[("dob", "1999-09-09")]));
    assert!(!guarded(&[("first", "Lisa")], &[("first", "Lusa")]));
    assert!(!guarded(
        &[("first", "Smith"), ("last", "John")],
        &[("first", "John"), ("last", "Smith")]
    ));
    assert!(!guarded(&[("dob", "1970-01-02")], &[("dob", "1970-02-01")]));
    // Different surnames: two people, unless the e-mail agrees (a married name).
    assert!(guarded(&[("last", "Smith")], &[("last", "Jones")]));
    assert!(!guarded(
        &[("last", "Smith"), ("email", "ann@x.org")],
        &[("last", "Jones"), ("email", "ann@x.org")]
    ));
    let mut nan = MatchModel::prior();
    nan.sure_probability = f64::NAN;
    nan.possible_probability = f64::NAN;
    assert_eq!(decide(&ev(50.0, false), &nan), MatchDecision::Distinct);
}

#[test]
fn matching_guard_holds_nicknames_that_are_names_of_their_own() {
    let mut m = MatchModel::prior();
    let mut tf = crate::matching::TermFrequencies::new(Field::FirstName, 10_000);
    tf.values.insert("henry".into(), 80);
    tf.values.insert("harry".into(), 60);
    tf.values.insert("robert".into(), 200);
    tf.values.insert("bob".into(), 2);
    m.term_frequencies.push(tf);
    let at_home = |first: &'static str, dob: Option<&'static str>| {
        let mut fields = vec![
            ("first", first),
            ("last", "Phillips"),
            ("street", "24 Station Road"),
            ("postal", "B15 5EW"),
            ("country", "GB"),
        ];
        fields.extend(dob.map(|d| ("dob", d)));
        rec(&fields)
    };
    // Henry and Harry, both common names here, at one address: perhaps father and son.
    let (henry, harry) = (at_home("Henry", None), at_home("Harry", None));
    let e = super::compare(&henry, &harry, &m);
    assert!(e.household_guard, "{e:?}");
    assert_eq!(decide(&e, &m), MatchDecision::Possible);
    // Held back, but not shown to be two people: a record sure for both links them.
    assert!(!shown_apart(&henry, &harry, &m));
    // The same date of birth says it is one person.
    let e = super::compare(
        &at_home("Henry", Some("1950-01-02")),
        &at_home("Harry", Some("1950-01-02")),
        &m,
    );
    assert!(!e.household_guard, "{e:?}");
    assert_eq!(decide(&e, &m), MatchDecision::Sure);
    // Bob, rare here, is Robert's nickname.
    let e = super::compare(&at_home("Robert", None), &at_home("Bob", None), &m);
    assert!(!e.household_guard, "{e:?}");
    assert_eq!(decide(&e, &m), MatchDecision::Sure);
}

#[test]
fn matching_best_match_picks_the_strongest_candidate() {
    let t = MatchModel::prior();
    let incoming = rec(&[
        ("first", "John"),
        ("last", "Smith"),
        ("street", "12 High St"),
        ("postal", "SW1A 1AA"),
        ("phone", "+442079460000"),
    ]);
    let wife = rec(&[
        ("first", "Mary"),
        ("last", "Smith"),
        ("street", "12 High Street"),
        ("postal", "SW1A 1AA"),
        ("phone", "+442079460000"),
        ("dob", "1970-01-01"),
    ]);
    let him = rec(&[
        ("first", "Jon"),
        ("last", "Smith"),
        ("postal", "SW1A 1AA"),
        ("street", "12 High Street"),
    ]);
    let stranger = rec(&[("first", "Alice"), ("last", "Nguyen"), ("postal", "94110")]);
    // The wife scores higher (shared phone) but is capped at Possible; he is Sure.
    assert!(compare(&incoming, &wife).score > compare(&incoming, &him).score);
    let r = best_match(
        &incoming,
        [("wife", &wife), ("him", &him), ("stranger", &stranger)],
        &t,
    )
    .expect("a match");
    assert_eq!(r.candidate, "him");
    assert_eq!(r.decision, MatchDecision::Sure);
    assert_eq!(r.evidence, compare(&incoming, &him));

    let r = best_match(&incoming, [(1, &wife), (2, &stranger)], &t).expect("possible");
    assert_eq!((r.candidate, r.decision), (1, MatchDecision::Possible));

    assert!(best_match(&incoming, [(1, &stranger)], &t).is_none());
    assert!(best_match(&incoming, Vec::<(u8, &MatchRecord)>::new(), &t).is_none());

    // Ties keep the first candidate.
    let r = best_match(&incoming, [("a", &him), ("b", &him)], &t).expect("a match");
    assert_eq!(r.candidate, "a");
    // Higher score wins among equal decisions.
    let him_exact = rec(&[
        ("first", "John"),
        ("last", "Smith"),
        ("postal", "SW1A 1AA"),
        ("street", "12 High Street"),
    ]);
    let r = best_match(&incoming, [("a", &him), ("b", &him_exact)], &t).expect("a match");
    assert_eq!(r.candidate, "b");
}

#[test]
fn matching_blocking_keys_shape() {
    let r = rec(&[
        ("email", "jane.doe@acme.com"),
        ("phone", "+447700900123"),
        ("first", "Jane"),
        ("last", "Doe"),
        ("company", "acme"),
        ("domain", "acme.com"),
        ("street", "Flat 2, 12 High Street"),
        ("postal", "SW1A 1AA"),
        ("city", "London"),
        ("country", "GB"),
        ("dob", "1980-04-12"),
    ]);
    let keys = blocking_keys(&r);
    assert_eq!(
        keys,
        [
            "l:jane.doe",
            "e:jane.doe@acme.com",
            "p:+447700900123",
            "n:D000:SW1A1AA",
            "a:SW1A1AA:12",
            "r:SW1A1AA:highst",
            "t:london:12:D000",
            "s:london:highst:12",
            "y:D000:london:j",
            "f:doe:jane",
            "m:jane:SW1A1AA",
            "c:acme:jD000",
            "k:acme:jane",
            "b:1980-04-12:D000",
            "g:1980-04-12:jane",
        ]
    );
    assert_eq!(keys, blocking_keys(&r.clone()), "deterministic");
    // Training also samples the wide surname + city block and the web domain block
    // capture does not use.
    let training = super::blocking::training_keys(&r);
    let wide: Vec<&String> = training.iter().filter(|k| !keys.contains(k)).collect();
    assert_eq!(wide, ["w:D000:london", "d:acme.com:jD000"]);
    assert!(training
        .iter()
        .all(|k| wide.contains(&k) || keys.contains(k)));
    assert!(blocking_keys(&MatchRecord::default()).is_empty());
    // Country, city or first name alone never make a key.
    let broad = rec(&[("first", "John"), ("country", "GB"), ("city", "London")]);
    assert!(blocking_keys(&broad).is_empty());
    let mut unique = keys.clone();
    unique.dedup();
    assert_eq!(unique.len(), keys.len());
}

#[test]
fn matching_blocking_tolerates_surname_typos() {
    for (x, y) in [
        ("Smith", "Smyth"),
        ("Johnson", "Jonhson"),
        ("Müller", "Mueller"),
        ("Meyer", "Meier"),
    ] {
        let a = rec(&[("last", x), ("postal", "10115")]);
        let b = rec(&[("last", y), ("postal", "10 115")]);
        let (ka, kb) = (blocking_keys(&a), blocking_keys(&b));
        assert!(ka.iter().any(|k| kb.contains(k)), "{x}/{y}: {ka:?} {kb:?}");
    }
}

#[test]
fn matching_soundex_codes() {
    for (name, code) in [
        ("robert", "R163"),
        ("rupert", "R163"),
        ("rubin", "R150"),
        ("ashcraft", "A261"),
        ("tymczak", "T522"),
        ("pfister", "P236"),
        ("smith", "S530"),
        ("smyth", "S530"),
        ("lee", "L000"),
        ("иванов", "иван"),
    ] {
        assert_eq!(surname_code(name).as_deref(), Some(code), "{name}");
    }
    assert_eq!(surname_code(""), None);
}

#[test]
fn matching_from_lead_drops_unparsed_phone() {
    let mut lead = NormalizedLead {
        first_name: Some("Ann".into()),
        email_key: Some("ann@x.com".into()),
        phone: Some("call me maybe".into()),
        phone_valid: false,
        country: Some("DE".into()),
        ..NormalizedLead::default()
    };
    let r = MatchRecord::from_lead(&lead);
    assert_eq!(r.phone, None);
    assert_eq!(r.first_name.as_deref(), Some("Ann"));
    assert_eq!(r.email_key.as_deref(), Some("ann@x.com"));
    assert_eq!(r.country.as_deref(), Some("DE"));
    lead.phone = Some("+4930123456".into());
    lead.phone_valid = true;
    assert_eq!(
        MatchRecord::from_lead(&lead).phone.as_deref(),
        Some("+4930123456")
    );
}

#[test]
fn matching_serde_names() {
    assert_eq!(
        serde_json::to_string(&MatchDecision::Possible).unwrap(),
        "\"possible\""
    );
    assert_eq!(
        serde_json::to_string(&ComparisonOutcome::Partial).unwrap(),
        "\"partial\""
    );
    let e = compare(&rec(&[("first", "Jon")]), &rec(&[("first", "John")]));
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(json["comparisons"][0]["field"], "first_name");
    assert_eq!(json["comparisons"][0]["outcome"], "partial");
    let back: MatchEvidence = serde_json::from_value(json).unwrap();
    assert_eq!(back, e);
}

#[test]
fn matching_odd_input_does_not_panic() {
    let odd = [
        "",
        " ",
        "-",
        "''",
        "ß",
        "ẞ",
        "😀",
        "e\u{301}",
        "\u{301}",
        "12",
        "1st",
        "flat",
        "straße",
        "strasse",
        "0000-00-00",
        "1980-04-1",
        "ǅ",
        "İstanbul",
        "a\u{0}b",
        "\u{200b}",
        "12 12 12 12",
        "Straße 5 a b c",
        "日本語の住所 1-2-3",
    ];
    for x in odd {
        for y in odd {
            let a = rec(&[
                ("email", x),
                ("phone", x),
                ("first", x),
                ("last", x),
                ("company", x),
                ("domain", x),
                ("street", x),
                ("postal", x),
                ("city", x),
                ("country", x),
                ("dob", x),
            ]);
            let b = rec(&[
                ("first", y),
                ("last", y),
                ("street", y),
                ("postal", y),
                ("dob", y),
                ("city", y),
            ]);
            let e = compare(&a, &b);
            assert!(e.score.is_finite());
            let _ = decide(&e, &MatchModel::prior());
            let _ = blocking_keys(&a);
            let _ = blocking_keys(&b);
        }
    }
}

#[test]
fn matching_same_street_helper() {
    assert!(same_street("12 High Street", "12 high st."));
    assert!(same_street("Hauptstraße 5", "Hauptstr. 5"));
    assert!(!same_street("12 High Street", "14 High Street"));
}

#[test]
fn email_and_phone_keys_are_strong_and_nothing_else_is() {
    let r = MatchRecord {
        email_key: Some("jane@example.com".into()),
        phone: Some("+442079460958".into()),
        first_name: Some("Jane".into()),
        last_name: Some("Doe".into()),
        company_key: Some("acme".into()),
        domain: Some("acme.example".into()),
        street: Some("12 High Street".into()),
        postal_code: Some("SW1A 1AA".into()),
        city: Some("London".into()),
        ..Default::default()
    };
    let keys = blocking_keys(&r);
    let strong: Vec<&String> = keys.iter().filter(|k| is_strong_key(k)).collect();
    assert_eq!(strong, vec!["e:jane@example.com", "p:+442079460958"]);
    assert!(keys.len() > strong.len());
}

#[test]
fn each_pass_has_its_block_cap() {
    // Strong keys are used whatever their size.
    for key in ["e:jane@example.com", "p:+442079460958"] {
        assert_eq!(block_cap(key), None);
        assert!(block_usable(key, 100_000));
    }
    // A full name, an e-mail local part or a surname and initial in one city shared
    // by many leads is a common name; an address shared by many, an office.
    for key in [
        "f:doe:jane",
        "l:jane.doe",
        "y:D000:london:j",
        "s:london:highst:12",
    ] {
        assert_eq!(block_cap(key), Some(MAX_NAME_BLOCK));
        assert!(block_usable(key, MAX_NAME_BLOCK));
        assert!(!block_usable(key, MAX_NAME_BLOCK + 1));
    }
    // The other weak passes keep the wider cap.
    for key in ["n:D000:sw1a1aa", "c:acme:jD000", "r:sw1a1aa:high"] {
        assert_eq!(block_cap(key), Some(MAX_WEAK_BLOCK));
        assert!(block_usable(key, MAX_WEAK_BLOCK));
        assert!(!block_usable(key, MAX_WEAK_BLOCK + 1));
    }
    // One first name at one company: past a handful, a large employer's namesakes.
    assert_eq!(block_cap("k:acme:jane"), Some(MAX_COLLEAGUE_BLOCK));
    assert!(!block_usable("k:acme:jane", MAX_COLLEAGUE_BLOCK + 1));
    const { assert!(MAX_COLLEAGUE_BLOCK < MAX_NAME_BLOCK && MAX_NAME_BLOCK < MAX_WEAK_BLOCK) };
}

mod properties {
    use super::super::*;
    use proptest::prelude::*;

    fn value(pool: &'static [&'static str]) -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            1 => Just(None),
            3 => proptest::sample::select(pool).prop_map(|s| Some(s.to_string())),
            1 => "[a-zA-Zéü' -]{0,12}".prop_map(Some),
        ]
    }

    prop_compose! {
        fn record()(
            email in value(&["ann@x.org", "bob@y.org", "info@acme.example.com"]),
            phone in value(&["+4930123456", "+442079460000"]),
            first in value(&["Ann", "Anne", "Bob", "Robert", "Mary", "Mark", "J"]),
            last in value(&["Smith", "Smyth", "Müller", "Mueller", "Nguyen"]),
            company in value(&["acme", "acme systems", "contoso"]),
            street in value(&["12 High Street", "12 High St", "14 High Street", "High Street"]),
            postal in value(&["SW1A 1AA", "SW1A 2BB", "10115"]),
            city in value(&["London", "Berlin"]),
            country in value(&["GB", "DE"]),
            dob in value(&["1980-04-12", "1980-12-04", "1975-01-30"]),
        ) -> MatchRecord {
            MatchRecord {
                email_key: email,
                phone,
                first_name: first,
                last_name: last,
                company_key: company,
                domain: None,
                street,
                postal_code: postal,
                city,
                country,
                date_of_birth: dob,
            }
        }
    }

    /// Whether a record carries enough to identify a person on its own: an e-mail, a
    /// phone with a name (a phone alone is shared by households and switchboards), or
    /// a full name with an address or a date of birth.
    fn identifiable(r: &MatchRecord) -> bool {
        let has = |v: &Option<String>| {
            v.as_deref()
                .is_some_and(|s| s.chars().any(char::is_alphanumeric))
        };
        let full_name = has(&r.first_name) && has(&r.last_name);
        let postal_letters = r
            .postal_code
            .as_deref()
            .is_some_and(|s| s.chars().filter(|c| c.is_alphanumeric()).count() >= 3);
        has(&r.email_key)
            || (has(&r.phone) && (has(&r.first_name) || has(&r.last_name)))
            || (full_name
                && has(&r.street)
                && postal_letters
                && has(&r
                    .street
                    .clone()
                    .filter(|s| s.chars().any(char::is_alphabetic))))
            || (full_name && has(&r.date_of_birth))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn matching_is_symmetric(a in record(), b in record()) {
            let model = MatchModel::prior();
            let ab = compare(&a, &b, &model);
            let ba = compare(&b, &a, &model);
            prop_assert!((ab.score - ba.score).abs() < 1e-9, "{} vs {}", ab.score, ba.score);
            prop_assert_eq!(ab.household_guard, ba.household_guard);
            prop_assert_eq!(decide(&ab, &model), decide(&ba, &model));
            let levels = |e: &MatchEvidence| e.comparisons.iter().map(|c| (c.field.clone(), c.level)).collect::<Vec<_>>();
            prop_assert_eq!(levels(&ab), levels(&ba));
        }

        #[test]
        fn weights_always_add_up_to_the_score(a in record(), b in record()) {
            let e = compare(&a, &b, &MatchModel::prior());
            let sum: f64 = e.comparisons.iter().map(|c| c.weight).sum();
            prop_assert!((sum - e.score).abs() < 1e-9);
            prop_assert!(e.score.is_finite() && (0.0..=1.0).contains(&e.probability));
        }

        #[test]
        fn an_identical_record_always_merges(r in record(), others in proptest::collection::vec(record(), 0..5)) {
            prop_assume!(identifiable(&r));
            let model = MatchModel::prior();
            prop_assert_eq!(decide(&compare(&r, &r, &model), &model), MatchDecision::Sure);
            // Among other candidates, the identical one is found sure, and it shares a key.
            let mut candidates: Vec<(usize, &MatchRecord)> = others.iter().enumerate().collect();
            candidates.push((others.len(), &r));
            let best = best_match(&r, candidates, &model).expect("a match");
            prop_assert_eq!(best.decision, MatchDecision::Sure);
            let keys = blocking_keys(&r);
            prop_assert!(!keys.is_empty());
        }
    }
}

#[test]
fn matching_a_record_sure_for_two_household_members_is_only_possible() {
    let model = MatchModel::prior();
    // A family mailbox: without it a letter naming no one is never sure of anyone.
    let member = |first: &str| MatchRecord {
        email_key: Some("goldbergs@example.org".into()),
        first_name: Some(first.into()),
        last_name: Some("Goldberg".into()),
        street: Some("1422 Lakeview Road".into()),
        postal_code: Some("60613".into()),
        city: Some("Chicago".into()),
        ..Default::default()
    };
    let (emily, david) = (member("Emily"), member("David"));
    let letter = MatchRecord {
        first_name: None,
        ..member("x")
    };
    // Alone, either member is a sure match for the nameless letter…
    let r = best_match(&letter, [(1, &emily)], &model).expect("a match");
    assert_eq!(r.decision, MatchDecision::Sure);
    // …but with both on file it could be either.
    let r = best_match(&letter, [(1, &emily), (2, &david)], &model).expect("a match");
    assert_eq!(r.decision, MatchDecision::Possible);
    // Two records of one person are no ambiguity.
    let emily_again = member("Emily");
    let r = best_match(&letter, [(1, &emily), (3, &emily_again)], &model).expect("a match");
    assert_eq!(r.decision, MatchDecision::Sure);
}

#[test]
fn matching_rank_matches_agrees_with_best_match_and_all_matches() {
    let model = MatchModel::prior();
    let member = |first: Option<&str>, street: &str| MatchRecord {
        email_key: Some("goldbergs@example.org".into()),
        first_name: first.map(Into::into),
        last_name: Some("Goldberg".into()),
        street: Some(street.into()),
        postal_code: Some("60613".into()),
        city: Some("Chicago".into()),
        ..Default::default()
    };
    let emily = member(Some("Emily"), "1422 Lakeview Road");
    let emily_typo = member(Some("Emiyl"), "1422 Lakeveiw Road");
    let david = member(Some("David"), "1422 Lakeview Road");
    let stranger = rec(&[("first", "Alice"), ("last", "Nguyen"), ("postal", "94110")]);
    let letter = member(None, "1422 Lakeview Road");
    let pool = [
        (1, &emily),
        (2, &emily_typo),
        (3, &david),
        (4, &stranger),
        (5, &letter),
    ];
    // Every incoming record against every subset of the pool, in the pool's order.
    for incoming in [&emily, &emily_typo, &david, &stranger, &letter] {
        for mask in 0u32..(1 << pool.len()) {
            let subset: Vec<(i32, &MatchRecord)> = pool
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, c)| *c)
                .collect();
            let ranked = rank_matches(incoming, subset.iter().copied(), &model);
            assert_eq!(
                ranked.best,
                best_match(incoming, subset.iter().copied(), &model)
            );
            let all = all_matches(incoming, subset.iter().copied(), &model);
            assert_eq!(ranked.all, all);
            // The best is the first listed, possibly held back to Possible.
            match (&ranked.best, all.first()) {
                (Some(b), Some(f)) => {
                    assert_eq!((&b.candidate, &b.evidence), (&f.candidate, &f.evidence));
                }
                (None, None) => {}
                other => panic!("best and all disagree: {other:?}"),
            }
        }
    }
    // The nameless letter with both members on file: listed as sure for each, decided
    // possible as the best.
    let ranked = rank_matches(&letter, [(1, &emily), (3, &david)], &model);
    assert_eq!(
        ranked.best.map(|b| b.decision),
        Some(MatchDecision::Possible)
    );
    assert!(ranked.all.iter().all(|m| m.decision == MatchDecision::Sure));
}

#[test]
fn matching_a_lead_without_a_first_name_is_not_a_household_member() {
    // Found by the service's tests: a record sure for "Ines" with her e-mail and for
    // "Moreau" with her phone and date of birth. The two leads cannot be told apart
    // (one has no first name), which holds them back from a sure merge with each
    // other, but nothing shows them to be two people: the record is not ambiguous.
    let model = MatchModel::prior();
    let by_mail = rec(&[("first", "Ines"), ("email", "ines.moreau@acme.example.com")]);
    let by_phone = rec(&[
        ("last", "Moreau"),
        ("phone", "+33142685300"),
        ("dob", "1984-06-11"),
    ]);
    let record = rec(&[
        ("first", "Ines"),
        ("last", "Moreau"),
        ("email", "ines.moreau@acme.example.com"),
        ("phone", "+33142685300"),
        ("dob", "1984-06-11"),
    ]);
    assert!(compare(&by_mail, &by_phone).household_guard);
    assert!(!shown_apart(&by_mail, &by_phone, &model));
    let all = all_matches(&record, [(0, &by_mail), (1, &by_phone)], &model);
    assert!(
        all.iter().all(|m| m.decision == MatchDecision::Sure),
        "{all:?}"
    );
    let best = best_match(&record, [(0, &by_mail), (1, &by_phone)], &model).expect("a match");
    assert_eq!(best.decision, MatchDecision::Sure);
    // Without the date of birth a surname and a phone could be anyone in the
    // household: only possible for that lead, and the e-mail's lead is the match.
    let by_phone = rec(&[("last", "Moreau"), ("phone", "+33142685300")]);
    let all = all_matches(&record, [(0, &by_mail), (1, &by_phone)], &model);
    assert_eq!(
        all.iter()
            .map(|m| (m.candidate, m.decision))
            .collect::<Vec<_>>(),
        [(0, MatchDecision::Sure), (1, MatchDecision::Possible)]
    );
    // Two members told apart by their first names are: the household's letter.
    let emily = rec(&[
        ("first", "Emily"),
        ("last", "Moreau"),
        ("phone", "+33142685300"),
    ]);
    let david = rec(&[
        ("first", "David"),
        ("last", "Moreau"),
        ("phone", "+33142685300"),
    ]);
    assert!(shown_apart(&emily, &david, &model));
}

#[test]
fn matching_a_record_on_file_as_it_is_is_not_ambiguous() {
    // Found by proptest: the same shared mailbox and company, on file as the record
    // itself and as two people told apart by their dates of birth. The two people tie
    // with the identical lead (the record has no date of birth), which must win: it is
    // the same record again, not a choice between two people.
    let model = MatchModel::prior();
    let record = |dob: Option<&str>, company: Option<&str>| MatchRecord {
        email_key: Some("info@acme.example.com".into()),
        company_key: company.map(Into::into),
        date_of_birth: dob.map(Into::into),
        ..Default::default()
    };
    let incoming = record(None, Some("contoso"));
    let one = record(Some("1980-04-12"), None);
    let other = record(Some("1975-01-30"), Some("contoso"));
    let best =
        best_match(&incoming, [(0, &one), (1, &other), (2, &incoming)], &model).expect("a match");
    assert_eq!((best.candidate, best.decision), (2, MatchDecision::Sure));
    // Without the identical lead the record could be either person.
    let best = best_match(&incoming, [(0, &one), (1, &other)], &model).expect("a match");
    assert_eq!(best.decision, MatchDecision::Possible);
}

#[test]
fn present_values_are_trimmed_and_blanks_are_missing() {
    use super::text::present;
    let cases: [(Option<&str>, Option<&str>); 12] = [
        (None, None),
        (Some(""), None),
        (Some("   "), None),
        (Some("\u{a0}\u{2003}"), None),
        (Some("a"), Some("a")),
        (Some("ab"), Some("ab")),
        (Some(" ab"), Some("ab")),
        (Some("ab\t"), Some("ab")),
        (Some("\u{a0}Zoë\u{a0}"), Some("Zoë")),
        (Some("Zoë"), Some("Zoë")),
        (Some("ü"), Some("ü")),
        (Some("a b"), Some("a b")),
    ];
    for (value, want) in cases {
        let value = value.map(str::to_string);
        assert_eq!(present(&value), want, "{value:?}");
    }
}

#[test]
fn review_pairs_link_the_records_lead_and_the_leads_it_is_sure_for() {
    use MatchDecision::{Possible, Sure};
    let m = |candidate: &'static str, decision| MatchResult {
        candidate,
        evidence: MatchEvidence {
            score: 0.0,
            probability: 0.0,
            household_guard: false,
            comparisons: Vec::new(),
        },
        decision,
    };
    let live = |c: &&str| c.trim_end_matches(char::is_numeric).to_string();
    let never_apart = |_: &&str, _: &&str| false;
    let matches = [m("a", Sure), m("b", Possible), m("c", Sure)];
    let pairs = |lead: &str, created, apart: &dyn Fn(&&str, &&str) -> bool| {
        review_pairs(&lead.to_string(), created, &matches, live, apart)
    };
    let p = |a: &str, b: &str, why| (a.to_string(), b.to_string(), why);
    use ReviewReason::{Matched, SureForBoth};

    // A created lead goes with every match; the two sure ones with each other.
    assert_eq!(
        pairs("n", true, &never_apart),
        [
            p("n", "a", Matched(0)),
            p("n", "b", Matched(1)),
            p("n", "c", Matched(2)),
            p("a", "c", SureForBoth(0, 2)),
        ]
    );
    // Merged into a: a with the possible match, and with the other sure one.
    assert_eq!(
        pairs("a", false, &never_apart),
        [p("a", "b", Matched(1)), p("a", "c", SureForBoth(0, 2))]
    );
    // Two household members, each sure for the record, are not linked.
    assert_eq!(
        pairs("a", false, &|x: &&str, y: &&str| (*x, *y) == ("a", "c")),
        [p("a", "b", Matched(1))]
    );
    // Two candidates of one lead (a merged-away lead, an alias) make no pair.
    let same_lead = [m("a1", Sure), m("a2", Sure)];
    assert!(review_pairs(&"a".to_string(), false, &same_lead, live, never_apart).is_empty());
}
