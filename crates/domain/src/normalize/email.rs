//! E-mail addresses: parsed once into a type that can only hold a usable address.

use super::host::{domain_to_ascii, DomainError};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use unicode_normalization::UnicodeNormalization;

/// Longest address SMTP can carry (RFC 5321 path limit minus the angle brackets).
const MAX_ADDRESS: usize = 254;
/// Longest local part (RFC 5321 section 4.5.3.1.1), in octets.
const MAX_LOCAL: usize = 64;
/// Inputs longer than this are refused before any Unicode work is done on them.
const MAX_RAW: usize = 1024;

/// Providers that deliver `user+tag@` to `user@`, so the tag is dropped for matching.
const PLUS_TAG_PROVIDERS: &[&str] = &[
    "gmail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "msn.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "fastmail.com",
    "fastmail.fm",
    "protonmail.com",
    "protonmail.ch",
    "proton.me",
    "pm.me",
];

/// Why a string is not a usable e-mail address. The messages are shown to the person
/// who typed the address, so they say what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("the e-mail address is empty")]
    Empty,
    #[error("the e-mail address is longer than {MAX_ADDRESS} characters")]
    TooLong,
    #[error("the e-mail address has no '@'")]
    MissingAt,
    #[error("the e-mail address has more than one '@'")]
    MultipleAt,
    #[error("quoted e-mail addresses (\"...\"@example.com) are not accepted")]
    QuotedLocalPart,
    #[error("the part before '@' is empty")]
    EmptyLocalPart,
    #[error("the part before '@' is longer than {MAX_LOCAL} characters")]
    LocalPartTooLong,
    #[error("the e-mail address contains the invalid character {0:?}")]
    InvalidCharacter(char),
    #[error("the e-mail address contains the control character U+{:04X}", u32::from(*.0))]
    ControlCharacter(char),
    #[error("the part before '@' must not start with a combining mark (U+{:04X})", u32::from(*.0))]
    LeadingCombiningMark(char),
    #[error("the part before '@' must not start or end with a dot or have two dots in a row")]
    MisplacedDot,
    #[error("the part after '@' is empty")]
    MissingDomain,
    #[error("address literals such as [192.0.2.1] are not accepted; use a domain name")]
    AddressLiteral,
    #[error("the domain is invalid: {0}")]
    InvalidDomain(#[from] DomainError),
    #[error("addresses under .{0} cannot receive mail (the name is reserved for special use); use a real address")]
    SpecialUseDomain(&'static str),
}

/// Top-level domains reserved for special use (RFC 6761, RFC 2606, RFC 7686 for
/// `onion`; `local` is mDNS, RFC 6762; `arpa` is infrastructure). No address under
/// them reaches a person on the Internet. `example.com`, `.net` and `.org` are
/// reserved too (RFC 2606) but not refused: they are what documentation and test
/// data use, and refusing them would break that data without stopping anyone.
const SPECIAL_USE_TLDS: [&str; 7] = [
    "test",
    "example",
    "invalid",
    "localhost",
    "local",
    "onion",
    "arpa",
];

/// A syntactically usable e-mail address: local part as given (NFC), domain
/// lower-cased and IDNA-encoded. Only [`EmailAddress::parse`] makes one.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress {
    address: String,
    at: usize,
}

impl EmailAddress {
    /// Parses a practical subset of RFC 5321 (with RFC 6531 UTF-8 local parts):
    /// dot-atom local part, DNS domain. Surrounding spaces are ignored; control
    /// characters (CR, LF, tab, ...) anywhere, quoted local parts, address literals,
    /// display names and `mailto:` are refused. The domain may be one reserved for
    /// special use (see [`EmailAddress::parse_public`]).
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        // Spaces only: a line break or tab that came with the address is a header
        // injection attempt or a broken export, not padding.
        let trimmed = raw.trim_matches(is_space);
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        if trimmed.len() > MAX_RAW {
            return Err(EmailError::TooLong);
        }
        if let Some(c) = trimmed.chars().find(|c| c.is_control()) {
            return Err(EmailError::ControlCharacter(c));
        }
        let nfc: String = trimmed.nfc().collect();
        if nfc.starts_with('"') {
            return Err(EmailError::QuotedLocalPart);
        }
        let (local, domain) = split_at_sign(&nfc)?;
        check_local(local)?;
        let domain = check_domain(domain)?;
        let address = format!("{local}@{domain}");
        if address.len() > MAX_ADDRESS {
            return Err(EmailError::TooLong);
        }
        Ok(EmailAddress {
            at: local.len(),
            address,
        })
    }

    /// Like [`EmailAddress::parse`], and the domain must be able to receive mail on
    /// the Internet: not under a top-level domain reserved for special use (`.test`,
    /// `.example`, `.invalid`, `.localhost`, `.local`, `.onion`, `.arpa`). For the
    /// addresses of leads; staff accounts may well live on an internal `.local`.
    pub fn parse_public(raw: &str) -> Result<Self, EmailError> {
        let email = EmailAddress::parse(raw)?;
        match email.special_use_tld() {
            Some(tld) => Err(EmailError::SpecialUseDomain(tld)),
            None => Ok(email),
        }
    }

    /// The special-use top-level domain the address is under, if it is.
    pub fn special_use_tld(&self) -> Option<&'static str> {
        let tld = self.domain().rsplit('.').next()?;
        SPECIAL_USE_TLDS.iter().copied().find(|t| *t == tld)
    }

    /// The whole address, `local@domain`.
    pub fn as_str(&self) -> &str {
        &self.address
    }

    /// The part before the `@`, exactly as given (NFC).
    pub fn local(&self) -> &str {
        &self.address[..self.at]
    }

    /// The ASCII (punycode) lower-case domain.
    pub fn domain(&self) -> &str {
        &self.address[self.at + 1..]
    }

    /// A key under which two spellings of the same mailbox compare equal: the local part
    /// case-folded everywhere; `+tags` dropped at providers that ignore them; dots
    /// dropped at Gmail, where `googlemail.com` also becomes `gmail.com`.
    pub fn match_key(&self) -> String {
        let domain = match self.domain() {
            "googlemail.com" => "gmail.com",
            other => other,
        };
        let mut local = self.local().to_lowercase();
        if PLUS_TAG_PROVIDERS.contains(&domain) {
            if let Some(plus) = local.find('+').filter(|&i| i > 0) {
                local.truncate(plus);
            }
        }
        if domain == "gmail.com" {
            local.retain(|c| c != '.');
        }
        format!("{local}@{domain}")
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.address)
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.address
    }
}

impl FromStr for EmailAddress {
    type Err = EmailError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EmailAddress::parse(s)
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = EmailError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        EmailAddress::parse(&s)
    }
}

impl From<EmailAddress> for String {
    fn from(email: EmailAddress) -> String {
        email.address
    }
}

/// Splits at the only `@`.
fn split_at_sign(address: &str) -> Result<(&str, &str), EmailError> {
    let mut parts = address.split('@');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(local), Some(domain), None) => Ok((local, domain)),
        (_, None, _) => Err(EmailError::MissingAt),
        _ => Err(EmailError::MultipleAt),
    }
}

/// Whitespace that is no control character: the space, no-break and other Unicode
/// spaces (category Zs), but not tab, CR, LF or the line and paragraph separators.
fn is_space(c: char) -> bool {
    c.is_whitespace() && !c.is_control() && !matches!(c, '\u{2028}' | '\u{2029}')
}

/// RFC 5322 `atext` punctuation; letters and digits are allowed separately.
fn is_atext_punct(c: char) -> bool {
    "!#$%&'*+-/=?^_`{|}~".contains(c)
}

/// Checks a dot-atom local part: atext (ASCII, or any non-ASCII letter, digit or mark
/// per RFC 6531) and single inner dots.
fn check_local(local: &str) -> Result<(), EmailError> {
    if local.is_empty() {
        return Err(EmailError::EmptyLocalPart);
    }
    if local.len() > MAX_LOCAL {
        return Err(EmailError::LocalPartTooLong);
    }
    // A mark with nothing to combine with is invisible or draws over the '@' or the
    // text before the address.
    if let Some(mark) = local
        .chars()
        .next()
        .filter(|&c| unicode_normalization::char::is_combining_mark(c))
    {
        return Err(EmailError::LeadingCombiningMark(mark));
    }
    let bad = local.chars().find(|&c| {
        let ok = if c.is_ascii() {
            c.is_ascii_alphanumeric() || is_atext_punct(c) || c == '.'
        } else {
            c.is_alphanumeric() || unicode_normalization::char::is_combining_mark(c)
        };
        !ok
    });
    if let Some(c) = bad {
        return Err(EmailError::InvalidCharacter(c));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(EmailError::MisplacedDot);
    }
    Ok(())
}

/// Checks the domain and returns its ASCII form.
fn check_domain(domain: &str) -> Result<String, EmailError> {
    if domain.is_empty() {
        return Err(EmailError::MissingDomain);
    }
    if domain.starts_with('[') {
        return Err(EmailError::AddressLiteral);
    }
    let bad = domain.chars().find(|&c| {
        c.is_whitespace() || c.is_control() || (c.is_ascii_punctuation() && !matches!(c, '.' | '-'))
    });
    if let Some(c) = bad {
        return Err(EmailError::InvalidCharacter(c));
    }
    Ok(domain_to_ascii(domain)?)
}

/// Mail providers anyone can sign up to, so their domain says nothing about the
/// person's company. Families such as `yahoo.*` are matched in [`is_free_mail_domain`].
const FREE_MAIL_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "ymail.com",
    "rocketmail.com",
    "msn.com",
    "aim.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "gmx.com",
    "gmx.net",
    "web.de",
    "freenet.de",
    "arcor.de",
    "t-online.de",
    "posteo.de",
    "mailbox.org",
    "mail.ru",
    "inbox.ru",
    "list.ru",
    "bk.ru",
    "ya.ru",
    "rambler.ru",
    "proton.me",
    "protonmail.com",
    "protonmail.ch",
    "pm.me",
    "tutanota.com",
    "tutanota.de",
    "tuta.io",
    "zoho.com",
    "zohomail.com",
    "mail.com",
    "email.com",
    "qq.com",
    "163.com",
    "126.com",
    "yeah.net",
    "sina.com",
    "sohu.com",
    "naver.com",
    "daum.net",
    "hanmail.net",
    "orange.fr",
    "wanadoo.fr",
    "free.fr",
    "sfr.fr",
    "laposte.net",
    "comcast.net",
    "verizon.net",
    "att.net",
    "sbcglobal.net",
    "bellsouth.net",
    "cox.net",
    "charter.net",
    "earthlink.net",
    "btinternet.com",
    "sky.com",
    "virginmedia.com",
    "ntlworld.com",
    "talktalk.net",
    "libero.it",
    "virgilio.it",
    "tiscali.it",
    "alice.it",
    "seznam.cz",
    "wp.pl",
    "o2.pl",
    "interia.pl",
    "onet.pl",
    "bigpond.com",
    "optusnet.com.au",
    "shaw.ca",
    "rogers.com",
    "sympatico.ca",
    "hey.com",
    "fastmail.com",
    "fastmail.fm",
    "rediffmail.com",
    "ziggo.nl",
    "kpnmail.nl",
    "planet.nl",
    "telenet.be",
    "skynet.be",
    "bluewin.ch",
    "hushmail.com",
    "yopmail.com",
    "mailinator.com",
    "inbox.com",
    "juno.com",
    "netzero.net",
    "lycos.com",
    "excite.com",
];

/// Provider names that appear under many country domains (`yahoo.co.uk`, `gmx.de`).
const FREE_MAIL_FAMILIES: &[&str] = &[
    "yahoo", "hotmail", "outlook", "live", "aol", "gmx", "yandex",
];

/// Whether the domain belongs to a free or consumer mail provider, in which case it
/// must not be used to match a lead to a company.
pub fn is_free_mail_domain(domain: &str) -> bool {
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    if FREE_MAIL_DOMAINS.contains(&domain.as_str()) {
        return true;
    }
    let Some((provider, suffix)) = domain.split_once('.') else {
        return false;
    };
    FREE_MAIL_FAMILIES.contains(&provider) && is_public_suffix_like(suffix)
}

/// A rough public suffix: `com`, `net`, a country code, or `co.`/`com.` + country code.
fn is_public_suffix_like(suffix: &str) -> bool {
    let is_cc = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_lowercase());
    match suffix.split_once('.') {
        None => matches!(suffix, "com" | "net") || is_cc(suffix),
        Some((second, cc)) => matches!(second, "co" | "com" | "ne" | "or") && is_cc(cc),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> EmailAddress {
        EmailAddress::parse(raw).unwrap_or_else(|e| panic!("{raw:?}: {e}"))
    }

    #[test]
    fn accepts_and_canonicalises() {
        let cases = [
            ("jane@example.com", "jane@example.com"),
            ("  Jane.Doe@Example.COM \u{a0}", "Jane.Doe@example.com"),
            ("\u{3000}jane@example.com\u{2003}", "jane@example.com"),
            ("user@Bücher.DE", "user@xn--bcher-kva.de"),
            ("user@xn--bcher-kva.de", "user@xn--bcher-kva.de"),
            (
                "first.last+tag@sub.example.co.uk",
                "first.last+tag@sub.example.co.uk",
            ),
            ("o'brien@example.ie", "o'brien@example.ie"),
            (
                "a!#$%&'*+-/=?^_`{|}~z@example.org",
                "a!#$%&'*+-/=?^_`{|}~z@example.org",
            ),
            ("x@a-b.example", "x@a-b.example"),
            ("1234@123.example", "1234@123.example"),
            ("jürgen@example.de", "jürgen@example.de"),
            ("用户@例子.广告", "用户@xn--fsqu00a.xn--4rr70v"),
            ("Jane@EXAMPLE.com", "Jane@example.com"),
            ("a@b.co", "a@b.co"),
        ];
        for (raw, want) in cases {
            assert_eq!(ok(raw).as_str(), want, "{raw:?}");
        }
    }

    #[test]
    fn parts_and_traits() {
        let email = ok("Jane.Doe@Example.com");
        assert_eq!(email.local(), "Jane.Doe");
        assert_eq!(email.domain(), "example.com");
        assert_eq!(email.to_string(), "Jane.Doe@example.com");
        assert_eq!(
            "Jane.Doe@Example.com".parse::<EmailAddress>(),
            Ok(email.clone())
        );
        let json = serde_json::to_string(&email).unwrap_or_default();
        assert_eq!(json, "\"Jane.Doe@example.com\"");
        assert_eq!(
            serde_json::from_str::<EmailAddress>(&json).ok(),
            Some(email)
        );
        assert!(serde_json::from_str::<EmailAddress>("\"nope\"").is_err());
    }

    #[test]
    fn local_part_is_nfc() {
        assert_eq!(ok("jo\u{308}rg@example.de").local(), "j\u{f6}rg");
    }

    #[test]
    fn rejects_with_specific_errors() {
        use EmailError::*;
        let long_local = format!("{}@example.com", "a".repeat(65));
        let long_label = format!("a@{}.com", "b".repeat(64));
        let long_domain = format!("a@{}com", "abcdefghi.".repeat(26));
        let long_total = format!(
            "{}@{}.com",
            "a".repeat(64),
            vec!["b".repeat(63); 3].join(".")
        );
        let cases: Vec<(&str, EmailError)> = vec![
            ("", Empty),
            ("   ", Empty),
            ("jane.example.com", MissingAt),
            ("jane@doe@example.com", MultipleAt),
            ("\"jane doe\"@example.com", QuotedLocalPart),
            ("@example.com", EmptyLocalPart),
            (&long_local, LocalPartTooLong),
            ("jane doe@example.com", InvalidCharacter(' ')),
            ("jane,doe@example.com", InvalidCharacter(',')),
            ("jane\0@example.com", ControlCharacter('\0')),
            ("jane@example.com\n", ControlCharacter('\n')),
            ("jane@example.com\r\n", ControlCharacter('\r')),
            ("\r\njane@example.com", ControlCharacter('\r')),
            ("\tjane@example.com", ControlCharacter('\t')),
            ("ja\nne@example.com", ControlCharacter('\n')),
            ("jane@exa\nmple.com", ControlCharacter('\n')),
            ("jane@example.com\u{85}", ControlCharacter('\u{85}')),
            ("jane@example.com\u{2028}", InvalidCharacter('\u{2028}')),
            ("\u{301}jane@example.com", LeadingCombiningMark('\u{301}')),
            (
                "\u{301}\u{338}jane@example.com",
                LeadingCombiningMark('\u{338}'),
            ), // NFC reorders marks
            (
                "jane@yy--0.com",
                InvalidDomain(DomainError::ReservedHyphens),
            ),
            (
                "jane@mail.ab--cd.com",
                InvalidDomain(DomainError::ReservedHyphens),
            ),
            ("jane(x)@example.com", InvalidCharacter('(')),
            ("<jane@example.com>", InvalidCharacter('<')),
            ("mailto:jane@example.com", InvalidCharacter(':')),
            ("Jane Doe <jane@example.com>", InvalidCharacter(' ')),
            (".jane@example.com", MisplacedDot),
            ("jane.@example.com", MisplacedDot),
            ("ja..ne@example.com", MisplacedDot),
            ("jane@", MissingDomain),
            ("jane@[192.0.2.1]", AddressLiteral),
            ("jane@exa mple.com", InvalidCharacter(' ')),
            ("jane@example,com", InvalidCharacter(',')),
            ("jane@exam_ple.com", InvalidCharacter('_')),
            ("jane@localhost", InvalidDomain(DomainError::SingleLabel)),
            ("jane@example..com", InvalidDomain(DomainError::EmptyLabel)),
            ("jane@.example.com", InvalidDomain(DomainError::EmptyLabel)),
            ("jane@example.com.", InvalidDomain(DomainError::EmptyLabel)),
            ("jane@-example.com", InvalidDomain(DomainError::Hyphen)),
            ("jane@example-.com", InvalidDomain(DomainError::Hyphen)),
            ("jane@192.168.0.1", InvalidDomain(DomainError::NumericTld)),
            ("jane@example.123", InvalidDomain(DomainError::NumericTld)),
            (&long_label, InvalidDomain(DomainError::LabelTooLong)),
            (&long_domain, InvalidDomain(DomainError::TooLong)),
            (&long_total, TooLong),
        ];
        for (raw, want) in cases {
            assert_eq!(EmailAddress::parse(raw), Err(want), "{raw:?}");
        }
    }

    #[test]
    fn special_use_domains_are_refused_for_public_addresses() {
        for (raw, tld) in [
            ("jane@acme.test", "test"),
            ("jane@acme.example", "example"),
            ("jane@valid.invalid", "invalid"),
            ("jane@host.localhost", "localhost"),
            ("jane@printer.local", "local"),
            ("jane@ACME.LOCAL", "local"),
            ("jane@abcdefghijklmnop.onion", "onion"),
            ("jane@1.0.0.127.in-addr.arpa", "arpa"),
        ] {
            assert_eq!(
                EmailAddress::parse_public(raw),
                Err(EmailError::SpecialUseDomain(tld)),
                "{raw:?}"
            );
            // The syntax is fine, and staff accounts may live on such a domain.
            let email = ok(raw);
            assert_eq!(email.special_use_tld(), Some(tld), "{raw:?}");
        }
        for raw in [
            "jane@example.com",
            "jane@example.org",
            "jane@test.com",
            "jane@local.de",
            "jane@testing.io",
            "jane@example.co.uk",
            "jane@mail.local.acme.com",
        ] {
            assert_eq!(
                EmailAddress::parse_public(raw).map(|e| e.to_string()),
                Ok(raw.to_string()),
                "{raw:?}"
            );
        }
        assert_eq!(
            EmailAddress::parse_public("nope").err(),
            Some(EmailError::MissingAt),
            "syntax errors come first"
        );
        assert_eq!(
            EmailError::SpecialUseDomain("test").to_string(),
            "addresses under .test cannot receive mail (the name is reserved for special use); use a real address"
        );
    }

    #[test]
    fn error_messages_say_what_is_wrong() {
        let message = |raw: &str| EmailAddress::parse(raw).err().map(|e| e.to_string());
        assert_eq!(
            message("jane doe@example.com").as_deref(),
            Some("the e-mail address contains the invalid character ' '")
        );
        assert_eq!(
            message("jane").as_deref(),
            Some("the e-mail address has no '@'")
        );
        assert!(message("jane@localhost").is_some_and(|m| m.starts_with("the domain is invalid")));
        assert_eq!(
            message("jane@example.com\r\nBcc: x@evil.com").as_deref(),
            Some("the e-mail address contains the control character U+000D")
        );
        assert_eq!(
            message("\u{308}x@example.com").as_deref(),
            Some("the part before '@' must not start with a combining mark (U+0308)")
        );
    }

    #[test]
    fn huge_input_is_refused_cheaply() {
        let huge = format!("{}@example.com", "a".repeat(1 << 20));
        assert_eq!(EmailAddress::parse(&huge), Err(EmailError::TooLong));
    }

    #[test]
    fn match_keys() {
        let cases = [
            ("Jane.Doe@Example.com", "jane.doe@example.com"),
            ("jane.doe+news@example.com", "jane.doe+news@example.com"),
            ("J.A.N.E+promo@gmail.com", "jane@gmail.com"),
            ("jane.doe@GoogleMail.com", "janedoe@gmail.com"),
            ("Jane+x@outlook.com", "jane@outlook.com"),
            ("jane.doe+x@hotmail.com", "jane.doe@hotmail.com"),
            ("jane+x@icloud.com", "jane@icloud.com"),
            ("jane+x@fastmail.com", "jane@fastmail.com"),
            ("jane+x@proton.me", "jane@proton.me"),
            ("jane-x@yahoo.com", "jane-x@yahoo.com"),
            ("+tag@gmail.com", "+tag@gmail.com"),
            ("ÉMILIE@example.fr", "émilie@example.fr"),
        ];
        for (raw, want) in cases {
            assert_eq!(ok(raw).match_key(), want, "{raw:?}");
        }
    }

    #[test]
    fn match_key_is_idempotent() {
        let addresses = [
            "Jane.Doe@Example.com",
            "J.A.N.E+promo@gmail.com",
            "jane.doe@googlemail.com",
            "a.b+c+d@outlook.com",
            "+tag@gmail.com",
            ".x@gmail.com",
            "x+@gmail.com",
            "ÉMILIE@Bücher.de",
            "İSTANBUL@example.tr",
            "STRASSE@example.de",
        ];
        for raw in addresses {
            let Ok(email) = EmailAddress::parse(raw) else {
                continue;
            };
            let key = email.match_key();
            let again = EmailAddress::parse(&key).map(|e| e.match_key());
            assert_eq!(again.as_ref(), Ok(&key), "{raw:?}");
        }
    }

    #[test]
    fn free_mail_domains() {
        for domain in [
            "gmail.com",
            "GMAIL.COM",
            "googlemail.com",
            "yahoo.com",
            "yahoo.co.uk",
            "yahoo.com.br",
            "yahoo.fr",
            "hotmail.com",
            "hotmail.de",
            "outlook.com",
            "live.co.uk",
            "aol.com",
            "icloud.com",
            "me.com",
            "gmx.de",
            "gmx.net",
            "web.de",
            "mail.ru",
            "yandex.ru",
            "yandex.com",
            "proton.me",
            "protonmail.com",
            "qq.com",
            "163.com",
            "orange.fr",
            "free.fr",
            "t-online.de",
            "comcast.net",
            "btinternet.com",
            "gmail.com.",
        ] {
            assert!(is_free_mail_domain(domain), "{domain}");
        }
        for domain in [
            "example.com",
            "acme.co.uk",
            "live.acme.com",
            "yahoo.acme.com",
            "gmx.example.org",
            "google.com",
            "microsoft.com",
            "mail.acme.com",
            "",
            "com",
        ] {
            assert!(!is_free_mail_domain(domain), "{domain}");
        }
    }
}
