use super::*;
use crate::matching_eval::prepare;
use std::collections::BTreeMap;

fn tag_kind(tag: &str) -> &str {
    tag.split(':').next().unwrap_or(tag)
}

/// Applied corruptions per kind, over all records.
fn kind_counts(list: &LabelledList) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in &list.records {
        for t in &r.tags {
            *out.entry(tag_kind(t).to_string()).or_default() += 1;
        }
    }
    out
}

fn repeat_records(list: &LabelledList) -> usize {
    list.records.len() - list.persons.len()
}

#[test]
fn linkage_lists_are_deterministic_and_exactly_sized() {
    for records in [0, 1, 7, 500] {
        let a = consumer_list(&ConsumerConfig::new(records, 5));
        assert_eq!(a, consumer_list(&ConsumerConfig::new(records, 5)));
        assert_eq!(a.records.len(), records);
        let b = trade_show_list(&TradeShowConfig::new(records, 5));
        assert_eq!(b, trade_show_list(&TradeShowConfig::new(records, 5)));
        assert_eq!(b.records.len(), records);
    }
    let a = consumer_list(&ConsumerConfig::new(300, 1));
    let b = consumer_list(&ConsumerConfig::new(300, 2));
    assert_ne!(a.records, b.records);
    let a = trade_show_list(&TradeShowConfig::new(300, 1));
    let b = trade_show_list(&TradeShowConfig::new(300, 2));
    assert_ne!(a.records, b.records);
}

#[test]
fn linkage_truth_is_consistent() {
    for list in [
        consumer_list(&ConsumerConfig::new(3000, 9)),
        trade_show_list(&TradeShowConfig::new(3000, 9)),
    ] {
        let mut per_person = vec![0usize; list.persons.len()];
        let mut household_of = HashMap::new();
        for r in &list.records {
            per_person[r.person as usize] += 1;
            // A person belongs to one household.
            assert_eq!(
                *household_of.entry(r.person).or_insert(r.household),
                r.household
            );
        }
        assert!(per_person.iter().all(|&n| n >= 1), "{}", list.name);
        // Several records for some people, one for most.
        let repeated = per_person.iter().filter(|&&n| n > 1).count();
        let share = repeated as f64 / per_person.len() as f64;
        assert!((0.3..0.55).contains(&share), "{} {share}", list.name);
        // Exactly one clean copy... at least: every person's first record is clean,
        // and a repeat is clean only when it drew no corruption.
        let clean = list.records.iter().filter(|r| r.tags.is_empty()).count();
        assert!(clean >= list.persons.len(), "{}", list.name);
        // The order is shuffled: a person's records are not all adjacent.
        let adjacent = list
            .records
            .windows(2)
            .filter(|w| w[0].person == w[1].person)
            .count();
        assert!(adjacent < list.records.len() / 20, "{}", list.name);
    }
}

#[test]
fn linkage_records_all_normalise() {
    for list in [
        consumer_list(&ConsumerConfig::new(4000, 3)),
        trade_show_list(&TradeShowConfig::new(4000, 3)),
    ] {
        let p = prepare(&list);
        assert_eq!(p.rejected, 0, "{}", list.name);
        assert_eq!(p.dropped_fields, 0, "{}", list.name);
        let phones: Vec<_> = p
            .leads
            .iter()
            .flatten()
            .filter(|l| l.phone.is_some())
            .collect();
        assert!(!phones.is_empty());
        let valid = phones.iter().filter(|l| l.phone_valid).count();
        assert!(
            valid * 1000 >= phones.len() * 995,
            "{}: {valid} of {} phones parse",
            list.name,
            phones.len()
        );
        for person in &list.persons {
            assert!(normalize_ok(person), "{person:?}");
        }
    }
}

fn normalize_ok(input: &LeadInput) -> bool {
    crate::normalize::normalize_lead(input, &Default::default()).is_ok()
}

#[test]
fn linkage_corruptions_follow_the_configured_weights() {
    use Corruption::*;
    // Two kinds that always apply, 3 : 1, exactly one per repeat record.
    let mix = CorruptionMix {
        kinds: vec![(SwappedNames, 3), (NameCase, 1)],
        per_record: vec![0, 1],
    };
    let mut cfg = ConsumerConfig::new(6000, 11);
    cfg.mix = mix.clone();
    let consumer = consumer_list(&cfg);
    let mut cfg = TradeShowConfig::new(6000, 11);
    cfg.mix = mix;
    let b2b = trade_show_list(&cfg);
    for list in [consumer, b2b] {
        let counts = kind_counts(&list);
        let swapped = counts["swapped_names"] as f64;
        let case = counts["name_case"] as f64;
        assert_eq!(
            swapped + case,
            repeat_records(&list) as f64,
            "{}",
            list.name
        );
        let ratio = swapped / case;
        assert!((2.6..3.5).contains(&ratio), "{}: {ratio}", list.name);
        for r in &list.records {
            assert!(r.tags.len() <= 1);
        }
    }
}

#[test]
fn linkage_default_mixes_roughly_as_configured() {
    let consumer_cfg = ConsumerConfig::new(12_000, 4);
    let b2b_cfg = TradeShowConfig::new(12_000, 4);
    let lists = [
        (consumer_list(&consumer_cfg), consumer_cfg.mix.clone()),
        (trade_show_list(&b2b_cfg), b2b_cfg.mix.clone()),
    ];
    for (list, mix) in &lists {
        let counts = kind_counts(list);
        let applied: usize = counts.values().sum();
        let repeats = repeat_records(list);
        // Corruptions per repeat record: the mean of `per_record`.
        let want: f64 = mix
            .per_record
            .iter()
            .enumerate()
            .map(|(n, w)| n as f64 * f64::from(*w))
            .sum::<f64>()
            / f64::from(mix.per_record.iter().sum::<u32>());
        let got = applied as f64 / repeats as f64;
        assert!((got - want).abs() < 0.12, "{}: {got} vs {want}", list.name);
        // Every kind of the mix occurs.
        for (kind, _) in &mix.kinds {
            assert!(
                counts.get(kind.as_str()).copied().unwrap_or(0) > 0,
                "{}: no {}",
                list.name,
                kind.as_str()
            );
        }
        // Kinds that apply to nearly every record come out near their weight's share
        // (kinds that often cannot apply — nicknames, a phone to restyle — give way
        // to these, so the band is generous upwards).
        let total: u32 = mix.kinds.iter().map(|k| k.1).sum();
        for (kind, w) in &mix.kinds {
            if !matches!(
                kind,
                Corruption::NameTypo | Corruption::SwappedNames | Corruption::MissingField
            ) {
                continue;
            }
            let want = f64::from(*w) / f64::from(total);
            let got = counts[kind.as_str()] as f64 / applied as f64;
            assert!(
                got > want * 0.8 && got < want * 1.6,
                "{} {}: {got} vs {want}",
                list.name,
                kind.as_str()
            );
        }
    }
}

#[test]
fn linkage_consumer_households_share_surname_address_and_phone() {
    let list = consumer_list(&ConsumerConfig::new(8000, 21));
    let mut households: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for r in &list.records {
        let members = households.entry(r.household).or_default();
        if !members.contains(&(r.person as usize)) {
            members.push(r.person as usize);
        }
    }
    let shared: Vec<&Vec<usize>> = households.values().filter(|m| m.len() > 1).collect();
    let people_in_shared: usize = shared.iter().map(|m| m.len()).sum();
    assert!(
        people_in_shared * 2 > list.persons.len(),
        "most people live with someone: {people_in_shared} of {}",
        list.persons.len()
    );
    let mut same_surname = 0;
    let mut pairs = 0;
    let mut senior_junior = 0;
    for members in &shared {
        let head = &list.persons[members[0]];
        for &m in &members[1..] {
            let other = &list.persons[m];
            pairs += 1;
            assert_eq!(head.street, other.street);
            assert_eq!(head.postal_code, other.postal_code);
            assert_eq!(head.city, other.city);
            assert_eq!(head.phone, other.phone);
            same_surname += usize::from(head.last_name == other.last_name);
            if head.first_name == other.first_name {
                senior_junior += 1;
                // Only a date of birth tells them apart, so both always give one.
                assert!(head.date_of_birth.is_some() && other.date_of_birth.is_some());
                assert_ne!(head.date_of_birth, other.date_of_birth);
            }
        }
    }
    assert!(same_surname * 10 >= pairs * 9, "{same_surname} of {pairs}");
    assert!(senior_junior > 10, "{senior_junior}");
    // Different households never share an address.
    let mut addresses = HashMap::new();
    for r in &list.records {
        let p = &list.persons[r.person as usize];
        let key = (p.street.clone(), p.postal_code.clone(), p.country.clone());
        assert_eq!(*addresses.entry(key).or_insert(r.household), r.household);
    }
    // Consumer records carry no e-mail and mostly no phone; some a date of birth.
    assert!(list.records.iter().all(|r| r.input.email.is_none()));
    let phones = list
        .records
        .iter()
        .filter(|r| r.input.phone.is_some())
        .count();
    assert!(phones * 5 < list.records.len(), "{phones}");
    let dobs = list
        .records
        .iter()
        .filter(|r| r.input.date_of_birth.is_some())
        .count();
    assert!(dobs * 4 > list.records.len() && dobs * 4 < list.records.len() * 3);
}

#[test]
fn linkage_b2b_namesakes_differ_in_email_and_country() {
    let list = trade_show_list(&TradeShowConfig::new(12_000, 8));
    let mut groups: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for r in &list.records {
        let members = groups.entry(r.household).or_default();
        if !members.contains(&(r.person as usize)) {
            members.push(r.person as usize);
        }
    }
    let namesakes: Vec<&Vec<usize>> = groups.values().filter(|m| m.len() > 1).collect();
    assert!(namesakes.len() >= 20, "{}", namesakes.len());
    for members in namesakes {
        let people: Vec<&LeadInput> = members.iter().map(|&m| &list.persons[m]).collect();
        let emails: HashSet<_> = people.iter().map(|p| p.email.clone()).collect();
        let countries: HashSet<_> = people.iter().map(|p| p.country.clone()).collect();
        assert_eq!(emails.len(), people.len());
        assert_eq!(countries.len(), people.len());
        for p in &people[1..] {
            assert_eq!(p.first_name, people[0].first_name);
            assert_eq!(p.last_name, people[0].last_name);
            assert_eq!(p.company, people[0].company);
        }
    }
    // Outside the groups no two people share a name at one company.
    let mut seen = HashMap::new();
    for (id, p) in list.persons.iter().enumerate() {
        let household = list
            .records
            .iter()
            .find(|r| r.person as usize == id)
            .unwrap()
            .household;
        let key = (p.first_name.clone(), p.last_name.clone(), p.company.clone());
        assert_eq!(*seen.entry(key).or_insert(household), household);
    }
    // Some colleagues give the same switchboard number.
    let mut by_phone: HashMap<&str, HashSet<usize>> = HashMap::new();
    for (id, p) in list.persons.iter().enumerate() {
        if let Some(phone) = p.phone.as_deref() {
            by_phone.entry(phone).or_default().insert(id);
        }
    }
    assert!(by_phone.values().any(|ids| ids.len() > 1));
    // B2B records carry no postal address or date of birth.
    assert!(list
        .records
        .iter()
        .all(|r| r.input.street.is_none() && r.input.date_of_birth.is_none()));
    assert!(list
        .records
        .iter()
        .all(|r| r.input.company.is_some() || r.tags.iter().any(|t| t == "missing:company")));
}

#[test]
fn linkage_repeat_records_differ_from_the_clean_values() {
    let list = consumer_list(&ConsumerConfig::new(3000, 13));
    for r in &list.records {
        let clean = &list.persons[r.person as usize];
        for tag in &r.tags {
            let changed = match tag.split(':').nth(1).unwrap() {
                "first_name" => r.input.first_name != clean.first_name,
                "last_name" => r.input.last_name != clean.last_name,
                "name" => {
                    (r.input.first_name.clone(), r.input.last_name.clone())
                        != (clean.first_name.clone(), clean.last_name.clone())
                }
                "street" => r.input.street != clean.street,
                "postal_code" => r.input.postal_code != clean.postal_code,
                "city" => r.input.city.is_none(),
                "date_of_birth" => r.input.date_of_birth != clean.date_of_birth,
                "phone" => r.input.phone != clean.phone,
                other => panic!("unexpected field {other} in {tag}"),
            };
            assert!(changed, "{tag}: {:?} vs {:?}", r.input, clean);
        }
    }
}
