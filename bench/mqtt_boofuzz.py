#!/usr/bin/env python3
"""boofuzz MQTT cases against a broker, comparable to iotcert's protofuzz MQTT cases:
a new TCP connection per case, a valid CONNECT first (answered by a CONNACK), then a
mutated PUBLISH (topic and payload fuzzed, lengths computed) followed by a PINGREQ,
and the answer read as soon as it arrives. Prints `cases N seconds S failures F`, F being
the cases boofuzz recorded a failure for (its findings).

    mqtt_boofuzz.py HOST PORT CASES
"""
import sys, time
from boofuzz import (Session, Target, TCPSocketConnection, s_initialize, s_static, s_block,
                     s_size, s_string, s_get)

def varint(n):
    out = bytearray()
    while True:
        byte = n % 128
        n //= 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)

def publish_packet(data):
    return b"\x30" + varint(len(data)) + data

def main():
    host, port, cases = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    connection = TCPSocketConnection(host, port, send_timeout=1.0, recv_timeout=1.0)
    session = Session(target=Target(connection=connection), sleep_time=0, web_port=None,
                      fuzz_loggers=[], receive_data_after_each_request=True,
                      receive_data_after_fuzz=True, index_end=cases, keep_web_open=False,
                      restart_sleep_time=0, reuse_target_connection=False)
    s_initialize("connect")
    s_static(b"\x10\x18\x00\x04MQTT\x04\x02\x00\x1e\x00\x0ciotcert-fuzz")
    s_initialize("publish")
    with s_block("packet", encoder=publish_packet):
        s_size("topic", length=2, endian=">", fuzzable=True)
        with s_block("topic"):
            s_string("iotcert/fuzz", fuzzable=True)
        s_string("{\"t\":21.5}", fuzzable=True)
    s_static(b"\xc0\x00")
    session.connect(s_get("connect"))
    session.connect(s_get("connect"), s_get("publish"))
    started = time.monotonic()
    session.fuzz()
    elapsed = time.monotonic() - started
    failures = len(session.monitor_results)
    print(f"cases {session.total_mutant_index} seconds {elapsed:.3f} failures {failures}")

main()
