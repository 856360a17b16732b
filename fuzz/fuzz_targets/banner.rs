//! Everything a device sends reaches the ports suite's parsers: banners, probe replies,
//! HTTP heads, telnet streams, SNMP/DNS/CoAP datagrams. None may panic, loop or
//! allocate without bound, whatever the bytes.
#![no_main]
use iotcert_suite_ports::identify::{self, binary, disclosure, http, telnet, udp, TcpProbe};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// The UDP probes, built once: building them is not what is being fuzzed.
fn probes() -> &'static [udp::UdpProbe] {
    static PROBES: OnceLock<Vec<udp::UdpProbe>> = OnceLock::new();
    PROBES.get_or_init(|| {
        let mut probes = udp::standard_probes("127.0.0.1", [1, 2, 3, 4, 5, 6, 7, 8]);
        probes.push(udp::generic_probe(40000));
        probes
    })
}

fuzz_target!(|data: &[u8]| {
    let _ = identify::identify_banner(data);
    for probe in TcpProbe::ALL {
        let _ = identify::identify_reply(probe, data);
    }

    if let Some(response) = http::parse_response(data) {
        let _ = http::admin_sign(&response);
        let _ = http::redirect(&response);
        let _ = response.head_text();
    }
    let _ = http::has_password_input(data);

    let negotiation = telnet::negotiate(data);
    assert!(negotiation.text.len() <= data.len());
    let text = telnet::console_text(data);
    let _ = telnet::looks_like_shell_prompt(&text);
    let _ = telnet::asks_for_login(&text);
    let found = disclosure::versions_in(&String::from_utf8_lossy(data));
    assert!(found.len() <= 16);

    let _ = binary::adb_reply(data);
    let _ = binary::gdb_reply(data);
    let _ = binary::tls_reply(data);
    let _ = binary::dtls_reply(data);
    let _ = binary::mqtt_connack(data);
    let _ = binary::modbus_reply(data);

    for probe in probes() {
        let answer = udp::judge(probe, data);
        if let Some(banner) = &answer.banner {
            let _ = disclosure::versions_in(banner);
        }
    }
    let start = usize::from(data.first().copied().unwrap_or(0));
    let _ = udp::read_name(data, start);
    let _ = udp::snmp_reply(data, 0x4943_5254);
    let _ = udp::dns_reply(data, 0x4944, true);
    let _ = udp::coap_reply(data, 0x4943, [0x69, 0x63]);
});
