//! Issue 14, item 7: an address that is no single device (unspecified, multicast,
//! broadcast) is refused twice: when the profile is loaded, naming the unit and the
//! field, and again by the scope guard at connect time, so that a profile that slipped
//! past validation still sends nothing there.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)] // a panic in a test is a failed test

use iotcert_suite::scope::Unsendable;
use iotcert_suite::{EventSink, NetError, Pacer, Profile, RunContext, ScopeGuard};
use ipnet::IpNet;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

fn profile_with_unit(address: &str, allow: &str) -> String {
    format!(
        "[device]\nmanufacturer = \"Acme\"\nmodel = \"Cam\"\nfirmware_version = \"1.0\"\n\n\
         [scope]\nallow = [{allow:?}]\n\n\
         [[units]]\nid = \"cam-1\"\naddress = \"127.0.0.1\"\n\n\
         [[units]]\nid = \"cam-2\"\naddress = {address:?}\n"
    )
}

/// The line of `address = ...` of the second unit in [`profile_with_unit`].
const SECOND_ADDRESS_LINE: usize = 15;

#[test]
fn a_unit_at_an_address_that_is_no_single_device_is_refused_naming_unit_and_field() {
    let cases = [
        ("0.0.0.0", "0.0.0.0/32", "unspecified"),
        ("0.1.2.3", "0.0.0.0/8", "unspecified"),
        ("::", "::/128", "unspecified"),
        ("::ffff:0.0.0.0", "0.0.0.0/0", "unspecified"),
        ("224.0.0.1", "224.0.0.0/4", "multicast"),
        ("239.255.255.250", "0.0.0.0/0", "multicast"),
        ("ff02::1", "ff00::/8", "multicast"),
        ("::ffff:224.0.0.251", "224.0.0.0/4", "multicast"),
        ("255.255.255.255", "0.0.0.0/0", "broadcast"),
        ("192.168.7.255", "192.168.7.0/24", "broadcast"),
    ];
    for (address, allow, kind) in cases {
        let text = profile_with_unit(address, allow);
        let error = Profile::from_toml_str(&text)
            .expect_err(&format!("a unit at {address} must be refused"));
        assert_eq!(
            error.field.as_deref(),
            Some("units[1].address"),
            "{address}: {error}"
        );
        assert!(error.message.contains("cam-2"), "{address}: {error}");
        assert!(error.message.contains(kind), "{address}: {error}");
        assert_eq!(error.line, Some(SECOND_ADDRESS_LINE), "{address}: {error}");
        assert_eq!(error.column, Some(11), "{address}: {error}");
    }
}

#[test]
fn ordinary_unit_addresses_are_still_accepted() {
    for (address, allow) in [
        ("127.0.0.2", "127.0.0.0/8"),
        ("::1", "::1/128"),
        ("192.168.7.254", "192.168.7.0/24"),
        // A /31 has no broadcast address (RFC 3021): both addresses are hosts.
        ("10.0.0.1", "10.0.0.0/31"),
        ("fe80::1", "fe80::/10"),
    ] {
        let text = profile_with_unit(address, allow);
        if let Err(error) = Profile::from_toml_str(&text) {
            panic!("{address} is a device's address: {error}");
        }
    }
}

fn nets(list: &[&str]) -> Vec<IpNet> {
    list.iter().map(|net| net.parse().unwrap()).collect()
}

#[test]
fn the_scope_guard_refuses_unspecified_multicast_and_broadcast_even_when_allowed() {
    let guard = ScopeGuard::new(nets(&["0.0.0.0/0", "::/0"]));
    let refused = [
        ("0.0.0.0", Unsendable::Unspecified),
        ("0.0.0.9", Unsendable::Unspecified),
        ("::", Unsendable::Unspecified),
        ("::ffff:0.0.0.0", Unsendable::Unspecified),
        ("224.0.0.1", Unsendable::Multicast),
        ("ff02::1", Unsendable::Multicast),
        ("::ffff:239.1.2.3", Unsendable::Multicast),
        ("255.255.255.255", Unsendable::LimitedBroadcast),
        ("::ffff:255.255.255.255", Unsendable::LimitedBroadcast),
    ];
    for (address, why) in refused {
        let address: IpAddr = address.parse().unwrap();
        let error = guard
            .check(address)
            .expect_err(&format!("{address} must be refused"));
        assert_eq!(error.unsendable, Some(why), "{address}");
        assert!(
            error.to_string().contains("nothing was sent"),
            "{address}: {error}"
        );
    }
    for address in ["10.1.2.3", "127.0.0.1", "::1", "2001:db8::1"] {
        assert!(guard.check(address.parse().unwrap()).is_ok(), "{address}");
    }
}

#[test]
fn the_scope_guard_refuses_the_directed_broadcast_of_an_allowed_network() {
    let guard = ScopeGuard::new(nets(&["192.168.7.0/24", "10.0.0.0/31", "10.9.9.9/32"]));
    let error = guard.check("192.168.7.255".parse().unwrap()).unwrap_err();
    assert_eq!(
        error.unsendable,
        Some(Unsendable::DirectedBroadcast(
            "192.168.7.0/24".parse().unwrap()
        ))
    );
    assert!(error.to_string().contains("192.168.7.0/24"), "{error}");
    for host in ["192.168.7.254", "10.0.0.1", "10.9.9.9"] {
        assert!(guard.check(host.parse().unwrap()).is_ok(), "{host}");
    }
}

#[test]
fn the_scope_guard_refuses_an_unspecified_address_its_allow_list_names_exactly() {
    for (address, allow) in [("0.0.0.0", "0.0.0.0/32"), ("::", "::/128")] {
        let guard = ScopeGuard::new(nets(&[allow]));
        let error = guard.check(address.parse().unwrap()).unwrap_err();
        assert_eq!(error.unsendable, Some(Unsendable::Unspecified), "{address}");
        assert!(error.to_string().contains("unspecified"), "{error}");
    }
}

/// The reported incident: a unit at 0.0.0.0 made the suites talk to 127.0.0.1. A
/// profile built in code (not through validation) must still send nothing there.
#[tokio::test]
async fn no_connection_reaches_this_host_through_an_unspecified_unit_address() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let udp_port = udp.local_addr().unwrap().port();

    let mut profile = Profile::from_toml_str(
        "[device]\nmanufacturer = \"Acme\"\nmodel = \"Cam\"\nfirmware_version = \"1.0\"\n\
         [[units]]\nid = \"cam-1\"\naddress = \"127.0.0.1\"\n",
    )
    .unwrap();
    profile.units[0].address = "0.0.0.0".parse().unwrap();
    profile.scope.allow = nets(&["0.0.0.0/32"]);
    let unit = profile.units[0].clone();
    let pacers: BTreeMap<String, Pacer> = [(
        unit.id.clone(),
        Pacer::new(
            profile.pacing.max_connections,
            profile.pacing.connections_per_second,
        ),
    )]
    .into_iter()
    .collect();
    let (sender, _receiver) = tokio::sync::mpsc::channel(16);
    let ctx = RunContext::new(
        Arc::new(profile),
        Arc::new(pacers),
        tokio::time::Instant::now() + Duration::from_secs(10),
        CancellationToken::new(),
        BTreeSet::new(),
        EventSink::new("test", sender),
    );

    let timeout = Duration::from_secs(2);
    let connected = ctx.connect_tcp(&unit, port, timeout).await;
    assert!(
        matches!(connected, Err(NetError::OutOfScope(_))),
        "{connected:?}"
    );
    let probed = ctx.probe_tcp(&unit, port, timeout).await;
    assert!(matches!(probed, Err(NetError::OutOfScope(_))), "{probed:?}");
    let exchanged = ctx
        .udp_exchange(&unit, udp_port, b"ping", Duration::from_millis(200), 64)
        .await;
    assert!(
        matches!(exchanged, Err(NetError::OutOfScope(_))),
        "{exchanged:?}"
    );

    let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
    assert!(accepted.is_err(), "a connection reached 127.0.0.1");
    let mut buffer = [0u8; 16];
    let received =
        tokio::time::timeout(Duration::from_millis(200), udp.recv_from(&mut buffer)).await;
    assert!(received.is_err(), "a datagram reached 127.0.0.1");
}
