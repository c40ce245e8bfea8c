//! Column mapping: which lead field (or custom attribute) each column of a file fills.
//!
//! Headers are recognised automatically ([`field_for_header`]); the person importing
//! can override any column with `--map column=field`. Ambiguity is an error rather
//! than a guess, because silently filling `email` from the wrong column would import
//! a whole list with the wrong identity.

use super::header::field_for_header;
use crate::fields::LeadField;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::fmt;

/// Where one column's values go.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ColumnTarget {
    /// A standard lead field.
    Field(LeadField),
    /// A custom attribute with this name.
    Custom(String),
    /// The column is read (and kept in the row's raw values) but not imported.
    Ignore,
}

impl ColumnTarget {
    /// Parses an override target: a canonical field name (`email`, `postal_code`),
    /// `custom.<name>`, or `ignore`. Case, surrounding spaces and `-`/space instead of
    /// `_` are forgiven in field names; the custom name is kept as written (trimmed).
    pub fn parse(target: &str) -> Result<ColumnTarget, MappingError> {
        let trimmed = target.trim();
        if let Some(rest) = strip_prefix_ignore_case(trimmed, "custom.") {
            let name = rest.trim();
            if name.is_empty() {
                return Err(MappingError::EmptyCustomName);
            }
            return Ok(ColumnTarget::Custom(name.to_string()));
        }
        let wanted = trimmed.to_lowercase().replace(['-', ' '], "_");
        if wanted == "ignore" {
            return Ok(ColumnTarget::Ignore);
        }
        wanted
            .parse::<LeadField>()
            .map(ColumnTarget::Field)
            .map_err(|_| MappingError::UnknownTarget(trimmed.to_string()))
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

impl fmt::Display for ColumnTarget {
    /// The same syntax `--map` accepts, so a shown mapping can be typed back in.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnTarget::Field(field) => f.write_str(field.as_str()),
            ColumnTarget::Custom(name) => write!(f, "custom.{name}"),
            ColumnTarget::Ignore => f.write_str("ignore"),
        }
    }
}

/// How a column got its target; shown in import previews so people can see what was
/// guessed and what they chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MappingOrigin {
    /// The header was recognised as a standard field.
    Detected,
    /// An override (`--map`) chose the target.
    Override,
    /// Unknown header: kept as a custom attribute (or ignored if blank).
    Default,
    /// Detected as a field another column was explicitly mapped to; kept as custom.
    Displaced,
}

/// The target of every column, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ColumnMapping {
    /// One entry per column of the header row.
    pub columns: Vec<ColumnTarget>,
    /// How each column's target was chosen (same length as `columns`).
    pub origins: Vec<MappingOrigin>,
}

impl ColumnMapping {
    /// The target of column `index`; columns past the header are ignored.
    pub fn target(&self, index: usize) -> &ColumnTarget {
        self.columns.get(index).unwrap_or(&ColumnTarget::Ignore)
    }

    /// The column filling a standard field, if any.
    pub fn column_of(&self, field: LeadField) -> Option<usize> {
        self.columns
            .iter()
            .position(|t| *t == ColumnTarget::Field(field))
    }

    /// The standard fields this mapping fills, in column order.
    pub fn fields(&self) -> impl Iterator<Item = LeadField> + '_ {
        self.columns.iter().filter_map(|t| match t {
            ColumnTarget::Field(f) => Some(*f),
            _ => None,
        })
    }

    /// Whether at least one column fills a standard field.
    pub fn has_standard_field(&self) -> bool {
        self.fields().next().is_some()
    }
}

/// Why a mapping could not be built. Messages name the columns as the file does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    /// An override names a header that is not in the file.
    #[error("--map names column {column:?}, which is not in the file; its columns are: {}", quoted_list(.available))]
    UnknownColumn {
        column: String,
        available: Vec<String>,
    },
    /// An override target is not a field name, `custom.<name>` or `ignore`.
    #[error("unknown target field {0:?}; use one of first_name, last_name, full_name, title, email, phone, company, website, street, postal_code, city, region, country, date_of_birth, custom.<name> or ignore")]
    UnknownTarget(String),
    /// `custom.` with nothing after it.
    #[error("custom attribute name is empty; write custom.<name>")]
    EmptyCustomName,
    /// The same column appears in two overrides.
    #[error("column {0:?} is given more than one --map")]
    DuplicateOverride(String),
    /// Two columns would fill the same field or custom attribute.
    #[error("columns {first:?} and {second:?} both map to {target}; use --map to choose")]
    Conflict {
        first: String,
        second: String,
        target: String,
    },
}

fn quoted_list(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Builds the mapping for a header row.
///
/// `overrides` are `(column, target)` pairs from `--map column=field`: the column is
/// found by its header text (trimmed, case-insensitive); if several columns carry that
/// header, the override applies to all of them. An override wins over detection: a
/// column whose header was detected as the same field is kept as a custom attribute
/// instead (so `--map "E-mail Address=email"` settles an Email/E-mail Address clash).
/// Unknown headers become custom attributes named by the trimmed header (a repeated
/// name gets " 2", " 3", …), blank headers are ignored.
pub fn build_mapping(
    headers: &[String],
    overrides: &[(String, String)],
) -> Result<ColumnMapping, MappingError> {
    let mut columns: Vec<Option<ColumnTarget>> = vec![None; headers.len()];
    let mut origins = vec![MappingOrigin::Default; headers.len()];

    // 1. Overrides.
    let mut seen_override = HashSet::new();
    for (column, target) in overrides {
        let wanted = column.trim().to_lowercase();
        if !seen_override.insert(wanted.clone()) {
            return Err(MappingError::DuplicateOverride(column.trim().to_string()));
        }
        let target = ColumnTarget::parse(target)?;
        let mut found = false;
        for (i, header) in headers.iter().enumerate() {
            if header.trim().to_lowercase() == wanted {
                columns[i] = Some(target.clone());
                origins[i] = MappingOrigin::Override;
                found = true;
            }
        }
        if !found {
            return Err(MappingError::UnknownColumn {
                column: column.trim().to_string(),
                available: headers.iter().map(|h| h.trim().to_string()).collect(),
            });
        }
    }
    let overridden_fields: HashSet<LeadField> = columns
        .iter()
        .filter_map(|t| match t {
            Some(ColumnTarget::Field(f)) => Some(*f),
            _ => None,
        })
        .collect();

    // 2. Detection, and defaults for the rest.
    for (i, header) in headers.iter().enumerate() {
        if columns[i].is_some() {
            continue;
        }
        let name = header.trim();
        let (target, origin) = match field_for_header(name) {
            Some(f) if overridden_fields.contains(&f) => (
                ColumnTarget::Custom(name.to_string()),
                MappingOrigin::Displaced,
            ),
            Some(f) => (ColumnTarget::Field(f), MappingOrigin::Detected),
            None if name.is_empty() => (ColumnTarget::Ignore, MappingOrigin::Default),
            None => (
                ColumnTarget::Custom(name.to_string()),
                MappingOrigin::Default,
            ),
        };
        columns[i] = Some(target);
        origins[i] = origin;
    }
    let mut columns: Vec<ColumnTarget> = columns
        .into_iter()
        .map(|t| t.unwrap_or(ColumnTarget::Ignore))
        .collect();

    // 3. Two columns for one standard field is ambiguous; two for one custom name is
    //    an error if someone chose it, and made unique if it was only a default.
    let mut field_owner: BTreeMap<LeadField, usize> = BTreeMap::new();
    let mut custom_owner: BTreeMap<String, usize> = BTreeMap::new();
    // Overrides first, so a chosen custom name keeps its spelling and defaults yield.
    let order: Vec<usize> = (0..columns.len())
        .filter(|&i| origins[i] == MappingOrigin::Override)
        .chain((0..columns.len()).filter(|&i| origins[i] != MappingOrigin::Override))
        .collect();
    for i in order {
        match &columns[i] {
            ColumnTarget::Field(f) => {
                if let Some(&first) = field_owner.get(f) {
                    return Err(conflict(headers, first, i, f.as_str()));
                }
                field_owner.insert(*f, i);
            }
            ColumnTarget::Custom(name) => {
                let key = name.to_lowercase();
                match custom_owner.get(&key) {
                    None => {
                        custom_owner.insert(key, i);
                    }
                    Some(&first) if origins[i] == MappingOrigin::Override => {
                        let target = format!("custom.{name}");
                        return Err(conflict(headers, first.min(i), first.max(i), &target));
                    }
                    Some(_) => {
                        let base = name.clone();
                        let mut n = 2;
                        let unique = loop {
                            let candidate = format!("{base} {n}");
                            if !custom_owner.contains_key(&candidate.to_lowercase())
                                && !headers
                                    .iter()
                                    .any(|h| h.trim().eq_ignore_ascii_case(&candidate))
                            {
                                break candidate;
                            }
                            n += 1;
                        };
                        custom_owner.insert(unique.to_lowercase(), i);
                        columns[i] = ColumnTarget::Custom(unique);
                    }
                }
            }
            ColumnTarget::Ignore => {}
        }
    }
    Ok(ColumnMapping { columns, origins })
}

fn conflict(headers: &[String], first: usize, second: usize, target: &str) -> MappingError {
    let name = |i: usize| {
        let h = headers.get(i).map(|h| h.trim()).unwrap_or("");
        if h.is_empty() {
            format!("column {}", i + 1)
        } else {
            h.to_string()
        }
    };
    MappingError::Conflict {
        first: name(first),
        second: name(second),
        target: target.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn ov(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn detects_fields_and_keeps_unknown_columns_as_custom() {
        let m = build_mapping(&headers(&["First Name", "E-mail", " Badge ID ", ""]), &[]).unwrap();
        assert_eq!(
            m.columns,
            vec![
                ColumnTarget::Field(LeadField::FirstName),
                ColumnTarget::Field(LeadField::Email),
                ColumnTarget::Custom("Badge ID".into()),
                ColumnTarget::Ignore,
            ]
        );
        assert_eq!(m.origins[0], MappingOrigin::Detected);
        assert_eq!(m.origins[2], MappingOrigin::Default);
        assert_eq!(m.column_of(LeadField::Email), Some(1));
        assert_eq!(m.target(99), &ColumnTarget::Ignore);
        assert!(m.has_standard_field());
    }

    #[test]
    fn two_columns_for_one_field_is_an_error_with_both_names() {
        let err = build_mapping(&headers(&["Email", "Name", "E-mail Address"]), &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"columns "Email" and "E-mail Address" both map to email; use --map to choose"#
        );
    }

    #[test]
    fn an_override_settles_a_clash_and_keeps_the_other_column_as_custom() {
        let h = headers(&["Email", "Name", "E-mail Address"]);
        let m = build_mapping(&h, &ov(&[("e-mail address", "email")])).unwrap();
        assert_eq!(m.columns[2], ColumnTarget::Field(LeadField::Email));
        assert_eq!(m.columns[0], ColumnTarget::Custom("Email".into()));
        assert_eq!(m.origins[0], MappingOrigin::Displaced);
        let m = build_mapping(&h, &ov(&[("Email", "ignore")])).unwrap();
        assert_eq!(m.columns[0], ColumnTarget::Ignore);
        assert_eq!(m.columns[2], ColumnTarget::Field(LeadField::Email));
    }

    #[test]
    fn overrides_accept_fields_custom_and_ignore() {
        let h = headers(&["Kontakt E-Post", "Notes", "Internal"]);
        let m = build_mapping(
            &h,
            &ov(&[
                (" kontakt e-post ", "Email"),
                ("Notes", "custom.Booth notes"),
                ("INTERNAL", "ignore"),
            ]),
        )
        .unwrap();
        assert_eq!(
            m.columns,
            vec![
                ColumnTarget::Field(LeadField::Email),
                ColumnTarget::Custom("Booth notes".into()),
                ColumnTarget::Ignore,
            ]
        );
        assert!(m.origins.iter().all(|o| *o == MappingOrigin::Override));
        let m = build_mapping(&headers(&["PC"]), &ov(&[("PC", "postal-code")])).unwrap();
        assert_eq!(m.columns[0], ColumnTarget::Field(LeadField::PostalCode));
    }

    #[test]
    fn override_errors_are_specific() {
        let h = headers(&["Email", "Name"]);
        let err = build_mapping(&h, &ov(&[("Emial", "email")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"--map names column "Emial", which is not in the file; its columns are: "Email", "Name""#
        );
        let err = build_mapping(&h, &ov(&[("Name", "nickname")])).unwrap_err();
        assert!(matches!(err, MappingError::UnknownTarget(ref t) if t == "nickname"));
        assert!(err.to_string().contains("custom.<name>"));
        let err = build_mapping(&h, &ov(&[("Name", "custom. ")])).unwrap_err();
        assert_eq!(err, MappingError::EmptyCustomName);
        let err = build_mapping(&h, &ov(&[("Name", "full_name"), ("name", "ignore")])).unwrap_err();
        assert!(matches!(err, MappingError::DuplicateOverride(_)));
        let err = build_mapping(&h, &ov(&[("Name", "email"), ("Email", "email")])).unwrap_err();
        assert!(matches!(err, MappingError::Conflict { .. }));
    }

    #[test]
    fn repeated_unknown_headers_get_unique_custom_names() {
        let m = build_mapping(&headers(&["Email", "Notes", "notes", "Notes"]), &[]).unwrap();
        assert_eq!(m.columns[1], ColumnTarget::Custom("Notes".into()));
        assert_eq!(m.columns[2], ColumnTarget::Custom("notes 2".into()));
        assert_eq!(m.columns[3], ColumnTarget::Custom("Notes 3".into()));
        let err = build_mapping(
            &headers(&["Email", "A", "B"]),
            &ov(&[("A", "custom.x"), ("B", "custom.X")]),
        )
        .unwrap_err();
        assert!(matches!(err, MappingError::Conflict { .. }));
    }

    #[test]
    fn a_chosen_custom_name_wins_over_a_default_one_in_any_column_order() {
        let h = headers(&["Notes", "Email", "Remarks"]);
        let m = build_mapping(&h, &ov(&[("Remarks", "custom.Notes")])).unwrap();
        assert_eq!(m.columns[2], ColumnTarget::Custom("Notes".into()));
        assert_eq!(m.columns[0], ColumnTarget::Custom("Notes 2".into()));
    }

    #[test]
    fn targets_display_in_map_syntax() {
        for t in ["email", "custom.Badge ID", "ignore", "postal_code"] {
            assert_eq!(ColumnTarget::parse(t).unwrap().to_string(), t);
        }
        assert_eq!(
            ColumnTarget::parse("CUSTOM.Foo").unwrap(),
            ColumnTarget::Custom("Foo".into())
        );
    }

    #[test]
    fn no_headers_gives_an_empty_mapping() {
        let m = build_mapping(&[], &[]).unwrap();
        assert!(m.columns.is_empty());
        assert!(!m.has_standard_field());
    }
}
