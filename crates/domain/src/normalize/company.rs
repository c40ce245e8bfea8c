//! Companies: a match key for the name, and the web domain that ties leads to accounts.

use super::email::{is_free_mail_domain, EmailAddress};
use super::host::domain_to_ascii;
use super::text::fold;
use unicode_normalization::UnicodeNormalization;

/// Longest website we look at, matching the website field limit.
const MAX_WEBSITE: usize = 2048;

/// Legal-form suffixes, as folded tokens (dots and slashes removed, so "S.A.", "a/s" and
/// "L.L.C." arrive as "sa", "as" and "llc"). Several tokens form one suffix where the
/// parts alone would be ordinary words.
const LEGAL_SUFFIXES: &[&[&str]] = &[
    &["inc"],
    &["incorporated"],
    &["llc"],
    &["ltd"],
    &["limited"],
    &["plc"],
    &["corp"],
    &["corporation"],
    &["co"],
    &["company"],
    &["and", "co"],
    &["and", "company"],
    &["und", "co"],
    &["et", "cie"],
    &["gmbh"],
    &["mbh"],
    &["ag"],
    &["kg"],
    &["kgaa"],
    &["ohg"],
    &["ug"],
    &["ev"],
    &["se"],
    &["sa"],
    &["sas"],
    &["sarl"],
    &["sa", "rl"],
    &["srl"],
    &["spa"],
    &["sl"],
    &["bv"],
    &["nv"],
    &["oy"],
    &["oyj"],
    &["ab"],
    &["as"],
    &["asa"],
    &["aps"],
    &["pty"],
    &["pte"],
    &["kk"],
    &["kabushiki", "kaisha"],
    &["sdn", "bhd"],
    &["bhd"],
    &["sp", "z", "oo"],
    &["sro"],
    &["lp"],
    &["llp"],
    &["lllp"],
    &["pllc"],
    &["pc"],
];

/// A key under which spellings of one company name compare equal: NFC, accents and case
/// folded, "&" read as "and", punctuation removed, trailing legal forms ("Inc.",
/// "GmbH & Co. KG") and a leading "The" dropped. "ACME, Inc.", "Acme Inc" and "The
/// Acme Company" all become "acme". The last remaining word is never dropped, so a
/// company called "The Company" keys as "company"; `None` only when the name has no
/// letters or digits at all.
pub fn company_match_key(raw: &str) -> Option<String> {
    let composed: String = raw.nfc().collect();
    let folded = fold(&composed).replace('&', " and ");
    let joined: String = folded
        .chars()
        .filter(|c| !matches!(c, '.' | '/' | '\'' | '\u{2019}'))
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let mut words: Vec<&str> = joined.split_whitespace().collect();
    if words.len() > 1 && words[0] == "the" {
        words.remove(0);
    }
    strip_legal_suffixes(&mut words);
    (!words.is_empty()).then(|| words.join(" "))
}

/// Removes legal-form suffixes from the end, repeatedly, keeping at least one word.
fn strip_legal_suffixes(words: &mut Vec<&str>) {
    loop {
        let found = LEGAL_SUFFIXES
            .iter()
            .filter(|suffix| suffix.len() < words.len() && words.ends_with(suffix))
            .map(|suffix| suffix.len())
            .max();
        match found {
            Some(len) => words.truncate(words.len() - len),
            None => return,
        }
    }
}

/// The host of a website, as a lower-case ASCII domain without scheme, user info, port,
/// path or a leading "www." (other subdomains are kept). `None` when the text is not a
/// domain name: no dot, spaces, IP addresses, bad characters.
pub fn web_domain(website: &str) -> Option<String> {
    let trimmed = website.trim();
    if trimmed.is_empty() || trimmed.len() > MAX_WEBSITE * 4 {
        return None;
    }
    let composed: String = trimmed.nfc().collect();
    if composed
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return None;
    }
    let host = host_of(&composed)?;
    if host.starts_with('[')
        || host
            .chars()
            .any(|c| c.is_ascii_punctuation() && c != '.' && c != '-')
    {
        return None;
    }
    let ascii = domain_to_ascii(host.strip_suffix('.').unwrap_or(host)).ok()?;
    match ascii.strip_prefix("www.") {
        Some(rest) if rest.contains('.') => Some(rest.to_string()),
        _ => Some(ascii),
    }
}

/// The host part of a URL or bare domain: after "scheme://" and "user@", before the
/// port, path, query or fragment.
fn host_of(url: &str) -> Option<&str> {
    let after_scheme = match url.split_once("//") {
        Some((scheme, rest)) if is_scheme_prefix(scheme) => rest,
        Some(_) => return None,
        None => url,
    };
    let authority = after_scheme
        .split(['/', '?', '#', '\\'])
        .next()
        .unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = host_port.split(':').next().unwrap_or_default();
    (!host.is_empty()).then_some(host)
}

/// "", "http:", "https:" or another RFC 3986 scheme followed by a colon.
fn is_scheme_prefix(prefix: &str) -> bool {
    if prefix.is_empty() {
        return true;
    }
    let Some(scheme) = prefix.strip_suffix(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// The company domain an e-mail address reveals: its domain, unless it belongs to a
/// free mail provider, where it says nothing about the employer.
pub fn domain_from_email(email: &EmailAddress) -> Option<String> {
    let domain = email.domain();
    (!is_free_mail_domain(domain)).then(|| domain.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn company_keys() {
        let cases: &[(&str, Option<&str>)] = &[
            ("ACME, Inc.", Some("acme")),
            ("Acme Inc", Some("acme")),
            ("The Acme Company", Some("acme")),
            ("acme", Some("acme")),
            ("  ACME   corp. ", Some("acme")),
            ("Acme Corporation", Some("acme")),
            ("Acme L.L.C.", Some("acme")),
            ("Acme, LLC", Some("acme")),
            ("Acme Ltd.", Some("acme")),
            ("Acme Pty Ltd", Some("acme")),
            ("Acme Pty. Ltd.", Some("acme")),
            ("Acme Limited", Some("acme")),
            ("Acme PLC", Some("acme")),
            ("Acme GmbH", Some("acme")),
            ("Acme GmbH & Co. KG", Some("acme")),
            ("Acme AG", Some("acme")),
            ("Acme S.A.", Some("acme")),
            ("Acme SAS", Some("acme")),
            ("Acme S.à r.l.", Some("acme")),
            ("Acme SARL", Some("acme")),
            ("Acme S.r.l.", Some("acme")),
            ("Acme S.p.A.", Some("acme")),
            ("Acme B.V.", Some("acme")),
            ("Acme N.V.", Some("acme")),
            ("Acme Oy", Some("acme")),
            ("Acme AB", Some("acme")),
            ("Acme A/S", Some("acme")),
            ("Acme ApS", Some("acme")),
            ("Acme K.K.", Some("acme")),
            ("Acme Kabushiki Kaisha", Some("acme")),
            ("Acme S.L.", Some("acme")),
            ("Acme LLP", Some("acme")),
            ("Acme Sp. z o.o.", Some("acme")),
            ("Acme Sdn. Bhd.", Some("acme")),
            ("Acme Pte. Ltd.", Some("acme")),
            ("Smith & Co.", Some("smith")),
            ("Smith and Sons Ltd", Some("smith and sons")),
            ("Smith & Sons", Some("smith and sons")),
            ("Ben & Jerry's", Some("ben and jerrys")),
            ("AT&T Inc.", Some("at and t")),
            ("Société Générale S.A.", Some("societe generale")),
            ("Nestlé", Some("nestle")),
            ("ＡＣＭＥ", Some("acme")),
            ("The Company", Some("company")),
            ("Inc.", Some("inc")),
            ("The", Some("the")),
            ("Generation Z", Some("generation z")),
            ("Co-operative Bank", Some("co operative bank")),
            ("株式会社 ソニー", Some("株式会社 ソニー")),
            ("<script>alert(1)</script>", Some("script alert 1 script")),
            ("", None),
            ("  ", None),
            ("---", None),
            ("!!! ...", None),
        ];
        for (raw, want) in cases {
            assert_eq!(company_match_key(raw).as_deref(), *want, "{raw:?}");
        }
    }

    #[test]
    fn company_key_is_idempotent() {
        for raw in [
            "ACME, Inc.",
            "Acme GmbH & Co. KG",
            "The Company",
            "Ben & Jerry's",
            "x",
        ] {
            let once = company_match_key(raw);
            assert_eq!(once.as_deref().and_then(company_match_key), once, "{raw:?}");
        }
    }

    #[test]
    fn web_domains() {
        let cases: &[(&str, Option<&str>)] = &[
            ("https://www.Example.com/path?x", Some("example.com")),
            ("example.com", Some("example.com")),
            ("EXAMPLE.COM", Some("example.com")),
            ("http://shop.example.co.uk", Some("shop.example.co.uk")),
            ("www.example.com", Some("example.com")),
            ("www.example.com.", Some("example.com")),
            ("//www.example.com/", Some("example.com")),
            (
                "https://user:pw@www.example.com:8443/a",
                Some("example.com"),
            ),
            ("http://example.com:80", Some("example.com")),
            ("example.com/about#team", Some("example.com")),
            ("example.com?utm_source=x", Some("example.com")),
            ("https://bücher.de", Some("xn--bcher-kva.de")),
            ("HTTPS://WWW.BÜCHER.DE/", Some("xn--bcher-kva.de")),
            ("www.com", Some("www.com")),
            ("  https://example.org  ", Some("example.org")),
            ("ftp://files.example.net", Some("files.example.net")),
            ("", None),
            ("localhost", None),
            ("https://localhost:8080", None),
            ("http://192.168.0.1/", None),
            ("http://[::1]/", None),
            ("example com", None),
            ("not a website", None),
            ("n/a", None),
            ("-", None),
            ("https://", None),
            ("http://exa_mple.com", None),
            ("java script:alert(1)", None),
            ("<script>alert(1)</script>", None),
        ];
        for (raw, want) in cases {
            assert_eq!(web_domain(raw).as_deref(), *want, "{raw:?}");
        }
    }

    #[test]
    fn huge_website_is_none() {
        let huge = format!("https://{}.com", "a".repeat(1 << 20));
        assert_eq!(web_domain(&huge), None);
    }

    #[test]
    fn email_domains() {
        let domain = |raw: &str| {
            EmailAddress::parse(raw)
                .ok()
                .and_then(|e| domain_from_email(&e))
        };
        assert_eq!(domain("jane@Acme.com").as_deref(), Some("acme.com"));
        assert_eq!(
            domain("jane@sales.acme.co.uk").as_deref(),
            Some("sales.acme.co.uk")
        );
        assert_eq!(domain("jane@gmail.com"), None);
        assert_eq!(domain("jane@yahoo.co.uk"), None);
        assert_eq!(domain("jane@gmx.de"), None);
    }
}
