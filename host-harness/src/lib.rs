//! The harness: runs Send Conversion Event workflows locally, over contact
//! and trigger files, through the embeddable host ([`action_host`]) and
//! against the Graph API double ([`graph_double`]) or Meta itself.
//!
//! - [`workflow`], [`contacts`], [`firings`] (and [`input`]): the input
//!   files, with errors that name file, line and field;
//! - [`run`]: firings through workflows into a [`report`], written as the
//!   run goes ([`report_file`]) and counted as it goes ([`tally`]), with a
//!   [`quality`] estimate per event, [`retry`] with backoff, and a durable
//!   [`outbox`] that lets a killed run resume;
//! - [`component`]: the bundled component, the test fixture and the cache
//!   folder;
//! - [`demo`]: the bundled examples end to end;
//! - [`bench`](mod@bench): reproducible performance figures.
//!
//! The `host-harness` binary is a thin CLI over these, one file per
//! subcommand in `src/cli/`.

pub mod bench;
pub mod component;
pub mod contacts;
mod delivery;
pub mod demo;
pub mod firings;
pub mod input;
pub mod outbox;
pub mod quality;
pub mod report;
pub mod report_file;
pub mod retry;
pub mod run;
pub mod tally;
pub mod workflow;
