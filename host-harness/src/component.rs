//! The components this harness was built with: the action it bundles (so
//! the CLI runs without any other file, and tests load the component built
//! from this very checkout), the misbehaving fixture of the sandbox tests,
//! and where compiled components are cached.

use std::path::PathBuf;

/// The Send Conversion Event component, built by `build.rs` from `action/`.
pub static BUNDLED_COMPONENT: &[u8] = include_bytes!(env!("ACTION_COMPONENT_PATH"));

/// Path of a test fixture: a component with the action's contract that
/// misbehaves on purpose (its settings say how: `loop`, `grab-memory`,
/// `panic`, `forbidden-host`, `huge-body-denied:N`, …), to test the sandbox.
pub const ROGUE_COMPONENT_PATH: &str = env!("ROGUE_COMPONENT_PATH");

/// The environment variable that names the cache folder.
pub const CACHE_ENV: &str = "HOST_HARNESS_CACHE";

/// The folder for compiled components: `$HOST_HARNESS_CACHE`, else
/// `$XDG_CACHE_HOME/send-conversion-event`, else `~/.cache/send-conversion-event`.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(CACHE_ENV) {
        return Some(PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("send-conversion-event"))
}
