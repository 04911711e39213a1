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
//!
//! Each action has a stable identity, which keys its executions in the
//! outbox: its `id` when the file gives one, else its pixel and event (what
//! decides which conversion it sends), never its position in the list, so
//! inserting or reordering actions never makes one action's executions
//! pass for another's.

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
    /// Its identity within the workflow: the `id` given, else
    /// `<pixel id>/<event name>`.
    pub id: String,
    /// Its name in the workflow, or `action N`.
    pub name: String,
    /// Its settings document (JSON), environment references resolved.
    pub settings: String,
    /// Its place among the file's `[[actions]]`, from 0.
    place: usize,
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
    id: Option<String>,
    name: Option<String>,
    settings: Value,
}

impl Workflow {
    /// The line of `file` where a setting of action `action` (the last
    /// segment of a JSON pointer such as `/mapping/custom_data.value`) is
    /// written, searched in that action's `[[actions]]` block (the block's
    /// first line when the setting is not written there); in a file without
    /// such blocks (JSON), the first line that sets it.
    pub fn line_of_field(&self, action: usize, pointer: &str) -> Option<usize> {
        let place = self.actions.get(action).map_or(action, |a| a.place);
        line_in_action(&self.text, place, pointer)
    }
}

/// The 1-based line of `text` where `key` (the last segment of `pointer`)
/// of action `action` is written: a line of that action's `[[actions]]`
/// block that sets the key (`key = …`, `"key" = …`, also inside an inline
/// table), else the block's first line. A file without such blocks (JSON)
/// is searched whole, and its first line that sets the key is given.
fn line_in_action(text: &str, action: usize, pointer: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    // A header may carry a comment after it.
    let headers: Vec<usize> = (0..lines.len())
        .filter(|&i| {
            lines[i]
                .trim()
                .strip_prefix("[[actions]]")
                .is_some_and(|rest| rest.is_empty() || rest.trim_start().starts_with('#'))
        })
        .collect();
    let (from, to) = match headers.get(action) {
        Some(&start) => (
            start,
            headers.get(action + 1).copied().unwrap_or(lines.len()),
        ),
        None => (0, lines.len()),
    };
    let key = pointer.rsplit('/').next().filter(|k| !k.is_empty());
    let found = key.and_then(|key| (from..to).find(|&i| sets_key(lines[i], key)));
    match (found, headers.get(action)) {
        (Some(i), _) => Some(i + 1),
        (None, Some(&start)) => Some(start + 1),
        (None, None) => None,
    }
}

/// Whether `line` sets `key`, bare or quoted, at its start or after `{` or
/// `,` (an inline table), with `=` or `:`.
fn sets_key(line: &str, key: &str) -> bool {
    line.match_indices(key).any(|(at, _)| {
        let before = line[..at].trim_end_matches('"').trim_end();
        let after = line[at + key.len()..].trim_start_matches('"').trim_start();
        (before.is_empty() || before.ends_with(['{', ','])) && after.starts_with(['=', ':'])
    })
}

/// Workflow files as [`load_all`] read them.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The workflows that run.
    pub workflows: Vec<Workflow>,
    /// Every problem of the files, located.
    pub errors: Vec<InputError>,
    /// The files with problems, as far as they could be read (the actions
    /// of this host, whatever their id or unset variables): they do not
    /// run, but their settings are still checked, so that every problem of
    /// a file is said at once.
    pub refused: Vec<Workflow>,
}

/// Loads every workflow of `paths` (files, or folders of `.toml`/`.json`,
/// hidden files left out).
/// `${VAR}` is read from the environment only in the settings at
/// `env_fields` (JSON pointers: the action's secret fields).
pub fn load_all(paths: &[PathBuf], env_fields: &[String]) -> Loaded {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        if p.is_dir() {
            match std::fs::read_dir(p) {
                Ok(entries) => {
                    let mut found: Vec<PathBuf> = entries
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        // A hidden file (an editor's copy, `.#lead.toml`)
                        // is no workflow of the folder's.
                        .filter(|f| {
                            matches!(
                                f.extension().and_then(|e| e.to_str()),
                                Some("toml" | "json")
                            ) && !f
                                .file_name()
                                .and_then(|n| n.to_str())
                                .is_some_and(|n| n.starts_with('.'))
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
    let mut refused = Vec::new();
    for f in files {
        match read(&f, env_fields) {
            Ok((w, problems)) if !problems.is_empty() => {
                errors.extend(problems);
                refused.push(w);
            }
            // The name identifies the workflow's executions in the outbox.
            Ok((w, _)) if workflows.iter().any(|o: &Workflow| o.name == w.name) => {
                errors.push(InputError::new(
                    &f,
                    None,
                    Some("name"),
                    format!(
                        "another workflow is already named \"{}\"; give each workflow its own name",
                        w.name
                    ),
                ));
                refused.push(w);
            }
            Ok((w, _)) => workflows.push(w),
            Err(problems) => errors.extend(problems),
        }
    }
    Loaded {
        workflows,
        errors,
        refused,
    }
}

/// Loads one workflow file; `${VAR}` is read from the environment only in
/// the settings at `env_fields`. A file with problems is not loaded, and
/// each of its actions' problems is said, with its line.
pub fn load(path: &Path, env_fields: &[String]) -> Result<Workflow, Vec<InputError>> {
    match read(path, env_fields)? {
        (w, problems) if problems.is_empty() => Ok(w),
        (_, problems) => Err(problems),
    }
}

/// Reads one workflow file: the workflow, with every action of this host
/// as far as it could be read, and the file's problems; `Err` when the
/// file cannot be read as a workflow at all.
fn read(
    path: &Path,
    env_fields: &[String],
) -> Result<(Workflow, Vec<InputError>), Vec<InputError>> {
    let text = read_text(path).map_err(|e| vec![e])?;
    let is_json = path.extension().and_then(|e| e.to_str()) == Some("json");
    let file: WorkflowFile = if is_json {
        serde_json::from_str(&text).map_err(|e| {
            vec![InputError::new(
                path,
                Some(e.line()),
                None,
                format!("not a valid workflow: {e}"),
            )]
        })?
    } else {
        toml::from_str(&text).map_err(|e| {
            let line = e.span().map(|s| crate::input::line_of(&text, s.start));
            vec![InputError::new(
                path,
                line,
                None,
                format!("not a valid workflow: {}", e.message()),
            )]
        })?
    };
    let _ = file.description;
    let mut actions: Vec<ActionConfig> = Vec::new();
    let mut problems = Vec::new();
    for (i, a) in file.actions.into_iter().enumerate() {
        let at = format!("actions[{i}]");
        let mut problem = |key: &str, field: String, message: String| {
            problems.push(InputError::new(
                path,
                line_in_action(&text, i, key),
                Some(&field),
                message,
            ));
        };
        let ours = match a.action_type.as_deref().filter(|t| *t != ACTION_TYPE) {
            Some(t) => {
                problem(
                    "/type",
                    format!("{at}.type"),
                    format!("this host runs `{ACTION_TYPE}` actions, not `{t}`"),
                );
                false
            }
            None => true,
        };
        // An action with an empty id is not loaded, but its settings are
        // still checked, so that every problem of the file is said at once.
        let id = match a.id.map(|id| id.trim().to_string()) {
            Some(id) if id.is_empty() => {
                problem(
                    "/id",
                    format!("{at}.id"),
                    "an action's id cannot be empty".into(),
                );
                None
            }
            Some(id) => Some(id),
            None => Some(derived_id(&a.settings)),
        };
        if let Some(id) = &id
            && let Some(j) = actions.iter().find(|o| &o.id == id).map(|o| o.place)
        {
            problem(
                "/id",
                format!("{at}.id"),
                format!(
                    "actions[{j}] and actions[{i}] are the same action `{id}` (same pixel and event); \
                     give each an `id` of its own, which names its executions in the outbox"
                ),
            );
        }
        let mut unresolved = Vec::new();
        let settings = resolve_env(a.settings, "", env_fields, &mut unresolved);
        for e in &unresolved {
            problem(&e.at, format!("{at}.settings{}", e.at), e.message.clone());
        }
        if ours {
            actions.push(ActionConfig {
                id: id.unwrap_or_default(),
                name: a.name.unwrap_or_else(|| format!("action {}", i + 1)),
                settings: settings.to_string(),
                place: i,
            });
        }
    }
    if actions.is_empty() && problems.is_empty() {
        problems.push(InputError::new(
            path,
            None,
            Some("actions"),
            "the workflow has no action",
        ));
    }
    // In the order of the file, as its reader goes through it.
    problems.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
    let workflow = Workflow {
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
    };
    Ok((workflow, problems))
}

/// An action's identity when the file gives none: its pixel and event, as
/// the settings name them.
fn derived_id(settings: &Value) -> String {
    let text = |key: &str| match settings.get(key) {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(other) => other.to_string(),
        None => "-".to_string(),
    };
    // Standard event names are matched whatever their case.
    format!("{}/{}", text("pixel_id"), text("event").to_lowercase())
}

/// A setting that cannot be resolved.
struct EnvError {
    at: String,
    message: String,
}

/// Replaces `${VAR}` by the environment's value in the strings at
/// `env_fields`, so secrets stay out of workflow files. Anywhere else it is
/// refused: expanding it there could carry an environment secret into the
/// event Meta receives. Every setting that cannot be resolved is added to
/// `errors` (and left as written), so that a file's problems are said at
/// once.
fn resolve_env(v: Value, at: &str, env_fields: &[String], errors: &mut Vec<EnvError>) -> Value {
    match v {
        Value::String(s) if !s.contains("${") => Value::String(s),
        Value::String(s) if env_fields.iter().any(|f| f == at) => match substitute(&s) {
            Ok(resolved) => Value::String(resolved),
            Err(var) => {
                errors.push(EnvError {
                    at: at.to_string(),
                    message: format!("the environment variable `{var}` is not set"),
                });
                Value::String(s)
            }
        },
        Value::String(s) => {
            errors.push(EnvError {
                at: at.to_string(),
                message: format!(
                    "`${{…}}` is read from the environment only in secret settings ({}); write this setting's value in the file",
                    if env_fields.is_empty() {
                        "none here".to_string()
                    } else {
                        env_fields.join(", ")
                    }
                ),
            });
            Value::String(s)
        }
        Value::Array(a) => Value::Array(
            a.into_iter()
                .enumerate()
                .map(|(i, v)| resolve_env(v, &format!("{at}/{i}"), env_fields, errors))
                .collect(),
        ),
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| {
                    let pointer = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                    let v = resolve_env(v, &pointer, env_fields, errors);
                    (k, v)
                })
                .collect(),
        ),
        other => other,
    }
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
        let w = load(f.path(), &["/access_token".to_string()]).unwrap();
        assert_eq!(w.trigger, "order_placed");
        assert_eq!(w.actions[0].id, "1/purchase");
        let s: Value = serde_json::from_str(&w.actions[0].settings).unwrap();
        assert_eq!(
            s["access_token"],
            Value::String(std::env::var("HOME").unwrap())
        );
        assert_eq!(w.line_of_field(0, "/pixel_id"), Some(7));
        assert_eq!(w.line_of_field(0, "/event"), Some(9));
    }

    /// Notepad's "Unicode" and Windows PowerShell's `>` save UTF-16: such a
    /// workflow is read as the text it is, its problems on their lines.
    #[test]
    fn a_utf16_workflow_is_read_as_the_text_it_is() {
        let text = "name = \"Achats été\"\r\ntrigger = \"order_placed\"\r\n[[actions]]\r\n[actions.settings]\r\npixel_id = \"1\"\r\nevent = \"Purchase\"\r\n";
        let broken = "trigger = \"t\"\r\n\r\nactions = 3\r\n";
        let utf16 = |text: &str, big_endian: bool| -> Vec<u8> {
            std::iter::once(0xFEFF)
                .chain(text.encode_utf16())
                .flat_map(|u| {
                    if big_endian {
                        u.to_be_bytes()
                    } else {
                        u.to_le_bytes()
                    }
                })
                .collect()
        };
        for big_endian in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("w.toml");
            std::fs::write(&path, utf16(text, big_endian)).unwrap();
            let w = load(&path, &[]).unwrap();
            assert_eq!(
                (w.name.as_str(), w.trigger.as_str()),
                ("Achats été", "order_placed")
            );
            assert_eq!(w.line_of_field(0, "/event"), Some(6));
            std::fs::write(&path, utf16(broken, big_endian)).unwrap();
            let e = only(load(&path, &[]));
            assert_eq!(e.line, Some(3), "{e}");
        }
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
        let Loaded {
            workflows,
            errors,
            refused,
        } = load_all(&[dir.path().to_path_buf()], &[]);
        assert_eq!((workflows.len(), refused.len()), (1, 1));
        assert!(
            errors[0]
                .to_string()
                .contains("b.toml: field `name`: another workflow is already named"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn a_folder_runs_its_workflows_and_not_its_hidden_or_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let workflow = "trigger = \"t\"\n[[actions]]\nsettings = {}\n";
        for file in [
            "lead.toml",
            "order.json",
            ".#lead.toml",
            ".old.toml",
            "lead.toml~",
            "notes.md",
        ] {
            let text = if file.ends_with(".json") {
                r#"{"trigger": "t", "actions": [{"settings": {}}]}"#
            } else {
                workflow
            };
            std::fs::write(dir.path().join(file), text).unwrap();
        }
        let loaded = load_all(&[dir.path().to_path_buf()], &[]);
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        let names: Vec<_> = loaded.workflows.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, ["lead", "order"]);
    }

    #[test]
    fn missing_env_and_bad_files_are_reported() {
        let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        write!(f, "trigger = \"t\"\n[[actions]]\nsettings = {{ access_token = \"${{NO_SUCH_VAR_42}}\" }}\n").unwrap();
        let e = only(load(f.path(), &["/access_token".to_string()]));
        assert!(e.to_string().contains("NO_SUCH_VAR_42"), "{e}");
        assert_eq!(e.line, Some(3), "{e}");
        let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        write!(f, "trigger = \"t\"\n\nactions = 3\n").unwrap();
        let e = only(load(f.path(), &[]));
        assert_eq!(e.line, Some(3), "{e}");
    }

    #[test]
    fn the_environment_reaches_secret_settings_only() {
        let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        write!(
            f,
            "trigger = \"t\"\n[[actions]]\n[actions.settings]\npixel_id = \"1\"\nevent = \"Lead\"\naccess_token = \"${{HOME}}\"\nmapping = {{ \"custom_data.leak\" = \"${{HOME}}\" }}\n"
        )
        .unwrap();
        let e = only(load(f.path(), &["/access_token".to_string()]));
        assert_eq!(e.line, Some(7), "{e}");
        assert_eq!(
            e.field.as_deref(),
            Some("actions[0].settings/mapping/custom_data.leak"),
            "{e}"
        );
        assert!(
            e.message
                .contains("only in secret settings (/access_token)"),
            "{e}"
        );
    }

    #[test]
    fn an_action_is_known_by_its_id_or_pixel_and_event_never_its_place() {
        let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        write!(
            f,
            "trigger = \"t\"\n[[actions]]\nsettings = {{ pixel_id = \"1\", event = \"Lead\" }}\n[[actions]]\nid = \"crm\"\nsettings = {{ pixel_id = \"1\", event = \"lead\" }}\n[[actions]]\nsettings = {{ pixel_id = \"2\", event = \"Lead\" }}\n"
        )
        .unwrap();
        let w = load(f.path(), &[]).unwrap();
        let ids: Vec<_> = w.actions.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["1/lead", "crm", "2/lead"]);

        let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        write!(
            f,
            "trigger = \"t\"\n[[actions]]\nsettings = {{ pixel_id = \"1\", event = \"Lead\" }}\n[[actions]]\nsettings = {{ pixel_id = \"1\", event = \"LEAD\", test_event_code = \"T\" }}\n"
        )
        .unwrap();
        let e = only(load(f.path(), &[]));
        assert!(
            e.message
                .contains("actions[0] and actions[1] are the same action `1/lead`"),
            "{e}"
        );
        assert_eq!(e.line, Some(4), "the second action's block: {e}");
    }

    /// The one problem `loaded` found.
    fn only(loaded: Result<Workflow, Vec<InputError>>) -> InputError {
        let mut problems = loaded.expect_err("the file has a problem");
        assert_eq!(problems.len(), 1, "{problems:?}");
        problems.remove(0)
    }

    #[test]
    fn every_problem_of_a_file_is_said_at_its_own_actions_line() {
        let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        write!(
            f,
            "trigger = \"t\"\n\
             [[actions]]\n\
             id = \"a\"\n\
             [actions.settings]\n\
             pixel_id = \"1\"\n\
             access_token = \"t\"\n\
             [[actions]]\n\
             id = \"a\"\n\
             [actions.settings]\n\
             pixel_id = \"2\"\n\
             access_token = \"${{NO_SUCH_VAR_43}}\"\n\
             [[actions]]\n\
             type = \"send-email\"\n\
             settings = {{ pixel_id = \"3\", access_token = \"${{NO_SUCH_VAR_44}}\" }}\n\
             [[actions]]\n\
             id = \" \"\n\
             [actions.settings]\n\
             pixel_id = \"${{NO_SUCH_VAR_45}}\"\n\
             access_token = \"${{NO_SUCH_VAR_46}}\"\n"
        )
        .unwrap();
        let problems = load(f.path(), &["/access_token".to_string()]).unwrap_err();
        let said: Vec<(Option<usize>, Option<&str>)> = problems
            .iter()
            .map(|p| (p.line, p.field.as_deref()))
            .collect();
        assert_eq!(
            said,
            [
                (Some(8), Some("actions[1].id")),
                (Some(11), Some("actions[1].settings/access_token")),
                (Some(13), Some("actions[2].type")),
                (Some(14), Some("actions[2].settings/access_token")),
                (Some(16), Some("actions[3].id")),
                (Some(18), Some("actions[3].settings/pixel_id")),
                (Some(19), Some("actions[3].settings/access_token")),
            ],
            "{problems:?}"
        );
        assert!(problems[3].message.contains("NO_SUCH_VAR_44"));
        assert!(
            problems[5].message.contains("only in secret settings"),
            "{}",
            problems[5].message
        );
        assert!(problems[6].message.contains("NO_SUCH_VAR_46"));
    }

    #[test]
    fn a_setting_is_found_in_its_own_actions_block() {
        let text = "trigger = \"t\"\n[[actions]]\n[actions.settings]\npixel_id = \"1\"\n[[actions]]  # leads\nsettings = { event = \"Lead\", \"pixel_id\" = \"x\" }\n";
        assert_eq!(line_in_action(text, 0, "/pixel_id"), Some(4));
        assert_eq!(line_in_action(text, 1, "/pixel_id"), Some(6), "inline");
        assert_eq!(
            line_in_action(text, 1, "/event_source_url"),
            Some(5),
            "unwritten: the action's first line"
        );
        let json =
            "{\n  \"actions\": [\n    {\"settings\": {\n      \"pixel_id\": \"1\"}}\n  ]\n}\n";
        assert_eq!(line_in_action(json, 0, "/pixel_id"), Some(4));
        assert_eq!(line_in_action(json, 0, "/event"), None);
    }
}
