//! The end-to-end tests, in one binary: the real component in wasmtime,
//! over loopback, against the Graph API double, and the CLI as users run
//! it.

mod common;

mod browser;
mod cli;
mod end_to_end;
mod reliability;
mod sandbox;
mod vectors;
