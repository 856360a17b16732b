//! CMS signatures inside update images reach the shared DER reader (`iotcert_wire::der`):
//! a ContentInfo-shaped walk (`SEQUENCE { OID, [0] { SEQUENCE { ... } } }`) over any
//! bytes may never panic, and every element it reads lies inside the input.
#![no_main]
use iotcert_wire::der;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((content_info, _)) = der::expect(data, der::SEQUENCE) {
        if let Ok((oid, rest)) = der::expect(content_info.content, der::OID) {
            let rebuilt = der::oid(oid.content);
            assert_eq!(der::read(&rebuilt).map(|(t, _)| t.content), Ok(oid.content));
            if let Ok((explicit, _)) = der::expect(rest, der::CONTEXT_0) {
                if let Ok((signed_data, _)) = der::expect(explicit.content, der::SEQUENCE) {
                    for field in der::children(signed_data.content, 8).unwrap_or_default() {
                        assert!(field.raw.len() <= data.len());
                        if matches!(field.tag, der::SET | der::CONTEXT_0 | der::SEQUENCE) {
                            let _ = der::children(field.content, 16);
                        }
                    }
                }
            }
        }
    }
    if let Ok((tlv, rest)) = der::read(data) {
        assert_eq!(tlv.raw.len() + rest.len(), data.len());
        let rebuilt = der::tlv(tlv.tag, &[tlv.content]);
        assert_eq!(der::read(&rebuilt).map(|(t, _)| t.content), Ok(tlv.content));
    }
});
