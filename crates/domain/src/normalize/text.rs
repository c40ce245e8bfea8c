//! Small text helpers shared by the field normalisers.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// NFC, trimmed, with every run of whitespace (including tabs and line breaks) turned
/// into one space; `None` when nothing is left. The canonical form of a one-line value.
pub(crate) fn clean_line(raw: &str) -> Option<String> {
    let nfc: String = raw.nfc().collect();
    let collapsed = nfc.split_whitespace().collect::<Vec<_>>().join(" ");
    (!collapsed.is_empty()).then_some(collapsed)
}

/// NFC and trimmed, with inner line breaks kept; `None` when nothing is left.
/// The canonical form of free text such as custom attribute values.
pub(crate) fn clean_block(raw: &str) -> Option<String> {
    let nfc: String = raw.nfc().collect();
    let trimmed = nfc.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

/// Folds text for comparison: compatibility decomposition (so full-width and ligature
/// forms match their plain letters), accents dropped, lower case, `ß` as `ss`.
pub(crate) fn fold(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.nfkd().filter(|c| !is_combining_mark(*c)) {
        for lower in c.to_lowercase() {
            match lower {
                'ß' => out.push_str("ss"),
                other => out.push(other),
            }
        }
    }
    out
}

/// A control character we refuse to store. Tab, line feed and carriage return are
/// ordinary whitespace and allowed everywhere (one-line fields collapse them).
pub(crate) fn forbidden_control(raw: &str) -> Option<char> {
    raw.chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_line_collapses_and_composes() {
        let cases = [
            ("  a  b ", Some("a b")),
            ("a\t\nb", Some("a b")),
            ("   ", None),
            ("", None),
            ("e\u{301}", Some("\u{e9}")),
            ("\u{a0}x\u{2003}y\u{3000}", Some("x y")),
        ];
        for (raw, want) in cases {
            assert_eq!(clean_line(raw).as_deref(), want, "{raw:?}");
        }
    }

    #[test]
    fn clean_block_keeps_line_breaks() {
        assert_eq!(clean_block("  a\nb  ").as_deref(), Some("a\nb"));
        assert_eq!(clean_block(" \n "), None);
    }

    #[test]
    fn fold_drops_accents_and_case() {
        assert_eq!(fold("Ökö ÉÇ"), "oko ec");
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("ＡＣＭＥ"), "acme");
    }

    #[test]
    fn forbidden_control_finds_c0_c1_and_del() {
        assert_eq!(forbidden_control("a\tb\nc\r"), None);
        assert_eq!(forbidden_control("a\0b"), Some('\0'));
        assert_eq!(forbidden_control("a\u{7f}"), Some('\u{7f}'));
        assert_eq!(forbidden_control("a\u{85}"), Some('\u{85}'));
        assert_eq!(forbidden_control("a\u{1b}[31m"), Some('\u{1b}'));
    }
}
