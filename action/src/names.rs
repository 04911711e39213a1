//! Meta's names the rest of the core shares: the standard event names, the
//! event an action sends, and the action sources. A module of its own so
//! that settings, mapping and outcome all depend on it, not on each other.

/// Meta's standard event names (reference section 2). The first five are the
/// ones the platform's event picker offers first.
pub const STANDARD_EVENTS: [&str; 18] = [
    "Lead",
    "Purchase",
    "PageView",
    "InitiateCheckout",
    "CompleteRegistration",
    "AddPaymentInfo",
    "AddToCart",
    "AddToWishlist",
    "Contact",
    "CustomizeProduct",
    "Donate",
    "FindLocation",
    "Schedule",
    "Search",
    "StartTrial",
    "SubmitApplication",
    "Subscribe",
    "ViewContent",
];

/// How the conversion happened, as Meta classifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionSource {
    /// On the advertiser's website (needs `event_source_url` and
    /// `client_user_agent`).
    Website,
    /// By email.
    Email,
    /// In a mobile app.
    App,
    /// Over the phone.
    PhoneCall,
    /// In a chat.
    Chat,
    /// In a physical store.
    PhysicalStore,
    /// By a system, e.g. a CRM lead stage.
    SystemGenerated,
    /// Through business messaging.
    BusinessMessaging,
    /// Anything else.
    Other,
}

impl ActionSource {
    /// Every action source, in Meta's order.
    pub const ALL: [ActionSource; 9] = [
        ActionSource::Website,
        ActionSource::Email,
        ActionSource::App,
        ActionSource::PhoneCall,
        ActionSource::Chat,
        ActionSource::PhysicalStore,
        ActionSource::SystemGenerated,
        ActionSource::BusinessMessaging,
        ActionSource::Other,
    ];

    /// Meta's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionSource::Website => "website",
            ActionSource::Email => "email",
            ActionSource::App => "app",
            ActionSource::PhoneCall => "phone_call",
            ActionSource::Chat => "chat",
            ActionSource::PhysicalStore => "physical_store",
            ActionSource::SystemGenerated => "system_generated",
            ActionSource::BusinessMessaging => "business_messaging",
            ActionSource::Other => "other",
        }
    }

    /// Parses Meta's wire name.
    pub fn parse(s: &str) -> Option<ActionSource> {
        ActionSource::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// The event a workflow action sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventName {
    /// One of Meta's standard events, spelled as Meta spells it.
    Standard(&'static str),
    /// A custom event name.
    Custom(String),
}

impl EventName {
    /// Reads an event name; standard names are recognised whatever their
    /// case, so `purchase` sends `Purchase`.
    pub fn parse(s: &str) -> EventName {
        match STANDARD_EVENTS.iter().find(|e| e.eq_ignore_ascii_case(s)) {
            Some(e) => EventName::Standard(e),
            None => EventName::Custom(s.to_string()),
        }
    }

    /// The name as sent.
    pub fn as_str(&self) -> &str {
        match self {
            EventName::Standard(s) => s,
            EventName::Custom(s) => s,
        }
    }
}
