//! BER elements from devices (SNMP answers) reach the shared reader (`iotcert_wire::ber`).
//! Reading any bytes may never panic or slice past the input; what it reads is consistent
//! (the element and what follows make up the input) and survives re-encoding.
#![no_main]
use iotcert_wire::ber;
use libfuzzer_sys::fuzz_target;

/// Constructed elements walked at the most, so a deep nest cannot make the target slow.
const MAX_ELEMENTS: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let Ok((first, rest)) = ber::read(data) else {
        return;
    };
    assert_eq!(first.raw.len() + rest.len(), data.len());
    assert!(first.content.len() <= first.raw.len());
    // Re-encoded in the shortest length form, the element reads back the same.
    let encoded = ber::encode(first.tag, &[first.content]);
    let (again, after) = ber::read(&encoded).expect("a re-encoded element reads back");
    assert_eq!((again.tag, again.content), (first.tag, first.content));
    assert!(after.is_empty());
    // Walk every constructed element, one level at a time.
    let mut pending = vec![first];
    let mut walked = 0;
    while let Some(element) = pending.pop() {
        walked += 1;
        if walked > MAX_ELEMENTS {
            break;
        }
        let _ = ber::integer(element.content);
        if element.tag & 0x20 != 0 {
            if let Ok(children) = ber::children(element.content, 64) {
                assert!(children.len() <= 64);
                pending.extend(children);
            }
        }
    }
});
