//! The on-disk cache of compiled components. Loading a compiled artifact
//! runs its native code, so the host trusts a cached file only when it can
//! prove it wrote that file for this very component and engine: each file
//! carries a keyed digest (HMAC-SHA256, with a key kept in the folder,
//! readable by its owner only) over the component's digest, the engine's
//! compatibility hash and the artifact. The folder is created `0700`; a
//! folder or file owned by another user, or a folder others may write, is
//! not used. Any mismatch means compiling afresh and rewriting the file.

use anyhow::{Context as _, Result};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

type Tag = Hmac<Sha256>;

/// The first bytes of every cached file, with the format's version.
const MAGIC: &[u8; 12] = b"sce-cwasm-1\n";
const TAG_LEN: usize = 32;
const KEY_FILE: &str = "cache.key";

/// How the cache served a load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheUse {
    /// No cache folder was given: compiled.
    Off,
    /// A verified artifact was loaded.
    Hit,
    /// Nothing cached yet: compiled and stored.
    Miss,
    /// A cached file failed verification: compiled afresh and rewritten.
    Rejected(String),
    /// The folder cannot be trusted (owner, permissions) or written:
    /// compiled, and nothing cached.
    Unusable(String),
}

/// Compiles `bytes`, or loads the verified compiled form kept in `dir`.
pub fn load_or_compile(
    engine: &Engine,
    bytes: &[u8],
    dir: Option<&Path>,
) -> Result<(Component, CacheUse)> {
    let Some(dir) = dir else {
        return Ok((compile(engine, bytes)?.0, CacheUse::Off));
    };
    let key = match trusted_dir(dir).and_then(|()| key(dir)) {
        Ok(k) => k,
        Err(why) => return Ok((compile(engine, bytes)?.0, CacheUse::Unusable(why))),
    };
    let component_digest = Sha256::digest(bytes);
    let mut compat = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut compat);
    let compat = compat.finish().to_le_bytes();
    let name: String = component_digest
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    let path = dir.join(format!("{name}-{:016x}.cwasm", u64::from_le_bytes(compat)));
    let tag = |artifact: &[u8]| {
        let mut mac = Tag::new_from_slice(&key).expect("HMAC takes any key length");
        mac.update(&component_digest);
        mac.update(&compat);
        mac.update(artifact);
        mac
    };

    let rejected = match read_verified(&path, &tag) {
        Ok(Some(artifact)) => {
            // SAFETY: the artifact carries a tag only this user's key can
            // make, over this component and this engine's compatibility
            // hash: it is what `precompile_component` wrote for them.
            match unsafe { Component::deserialize(engine, &artifact) } {
                Ok(c) => return Ok((c, CacheUse::Hit)),
                Err(e) => Some(format!("{} did not load: {e}", path.display())),
            }
        }
        Ok(None) => None,
        Err(why) => Some(why),
    };
    let (component, artifact) = compile(engine, bytes)?;
    let stored = store(&path, &tag(&artifact).finalize().into_bytes(), &artifact);
    let status = match (rejected, stored) {
        (Some(why), _) => CacheUse::Rejected(why),
        (None, Ok(())) => CacheUse::Miss,
        (None, Err(e)) => CacheUse::Unusable(format!("cannot write {}: {e}", path.display())),
    };
    Ok((component, status))
}

fn compile(engine: &Engine, bytes: &[u8]) -> Result<(Component, Vec<u8>)> {
    let invalid = "the file is not a loadable component";
    let artifact = engine
        .precompile_component(bytes)
        .map_err(anyhow::Error::from)
        .context(invalid)?;
    // SAFETY: the bytes were produced just now by this engine.
    let component =
        unsafe { Component::deserialize(engine, &artifact) }.map_err(anyhow::Error::from)?;
    Ok((component, artifact))
}

/// The artifact at `path` when its tag verifies; `Ok(None)` when there is
/// no file; `Err` says why a file was not trusted.
fn read_verified(path: &Path, tag: &impl Fn(&[u8]) -> Tag) -> Result<Option<Vec<u8>>, String> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    owned_by_us(&file, path)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let rest = bytes
        .strip_prefix(MAGIC.as_slice())
        .filter(|r| r.len() > TAG_LEN)
        .ok_or_else(|| format!("{} is not a cached component of this host", path.display()))?;
    let (stored_tag, artifact) = rest.split_at(TAG_LEN);
    tag(artifact).verify_slice(stored_tag).map_err(|_| {
        format!(
            "{} was not written by this host for this component",
            path.display()
        )
    })?;
    Ok(Some(artifact.to_vec()))
}

/// Writes the tagged artifact atomically (a temporary file, then rename).
fn store(path: &Path, tag: &[u8], artifact: &[u8]) -> std::io::Result<()> {
    let tmp = temporary(path);
    let written = (|| {
        let mut f = private_file(&tmp)?;
        f.write_all(MAGIC)?;
        f.write_all(tag)?;
        f.write_all(artifact)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// The folder's key, made on first use.
fn key(dir: &Path) -> Result<Vec<u8>, String> {
    let path = dir.join(KEY_FILE);
    match std::fs::File::open(&path) {
        Ok(mut f) => {
            owned_by_us(&f, &path)?;
            let mut key = Vec::new();
            f.read_to_end(&mut key)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            if key.len() < 32 {
                return Err(format!("{} is not a cache key", path.display()));
            }
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = vec![0u8; 32];
            std::fs::File::open("/dev/urandom")
                .and_then(|mut r| r.read_exact(&mut key))
                .map_err(|e| format!("no randomness for a cache key: {e}"))?;
            let tmp = temporary(&path);
            private_file(&tmp)
                .and_then(|mut f| f.write_all(&key))
                // Another process may have made one meanwhile: theirs wins.
                .and_then(|()| std::fs::hard_link(&tmp, &path).or(Ok(())))
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            let _ = std::fs::remove_file(&tmp);
            self::key_existing(&path)
        }
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// A name beside `path` no other writer uses, in this process or another.
fn temporary(path: &Path) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    path.with_extension(format!("tmp{}-{n}", std::process::id()))
}

fn key_existing(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

#[cfg(unix)]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

/// Creates `dir` `0700` when missing; refuses one owned by another user or
/// writable by others.
#[cfg(unix)]
fn trusted_dir(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let meta = std::fs::metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(format!(
            "{} belongs to another user (uid {}); it is not used",
            dir.display(),
            meta.uid()
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!(
            "{} may be written by other users (mode {:o}); it is not used",
            dir.display(),
            meta.mode() & 0o777
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn trusted_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))
}

#[cfg(unix)]
fn owned_by_us(file: &std::fs::File, path: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let meta = file
        .metadata()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    // SAFETY: geteuid has no preconditions.
    if meta.uid() != unsafe { libc::geteuid() } {
        return Err(format!(
            "{} belongs to another user (uid {}); it is not used",
            path.display(),
            meta.uid()
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn owned_by_us(_file: &std::fs::File, _path: &Path) -> Result<(), String> {
    Ok(())
}
