//! Renderings of the report: JSON as is, SARIF and JUnit from their writers, and
//! Markdown and HTML from minijinja templates.
//!
//! The templates in `reports/templates/` are embedded at build time so the binary is
//! self-contained; `--templates DIR` overrides any of them with a file of the same name,
//! so a lab can brand its reports without rebuilding.
//!
//! Nothing a device sent, nor a profile declared, can inject markup into a report or
//! drive the terminal that shows one: every value a template prints goes through
//! [`format_value`], which shows control characters as escapes (`\u{1b}`) and then
//! escapes for the format, HTML for `.html.j2` and Markdown for `.md.j2` (so that
//! `[text](url)` stays text, not a link). Markdown templates print code with the
//! `code` filter (a code span no backtick inside can close) and evidence with the
//! `fence` filter (a fenced block no line inside can close).

use crate::output::printable;
use crate::report::Report;
use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, HtmlEscape, Output, State};
use std::path::Path;

/// The auto-escape mode of Markdown templates.
const MARKDOWN: AutoEscape = AutoEscape::Custom("markdown");

/// The output formats of `iotcert report`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Md,
    Html,
    Sarif,
    Junit,
}

impl Format {
    /// File extension for this format.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Md => "md",
            Format::Html => "html",
            Format::Sarif => "sarif",
            Format::Junit => "junit.xml",
        }
    }
}

const EMBEDDED: &[(&str, &str)] = &[
    (
        "report.md.j2",
        include_str!("../../reports/templates/report.md.j2"),
    ),
    (
        "report.html.j2",
        include_str!("../../reports/templates/report.html.j2"),
    ),
];

/// Why a report could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("template {name}: {source}")]
    Template {
        name: String,
        #[source]
        source: minijinja::Error,
    },
    #[error("cannot read template override {path}: {source}")]
    Override {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("junit: {0}")]
    Junit(String),
}

/// Render `report` in `format`, with templates from `overrides` where present.
pub fn render(
    report: &Report,
    format: Format,
    overrides: Option<&Path>,
) -> Result<String, RenderError> {
    let name = match format {
        Format::Json => return Ok(json_text(&serde_json::to_string_pretty(report)?)),
        Format::Sarif => {
            return Ok(json_text(&serde_json::to_string_pretty(
                &crate::sarif::render(report),
            )?))
        }
        Format::Junit => {
            return crate::junit::render(report).map_err(|e| RenderError::Junit(e.to_string()))
        }
        Format::Md => "report.md.j2",
        Format::Html => "report.html.j2",
    };
    let mut env = Environment::new();
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html.j2") || name.ends_with(".svg.j2") {
            AutoEscape::Html
        } else if name.ends_with(".md.j2") {
            MARKDOWN
        } else {
            AutoEscape::None
        }
    });
    env.set_formatter(format_value);
    env.add_filter("code", code_span);
    env.add_filter("fence", fenced_block);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    for (template, source) in EMBEDDED {
        let source = match overrides
            .map(|dir| dir.join(template))
            .filter(|p| p.exists())
        {
            Some(path) => {
                std::fs::read_to_string(&path).map_err(|source| RenderError::Override {
                    path: path.display().to_string(),
                    source,
                })?
            }
            None => (*source).to_owned(),
        };
        env.add_template_owned(*template, source)
            .map_err(|source| RenderError::Template {
                name: (*template).to_owned(),
                source,
            })?;
    }
    let template = env
        .get_template(name)
        .map_err(|source| RenderError::Template {
            name: name.to_owned(),
            source,
        })?;
    template
        .render(minijinja::context! { report => report })
        .map_err(|source| RenderError::Template {
            name: name.to_owned(),
            source,
        })
}

/// How every printed value reaches a report: control characters shown, then escaped
/// for the template's format unless the template marked the value safe.
fn format_value(out: &mut Output, state: &State, value: &Value) -> Result<(), minijinja::Error> {
    if value.is_undefined() {
        return Ok(());
    }
    let text = value.to_string();
    let shown = printable(&text);
    let written = match state.auto_escape() {
        _ if value.is_safe() => shown,
        AutoEscape::Html => HtmlEscape(&shown).to_string(),
        MARKDOWN => markdown_escape(&shown),
        _ => shown,
    };
    out.write_str(&written).map_err(minijinja::Error::from)
}

/// Serialized JSON as written: serde escapes the C0 controls but leaves DEL and the C1
/// controls (such as U+009B, a CSI) raw, which are escaped here as `\u009b` (they can
/// only occur inside strings, so the JSON value is unchanged).
fn json_text(json: &str) -> String {
    let mut text = String::with_capacity(json.len() + 1);
    for c in json.chars() {
        if c.is_control() && !c.is_ascii_whitespace() && u32::from(c) >= 0x7f {
            text.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            text.push(c);
        }
    }
    text.push('\n');
    text
}

/// Plain text as Markdown that renders as exactly that text: every character Markdown
/// (CommonMark and GitHub's tables and strikethrough) gives a meaning is escaped with a
/// backslash, and a newline becomes `<br>`, so a table cell or a list item holds it
/// whole and no line of it can start a heading, a list or a block of code.
fn markdown_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + text.len() / 4);
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '#' | '+' | '-' | '.'
            | '!' | '|' | '<' | '>' | '~' | '&' => {
                escaped.push('\\');
                escaped.push(c);
            }
            '\n' => escaped.push_str("<br>"),
            _ => escaped.push(c),
        }
    }
    escaped
}

/// The `code` filter: `text` as a Markdown code span, delimited by one backtick more
/// than its longest run of backticks so nothing inside can close it; newlines become
/// spaces and `|` is escaped, so a table cell holds it whole.
fn code_span(text: String) -> Value {
    if text.is_empty() {
        return Value::from_safe_string(String::new());
    }
    let content = printable(&text).replace('\n', " ").replace('|', "\\|");
    let ticks = "`".repeat(longest_backtick_run(&content) + 1);
    let padded = content.starts_with('`')
        || content.ends_with('`')
        || (content.starts_with(' ') && content.ends_with(' '));
    let pad = if padded { " " } else { "" };
    Value::from_safe_string(format!("{ticks}{pad}{content}{pad}{ticks}"))
}

/// The `fence` filter: `text` as a fenced Markdown code block, its fence longer than
/// any run of backticks inside so no line of it can close the block.
fn fenced_block(text: String) -> Value {
    let content = printable(&text);
    let fence = "`".repeat((longest_backtick_run(&content) + 1).max(3));
    let newline = if content.ends_with('\n') { "" } else { "\n" };
    Value::from_safe_string(format!("{fence}text\n{content}{newline}{fence}"))
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}
