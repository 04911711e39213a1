//! The embeddable host of the Send Conversion Event component.
//!
//! A platform that runs the action in its own workflow engine depends on
//! this crate alone: it compiles the component once, keeps the compiled form
//! in a cache it can verify, and runs every execution in a fresh wasmtime
//! store under [`Limits`] (linear memory summed over every memory of the
//! execution, CPU time measured as the time the thread spends in the
//! execution's own polls, wall-clock time), with one [`EgressPolicy`] as the only way out of
//! the sandbox: `https` on port 443 to the Graph API host, decided from each
//! request's head, with caps on the body, the number of requests and what
//! each recorded exchange keeps, and every secret redacted by one
//! [`Redactor`]. When the host stops an execution it says why with a typed
//! [`HostFailure`].
//!
//! ```no_run
//! use action_host::{ActionEngine, EgressPolicy, HostFailure, Limits, Secret, wit};
//! use std::sync::Arc;
//!
//! # async fn example() -> anyhow::Result<()> {
//! // Compile once (`ActionEngine::load` also takes a cache folder).
//! let component = std::fs::read("send_conversion_event.wasm")?;
//! let engine = ActionEngine::new(&component, Limits::default())?;
//!
//! // The settings the workflow builder filled in; the token is a secret.
//! let token = Secret::new(std::env::var("META_ACCESS_TOKEN")?);
//! let settings = serde_json::json!({
//!     "pixel_id": "1234567890",
//!     "access_token": token.expose(),
//!     "event": "Purchase",
//! })
//! .to_string();
//! let problems = engine.validate_settings(&settings).await?; // show them in the form
//! assert!(problems.is_empty());
//!
//! // One firing of the trigger, for one contact.
//! let firing = wit::Firing {
//!     id: "evt-7001".into(),
//!     trigger_type: "order_placed".into(),
//!     occurred_at: 1_795_686_441,
//!     data: r#"{"order":{"id":"ORD-1001","total":1299,"currency":"EUR"}}"#.into(),
//! };
//! let contact = wit::Contact {
//!     id: "c-1".into(),
//!     emails: vec!["ada@example.com".into()],
//!     phones: vec!["+44 20 7946 0018".into()],
//!     first_name: Some("Ada".into()),
//!     last_name: Some("Lovelace".into()),
//!     gender: None,
//!     date_of_birth: None,
//!     city: Some("London".into()),
//!     state: None,
//!     postal_code: None,
//!     country: Some("GB".into()),
//!     custom_fields: "{}".into(),
//! };
//!
//! // Only graph.facebook.com, and the token redacted wherever it would show.
//! let policy = Arc::new(EgressPolicy::graph(None).with_secrets([&token]));
//! let exec = engine
//!     .execute(policy, &settings, &firing, &contact)
//!     .await
//!     .require_acknowledgement(); // accepted only if Meta's answer says so
//! match exec.result {
//!     Ok(Ok(outcome)) => println!("accepted: {} ({})", outcome.event_id, outcome.fbtrace_id),
//!     Ok(Err(failure)) => println!("not accepted: {:?}", failure.error), // says whether to retry
//!     Err(HostFailure::WallClock(_)) => println!("too slow; worth retrying later"),
//!     Err(stopped) => println!("the sandbox stopped it: {stopped}"),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! An execution's outcome is the component's word; before counting it as
//! delivered, [`Execution::require_acknowledgement`] checks it against the
//! answers the host saw (`host-harness run` does so for every execution).
//!
//! The modules, each one idea: `bindings` (the WIT contract as wasmtime
//! sees it), `engine` (compile, cache, pool, pre-instantiate, execute),
//! `limits` (what an execution may use and the meters that hold it to
//! that), `failure` (why the host stopped one), `acknowledgement` (whether
//! Meta's answers back a reported delivery), `egress` (the one
//! `WasiHttpHooks`), `connections` (kept-alive connections to the Graph
//! API), `cache` (the verified compiled-component cache) and `secrets` (the
//! type that cannot print itself, and the redactor).

#![deny(missing_docs)]

mod acknowledgement;
mod bindings;
mod cache;
mod connections;
mod egress;
mod engine;
mod failure;
mod limits;
mod secrets;

pub use bindings::wit;
pub use cache::CacheUse;
pub use egress::{EgressCap, EgressPolicy, Exchange, ExchangeResult, GRAPH_HOST};
pub use engine::{ActionEngine, Execution, Loaded, Reuse, Worker};
pub use failure::HostFailure;
pub use limits::Limits;
pub use secrets::{REDACTED, Redactor, Secret};
