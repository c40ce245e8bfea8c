//! Blocking: the keys under which a record is filed for candidate lookup.
//!
//! Comparing an incoming lead with every stored lead does not scale, so only leads that
//! share a key are compared. One key per pass, several passes unioned: a pair is found
//! when any one pass puts both records under the same key, so each pass only has to
//! catch what the others miss (a surname typo that changes its Soundex code, a missing
//! house number, swapped names, a changed surname).

use super::text::{fold_into, postal_key, present, street_parts, surname_code};
use super::MatchRecord;

/// Largest block a weak key may form and still be used. A weak key (surname and
/// postcode, surname and domain …) shared by more leads than this says little about
/// identity and would flood matching with candidates, so it is skipped; the strong
/// keys (e-mail, phone) are always used, whatever their size.
pub const MAX_WEAK_BLOCK: usize = 64;

/// The form of the keys [`blocking_keys`] makes. Stored keys of another form are
/// rebuilt (`leadline matching reindex`, and at server start): bump this whenever a pass
/// is added, removed or changes its key. 1 was the eight passes before issue 10, 2
/// the fourteen passes with a surname + city block without the first initial, 3 the
/// surname + city block with the first initial, 4 street names with the French,
/// Spanish, Dutch and German short forms unified (`r` keys), 5 the web domain block
/// with the first initial (`d` keys) and the street + city (`s`) and company + first
/// name (`k`) blocks, 6 the web domain block left to training.
pub const BLOCKING_KEYS_VERSION: u32 = 6;

/// Largest block a name key may form and still be used: the full name (`f`), the
/// e-mail local part (`l`) and the surname code + city + initial (`y`). These passes
/// catch a person who moved, changed e-mail or left out the postcode, but a name
/// shared by more leads than this is a common one: it cannot make a pair sure on its
/// own, and comparing with every namesake was most of an import's comparisons
/// (BENCHMARKS.md: `y` alone gave 28 of 47 candidates per record at 267,000 leads).
/// The full address (`s`) has this cap too: an address more leads share is an office
/// or a block of flats.
pub const MAX_NAME_BLOCK: usize = 16;

/// Largest block of one first name at one company (`k`) still used. It catches a
/// misspelt surname at the same employer; past a handful of namesakes it is a large
/// employer's Johns (6 candidates per record at 267,000 leads with a cap of 16, 1.2
/// with this one).
pub const MAX_COLLEAGUE_BLOCK: usize = 8;

/// True for keys that identify a person on their own (e-mail key, E.164 phone).
pub fn is_strong_key(key: &str) -> bool {
    key.starts_with("e:") || key.starts_with("p:")
}

/// The largest block of `key`'s pass that is still used, or `None` for a strong key
/// (used whatever its size).
pub fn block_cap(key: &str) -> Option<usize> {
    if is_strong_key(key) {
        return None;
    }
    Some(match key.split_once(':').map_or("", |(pass, _)| pass) {
        "f" | "l" | "y" | "s" => MAX_NAME_BLOCK,
        "k" => MAX_COLLEAGUE_BLOCK,
        _ => MAX_WEAK_BLOCK,
    })
}

/// Whether a block of `size` leads under `key` is used for candidates (see
/// [`block_cap`]).
pub fn block_usable(key: &str, size: usize) -> bool {
    block_cap(key).is_none_or(|cap| size <= cap)
}

/// The blocking passes, by key prefix, with what each one catches.
pub const PASSES: &[(&str, &str)] = &[
    ("e", "e-mail key"),
    ("p", "E.164 phone"),
    ("n", "surname Soundex + postcode"),
    ("a", "postcode + house number"),
    (
        "r",
        "postcode + street name (no house number, changed surname)",
    ),
    ("t", "city + house number + surname Soundex (no postcode)"),
    (
        "s",
        "city + street name + house number (a postcode and a surname typo)",
    ),
    (
        "y",
        "surname Soundex + city + first initial (no postcode, no house number)",
    ),
    (
        "f",
        "first and last name, in either order (swapped names, another address)",
    ),
    (
        "m",
        "first name + postcode (a surname typo in its first letter)",
    ),
    ("c", "company + first initial + surname Soundex"),
    (
        "k",
        "company + first name (a surname typo that changes its Soundex code)",
    ),
    ("l", "e-mail local part (the same person at another domain)"),
    ("b", "date of birth + surname Soundex"),
    ("g", "date of birth + first name (a changed surname)"),
];

/// Keys under which a record is filed (all parts folded; `<sx>` is the Soundex code of
/// the last name, which tolerates typos such as Smith/Smyth and Johnson/Jonhson). See
/// [`PASSES`]. Nothing is keyed on country, city, first name or company alone, which
/// would put a large share of all leads into one block; callers skip weak blocks
/// larger than their pass's cap ([`block_cap`]).
pub fn blocking_keys(r: &MatchRecord) -> Vec<String> {
    keys_of(r, false)
}

/// The keys training samples its pairs from: [`blocking_keys`], the wide surname +
/// city block (`w`) and the web domain block (`d`) that capture no longer uses. EM learns what a level says from the
/// pairs it sees; without the wide block those are mostly neighbours and namesakes, and
/// the weights it learned halved recall on a names-and-address list (BENCHMARKS.md).
pub(crate) fn training_keys(r: &MatchRecord) -> Vec<String> {
    keys_of(r, true)
}

fn keys_of(r: &MatchRecord, for_training: bool) -> Vec<String> {
    let mut keys = Vec::with_capacity(15);
    let mut buf = String::new();

    let last = present(&r.last_name)
        .map(|l| {
            fold_into(l, &mut buf);
            buf.clone()
        })
        .filter(|l| !l.is_empty());
    let first = present(&r.first_name)
        .map(|f| {
            fold_into(f, &mut buf);
            buf.clone()
        })
        .filter(|f| !f.is_empty());
    let surname = last.as_deref().and_then(surname_code);
    let postal = present(&r.postal_code)
        .map(postal_key)
        .filter(|p| !p.is_empty());
    let street = present(&r.street).map(street_parts);
    let house = street.as_ref().and_then(|s| s.first_number());
    let street_name = street
        .as_ref()
        .map(|s| s.name.clone())
        .filter(|n| n.chars().count() >= 3);
    let city = present(&r.city)
        .map(|c| {
            fold_into(c, &mut buf);
            buf.clone()
        })
        .filter(|c| !c.is_empty());

    if let Some(e) = present(&r.email_key) {
        let e = e.to_lowercase();
        if let Some((local, _)) = e.split_once('@') {
            // Long, personal-looking local parts only: "info" or "sales" name no one.
            if local.chars().count() >= 6 && local.chars().any(|c| c.is_alphabetic()) {
                keys.push(format!("l:{local}"));
            }
        }
        keys.push(format!("e:{e}"));
    }
    if let Some(p) = present(&r.phone) {
        keys.push(format!("p:{p}"));
    }
    if let (Some(sx), Some(pc)) = (&surname, &postal) {
        keys.push(format!("n:{sx}:{pc}"));
    }
    if let (Some(pc), Some(h)) = (&postal, &house) {
        keys.push(format!("a:{pc}:{h}"));
    }
    if let (Some(pc), Some(name)) = (&postal, &street_name) {
        keys.push(format!("r:{pc}:{name}"));
    }
    if let (Some(city), Some(h), Some(sx)) = (&city, &house, &surname) {
        keys.push(format!("t:{city}:{h}:{sx}"));
    }
    if let (Some(city), Some(name), Some(h)) = (&city, &street_name, &house) {
        keys.push(format!("s:{city}:{name}:{h}"));
    }
    let initial = first
        .as_deref()
        .and_then(|f| f.chars().next())
        .unwrap_or('_');
    if let (Some(sx), Some(city)) = (&surname, &city) {
        // With the first initial: a surname code and a city alone put most of a
        // town's Smiths into one block, for a handful of pairs no other key finds.
        keys.push(format!("y:{sx}:{city}:{initial}"));
        if for_training {
            keys.push(format!("w:{sx}:{city}"));
        }
    }
    if let (Some(f), Some(l)) = (&first, &last) {
        // Initials make huge blocks and say little: full names only.
        if f.chars().count() > 1 {
            let (x, y) = if f <= l { (f, l) } else { (l, f) };
            keys.push(format!("f:{x}:{y}"));
        }
    }
    if let (Some(f), Some(pc)) = (&first, &postal) {
        if f.chars().count() > 1 {
            keys.push(format!("m:{f}:{pc}"));
        }
    }
    if let (Some(d), Some(sx), true) = (present(&r.domain), &surname, for_training) {
        // Training only: on both generated B2B lists no true pair shares this key and
        // no other (the company block finds them all), while every B2B lead filed
        // under it cost a key written and looked up on every capture. EM still learns
        // the web domain's weight from its pairs.
        keys.push(format!("d:{}:{initial}{sx}", d.to_lowercase()));
    }
    if let Some(c) = present(&r.company_key) {
        let c = c.to_lowercase();
        if let Some(sx) = &surname {
            keys.push(format!("c:{c}:{initial}{sx}"));
        }
        if let Some(f) = first.as_ref().filter(|f| f.chars().count() > 1) {
            keys.push(format!("k:{c}:{f}"));
        }
    }
    if let Some(dob) = present(&r.date_of_birth) {
        if let Some(sx) = &surname {
            keys.push(format!("b:{dob}:{sx}"));
        }
        if let Some(f) = &first {
            keys.push(format!("g:{dob}:{f}"));
        }
    }
    keys
}
