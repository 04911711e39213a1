//! What the platform hands to the action for one firing: the contact and
//! the trigger. Plain Rust twins of the WIT records, so the core compiles
//! and is tested natively.

use crate::json_tree::JsonTree;

/// One contact record, values as the user typed them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Contact {
    /// The platform's stable id of the contact.
    pub id: String,
    /// Every email address, primary first.
    pub emails: Vec<String>,
    /// Every phone number, primary first.
    pub phones: Vec<String>,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Gender as typed.
    pub gender: Option<String>,
    /// Date of birth as typed.
    pub date_of_birth: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State, province or region.
    pub state: Option<String>,
    /// Postal or ZIP code.
    pub postal_code: Option<String>,
    /// Country, name or code.
    pub country: Option<String>,
    /// Every other field, by name: a JSON object.
    pub custom_fields: JsonTree,
}

/// One trigger firing.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    /// The platform's id of this firing, stable across retries.
    pub id: String,
    /// The trigger type, e.g. `order_placed`.
    pub trigger_type: String,
    /// When it happened, Unix seconds.
    pub occurred_at: i64,
    /// What the trigger carries: a JSON object.
    pub data: JsonTree,
}

impl Firing {
    /// A firing with an empty data object.
    pub fn new(id: impl Into<String>, trigger_type: impl Into<String>, occurred_at: i64) -> Self {
        Firing {
            id: id.into(),
            trigger_type: trigger_type.into(),
            occurred_at,
            data: JsonTree::empty_object(),
        }
    }
}
