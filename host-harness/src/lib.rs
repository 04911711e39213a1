//! A wasmtime host for the Send Conversion Event component.
//!
//! - [`engine`]: one engine, the component compiled once, a fresh limited
//!   store per execution;
//! - [`egress`]: the only way out of the sandbox (allow-list, redirect,
//!   timeouts, recording with secrets redacted);
//! - [`workflow`], [`contacts`], [`firings`]: the input files, with errors
//!   that name file, line and field;
//! - [`run`]: firings through workflows into a [`report`], with a
//!   [`quality`] estimate per event, [`retry`] with backoff, and a durable
//!   [`outbox`] that lets a killed run resume;
//! - [`graph_double`]: a local double of Meta's Graph API;
//! - [`demo`]: the bundled examples end to end;
//! - [`bench`]: reproducible performance figures.

pub mod bench;
pub mod cache;
pub mod contacts;
pub mod demo;
pub mod egress;
pub mod engine;
pub mod firings;
pub mod graph_double;
pub mod input;
pub mod outbox;
pub mod quality;
pub mod report;
pub mod retry;
pub mod run;
pub mod secrets;
pub mod workflow;
