//! DNS host names, shared by e-mail domains and web domains.

/// Longest DNS name in its dotted text form.
const MAX_DOMAIN: usize = 253;
/// Longest DNS label.
const MAX_LABEL: usize = 63;

/// Why a host name is not a usable DNS domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("it is not a valid internationalised domain name")]
    Idna,
    #[error("it needs at least two parts, like example.com")]
    SingleLabel,
    #[error("it has an empty part (two dots in a row, or a leading or trailing dot)")]
    EmptyLabel,
    #[error("one of its parts is longer than {MAX_LABEL} characters")]
    LabelTooLong,
    #[error("it is longer than {MAX_DOMAIN} characters")]
    TooLong,
    #[error("its parts may contain only letters, digits and inner hyphens")]
    InvalidCharacter,
    #[error("its parts must not start or end with a hyphen")]
    Hyphen,
    #[error("its parts must not have \"--\" as third and fourth character (that is reserved for xn-- punycode)")]
    ReservedHyphens,
    #[error("its last part must not be a number")]
    NumericTld,
    #[error("its last part must end with a letter, as every top-level domain does")]
    InvalidTld,
}

/// Lower-cases and IDNA-encodes a host name, then checks it is a DNS name of at least
/// two labels (letters, digits, inner hyphens; no "ab--" but "xn--") whose top-level
/// label ends with a letter, which also rules out IPv4 addresses.
pub(crate) fn domain_to_ascii(host: &str) -> Result<String, DomainError> {
    if host.len() > MAX_DOMAIN * 4 {
        return Err(DomainError::TooLong);
    }
    let ascii = idna::domain_to_ascii(host).map_err(|_| DomainError::Idna)?;
    check_ascii_domain(&ascii)?;
    Ok(ascii)
}

/// Checks an already ASCII, lower-case domain against the DNS rules we rely on.
fn check_ascii_domain(ascii: &str) -> Result<(), DomainError> {
    let labels: Vec<&str> = ascii.split('.').collect();
    if labels.iter().any(|l| l.is_empty()) {
        return Err(if ascii.is_empty() {
            DomainError::Idna
        } else {
            DomainError::EmptyLabel
        });
    }
    if labels.len() < 2 {
        return Err(DomainError::SingleLabel);
    }
    if ascii.len() > MAX_DOMAIN {
        return Err(DomainError::TooLong);
    }
    for label in &labels {
        check_label(label)?;
    }
    match labels.last() {
        Some(tld) if tld.bytes().all(|b| b.is_ascii_digit()) => Err(DomainError::NumericTld),
        Some(tld) if !tld.ends_with(|c: char| c.is_ascii_lowercase()) => {
            Err(DomainError::InvalidTld)
        }
        _ => Ok(()),
    }
}

fn check_label(label: &str) -> Result<(), DomainError> {
    if label.len() > MAX_LABEL {
        return Err(DomainError::LabelTooLong);
    }
    if !label
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(DomainError::InvalidCharacter);
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(DomainError::Hyphen);
    }
    // RFC 5891 section 4.2.3.1: "ab--" labels are reserved for IDNA; only xn-- is in use.
    if label.get(2..4) == Some("--") && !label.starts_with("xn--") {
        return Err(DomainError::ReservedHyphens);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_and_checks() {
        let cases: &[(&str, Result<&str, DomainError>)] = &[
            ("Example.COM", Ok("example.com")),
            ("bücher.de", Ok("xn--bcher-kva.de")),
            ("BÜCHER.DE", Ok("xn--bcher-kva.de")),
            ("例子。广告", Ok("xn--fsqu00a.xn--4rr70v")),
            ("ｅｘａｍｐｌｅ.com", Ok("example.com")),
            ("a.b.c.d.example", Ok("a.b.c.d.example")),
            ("1and1.com", Ok("1and1.com")),
            ("", Err(DomainError::Idna)),
            ("localhost", Err(DomainError::SingleLabel)),
            ("a..b", Err(DomainError::EmptyLabel)),
            ("example.com.", Err(DomainError::EmptyLabel)),
            ("-a.com", Err(DomainError::Hyphen)),
            ("a-.com", Err(DomainError::Hyphen)),
            ("a_b.com", Err(DomainError::InvalidCharacter)),
            ("yy--0.com", Err(DomainError::ReservedHyphens)),
            ("a.ab--c.com", Err(DomainError::ReservedHyphens)),
            ("a.com.ab--", Err(DomainError::Hyphen)),
            ("c--n.com", Ok("c--n.com")),
            ("a--b--c.com", Ok("a--b--c.com")),
            ("abc--d.com", Ok("abc--d.com")),
            ("xn--bcher-kva.de", Ok("xn--bcher-kva.de")),
            ("10.0.0.1", Err(DomainError::NumericTld)),
            ("bad.tld-2", Err(DomainError::InvalidTld)),
            ("a.b2", Err(DomainError::InvalidTld)),
            ("a.2b", Ok("a.2b")),
            ("例子.рф", Ok("xn--fsqu00a.xn--p1ai")),
            ("xn--zz.com", Err(DomainError::Idna)),
        ];
        for (raw, want) in cases {
            assert_eq!(
                domain_to_ascii(raw).as_deref().map_err(|e| *e),
                *want,
                "{raw:?}"
            );
        }
    }

    #[test]
    fn length_limits() {
        let label = "a".repeat(63);
        assert!(domain_to_ascii(&format!("{label}.com")).is_ok());
        assert_eq!(
            domain_to_ascii(&format!("a{label}.com")),
            Err(DomainError::LabelTooLong)
        );
        let long = format!("{}com", "abcdefghi.".repeat(26));
        assert_eq!(domain_to_ascii(&long), Err(DomainError::TooLong));
        assert_eq!(
            domain_to_ascii(&"a.".repeat(1 << 19)),
            Err(DomainError::TooLong)
        );
    }
}
