//! Workflow files: which trigger a workflow listens for and the actions it
//! runs, with each action's settings. TOML (commented, for people) or JSON.
//!
//! ```toml
//! name = "Purchases to Meta"
//! trigger = "order_placed"
//!
//! [[actions]]
//! name = "Send Purchase"
//! [actions.settings]
//! pixel_id = "1234567890"
//! access_token = "${META_ACCESS_TOKEN}"   # read from the environment
//! event = "Purchase"
//! ```

use crate::input::{InputError, read_text};
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The action this host runs.
pub const ACTION_TYPE: &str = "send-conversion-event";

/// One workflow.
#[derive(Debug, Clone)]
pub struct Workflow {
    /// Its name.
    pub name: String,
    /// The trigger type it listens for.
    pub trigger: String,
    /// The file it came from.
    pub file: PathBuf,
    /// Its actions, in order.
    pub actions: Vec<ActionConfig>,
    text: String,
}

/// One action of a workflow.
#[derive(Debug, Clone)]
pub struct ActionConfig {
    /// Its name in the workflow, or `action N`.
    pub name: String,
    /// Its settings document (JSON), environment references resolved.
    pub settings: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkflowFile {
    name: Option<String>,
    trigger: String,
    #[serde(default)]
    description: Option<String>,
    actions: Vec<ActionFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionFile {
    #[serde(rename = "type", default)]
    action_type: Option<String>,
    name: Option<String>,
    settings: Value,
}

impl Workflow {
    /// The line of `file` where a settings field (the last segment of a
    /// JSON pointer such as `/mapping/custom_data.value`) is written.
    pub fn line_of_field(&self, pointer: &str) -> Option<usize> {
        let key = pointer.rsplit('/').next().filter(|k| !k.is_empty())?;
        self.text
            .lines()
            .position(|l| {
                let l = l.trim_start();
                let l = l.strip_prefix('"').unwrap_or(l);
                l.starts_with(key)
                    && l[key.len()..]
                        .trim_start_matches('"')
                        .trim_start()
                        .starts_with(['=', ':'])
            })
            .map(|i| i + 1)
    }
}

/// Loads every workflow of `paths` (files, or folders of `.toml`/`.json`).
pub fn load_all(paths: &[PathBuf]) -> (Vec<Workflow>, Vec<InputError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        if p.is_dir() {
            match std::fs::read_dir(p) {
                Ok(entries) => {
                    let mut found: Vec<PathBuf> = entries
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|f| {
                            matches!(
                                f.extension().and_then(|e| e.to_str()),
                                Some("toml" | "json")
                            )
                        })
                        .collect();
                    found.sort();
                    files.extend(found);
                }
                Err(e) => errors.push(InputError::new(
                    p,
                    None,
                    None,
                    format!("cannot read the folder: {e}"),
                )),
            }
        } else {
            files.push(p.clone());
        }
    }
    let mut workflows = Vec::new();
    for f in files {
        match load(&f) {
            // The name identifies the workflow's executions in the outbox.
            Ok(w) if workflows.iter().any(|o: &Workflow| o.name == w.name) => {
                errors.push(InputError::new(
                    &f,
                    None,
                    Some("name"),
                    format!(
                        "another workflow is already named \"{}\"; give each workflow its own name",
                        w.name
                    ),
                ))
            }
            Ok(w) => workflows.push(w),
            Err(e) => errors.push(e),
        }
    }
    (workflows, errors)
}

/// Loads one workflow file.
pub fn load(path: &Path) -> Result<Workflow, InputError> {
    let text = read_text(path)?;
    let is_json = path.extension().and_then(|e| e.to_str()) == Some("json");
    let file: WorkflowFile = if is_json {
        serde_json::from_str(&text).map_err(|e| {
            InputError::new(
                path,
                Some(e.line()),
                None,
                format!("not a valid workflow: {e}"),
            )
        })?
    } else {
        toml::from_str(&text).map_err(|e| {
            let line = e.span().map(|s| crate::input::line_of(&text, s.start));
            InputError::new(
                path,
                line,
                None,
                format!("not a valid workflow: {}", e.message()),
            )
        })?
    };
    let _ = file.description;
    let mut actions = Vec::new();
    for (i, a) in file.actions.into_iter().enumerate() {
        let at = format!("actions[{i}]");
        if let Some(t) = a.action_type.as_deref().filter(|t| *t != ACTION_TYPE) {
            return Err(InputError::new(
                path,
                None,
                Some(&format!("{at}.type")),
                format!("this host runs `{ACTION_TYPE}` actions, not `{t}`"),
            ));
        }
        let settings = resolve_env(a.settings).map_err(|var| {
            InputError::new(
                path,
                None,
                Some(&format!("{at}.settings")),
                format!("the environment variable `{var}` is not set"),
            )
        })?;
        actions.push(ActionConfig {
            name: a.name.unwrap_or_else(|| format!("action {}", i + 1)),
            settings: settings.to_string(),
        });
    }
    if actions.is_empty() {
        return Err(InputError::new(
            path,
            None,
            Some("actions"),
            "the workflow has no action",
        ));
    }
    Ok(Workflow {
        name: file.name.unwrap_or_else(|| {
            path.file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("workflow")
                .to_string()
        }),
        trigger: file.trigger,
        file: path.to_path_buf(),
        actions,
        text,
    })
}

/// Replaces `${VAR}` in every string by the environment's value, so secrets
/// stay out of workflow files. `Err` names a missing variable.
fn resolve_env(v: Value) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) => Value::String(substitute(&s)?),
        Value::Array(a) => Value::Array(a.into_iter().map(resolve_env).collect::<Result<_, _>>()?),
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| resolve_env(v).map(|v| (k, v)))
                .collect::<Result<_, _>>()?,
        ),
        other => other,
    })
}

fn substitute(s: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start + 2..].find('}') else {
            break;
        };
        let var = &rest[start + 2..start + 2 + len];
        out.push_str(&rest[..start]);
        out.push_str(&std::env::var(var).map_err(|_| var.to_string())?);
        rest = &rest[start + 3 + len..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn toml_workflow_with_env_secret_and_field_lines() {
        let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        write!(
            f,
            "# a comment\nname = \"W\"\ntrigger = \"order_placed\"\n\n[[actions]]\n[actions.settings]\npixel_id = \"1\"\naccess_token = \"${{HOME}}\"\nevent = \"Purchase\"\n"
        )
        .unwrap();
        let w = load(f.path()).unwrap();
        assert_eq!(w.trigger, "order_placed");
        let s: Value = serde_json::from_str(&w.actions[0].settings).unwrap();
        assert_eq!(
            s["access_token"],
            Value::String(std::env::var("HOME").unwrap())
        );
        assert_eq!(w.line_of_field("/pixel_id"), Some(7));
        assert_eq!(w.line_of_field("/event"), Some(9));
    }

    #[test]
    fn two_workflows_cannot_share_a_name() {
        let dir = tempfile::tempdir().unwrap();
        for file in ["a.toml", "b.toml"] {
            std::fs::write(
                dir.path().join(file),
                "name = \"Same\"\ntrigger = \"t\"\n[[actions]]\nsettings = {}\n",
            )
            .unwrap();
        }
        let (workflows, errors) = load_all(&[dir.path().to_path_buf()]);
        assert_eq!(workflows.len(), 1);
        assert!(
            errors[0]
                .to_string()
                .contains("b.toml: field `name`: another workflow is already named"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn missing_env_and_bad_files_are_reported() {
        let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        write!(f, "trigger = \"t\"\n[[actions]]\nsettings = {{ access_token = \"${{NO_SUCH_VAR_42}}\" }}\n").unwrap();
        let e = load(f.path()).unwrap_err();
        assert!(e.to_string().contains("NO_SUCH_VAR_42"), "{e}");
        let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        write!(f, "trigger = \"t\"\n\nactions = 3\n").unwrap();
        let e = load(f.path()).unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
    }
}
