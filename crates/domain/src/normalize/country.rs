//! Countries: ISO 3166-1 alpha-2 from codes, English names and common local names.

use super::text::fold;
use celes::{Country, LookupTable};
use std::collections::HashMap;
use std::sync::OnceLock;

/// Names people write that the ISO table (via `celes`) does not know: abbreviations,
/// the countries of the United Kingdom, and endonyms common in European lead lists.
/// Keys are folded like [`country_key`] does.
const ALIASES: &[(&str, &str)] = &[
    ("uk", "GB"),
    ("britain", "GB"),
    ("wales", "GB"),
    ("cymru", "GB"),
    ("ukgreatbritain", "GB"),
    ("grossbritannien", "GB"),
    ("vereinigteskonigreich", "GB"),
    ("royaumeuni", "GB"),
    ("usofa", "US"),
    ("unitedstatesamerica", "US"),
    ("vereinigtestaaten", "US"),
    ("etatsunis", "US"),
    ("estadosunidos", "US"),
    ("deutschland", "DE"),
    ("allemagne", "DE"),
    ("brd", "DE"),
    ("nederland", "NL"),
    ("niederlande", "NL"),
    ("paysbas", "NL"),
    ("espana", "ES"),
    ("spanien", "ES"),
    ("espagne", "ES"),
    ("schweiz", "CH"),
    ("suisse", "CH"),
    ("svizzera", "CH"),
    ("svizra", "CH"),
    ("osterreich", "AT"),
    ("oesterreich", "AT"),
    ("autriche", "AT"),
    ("frankreich", "FR"),
    ("italia", "IT"),
    ("italien", "IT"),
    ("italie", "IT"),
    ("belgique", "BE"),
    ("belgie", "BE"),
    ("belgien", "BE"),
    ("luxemburg", "LU"),
    ("danmark", "DK"),
    ("danemark", "DK"),
    ("sverige", "SE"),
    ("schweden", "SE"),
    ("norge", "NO"),
    ("norwegen", "NO"),
    ("suomi", "FI"),
    ("finnland", "FI"),
    ("eire", "IE"),
    ("irland", "IE"),
    ("polska", "PL"),
    ("polen", "PL"),
    ("cesko", "CZ"),
    ("ceskarepublika", "CZ"),
    ("tschechien", "CZ"),
    ("slovensko", "SK"),
    ("magyarorszag", "HU"),
    ("ungarn", "HU"),
    ("hellas", "GR"),
    ("ellada", "GR"),
    ("griechenland", "GR"),
    ("brasil", "BR"),
    ("nippon", "JP"),
    ("nihon", "JP"),
    ("zhongguo", "CN"),
    ("prc", "CN"),
    ("rossiya", "RU"),
    ("korea", "KR"),
    ("uae", "AE"),
    ("emirates", "AE"),
    ("drc", "CD"),
    ("drcongo", "CD"),
    ("congokinshasa", "CD"),
    ("congobrazzaville", "CG"),
    ("kosovo", "XK"),
];

/// Folds a country name to a lookup key: accents, case, spaces and punctuation removed
/// ("Côte d'Ivoire" -> "cotedivoire", "U.S.A." -> "usa").
fn country_key(raw: &str) -> String {
    fold(raw)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

/// Reads a country as ISO 3166-1 alpha-2 ("DE") from an alpha-2 or alpha-3 code, a
/// numeric code, its English name or a common variant ("USA", "UK", "Holland",
/// "Deutschland", "Côte d'Ivoire"), ignoring case, accents and punctuation.
/// `None` when it is not recognised.
pub fn normalize_country(raw: &str) -> Option<String> {
    if raw.len() > 400 {
        return None;
    }
    let key = country_key(raw);
    if key.is_empty() {
        return None;
    }
    if let Some((_, code)) = ALIASES.iter().find(|(alias, _)| *alias == key) {
        return Some((*code).to_string());
    }
    lookup(&key).map(str::to_string)
}

/// Looks the key up in the ISO table: codes by their length, then names and aliases,
/// with and without a leading "the".
fn lookup(key: &str) -> Option<&'static str> {
    if key.bytes().all(|b| b.is_ascii_digit()) {
        return (key.len() <= 3)
            .then(|| Country::from_code(format!("{key:0>3}")).ok())
            .flatten()
            .map(|c| c.alpha2);
    }
    let by_code = match key.len() {
        2 => Country::from_alpha2(key).ok(),
        3 => Country::from_alpha3(key).ok(),
        _ => None,
    };
    let names = name_index();
    by_code
        .map(|c| c.alpha2)
        .or_else(|| names.get(key).copied())
        .or_else(|| key.strip_prefix("the").and_then(|k| names.get(k).copied()))
}

/// Every ISO name and `celes` alias, folded by [`country_key`], to its alpha-2 code.
/// Built once; folding our way (not `celes`' own) makes punctuation and accents in
/// official names ("Taiwan, Republic Of China", "Côte d'Ivoire") irrelevant.
fn name_index() -> &'static HashMap<String, &'static str> {
    static INDEX: OnceLock<HashMap<String, &'static str>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let countries = Country::get_countries();
        let official = countries
            .iter()
            .map(|c| (country_key(c.long_name), c.alpha2));
        let without_the: Vec<(String, &str)> = official
            .clone()
            .filter_map(|(key, code)| Some((key.strip_prefix("the")?.to_string(), code)))
            .collect();
        let aliases = countries
            .iter()
            .flat_map(|c| c.aliases.iter().map(|a| (country_key(a), c.alpha2)));
        // Earlier entries win: an official name beats another country's alias
        // ("Samoa" is WS, although American Samoa lists it as an alias).
        let mut index = HashMap::new();
        for (key, code) in official.chain(without_the).chain(aliases) {
            if !key.is_empty() {
                index.entry(key).or_insert(code);
            }
        }
        index
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_codes_names_and_variants() {
        let cases = [
            ("DE", "DE"),
            ("de", "DE"),
            (" us ", "US"),
            ("USA", "US"),
            ("usa", "US"),
            ("U.S.A.", "US"),
            ("U.S.", "US"),
            ("United States", "US"),
            ("United States of America", "US"),
            ("the united states of america", "US"),
            ("America", "US"),
            ("840", "US"),
            ("276", "DE"),
            ("40", "AT"),
            ("UK", "GB"),
            ("U.K.", "GB"),
            ("GB", "GB"),
            ("GBR", "GB"),
            ("Great Britain", "GB"),
            ("United Kingdom", "GB"),
            ("England", "GB"),
            ("Scotland", "GB"),
            ("Wales", "GB"),
            ("Northern Ireland", "GB"),
            ("Germany", "DE"),
            ("Deutschland", "DE"),
            ("DEU", "DE"),
            ("Holland", "NL"),
            ("The Netherlands", "NL"),
            ("Netherlands", "NL"),
            ("Nederland", "NL"),
            ("España", "ES"),
            ("ESPAÑA", "ES"),
            ("Spain", "ES"),
            ("Schweiz", "CH"),
            ("Suisse", "CH"),
            ("Switzerland", "CH"),
            ("Österreich", "AT"),
            ("Austria", "AT"),
            ("Côte d'Ivoire", "CI"),
            ("Cote d’Ivoire", "CI"),
            ("Ivory Coast", "CI"),
            ("France", "FR"),
            ("Italia", "IT"),
            ("Brasil", "BR"),
            ("Brazil", "BR"),
            ("Russia", "RU"),
            ("South Korea", "KR"),
            ("Korea", "KR"),
            ("North Korea", "KP"),
            ("Viet Nam", "VN"),
            ("Vietnam", "VN"),
            ("Czech Republic", "CZ"),
            ("Czechia", "CZ"),
            ("Türkiye", "TR"),
            ("Turkey", "TR"),
            ("Bolivia", "BO"),
            ("Gambia", "GM"),
            ("The Gambia", "GM"),
            ("Bahamas", "BS"),
            ("Philippines", "PH"),
            ("UAE", "AE"),
            ("United Arab Emirates", "AE"),
            ("India", "IN"),
            ("IN", "IN"),
            ("IND", "IN"),
            ("Australia", "AU"),
            ("Japan", "JP"),
            ("China", "CN"),
            ("Mexico", "MX"),
            ("México", "MX"),
            ("Canada", "CA"),
            ("Ireland", "IE"),
            ("Éire", "IE"),
            ("Åland Islands", "AX"),
            ("Curaçao", "CW"),
            ("Réunion", "RE"),
            ("São Tomé and Príncipe", "ST"),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize_country(raw).as_deref(), Some(want), "{raw:?}");
        }
    }

    #[test]
    fn unrecognised_is_none() {
        for raw in [
            "",
            "  ",
            "Narnia",
            "XX",
            "ZZZ",
            "999",
            "1234",
            "the",
            "...",
            "<script>alert(1)</script>",
            "Europe",
        ] {
            assert_eq!(normalize_country(raw), None, "{raw:?}");
        }
        assert_eq!(normalize_country(&"x".repeat(1 << 20)), None);
    }

    #[test]
    fn every_iso_code_round_trips() {
        for country in Country::get_countries() {
            assert_eq!(
                normalize_country(country.alpha2).as_deref(),
                Some(country.alpha2)
            );
            assert_eq!(
                normalize_country(country.alpha3).as_deref(),
                Some(country.alpha2)
            );
            assert_eq!(
                normalize_country(country.long_name).as_deref(),
                Some(country.alpha2),
                "{}",
                country.long_name
            );
        }
    }
}
