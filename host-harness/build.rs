//! Builds the guest components for `wasm32-wasip2` and hands their paths to
//! the crate: the Send Conversion Event component, which the crate bundles
//! (the CLI runs without any other file, and tests load the component built
//! from this very checkout), and a misbehaving fixture for the sandbox tests.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let workspace = manifest_dir.parent().unwrap().to_path_buf();
    for watched in [
        "Cargo.toml",
        "Cargo.lock",
        "action/src",
        "action/Cargo.toml",
        "wit",
        "tests/fixtures",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");

    // A target directory of its own: the outer build holds the lock on the
    // main one.
    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"))
        .join("guest-build");
    build_guests(
        &workspace,
        &target_dir,
        &["send-conversion-event", "rogue-action"],
    );
    let artifact = |name: &str| {
        target_dir
            .join("wasm32-wasip2/guest")
            .join(format!("{name}.wasm"))
    };
    println!(
        "cargo:rustc-env=ACTION_COMPONENT_PATH={}",
        artifact("send_conversion_event").display()
    );
    println!(
        "cargo:rustc-env=ROGUE_COMPONENT_PATH={}",
        artifact("rogue_action").display()
    );
}

fn build_guests(workspace: &Path, target_dir: &Path, packages: &[&str]) {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args(["build", "--target", "wasm32-wasip2", "--profile", "guest"])
        .arg("--target-dir")
        .arg(target_dir);
    for p in packages {
        cmd.args(["--package", p]);
    }
    // The outer build's flags and wrappers (clippy's, coverage's) are for
    // the host, not for the guests.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
        "MFLAGS",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd.status().expect("cargo runs");
    if !status.success() {
        panic!(
            "building the components {packages:?} failed; is the wasm32-wasip2 target installed? \
             (`rustup target add wasm32-wasip2`)"
        );
    }
}
