//! Contact records, as a CRM exports them: CSV with a header row, a JSON
//! array, or JSON lines. Standard columns become the contact's fields;
//! every other column is a custom field reachable as `{{contact.<column>}}`.

use crate::input::{InputError, line_of_slice, read_text};
use action_host::wit;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// Contacts by id, with where each came from.
#[derive(Debug, Default)]
pub struct ContactBook {
    contacts: HashMap<String, Arc<wit::Contact>>,
}

impl ContactBook {
    /// The contact with `id`.
    pub fn get(&self, id: &str) -> Option<&Arc<wit::Contact>> {
        self.contacts.get(id)
    }

    /// How many contacts.
    pub fn len(&self) -> usize {
        self.contacts.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.contacts.is_empty()
    }
}

/// The standard field a column or key names, if any.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Standard {
    Id,
    Email,
    Phone,
    FirstName,
    LastName,
    Gender,
    DateOfBirth,
    City,
    State,
    PostalCode,
    Country,
}

fn standard(name: &str) -> Option<Standard> {
    let n: String = name
        .trim()
        .to_ascii_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    Some(match n.as_str() {
        "id" | "contactid" => Standard::Id,
        "email" | "emails" | "email2" | "secondaryemail" | "additionalemails" => Standard::Email,
        "phone" | "phones" | "phone2" | "mobile" | "mobilephone" | "secondaryphone"
        | "additionalphones" => Standard::Phone,
        "firstname" | "givenname" => Standard::FirstName,
        "lastname" | "surname" | "familyname" => Standard::LastName,
        "gender" | "sex" => Standard::Gender,
        "dateofbirth" | "dob" | "birthday" | "birthdate" => Standard::DateOfBirth,
        "city" | "town" => Standard::City,
        "state" | "province" | "region" => Standard::State,
        "postalcode" | "zip" | "zipcode" | "postcode" => Standard::PostalCode,
        "country" | "countrycode" => Standard::Country,
        _ => return None,
    })
}

/// A contact with only empty fields, to fill in.
pub fn empty_contact() -> wit::Contact {
    wit::Contact {
        id: String::new(),
        emails: Vec::new(),
        phones: Vec::new(),
        first_name: None,
        last_name: None,
        gender: None,
        date_of_birth: None,
        city: None,
        state: None,
        postal_code: None,
        country: None,
        custom_fields: "{}".into(),
    }
}

/// Several emails or phones in one cell are separated by `;`, and by
/// nothing else: `|` is a valid character of an email address.
fn split_multi(v: &str) -> impl Iterator<Item = String> + '_ {
    v.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn set(contact: &mut wit::Contact, field: Standard, value: &str) {
    let v = value.trim();
    if v.is_empty() {
        return;
    }
    let text = Some(v.to_string());
    match field {
        Standard::Id => contact.id = v.to_string(),
        Standard::Email => contact.emails.extend(split_multi(v)),
        Standard::Phone => contact.phones.extend(split_multi(v)),
        Standard::FirstName => contact.first_name = text,
        Standard::LastName => contact.last_name = text,
        Standard::Gender => contact.gender = text,
        Standard::DateOfBirth => contact.date_of_birth = text,
        Standard::City => contact.city = text,
        Standard::State => contact.state = text,
        Standard::PostalCode => contact.postal_code = text,
        Standard::Country => contact.country = text,
    }
}

/// Loads contacts; the format follows the extension (`.csv`, `.json`,
/// `.jsonl`/`.ndjson`), else the first character. Bad records are reported
/// and skipped; the rest load.
pub fn load(path: &Path) -> (ContactBook, Vec<InputError>) {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            return (
                ContactBook::default(),
                vec![InputError::new(
                    path,
                    None,
                    None,
                    format!("cannot read the file: {e}"),
                )],
            );
        }
    };
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let bytes = crate::input::without_bom(&bytes);
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let records = match (ext.as_str(), first) {
        ("csv", _) => from_csv(path, bytes),
        ("jsonl" | "ndjson", _) => from_json_lines(path, bytes),
        ("json", _) | (_, Some(b'[')) => match read_text(path) {
            Ok(text) => from_json_array(path, &text),
            Err(e) => vec![Err(e)],
        },
        (_, Some(b'{')) => from_json_lines(path, bytes),
        _ => from_csv(path, bytes),
    };
    let mut book = ContactBook::default();
    let mut errors = Vec::new();
    for r in records {
        match r {
            Ok((line, contact)) => {
                if contact.id.is_empty() {
                    errors.push(InputError::new(
                        path,
                        Some(line),
                        Some("id"),
                        "the contact has no id",
                    ));
                } else if book.contacts.contains_key(&contact.id) {
                    errors.push(InputError::new(
                        path,
                        Some(line),
                        Some("id"),
                        format!(
                            "a contact with id `{}` is already listed earlier; this one is ignored",
                            contact.id
                        ),
                    ));
                } else {
                    book.contacts.insert(contact.id.clone(), Arc::new(contact));
                }
            }
            Err(e) => errors.push(e),
        }
    }
    (book, errors)
}

type Record = Result<(usize, wit::Contact), InputError>;

fn from_csv(path: &Path, bytes: &[u8]) -> Vec<Record> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(bytes);
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            return vec![Err(InputError::new(
                path,
                Some(1),
                None,
                format!("unreadable header row: {e}"),
            ))];
        }
    };
    if !headers.iter().any(|h| standard(h) == Some(Standard::Id)) {
        return vec![Err(InputError::new(
            path,
            Some(1),
            Some("id"),
            "the header row has no `id` column",
        ))];
    }
    let columns: Vec<(String, Option<Standard>)> = headers
        .iter()
        .map(|h| (h.trim().to_string(), standard(h)))
        .collect();
    let mut out = Vec::new();
    for row in reader.byte_records() {
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line() as usize);
                let message = match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => {
                        format!("the row has {len} fields but the header has {expected_len}")
                    }
                    _ => format!("malformed CSV row: {e}"),
                };
                out.push(Err(InputError::new(path, line, None, message)));
                continue;
            }
        };
        let line = row.position().map_or(0, |p| p.line() as usize);
        // Each row stands alone: one with broken text is reported, the
        // others load.
        let decoded: Result<Vec<&str>, usize> = row
            .iter()
            .enumerate()
            .map(|(i, v)| std::str::from_utf8(v).map_err(|_| i))
            .collect();
        let values = match decoded {
            Ok(v) => v,
            Err(i) => {
                let column = columns.get(i).map(|(n, _)| n.as_str());
                out.push(Err(InputError::new(
                    path,
                    Some(line),
                    column,
                    "not valid UTF-8 text",
                )));
                continue;
            }
        };
        let mut contact = empty_contact();
        let mut custom = Map::new();
        for ((name, field), value) in columns.iter().zip(values) {
            match field {
                Some(f) => set(&mut contact, *f, value),
                None if !value.trim().is_empty() => {
                    custom.insert(name.clone(), Value::String(value.trim().to_string()));
                }
                None => {}
            }
        }
        contact.custom_fields = Value::Object(custom).to_string();
        out.push(Ok((line, contact)));
    }
    out
}

fn from_value(path: &Path, line: usize, v: Value) -> Record {
    let Value::Object(obj) = v else {
        return Err(InputError::new(
            path,
            Some(line),
            None,
            "a contact must be a JSON object",
        ));
    };
    let mut contact = empty_contact();
    let mut custom = Map::new();
    for (key, value) in obj {
        if key == "custom_fields" {
            match value {
                Value::Object(m) => custom.extend(m),
                Value::Null => {}
                _ => {
                    return Err(InputError::new(
                        path,
                        Some(line),
                        Some("custom_fields"),
                        "must be a JSON object",
                    ));
                }
            }
            continue;
        }
        match standard(&key) {
            Some(field) => {
                let values: Vec<String> = match &value {
                    Value::String(s) => vec![s.clone()],
                    Value::Number(n) => vec![n.to_string()],
                    Value::Array(a) if matches!(field, Standard::Email | Standard::Phone) => {
                        let mut vs = Vec::new();
                        for item in a {
                            match item {
                                Value::String(s) => vs.push(s.clone()),
                                Value::Number(n) => vs.push(n.to_string()),
                                _ => {
                                    return Err(InputError::new(
                                        path,
                                        Some(line),
                                        Some(&key),
                                        "a list of text was expected",
                                    ));
                                }
                            }
                        }
                        vs
                    }
                    Value::Null => Vec::new(),
                    _ => {
                        return Err(InputError::new(
                            path,
                            Some(line),
                            Some(&key),
                            "text was expected",
                        ));
                    }
                };
                for v in values {
                    set(&mut contact, field, &v);
                }
            }
            None => {
                custom.insert(key, value);
            }
        }
    }
    contact.custom_fields = Value::Object(custom).to_string();
    Ok((line, contact))
}

fn from_json_lines(path: &Path, bytes: &[u8]) -> Vec<Record> {
    crate::input::lines(bytes)
        .map(|(n, l)| {
            let l = l.map_err(|_| {
                InputError::new(path, Some(n), None, "the line is not valid UTF-8 text")
            })?;
            let v: Value = serde_json::from_str(l).map_err(|e| {
                InputError::new(path, Some(n), None, format!("not valid JSON: {e}"))
            })?;
            from_value(path, n, v)
        })
        .collect()
}

fn from_json_array(path: &Path, text: &str) -> Vec<Record> {
    let items: Vec<&serde_json::value::RawValue> = match serde_json::from_str(text) {
        Ok(i) => i,
        Err(e) => {
            return vec![Err(InputError::new(
                path,
                Some(e.line()),
                None,
                format!("not a JSON array of contacts: {e}"),
            ))];
        }
    };
    items
        .into_iter()
        .map(|raw| {
            let line = line_of_slice(text, raw.get());
            let v: Value = serde_json::from_str(raw.get()).expect("already parsed");
            from_value(path, line, v)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(ext: &str, content: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::Builder::new().suffix(ext).tempfile().unwrap();
        f.write_all(content.as_bytes()).unwrap();
        f
    }

    #[test]
    fn csv_standard_and_custom_columns() {
        let f = file(
            ".csv",
            "id,email,phone,first_name,Zip,loyalty_tier\nc1,a@x.com;b@x.com,555-1212,Ada,94025,gold\nc2,,,,,\n",
        );
        let (book, errors) = load(f.path());
        assert!(errors.is_empty(), "{errors:?}");
        let c = book.get("c1").unwrap();
        assert_eq!(c.emails, ["a@x.com", "b@x.com"]);
        assert_eq!(c.postal_code.as_deref(), Some("94025"));
        assert_eq!(c.custom_fields, r#"{"loyalty_tier":"gold"}"#);
        assert_eq!(book.len(), 2);
    }

    #[test]
    fn cells_split_at_semicolons_only_in_csv_and_json_alike() {
        let f = file(
            ".csv",
            "id,email,phone\nc1,a|b@x.com; c@x.com,+1 650 555 1212|7\n",
        );
        let (book, _) = load(f.path());
        let c = book.get("c1").unwrap();
        assert_eq!(c.emails, ["a|b@x.com", "c@x.com"]);
        assert_eq!(c.phones, ["+1 650 555 1212|7"]);
        let f = file(".json", r#"[{"id": "c1", "email": "a|b@x.com;c@x.com"}]"#);
        let (book, _) = load(f.path());
        assert_eq!(book.get("c1").unwrap().emails, ["a|b@x.com", "c@x.com"]);
    }

    #[test]
    fn bad_rows_are_located_and_skipped() {
        let f = file(
            ".csv",
            "id,email\nc1,a@x.com\nc2,b@x.com,extra\n,c@x.com\nc1,again@x.com\nc3,ok@x.com\n",
        );
        let (book, errors) = load(f.path());
        assert_eq!(book.len(), 2);
        let lines: Vec<_> = errors
            .iter()
            .map(|e| (e.line, e.field.as_deref()))
            .collect();
        assert_eq!(
            lines,
            [
                (Some(3), None),
                (Some(4), Some("id")),
                (Some(5), Some("id"))
            ]
        );
        assert!(
            errors[0]
                .to_string()
                .contains(":3: the row has 3 fields but the header has 2"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn json_array_and_lines() {
        let f = file(
            ".json",
            "[\n {\"id\": \"c1\", \"email\": [\"a@x.com\"]},\n {\"id\": 7, \"phone\": {\"x\": 1}}\n]",
        );
        let (book, errors) = load(f.path());
        assert_eq!(book.len(), 1);
        assert_eq!(errors[0].line, Some(3));
        assert_eq!(errors[0].field.as_deref(), Some("phone"));
        let f = file(".jsonl", "{\"id\":\"a\",\"tier\":\"x\"}\n{oops\n");
        let (book, errors) = load(f.path());
        assert_eq!(book.get("a").unwrap().custom_fields, r#"{"tier":"x"}"#);
        assert_eq!(errors[0].line, Some(2));
    }
}
