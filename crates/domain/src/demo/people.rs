//! Building blocks shared by the demo data set and the synthetic import file: phone
//! numbers in local writing styles, postal addresses, companies and e-mail addresses.

use super::tables::{CountryInfo, PhonePlan, StreetStyle, COUNTRIES};
use rand::rngs::StdRng;
use rand::Rng;

/// Picks one element of a non-empty static table.
pub(crate) fn pick<T: Copy>(rng: &mut StdRng, items: &[T]) -> T {
    items[rng.gen_range(0..items.len())]
}

/// Index by cumulative weights (all weights > 0).
pub(crate) fn weighted(rng: &mut StdRng, weights: &[u32]) -> usize {
    let total: u32 = weights.iter().sum();
    let mut roll = rng.gen_range(0..total.max(1));
    for (i, w) in weights.iter().enumerate() {
        if roll < *w {
            return i;
        }
        roll -= w;
    }
    weights.len().saturating_sub(1)
}

/// Folds a name to the ASCII letters an e-mail address or domain would use:
/// "Müller" -> "mueller", "O'Brien" -> "obrien", "van der Meer" -> "vandermeer".
pub(crate) fn ascii_fold(text: &str, out: &mut String) {
    for c in text.chars().flat_map(char::to_lowercase) {
        let folded: &str = match c {
            'a'..='z' | '0'..='9' => {
                out.push(c);
                continue;
            }
            '-' => "-",
            'ä' | 'æ' => "ae",
            'ö' | 'ø' | 'œ' => "oe",
            'ü' => "ue",
            'ß' => "ss",
            'à' | 'á' | 'â' | 'ã' | 'å' => "a",
            'ç' => "c",
            'è' | 'é' | 'ê' | 'ë' => "e",
            'ì' | 'í' | 'î' | 'ï' | 'ı' => "i",
            'ñ' => "n",
            'ò' | 'ó' | 'ô' | 'õ' => "o",
            'ù' | 'ú' | 'û' => "u",
            'ý' | 'ÿ' => "y",
            _ => "",
        };
        out.push_str(folded);
    }
}

pub(crate) fn folded(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    ascii_fold(text, &mut s);
    s
}

/// A phone number: country, national significant digits and how they group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Phone {
    pub country: usize,
    pub national: String,
    pub groups: &'static [usize],
}

/// How many ways [`Phone::render`] can write a number.
pub(crate) const PHONE_STYLES: u8 = 7;

/// Spreads a per-country counter over `digits` digits without repeats: multiplying by
/// a number coprime to 10 is a bijection modulo 10^digits.
fn spread(counter: u64, digits: u32, salt: u64) -> u64 {
    let modulus = 10u64.pow(digits);
    (counter.wrapping_mul(7_919).wrapping_add(salt)) % modulus
}

impl Phone {
    /// The `counter`-th distinct number of a plan (distinct for every counter below
    /// 10^6 within one country, since area codes are prefix-free).
    pub(crate) fn new(
        country: usize,
        plan: &PhonePlan,
        counter: u64,
        salt: u64,
        rng: &mut StdRng,
    ) -> Phone {
        let total: usize = plan.groups.iter().sum();
        let mut national = String::with_capacity(total);
        national.push_str(plan.prefix);
        if !plan.lead.is_empty() {
            national.push(pick(rng, plan.lead.as_bytes()) as char);
        }
        let rest = total.saturating_sub(national.len());
        let digits = u32::try_from(rest).unwrap_or(0).min(18);
        if rest > 0 {
            let value = spread(counter, digits, salt);
            national.push_str(&format!("{value:0width$}", width = rest));
        }
        Phone {
            country,
            national,
            groups: plan.groups,
        }
    }

    fn info(&self) -> &'static CountryInfo {
        &COUNTRIES[self.country]
    }

    fn grouped(&self, sep: &str) -> String {
        let mut out = String::with_capacity(self.national.len() + 6);
        let mut at = 0;
        for (i, len) in self.groups.iter().enumerate() {
            let end = (at + len).min(self.national.len());
            if i > 0 {
                out.push_str(sep);
            }
            out.push_str(&self.national[at..end]);
            at = end;
        }
        if at < self.national.len() {
            out.push_str(&self.national[at..]);
        }
        out
    }

    fn head_rest(&self) -> (&str, &str) {
        let first = self
            .groups
            .first()
            .copied()
            .unwrap_or(0)
            .min(self.national.len());
        self.national.split_at(first)
    }

    /// Writes the number the way people of its country write it; `style` picks one of
    /// [`PHONE_STYLES`] conventions (national, compact, international, E.164, `00`,
    /// a local habit such as "030/1234567" or "01.23.45.67.89", `+44 (0)…`).
    pub(crate) fn render(&self, style: u8) -> String {
        let info = self.info();
        let cc = info.calling_code;
        let trunk = if info.trunk { "0" } else { "" };
        let us = info.code == "US";
        match style % PHONE_STYLES {
            0 if us => {
                let (area, rest) = self.head_rest();
                let (exchange, line) = rest.split_at(3.min(rest.len()));
                format!("({area}) {exchange}-{line}")
            }
            0 => format!("{trunk}{}", self.grouped(" ")),
            1 => format!("{trunk}{}", self.national),
            2 => format!("+{cc} {}", self.grouped(" ")),
            3 => format!("+{cc}{}", self.national),
            4 if us => format!("1-{}", self.grouped("-")),
            4 => format!("00{cc} {}", self.grouped(" ")),
            5 => match info.code {
                "US" => self.grouped("-"),
                "DE" => {
                    let (area, rest) = self.head_rest();
                    format!("0{area}/{rest}")
                }
                "FR" => format!("0{}", self.grouped(".")),
                "NL" => {
                    let (area, rest) = self.head_rest();
                    format!("0{area}-{rest}")
                }
                "ES" => rest_grouped(&self.national, &[3, 2, 2, 2]),
                _ => {
                    let (area, rest) = self.head_rest();
                    let groups = self.groups.get(1..).unwrap_or_default();
                    format!("(0{area}) {}", rest_grouped(rest, groups))
                }
            },
            _ if us => self.grouped("."),
            _ if info.trunk => format!("+{cc} (0){}", self.grouped(" ")),
            _ => format!("+{cc} {}", self.grouped("")),
        }
    }

    /// A clean style as lists commonly carry them: mostly national, often international.
    pub(crate) fn common_style(rng: &mut StdRng) -> u8 {
        [0u8, 0, 0, 0, 0, 2, 2, 2, 5, 5, 1, 6, 4][rng.gen_range(0..13)]
    }
}

fn rest_grouped(rest: &str, groups: &[usize]) -> String {
    let mut out = String::new();
    let mut at = 0;
    for (i, len) in groups.iter().enumerate() {
        let end = (at + len).min(rest.len());
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&rest[at..end]);
        at = end;
    }
    out
}

/// Fills a postal code template: `#` a digit, `@` a letter used in postcodes.
pub(crate) fn postal_code(rng: &mut StdRng, template: &str) -> String {
    const LETTERS: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";
    template
        .chars()
        .map(|c| match c {
            '#' => char::from(b'0' + rng.gen_range(0..10u8)),
            '@' => char::from(pick(rng, LETTERS)),
            other => other,
        })
        .collect()
}

/// A street address line in the country's usual order.
pub(crate) fn street_line(rng: &mut StdRng, info: &CountryInfo) -> String {
    let street = pick(rng, info.streets);
    let number = match rng.gen_range(0..10) {
        0..=6 => rng.gen_range(1..120),
        _ => rng.gen_range(120..2400),
    };
    match info.street_style {
        StreetStyle::NumberFirst if info.code == "US" && rng.gen_bool(0.2) => {
            format!("{number} {street}, Suite {}", rng.gen_range(1..9) * 100)
        }
        StreetStyle::NumberFirst => format!("{number} {street}"),
        StreetStyle::NumberLast => format!("{street} {number}"),
        StreetStyle::NameCommaNumber => format!("{street}, {number}"),
    }
}

/// A company of a country, identified by (stem, sector): name with legal suffix and a
/// web domain that is unique per company.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Company {
    pub country: usize,
    pub stem: usize,
    pub sector: usize,
}

impl Company {
    pub(crate) fn random(rng: &mut StdRng, country: usize) -> Company {
        let info = &COUNTRIES[country];
        Company {
            country,
            stem: rng.gen_range(0..info.company_stems.len()),
            sector: rng.gen_range(0..info.company_sectors.len()),
        }
    }

    fn info(&self) -> &'static CountryInfo {
        &COUNTRIES[self.country]
    }

    /// "Kestrel Logistics Ltd", "Rheintal Logistik GmbH & Co. KG".
    pub(crate) fn name(&self, out: &mut String) {
        let info = self.info();
        let suffixes = info.legal_suffixes;
        out.push_str(info.company_stems[self.stem]);
        out.push(' ');
        out.push_str(info.company_sectors[self.sector]);
        out.push(' ');
        out.push_str(suffixes[(self.stem * 7 + self.sector * 3) % suffixes.len()]);
    }

    pub(crate) fn name_string(&self) -> String {
        let mut s = String::with_capacity(40);
        self.name(&mut s);
        s
    }

    /// "kestrel-logistics.co.uk" or "kestrellogistics.co.uk" (fixed per company).
    pub(crate) fn domain(&self, out: &mut String) {
        let info = self.info();
        ascii_fold(info.company_stems[self.stem], out);
        if matches!((self.stem + self.sector) % 3, 1 | 2) {
            out.push('-');
        }
        ascii_fold(info.company_sectors[self.sector], out);
        out.push('.');
        out.push_str(info.tld);
    }

    pub(crate) fn domain_string(&self) -> String {
        let mut s = String::with_capacity(32);
        self.domain(&mut s);
        s
    }
}

/// The local part of a business address in one of the common company schemes.
pub(crate) fn business_local(rng: &mut StdRng, first: &str, last: &str) -> String {
    let f = folded(first);
    let l = folded(last);
    let initial = f.chars().next().map(String::from).unwrap_or_default();
    match rng.gen_range(0..20) {
        0..=9 => format!("{f}.{l}"),
        10..=12 => format!("{initial}.{l}"),
        13..=14 => format!("{initial}{l}"),
        15 => format!("{f}_{l}"),
        16..=17 => f,
        _ => format!("{f}{l}"),
    }
}

/// The local part of a free-mail address, often with a year or number.
pub(crate) fn freemail_local(rng: &mut StdRng, first: &str, last: &str) -> String {
    let f = folded(first);
    let l = folded(last);
    match rng.gen_range(0..6) {
        0 | 1 => format!("{f}.{l}"),
        2 => format!("{f}.{l}{}", rng.gen_range(60..100)),
        3 => format!("{f}{l}{}", rng.gen_range(1..100)),
        4 => format!("{}{l}", f.chars().next().unwrap_or('x')),
        _ => format!("{l}.{f}"),
    }
}

/// Whether a domain folds dots and +tags in the local part (Gmail does).
pub(crate) fn is_gmail(email: &str) -> bool {
    email.ends_with("@gmail.com") || email.ends_with("@googlemail.com")
}

/// The same Gmail mailbox written with its dots moved: "jane.doe" -> "janedoe",
/// "janedoe" -> "jane.doe". Keeps the matching key (dots do not count at Gmail).
pub(crate) fn gmail_dot_variant(email: &str) -> Option<String> {
    let (local, domain) = email.split_once('@')?;
    if local.contains('.') {
        Some(format!("{}@{domain}", local.replace('.', "")))
    } else {
        let cut = local.char_indices().nth(local.chars().count() / 2)?.0;
        if cut == 0 {
            return None;
        }
        Some(format!("{}.{}@{domain}", &local[..cut], &local[cut..]))
    }
}

/// A one-letter typo in a name, as a badge scanner or tired typist makes it: a letter
/// replaced by its keyboard neighbour, doubled or dropped (never the first letter).
pub(crate) fn typo(rng: &mut StdRng, name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let letters: Vec<usize> = (1..chars.len())
        .filter(|&i| chars[i].is_alphabetic())
        .collect();
    if letters.is_empty() {
        return format!("{name}e");
    }
    let at = letters[rng.gen_range(0..letters.len())];
    let mut out: Vec<char> = chars.clone();
    match rng.gen_range(0..3) {
        0 => {
            let c = chars[at];
            let replacement = match c.to_ascii_lowercase() {
                'a' => 's',
                'e' => 'r',
                'i' => 'o',
                'o' => 'i',
                'u' => 'i',
                'n' => 'm',
                'm' => 'n',
                'r' => 't',
                's' => 'a',
                't' => 'r',
                'l' => 'k',
                _ => 'e',
            };
            out[at] = if replacement == c { 'a' } else { replacement };
        }
        1 => out.insert(at, chars[at]),
        _ if chars.len() > 4 => {
            out.remove(at);
        }
        _ => out.insert(at, chars[at]),
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn folds_names_for_addresses() {
        assert_eq!(folded("Müller"), "mueller");
        assert_eq!(folded("O'Brien"), "obrien");
        assert_eq!(folded("van der Meer"), "vandermeer");
        assert_eq!(folded("Jean-Pierre"), "jean-pierre");
        assert_eq!(folded("Íñigo Yılmaz"), "inigoyilmaz");
    }

    #[test]
    fn gmail_variants_keep_the_mailbox() {
        assert_eq!(
            gmail_dot_variant("jane.doe@gmail.com").as_deref(),
            Some("janedoe@gmail.com")
        );
        assert_eq!(
            gmail_dot_variant("janedoe@gmail.com").as_deref(),
            Some("jan.edoe@gmail.com")
        );
        assert_eq!(gmail_dot_variant("j@gmail.com"), None);
        assert_eq!(gmail_dot_variant("nope"), None);
    }

    #[test]
    fn typos_change_one_letter_and_keep_the_first() {
        let mut rng = StdRng::seed_from_u64(1);
        for name in ["Müller", "Kim", "O'Brien", "de Jong", "Li", "X"] {
            for _ in 0..50 {
                let t = typo(&mut rng, name);
                assert_ne!(t, name);
                assert_eq!(t.chars().next(), name.chars().next());
                let diff = t.chars().count() as i64 - name.chars().count() as i64;
                assert!(diff.abs() <= 1, "{name} -> {t}");
            }
        }
    }

    #[test]
    fn phones_render_in_every_style() {
        let mut rng = StdRng::seed_from_u64(3);
        let de_index = COUNTRIES.iter().position(|c| c.code == "DE").unwrap();
        let de = &COUNTRIES[de_index];
        let p = Phone::new(de_index, &de.cities[0].landline, 42, 0, &mut rng);
        assert_eq!(p.national.len(), 10);
        let styles: Vec<String> = (0..PHONE_STYLES).map(|s| p.render(s)).collect();
        assert!(styles[0].starts_with("030 "));
        assert!(styles[2].starts_with("+49 30 "));
        assert!(styles[5].starts_with("030/"));
        assert!(styles[6].starts_with("+49 (0)30 "));
    }
}
