//! Where in the profile's text a field is written, so that every error names the line
//! and column of the offending value itself: from the parser's spans, from the value an
//! error message names when serde reports it at its table, and from a re-parse for a
//! number too large for TOML. The SDK's sections and every suite's section
//! ([`super::ProfileSection`]) are read through these, so all their errors point alike.

use super::rules::{FieldPath, Step};
use super::ProfileError;
use serde_path_to_error::Segment;
use std::ops::Range;
use toml_edit::{ImDocument, Item, Value};

/// The error serde and the parser gave while reading `text`, at the offending value's
/// line and column and naming its field.
pub(crate) fn deserialize_error(
    text: &str,
    error: serde_path_to_error::Error<toml::de::Error>,
) -> ProfileError {
    let steps: Option<Vec<Step>> = error
        .path()
        .iter()
        .map(|segment| match segment {
            Segment::Seq { index } => Some(Step::Index(*index)),
            Segment::Map { key } => Some(Step::Key(key.clone())),
            Segment::Enum { .. } | Segment::Unknown => None,
        })
        .collect();
    let path = error.path().to_string();
    let inner = error.into_inner();
    let message = inner.message().to_owned();
    if let Some((field, offset)) = steps
        .filter(|steps| !steps.is_empty())
        .and_then(|steps| value_named_by(text, &FieldPath(steps), &message))
    {
        return ProfileError::at(text, Some(offset), Some(field.to_string()), message);
    }
    let offset = inner.span().map(|span| span.start);
    let field = if path != "." {
        Some(path)
    } else {
        offset.and_then(|offset| field_of_number_at(text, offset))
    };
    ProfileError::at(text, offset, field, message)
}

/// The start of the field at `path` in `text`: its value's, else its key's, else (for a
/// field absent from the text) its nearest written ancestor's.
pub(crate) fn offset_of(text: &str, path: &FieldPath) -> Option<usize> {
    ImDocument::parse(text)
        .ok()
        .and_then(|document| span_of(document.as_table(), path))
        .map(|span| span.start)
}

/// 1-based line and column of a byte offset.
pub(crate) fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// A node of the parsed document, whichever way the TOML wrote it.
#[derive(Clone, Copy)]
enum Node<'a> {
    Table(&'a toml_edit::Table),
    InlineTable(&'a toml_edit::InlineTable),
    Array(&'a toml_edit::Array),
    Tables(&'a toml_edit::ArrayOfTables),
    Scalar(&'a toml_edit::Value),
}

impl<'a> Node<'a> {
    fn of_item(item: &'a Item) -> Option<Self> {
        match item {
            Item::None => None,
            Item::Table(table) => Some(Node::Table(table)),
            Item::ArrayOfTables(tables) => Some(Node::Tables(tables)),
            Item::Value(value) => Some(Node::of_value(value)),
        }
    }

    fn of_value(value: &'a Value) -> Self {
        match value {
            Value::InlineTable(table) => Node::InlineTable(table),
            Value::Array(array) => Node::Array(array),
            scalar => Node::Scalar(scalar),
        }
    }

    /// Where the node is written: a value's own text; a table's header.
    fn span(self) -> Option<Range<usize>> {
        match self {
            Node::Table(table) => table.span(),
            Node::InlineTable(table) => table.span(),
            Node::Array(array) => array.span(),
            Node::Tables(tables) => tables.span(),
            Node::Scalar(value) => value.span(),
        }
    }

    /// The child at `step`, with the span of its key when it has a key.
    fn child(self, step: &Step) -> Option<(Self, Option<Range<usize>>)> {
        match (self, step) {
            (Node::Table(table), Step::Key(key)) => Some((
                Node::of_item(table.get(key)?)?,
                table.key(key).and_then(toml_edit::Key::span),
            )),
            (Node::InlineTable(table), Step::Key(key)) => Some((
                Node::of_value(table.get(key)?),
                table.key(key).and_then(toml_edit::Key::span),
            )),
            (Node::Array(array), Step::Index(index)) => {
                Some((Node::of_value(array.get(*index)?), None))
            }
            (Node::Tables(tables), Step::Index(index)) => {
                Some((Node::Table(tables.get(*index)?), None))
            }
            _ => None,
        }
    }

    fn children(self) -> Vec<(Step, Self)> {
        match self {
            Node::Table(table) => table
                .iter()
                .filter_map(|(key, item)| Some((Step::Key(key.to_owned()), Node::of_item(item)?)))
                .collect(),
            Node::InlineTable(table) => table
                .iter()
                .map(|(key, value)| (Step::Key(key.to_owned()), Node::of_value(value)))
                .collect(),
            Node::Array(array) => array
                .iter()
                .enumerate()
                .map(|(index, value)| (Step::Index(index), Node::of_value(value)))
                .collect(),
            Node::Tables(tables) => tables
                .iter()
                .enumerate()
                .map(|(index, table)| (Step::Index(index), Node::Table(table)))
                .collect(),
            Node::Scalar(_) => Vec::new(),
        }
    }
}

/// The span of the field at `path`: its value's, else its key's, else (for a field
/// absent from the text) its nearest written ancestor's.
fn span_of(root: &toml_edit::Table, path: &FieldPath) -> Option<Range<usize>> {
    let mut node = Node::Table(root);
    let mut found = None;
    for step in &path.0 {
        let Some((child, key_span)) = node.child(step) else {
            break;
        };
        found = child.span().or(key_span).or(found);
        node = child;
    }
    found
}

/// The node at exactly `path`, if the text writes it.
fn node_at<'a>(root: &'a toml_edit::Table, path: &FieldPath) -> Option<Node<'a>> {
    path.0.iter().try_fold(Node::Table(root), |node, step| {
        node.child(step).map(|(child, _)| child)
    })
}

/// How serde shows a scalar in "invalid value" and "invalid type" messages.
fn shown_as_serde_does(value: &Value) -> Option<String> {
    match value {
        Value::Integer(integer) => Some(format!("integer `{}`", integer.value())),
        Value::String(string) => Some(format!("string {:?}", string.value())),
        Value::Boolean(boolean) => Some(format!("boolean `{}`", boolean.value())),
        Value::Float(float) => {
            let mut shown = float.value().to_string();
            if float.value().is_finite() && !shown.contains('.') {
                shown.push_str(".0");
            }
            Some(format!("floating point `{shown}`"))
        }
        _ => None,
    }
}

/// Every scalar under `node`, with its path below `at`.
fn scalars<'a>(node: Node<'a>, at: &FieldPath, found: &mut Vec<(FieldPath, &'a Value)>) {
    if let Node::Scalar(value) = node {
        found.push((at.clone(), value));
        return;
    }
    for (step, child) in node.children() {
        let mut below = at.clone();
        below.0.push(step);
        scalars(child, &below, found);
    }
}

/// The field and place an error names when serde reports it at a table rather than at
/// the value: inside the internally tagged enums (`kind = ...`), serde buffers the
/// table and its errors lose the field. The message still names the value (`unknown
/// field `x``, `invalid value: integer `70000``), and when exactly one key or value
/// under the table matches, that is the place.
fn value_named_by(text: &str, at: &FieldPath, message: &str) -> Option<(FieldPath, usize)> {
    let document = ImDocument::parse(text).ok()?;
    let node = node_at(document.as_table(), at)?;
    if !matches!(node, Node::Table(_) | Node::InlineTable(_)) {
        return None;
    }
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let key = rest.split('`').next()?;
        let (_, key_span) = node.child(&Step::Key(key.to_owned()))?;
        return Some((at.key(key), key_span?.start));
    }
    let unexpected = ["invalid value: ", "invalid type: "]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))?
        .rsplit_once(", expected ")?
        .0;
    let mut found = Vec::new();
    scalars(node, at, &mut found);
    let mut matching = found
        .into_iter()
        .filter(|(_, value)| shown_as_serde_does(value).as_deref() == Some(unexpected));
    let (path, value) = matching.next()?;
    if matching.next().is_some() {
        return None;
    }
    Some((path, value.span()?.start))
}

/// The path of the scalar value whose text covers byte `offset`, searched depth first.
fn path_at(node: Node<'_>, offset: usize, path: &mut Vec<Step>) -> bool {
    if let Node::Scalar(value) = node {
        return value.span().is_some_and(|span| span.contains(&offset));
    }
    for (step, child) in node.children() {
        path.push(step);
        if path_at(child, offset, path) {
            return true;
        }
        path.pop();
    }
    false
}

/// The field of a number the parser could not read at `offset` (one too large for a
/// TOML integer, which the parser reports without a field): the number is replaced by
/// `0` padded to the same length, the text parsed again, and the value at `offset`
/// named.
fn field_of_number_at(text: &str, offset: usize) -> Option<String> {
    let (before, rest) = (text.get(..offset)?, text.get(offset..)?);
    let length = rest
        .bytes()
        .take_while(|b| b.is_ascii_digit() || b"+-_".contains(b))
        .count();
    let after = rest.get(length..)?;
    if length == 0 {
        return None;
    }
    let patched = format!("{before}0{}{after}", " ".repeat(length - 1));
    let document = ImDocument::parse(patched.as_str()).ok()?;
    let mut path = Vec::new();
    path_at(Node::Table(document.as_table()), offset, &mut path)
        .then(|| FieldPath(path).to_string())
}
