//! Renderings of the report: JSON as is, SARIF and JUnit from their writers, and
//! Markdown and HTML from minijinja templates.
//!
//! The templates in `reports/templates/` are embedded at build time so the binary is
//! self-contained; `--templates DIR` overrides any of them with a file of the same name,
//! so a lab can brand its reports without rebuilding. Auto-escaping is on for HTML:
//! nothing a device sent can inject markup into a report.

use crate::report::Report;
use minijinja::{AutoEscape, Environment};
use std::path::Path;

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
        Format::Json => return Ok(serde_json::to_string_pretty(report)? + "\n"),
        Format::Sarif => {
            return Ok(serde_json::to_string_pretty(&crate::sarif::render(report))? + "\n")
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
        } else {
            AutoEscape::None
        }
    });
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
