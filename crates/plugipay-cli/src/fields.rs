//! The fields of a customer and of an import row, read from the spec's
//! generated schemas, and the field a mistyped name most likely meant.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use plugipay::{Customer, NewCustomer};

/// The JSON names of a schema's top-level properties.
fn properties(schema: schemars::schema::RootSchema) -> BTreeSet<String> {
    schema
        .schema
        .object
        .map(|object| object.properties.into_keys().collect())
        .unwrap_or_default()
}

/// The fields a row may set: the create request's, from its schema (a
/// field the spec adds is one with no change here).
pub fn row_fields() -> &'static BTreeSet<String> {
    static FIELDS: OnceLock<BTreeSet<String>> = OnceLock::new();
    FIELDS.get_or_init(|| properties(schemars::schema_for!(NewCustomer)))
}

/// The fields of a customer as the server answers it (what `export`
/// writes): the create request's and the answer-only ones (`id`,
/// `createdAt`, …).
pub fn customer_fields() -> &'static BTreeSet<String> {
    static FIELDS: OnceLock<BTreeSet<String>> = OnceLock::new();
    FIELDS.get_or_init(|| properties(schemars::schema_for!(Customer)))
}

/// The field a mistyped column most likely meant: the same name in another
/// case or with `_`/`-`, or one at most two letters away.
pub fn closest_field<'a>(header: &str, fields: &'a BTreeSet<String>) -> Option<&'a str> {
    let fold = |s: &str| -> String {
        s.chars()
            .filter(|c| !matches!(c, '_' | '-' | ' '))
            .flat_map(char::to_lowercase)
            .collect()
    };
    let wanted = fold(header);
    fields
        .iter()
        .map(|field| (edit_distance(&wanted, &fold(field)), field))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, field)| field.as_str())
}

/// The number of single-letter edits from `a` to `b` (Levenshtein).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let next = (row[j + 1] + 1).min(row[j] + 1).min(previous + cost);
            previous = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mistyped_column_gets_a_suggestion() {
        let fields: BTreeSet<String> = ["externalId", "email", "name", "taxId"]
            .into_iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(closest_field("ExternalId", &fields), Some("externalId"));
        assert_eq!(closest_field("external_id", &fields), Some("externalId"));
        assert_eq!(closest_field("emial", &fields), Some("email"));
        assert_eq!(closest_field("tax id", &fields), Some("taxId"));
        assert_eq!(closest_field("favouriteColour", &fields), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "ab"), 2);
    }
}
