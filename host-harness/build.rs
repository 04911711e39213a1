//! Builds the Send Conversion Event component for `wasm32-wasip2` and hands
//! its path to the crate, which bundles it: the CLI runs without any other
//! file, and tests load the component built from this very checkout.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let workspace = manifest_dir.parent().unwrap().to_path_buf();
    for watched in ["action/src", "action/Cargo.toml", "wit", "Cargo.lock"] {
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
    let component = build_guest(
        &workspace,
        &target_dir,
        "send-conversion-event",
        "send_conversion_event",
    );
    println!(
        "cargo:rustc-env=ACTION_COMPONENT_PATH={}",
        component.display()
    );
}

fn build_guest(workspace: &Path, target_dir: &Path, package: &str, artifact: &str) -> PathBuf {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args([
            "build",
            "--package",
            package,
            "--target",
            "wasm32-wasip2",
            "--profile",
            "guest",
        ])
        .arg("--target-dir")
        .arg(target_dir);
    // The outer build's flags and wrappers (clippy's, coverage's) are for
    // the host, not for the guest.
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
            "building the {package} component failed; is the wasm32-wasip2 target installed? \
             (`rustup target add wasm32-wasip2`)"
        );
    }
    target_dir
        .join("wasm32-wasip2/guest")
        .join(format!("{artifact}.wasm"))
}
