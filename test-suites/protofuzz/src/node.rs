//! Test cases as trees of fields, so that they can be shrunk without breaking framing.
//!
//! A generator builds a message as a [`Node`] tree: literal bytes, long runs of one
//! byte, sequences, and length-prefixed bodies whose length is computed when encoded
//! (or deliberately wrong, `fix`). Shrinking a case then means simplifying the tree
//! (dropping a field, shortening a run, making a length truthful) and re-encoding it,
//! so a minimal reproducer keeps valid length fields wherever validity was not the point.

use iotcert_wire::mqtt::encode_remaining_length;
use serde::{Deserialize, Serialize};

/// Most bytes one run may expand to, so no tree can make the harness allocate without end.
pub const MAX_RUN: u32 = 1 << 20;

/// One field of a test case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "node", rename_all = "snake_case", deny_unknown_fields)]
pub enum Node {
    /// Literal bytes, hex in JSON.
    Bytes {
        #[serde(with = "hex")]
        hex: Vec<u8>,
    },
    /// `count` copies of `byte` (capped at [`MAX_RUN`]): long topics, paths, payloads.
    Run { byte: u8, count: u32 },
    /// Fields one after the other.
    Seq { items: Vec<Node> },
    /// A 16-bit big-endian length, then the body (MQTT strings); `fix` replaces the
    /// true length with a lie.
    Len16 {
        body: Box<Node>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fix: Option<u16>,
    },
    /// An MQTT remaining length (variable-length integer), then the body; `fix` replaces
    /// the encoded length with these exact bytes.
    VarLen {
        body: Box<Node>,
        #[serde(default, skip_serializing_if = "Option::is_none", with = "option_hex")]
        fix: Option<Vec<u8>>,
    },
}

mod option_hex {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(bytes) => s.serialize_some(&hex::encode(bytes)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| hex::decode(t).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// Shorthands for generators.
pub fn bytes(data: impl Into<Vec<u8>>) -> Node {
    Node::Bytes { hex: data.into() }
}
pub fn run(byte: u8, count: u32) -> Node {
    Node::Run { byte, count }
}
pub fn seq(items: Vec<Node>) -> Node {
    Node::Seq { items }
}
pub fn len16(body: Node) -> Node {
    Node::Len16 {
        body: Box::new(body),
        fix: None,
    }
}
pub fn varlen(body: Node) -> Node {
    Node::VarLen {
        body: Box::new(body),
        fix: None,
    }
}

impl Node {
    /// The bytes on the wire.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Node::Bytes { hex } => out.extend_from_slice(hex),
            Node::Run { byte, count } => {
                let count = usize::try_from((*count).min(MAX_RUN)).unwrap_or(0);
                out.resize(out.len() + count, *byte);
            }
            Node::Seq { items } => items.iter().for_each(|item| item.encode_into(out)),
            Node::Len16 { body, fix } => {
                let body = body.encode();
                let length = fix.unwrap_or_else(|| u16::try_from(body.len()).unwrap_or(u16::MAX));
                out.extend_from_slice(&length.to_be_bytes());
                out.extend_from_slice(&body);
            }
            Node::VarLen { body, fix } => {
                let body = body.encode();
                match fix {
                    Some(length) => out.extend_from_slice(length),
                    None => out.extend(encode_remaining_length(body.len())),
                }
                out.extend_from_slice(&body);
            }
        }
    }

    /// Nodes in pre-order, for addressing one of them by index.
    fn count(&self) -> usize {
        1 + match self {
            Node::Seq { items } => items.iter().map(Node::count).sum(),
            Node::Len16 { body, .. } | Node::VarLen { body, .. } => body.count(),
            Node::Bytes { .. } | Node::Run { .. } => 0,
        }
    }

    /// The node at pre-order `index`, mutably.
    fn at_mut(&mut self, index: usize) -> Option<&mut Node> {
        if index == 0 {
            return Some(self);
        }
        let mut index = index - 1;
        match self {
            Node::Seq { items } => {
                for item in items {
                    let size = item.count();
                    if index < size {
                        return item.at_mut(index);
                    }
                    index -= size;
                }
                None
            }
            Node::Len16 { body, .. } | Node::VarLen { body, .. } => body.at_mut(index),
            Node::Bytes { .. } | Node::Run { .. } => None,
        }
    }

    /// Pre-order indices and counts of every run, longest first: the fields whose
    /// length the shrinker searches by bisection.
    pub fn runs(&self) -> Vec<(usize, u32)> {
        let mut found = Vec::new();
        let mut clone = self.clone();
        for index in 0..self.count() {
            if let Some(Node::Run { count, .. }) = clone.at_mut(index) {
                found.push((index, *count));
            }
        }
        found.sort_by_key(|run| std::cmp::Reverse(run.1));
        found
    }

    /// A copy with the run at `index` set to `count` bytes.
    pub fn with_run_count(&self, index: usize, count: u32) -> Node {
        let mut copy = self.clone();
        if let Some(Node::Run { count: old, .. }) = copy.at_mut(index) {
            *old = count;
        }
        copy
    }

    /// Trees one step simpler than this one, most aggressive first: a sequence item
    /// dropped, literal bytes emptied or halved, a run emptied, a length made truthful.
    pub fn simpler(&self) -> Vec<Node> {
        let mut candidates = Vec::new();
        for index in 0..self.count() {
            let mut copy = self.clone();
            let Some(node) = copy.at_mut(index) else {
                continue;
            };
            let variants: Vec<Node> = match node {
                Node::Seq { items } => (0..items.len())
                    .map(|drop| {
                        let mut fewer = items.clone();
                        fewer.remove(drop);
                        seq(fewer)
                    })
                    .collect(),
                Node::Bytes { hex } if hex.len() > 1 => {
                    let half = hex.len() / 2;
                    vec![
                        bytes(Vec::new()),
                        bytes(hex.get(..half).unwrap_or_default().to_vec()),
                        bytes(hex.get(half..).unwrap_or_default().to_vec()),
                    ]
                }
                Node::Bytes { hex } if hex.len() == 1 => vec![bytes(Vec::new())],
                Node::Run { count, .. } if *count > 0 => vec![run(0x61, 0)],
                Node::Len16 { body, fix: Some(_) } => vec![len16((**body).clone())],
                Node::VarLen { body, fix: Some(_) } => vec![varlen((**body).clone())],
                _ => Vec::new(),
            };
            for variant in variants {
                let mut tree = self.clone();
                if let Some(slot) = tree.at_mut(index) {
                    // An emptied run keeps its byte.
                    *slot = match (&*slot, variant) {
                        (Node::Run { byte, .. }, Node::Run { count, .. }) => run(*byte, count),
                        (_, variant) => variant,
                    };
                }
                candidates.push(tree);
            }
        }
        candidates
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_computed_or_fixed() {
        let topic = len16(run(b'a', 3));
        assert_eq!(topic.encode(), [0, 3, b'a', b'a', b'a']);
        let packet = seq(vec![
            bytes([0x30]),
            varlen(seq(vec![topic, bytes(b"x".to_vec())])),
        ]);
        assert_eq!(packet.encode(), [0x30, 6, 0, 3, b'a', b'a', b'a', b'x']);
        let lie = Node::VarLen {
            body: Box::new(bytes([1])),
            fix: Some(vec![0xff, 0xff, 0xff, 0xff, 0x01]),
        };
        assert_eq!(lie.encode(), [0xff, 0xff, 0xff, 0xff, 0x01, 1]);
        assert_eq!(encode_remaining_length(128), [0x80, 0x01]);
        assert_eq!(
            encode_remaining_length(usize::MAX),
            [0xff, 0xff, 0xff, 0x7f]
        );
    }

    #[test]
    fn runs_are_found_and_resized() {
        let tree = seq(vec![bytes([1]), len16(run(b'a', 2000)), run(0, 5)]);
        let runs = tree.runs();
        assert_eq!(runs, [(3, 2000), (4, 5)]);
        assert_eq!(
            tree.with_run_count(3, 1).encode(),
            [1, 0, 1, b'a', 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn simpler_trees_are_smaller() {
        let tree = seq(vec![bytes([1, 2, 3, 4]), run(b'z', 10)]);
        let encoded = tree.encode().len();
        let candidates = tree.simpler();
        assert!(!candidates.is_empty());
        assert!(candidates.iter().all(|c| c.encode().len() < encoded));
    }

    #[test]
    fn json_round_trip() {
        let tree = seq(vec![
            bytes([0xde, 0xad]),
            Node::VarLen {
                body: Box::new(run(b'a', 2)),
                fix: Some(vec![0x80, 0x00]),
            },
            Node::Len16 {
                body: Box::new(bytes(Vec::new())),
                fix: Some(9),
            },
        ]);
        let json = serde_json::to_string(&tree).unwrap();
        assert!(json.contains("\"dead\""), "{json}");
        assert_eq!(serde_json::from_str::<Node>(&json).unwrap(), tree);
    }
}
