//! Fuzz target: the TLS suite's parser of a server's first flight (records, ServerHello,
//! Certificate, ServerKeyExchange, alerts, heartbeats) and of key exchange parameters.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(flight) = iotcert_suite_tls::wire::parse_server_flight(data) {
        let _ = flight.is_complete();
        if let Some(body) = &flight.server_key_exchange {
            let _ = iotcert_suite_tls::wire::key_exchange_parameters(body, true);
            let _ = iotcert_suite_tls::wire::key_exchange_parameters(body, false);
        }
    }
});
