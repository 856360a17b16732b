//! Round-trip properties of the encoders: field trees survive JSON (the reproducer
//! format) byte for byte, session CONNECTs decode with the testbed's broker decoder, and
//! the same seed always yields the same cases. (The MQTT remaining length's round trip is
//! tested where it is written once, in `iotcert-wire`.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

use iotcert_suite_protofuzz::node::{bytes, len16, run, seq, varlen, Node};
use iotcert_suite_protofuzz::{generate, mqtt, Protocol, Settings};
use iotcert_testbed::mqtt as decoder;
use proptest::prelude::*;
use std::time::Duration;

fn tree() -> impl Strategy<Value = Node> {
    let leaf = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..16).prop_map(bytes),
        (any::<u8>(), 0u32..300).prop_map(|(b, c)| run(b, c)),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(seq),
            inner.clone().prop_map(len16),
            inner.clone().prop_map(varlen),
            (inner.clone(), any::<u16>()).prop_map(|(body, fix)| Node::Len16 {
                body: Box::new(body),
                fix: Some(fix)
            }),
        ]
    })
}

fn settings(seed: u64) -> Settings {
    Settings {
        seed,
        timeout: Duration::from_secs(1),
        case_wait: Duration::from_millis(100),
        mqtt_username: None,
        mqtt_password: None,
    }
}

proptest! {
    #[test]
    fn trees_survive_json(tree in tree()) {
        let json = serde_json::to_string(&tree).unwrap();
        let back: Node = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back.encode(), tree.encode());
        prop_assert_eq!(back, tree);
    }

    #[test]
    fn session_connect_decodes(client in "[a-z0-9]{0,23}", user in proptest::option::of("[a-z]{1,12}")) {
        let bytes = mqtt::connect(&client, user.as_deref(), user.as_deref()).encode();
        let Ok(Some((decoder::Packet::Connect(connect), used))) = decoder::decode(&bytes) else {
            return Err(TestCaseError::fail("not a CONNECT"));
        };
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(connect.client_id, client);
        prop_assert_eq!(connect.username, user);
    }

    #[test]
    fn same_seed_same_bytes(seed in any::<u64>(), index in 0u64..10_000) {
        for protocol in Protocol::ALL {
            let a = generate(protocol, index, &settings(seed));
            let b = generate(protocol, index, &settings(seed));
            prop_assert_eq!(a.wire(), b.wire());
        }
    }
}

/// Block-wise cases are well-formed CoAP (an independent parser, the testbed's, reads
/// them) that carry Block1/Block2 options, some with the reserved block size 7.
#[test]
fn block_wise_cases_parse_and_reach_their_extremes() {
    use iotcert_testbed::coap::parse;
    let settings = Settings {
        seed: 3,
        timeout: Duration::from_secs(1),
        case_wait: Duration::from_millis(250),
        mqtt_username: None,
        mqtt_password: None,
    };
    let (mut block_cases, mut reserved_size) = (0, 0);
    for index in 0..400 {
        let case = generate(Protocol::Coap, index, &settings);
        if case.kind != "block-wise" {
            continue;
        }
        let datagram = case.message.encode();
        // A header case may have set a bad version or token length; judge the rest.
        let Ok(message) = parse(&datagram) else {
            continue;
        };
        // A token shorter than its header says shifts the options; judge the others.
        if !message
            .options
            .first()
            .is_some_and(|o| o.number == 11 && o.value == b"status")
        {
            continue;
        }
        block_cases += 1;
        let blocks: Vec<_> = message
            .options
            .iter()
            .filter(|o| o.number == 23 || o.number == 27)
            .collect();
        assert!(
            !blocks.is_empty()
                || message
                    .options
                    .iter()
                    .any(|o| o.number == 28 || o.number == 60)
        );
        if blocks
            .iter()
            .any(|o| o.value.last().is_some_and(|b| b & 7 == 7))
        {
            reserved_size += 1;
        }
    }
    assert!(block_cases > 30, "{block_cases}");
    assert!(reserved_size > 3, "{reserved_size}");
}
