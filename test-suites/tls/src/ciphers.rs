//! Every cipher suite code point the suite offers, and what each one is made of.
//!
//! [`REGISTRY`] is the IANA TLS Cipher Suites registry (every assigned value, TLS 1.3
//! ones included, signalling values left out) plus the deployed pre-standard values that
//! sslscan and testssl.sh also offer (ECC drafts, EXPORT1024, GOST 28147, FIPS DES). A
//! fixed short table let a server accepting a suite outside it (ADH-CAMELLIA128-SHA256,
//! 0x00BF) pass as "no weak suite"; offering the values in a few hellos
//! ([`offer_chunks`]) and removing the one chosen costs one handshake per accepted suite
//! plus one per hello, as sslscan and testssl.sh do.
//!
//! Properties (key exchange, forward secrecy, anonymous, export, NULL, RC4, DES, 64-bit
//! block, CBC, SHA-1 or MD5 MAC) are read from the IANA name, which encodes them, so the
//! table cannot disagree with itself.

/// Every code point offered, in every protocol version: (value, IANA name).
pub const REGISTRY: &[(u16, &str)] = &[
    (0x0000, "TLS_NULL_WITH_NULL_NULL"),
    (0x0001, "TLS_RSA_WITH_NULL_MD5"),
    (0x0002, "TLS_RSA_WITH_NULL_SHA"),
    (0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5"),
    (0x0004, "TLS_RSA_WITH_RC4_128_MD5"),
    (0x0005, "TLS_RSA_WITH_RC4_128_SHA"),
    (0x0006, "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5"),
    (0x0007, "TLS_RSA_WITH_IDEA_CBC_SHA"),
    (0x0008, "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA"),
    (0x0009, "TLS_RSA_WITH_DES_CBC_SHA"),
    (0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0x000b, "TLS_DH_DSS_EXPORT_WITH_DES40_CBC_SHA"),
    (0x000c, "TLS_DH_DSS_WITH_DES_CBC_SHA"),
    (0x000d, "TLS_DH_DSS_WITH_3DES_EDE_CBC_SHA"),
    (0x000e, "TLS_DH_RSA_EXPORT_WITH_DES40_CBC_SHA"),
    (0x000f, "TLS_DH_RSA_WITH_DES_CBC_SHA"),
    (0x0010, "TLS_DH_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0x0011, "TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA"),
    (0x0012, "TLS_DHE_DSS_WITH_DES_CBC_SHA"),
    (0x0013, "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA"),
    (0x0014, "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA"),
    (0x0015, "TLS_DHE_RSA_WITH_DES_CBC_SHA"),
    (0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0x0017, "TLS_DH_anon_EXPORT_WITH_RC4_40_MD5"),
    (0x0018, "TLS_DH_anon_WITH_RC4_128_MD5"),
    (0x0019, "TLS_DH_anon_EXPORT_WITH_DES40_CBC_SHA"),
    (0x001a, "TLS_DH_anon_WITH_DES_CBC_SHA"),
    (0x001b, "TLS_DH_anon_WITH_3DES_EDE_CBC_SHA"),
    (0x001c, "SSL_FORTEZZA_KEA_WITH_NULL_SHA"),
    (0x001d, "SSL_FORTEZZA_KEA_WITH_FORTEZZA_CBC_SHA"),
    (
        0x001e,
        "TLS_KRB5_WITH_DES_CBC_SHA_or_SSL_FORTEZZA_KEA_WITH_RC4_128_SHA",
    ),
    (0x001f, "TLS_KRB5_WITH_3DES_EDE_CBC_SHA"),
    (0x0020, "TLS_KRB5_WITH_RC4_128_SHA"),
    (0x0021, "TLS_KRB5_WITH_IDEA_CBC_SHA"),
    (0x0022, "TLS_KRB5_WITH_DES_CBC_MD5"),
    (0x0023, "TLS_KRB5_WITH_3DES_EDE_CBC_MD5"),
    (0x0024, "TLS_KRB5_WITH_RC4_128_MD5"),
    (0x0025, "TLS_KRB5_WITH_IDEA_CBC_MD5"),
    (0x0026, "TLS_KRB5_EXPORT_WITH_DES_CBC_40_SHA"),
    (0x0027, "TLS_KRB5_EXPORT_WITH_RC2_CBC_40_SHA"),
    (0x0028, "TLS_KRB5_EXPORT_WITH_RC4_40_SHA"),
    (0x0029, "TLS_KRB5_EXPORT_WITH_DES_CBC_40_MD5"),
    (0x002a, "TLS_KRB5_EXPORT_WITH_RC2_CBC_40_MD5"),
    (0x002b, "TLS_KRB5_EXPORT_WITH_RC4_40_MD5"),
    (0x002c, "TLS_PSK_WITH_NULL_SHA"),
    (0x002d, "TLS_DHE_PSK_WITH_NULL_SHA"),
    (0x002e, "TLS_RSA_PSK_WITH_NULL_SHA"),
    (0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA"),
    (0x0030, "TLS_DH_DSS_WITH_AES_128_CBC_SHA"),
    (0x0031, "TLS_DH_RSA_WITH_AES_128_CBC_SHA"),
    (0x0032, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA"),
    (0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"),
    (0x0034, "TLS_DH_anon_WITH_AES_128_CBC_SHA"),
    (0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"),
    (0x0036, "TLS_DH_DSS_WITH_AES_256_CBC_SHA"),
    (0x0037, "TLS_DH_RSA_WITH_AES_256_CBC_SHA"),
    (0x0038, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA"),
    (0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA"),
    (0x003a, "TLS_DH_anon_WITH_AES_256_CBC_SHA"),
    (0x003b, "TLS_RSA_WITH_NULL_SHA256"),
    (0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256"),
    (0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256"),
    (0x003e, "TLS_DH_DSS_WITH_AES_128_CBC_SHA256"),
    (0x003f, "TLS_DH_RSA_WITH_AES_128_CBC_SHA256"),
    (0x0040, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256"),
    (0x0041, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA"),
    (0x0042, "TLS_DH_DSS_WITH_CAMELLIA_128_CBC_SHA"),
    (0x0043, "TLS_DH_RSA_WITH_CAMELLIA_128_CBC_SHA"),
    (0x0044, "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA"),
    (0x0045, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA"),
    (0x0046, "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA"),
    (0x0047, "TLS_ECDH_ECDSA_WITH_NULL_SHA_draft"),
    (0x0048, "TLS_ECDH_ECDSA_WITH_RC4_128_SHA_draft"),
    (0x0049, "TLS_ECDH_ECDSA_WITH_DES_CBC_SHA_draft"),
    (0x004a, "TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA_draft"),
    (0x004b, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA_draft"),
    (0x004c, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA_draft"),
    (0x004d, "TLS_ECDH_ECNRA_WITH_DES_CBC_SHA_draft"),
    (0x004e, "TLS_ECDH_ECNRA_WITH_3DES_EDE_CBC_SHA_draft"),
    (0x004f, "TLS_ECMQV_ECDSA_NULL_SHA_draft"),
    (0x0050, "TLS_ECMQV_ECDSA_WITH_RC4_128_SHA_draft"),
    (0x0051, "TLS_ECMQV_ECDSA_WITH_DES_CBC_SHA_draft"),
    (0x0052, "TLS_ECMQV_ECDSA_WITH_3DES_EDE_CBC_SHA_draft"),
    (0x0053, "TLS_ECMQV_ECNRA_NULL_SHA_draft"),
    (0x0054, "TLS_ECMQV_ECNRA_WITH_RC4_128_SHA_draft"),
    (0x0055, "TLS_ECMQV_ECNRA_WITH_DES_CBC_SHA_draft"),
    (0x0056, "TLS_ECMQV_ECNRA_WITH_3DES_EDE_CBC_SHA_draft"),
    (0x0057, "TLS_ECDH_anon_NULL_WITH_SHA_draft"),
    (0x0058, "TLS_ECDH_anon_WITH_RC4_128_SHA_draft"),
    (0x0059, "TLS_ECDH_anon_WITH_DES_CBC_SHA_draft"),
    (0x005a, "TLS_ECDH_anon_WITH_3DES_EDE_CBC_SHA_draft"),
    (0x005b, "TLS_ECDH_anon_EXPORT_WITH_DES40_CBC_SHA_draft"),
    (0x005c, "TLS_ECDH_anon_EXPORT_WITH_RC4_40_SHA_draft"),
    (0x0060, "TLS_RSA_EXPORT1024_WITH_RC4_56_MD5"),
    (0x0061, "TLS_RSA_EXPORT1024_WITH_RC2_CBC_56_MD5"),
    (0x0062, "TLS_RSA_EXPORT1024_WITH_DES_CBC_SHA"),
    (0x0063, "TLS_DHE_DSS_EXPORT1024_WITH_DES_CBC_SHA"),
    (0x0064, "TLS_RSA_EXPORT1024_WITH_RC4_56_SHA"),
    (0x0065, "TLS_DHE_DSS_EXPORT1024_WITH_RC4_56_SHA"),
    (0x0066, "TLS_DHE_DSS_WITH_RC4_128_SHA"),
    (0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256"),
    (0x0068, "TLS_DH_DSS_WITH_AES_256_CBC_SHA256"),
    (0x0069, "TLS_DH_RSA_WITH_AES_256_CBC_SHA256"),
    (0x006a, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256"),
    (0x006b, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256"),
    (0x006c, "TLS_DH_anon_WITH_AES_128_CBC_SHA256"),
    (0x006d, "TLS_DH_anon_WITH_AES_256_CBC_SHA256"),
    (0x0072, "TLS_DHE_DSS_WITH_3DES_EDE_CBC_RMD"),
    (0x0073, "TLS_DHE_DSS_WITH_AES_128_CBC_RMD"),
    (0x0074, "TLS_DHE_DSS_WITH_AES_256_CBC_RMD"),
    (0x0077, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_RMD"),
    (0x0078, "TLS_DHE_RSA_WITH_AES_128_CBC_RMD"),
    (0x0079, "TLS_DHE_RSA_WITH_AES_256_CBC_RMD"),
    (0x007c, "TLS_RSA_WITH_3DES_EDE_CBC_RMD"),
    (0x007d, "TLS_RSA_WITH_AES_128_CBC_RMD"),
    (0x007e, "TLS_RSA_WITH_AES_256_CBC_RMD"),
    (0x0080, "TLS_GOSTR341094_WITH_28147_CNT_IMIT"),
    (0x0081, "TLS_GOSTR341001_WITH_28147_CNT_IMIT"),
    (0x0082, "TLS_GOSTR341094_WITH_NULL_GOSTR3411"),
    (0x0083, "TLS_GOSTR341001_WITH_NULL_GOSTR3411"),
    (0x0084, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA"),
    (0x0085, "TLS_DH_DSS_WITH_CAMELLIA_256_CBC_SHA"),
    (0x0086, "TLS_DH_RSA_WITH_CAMELLIA_256_CBC_SHA"),
    (0x0087, "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA"),
    (0x0088, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA"),
    (0x0089, "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA"),
    (0x008a, "TLS_PSK_WITH_RC4_128_SHA"),
    (0x008b, "TLS_PSK_WITH_3DES_EDE_CBC_SHA"),
    (0x008c, "TLS_PSK_WITH_AES_128_CBC_SHA"),
    (0x008d, "TLS_PSK_WITH_AES_256_CBC_SHA"),
    (0x008e, "TLS_DHE_PSK_WITH_RC4_128_SHA"),
    (0x008f, "TLS_DHE_PSK_WITH_3DES_EDE_CBC_SHA"),
    (0x0090, "TLS_DHE_PSK_WITH_AES_128_CBC_SHA"),
    (0x0091, "TLS_DHE_PSK_WITH_AES_256_CBC_SHA"),
    (0x0092, "TLS_RSA_PSK_WITH_RC4_128_SHA"),
    (0x0093, "TLS_RSA_PSK_WITH_3DES_EDE_CBC_SHA"),
    (0x0094, "TLS_RSA_PSK_WITH_AES_128_CBC_SHA"),
    (0x0095, "TLS_RSA_PSK_WITH_AES_256_CBC_SHA"),
    (0x0096, "TLS_RSA_WITH_SEED_CBC_SHA"),
    (0x0097, "TLS_DH_DSS_WITH_SEED_CBC_SHA"),
    (0x0098, "TLS_DH_RSA_WITH_SEED_CBC_SHA"),
    (0x0099, "TLS_DHE_DSS_WITH_SEED_CBC_SHA"),
    (0x009a, "TLS_DHE_RSA_WITH_SEED_CBC_SHA"),
    (0x009b, "TLS_DH_anon_WITH_SEED_CBC_SHA"),
    (0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256"),
    (0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384"),
    (0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"),
    (0x009f, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"),
    (0x00a0, "TLS_DH_RSA_WITH_AES_128_GCM_SHA256"),
    (0x00a1, "TLS_DH_RSA_WITH_AES_256_GCM_SHA384"),
    (0x00a2, "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256"),
    (0x00a3, "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384"),
    (0x00a4, "TLS_DH_DSS_WITH_AES_128_GCM_SHA256"),
    (0x00a5, "TLS_DH_DSS_WITH_AES_256_GCM_SHA384"),
    (0x00a6, "TLS_DH_anon_WITH_AES_128_GCM_SHA256"),
    (0x00a7, "TLS_DH_anon_WITH_AES_256_GCM_SHA384"),
    (0x00a8, "TLS_PSK_WITH_AES_128_GCM_SHA256"),
    (0x00a9, "TLS_PSK_WITH_AES_256_GCM_SHA384"),
    (0x00aa, "TLS_DHE_PSK_WITH_AES_128_GCM_SHA256"),
    (0x00ab, "TLS_DHE_PSK_WITH_AES_256_GCM_SHA384"),
    (0x00ac, "TLS_RSA_PSK_WITH_AES_128_GCM_SHA256"),
    (0x00ad, "TLS_RSA_PSK_WITH_AES_256_GCM_SHA384"),
    (0x00ae, "TLS_PSK_WITH_AES_128_CBC_SHA256"),
    (0x00af, "TLS_PSK_WITH_AES_256_CBC_SHA384"),
    (0x00b0, "TLS_PSK_WITH_NULL_SHA256"),
    (0x00b1, "TLS_PSK_WITH_NULL_SHA384"),
    (0x00b2, "TLS_DHE_PSK_WITH_AES_128_CBC_SHA256"),
    (0x00b3, "TLS_DHE_PSK_WITH_AES_256_CBC_SHA384"),
    (0x00b4, "TLS_DHE_PSK_WITH_NULL_SHA256"),
    (0x00b5, "TLS_DHE_PSK_WITH_NULL_SHA384"),
    (0x00b6, "TLS_RSA_PSK_WITH_AES_128_CBC_SHA256"),
    (0x00b7, "TLS_RSA_PSK_WITH_AES_256_CBC_SHA384"),
    (0x00b8, "TLS_RSA_PSK_WITH_NULL_SHA256"),
    (0x00b9, "TLS_RSA_PSK_WITH_NULL_SHA384"),
    (0x00ba, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA256"),
    (0x00bb, "TLS_DH_DSS_WITH_CAMELLIA_128_CBC_SHA256"),
    (0x00bc, "TLS_DH_RSA_WITH_CAMELLIA_128_CBC_SHA256"),
    (0x00bd, "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA256"),
    (0x00be, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA256"),
    (0x00bf, "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA256"),
    (0x00c0, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA256"),
    (0x00c1, "TLS_DH_DSS_WITH_CAMELLIA_256_CBC_SHA256"),
    (0x00c2, "TLS_DH_RSA_WITH_CAMELLIA_256_CBC_SHA256"),
    (0x00c3, "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA256"),
    (0x00c4, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA256"),
    (0x00c5, "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA256"),
    (0x00c6, "TLS_SM4_GCM_SM3"),
    (0x00c7, "TLS_SM4_CCM_SM3"),
    (0x1301, "TLS_AES_128_GCM_SHA256"),
    (0x1302, "TLS_AES_256_GCM_SHA384"),
    (0x1303, "TLS_CHACHA20_POLY1305_SHA256"),
    (0x1304, "TLS_AES_128_CCM_SHA256"),
    (0x1305, "TLS_AES_128_CCM_8_SHA256"),
    (0xc001, "TLS_ECDH_ECDSA_WITH_NULL_SHA"),
    (0xc002, "TLS_ECDH_ECDSA_WITH_RC4_128_SHA"),
    (0xc003, "TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA"),
    (0xc004, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA"),
    (0xc005, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA"),
    (0xc006, "TLS_ECDHE_ECDSA_WITH_NULL_SHA"),
    (0xc007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA"),
    (0xc008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA"),
    (0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"),
    (0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"),
    (0xc00b, "TLS_ECDH_RSA_WITH_NULL_SHA"),
    (0xc00c, "TLS_ECDH_RSA_WITH_RC4_128_SHA"),
    (0xc00d, "TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0xc00e, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA"),
    (0xc00f, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA"),
    (0xc010, "TLS_ECDHE_RSA_WITH_NULL_SHA"),
    (0xc011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA"),
    (0xc012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
    (0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"),
    (0xc015, "TLS_ECDH_anon_WITH_NULL_SHA"),
    (0xc016, "TLS_ECDH_anon_WITH_RC4_128_SHA"),
    (0xc017, "TLS_ECDH_anon_WITH_3DES_EDE_CBC_SHA"),
    (0xc018, "TLS_ECDH_anon_WITH_AES_128_CBC_SHA"),
    (0xc019, "TLS_ECDH_anon_WITH_AES_256_CBC_SHA"),
    (0xc01a, "TLS_SRP_SHA_WITH_3DES_EDE_CBC_SHA"),
    (0xc01b, "TLS_SRP_SHA_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0xc01c, "TLS_SRP_SHA_DSS_WITH_3DES_EDE_CBC_SHA"),
    (0xc01d, "TLS_SRP_SHA_WITH_AES_128_CBC_SHA"),
    (0xc01e, "TLS_SRP_SHA_RSA_WITH_AES_128_CBC_SHA"),
    (0xc01f, "TLS_SRP_SHA_DSS_WITH_AES_128_CBC_SHA"),
    (0xc020, "TLS_SRP_SHA_WITH_AES_256_CBC_SHA"),
    (0xc021, "TLS_SRP_SHA_RSA_WITH_AES_256_CBC_SHA"),
    (0xc022, "TLS_SRP_SHA_DSS_WITH_AES_256_CBC_SHA"),
    (0xc023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"),
    (0xc024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"),
    (0xc025, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256"),
    (0xc026, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384"),
    (0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"),
    (0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"),
    (0xc029, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256"),
    (0xc02a, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384"),
    (0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
    (0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
    (0xc02d, "TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256"),
    (0xc02e, "TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384"),
    (0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    (0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
    (0xc031, "TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256"),
    (0xc032, "TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384"),
    (0xc033, "TLS_ECDHE_PSK_WITH_RC4_128_SHA"),
    (0xc034, "TLS_ECDHE_PSK_WITH_3DES_EDE_CBC_SHA"),
    (0xc035, "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA"),
    (0xc036, "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA"),
    (0xc037, "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256"),
    (0xc038, "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA384"),
    (0xc039, "TLS_ECDHE_PSK_WITH_NULL_SHA"),
    (0xc03a, "TLS_ECDHE_PSK_WITH_NULL_SHA256"),
    (0xc03b, "TLS_ECDHE_PSK_WITH_NULL_SHA384"),
    (0xc03c, "TLS_RSA_WITH_ARIA_128_CBC_SHA256"),
    (0xc03d, "TLS_RSA_WITH_ARIA_256_CBC_SHA384"),
    (0xc03e, "TLS_DH_DSS_WITH_ARIA_128_CBC_SHA256"),
    (0xc03f, "TLS_DH_DSS_WITH_ARIA_256_CBC_SHA384"),
    (0xc040, "TLS_DH_RSA_WITH_ARIA_128_CBC_SHA256"),
    (0xc041, "TLS_DH_RSA_WITH_ARIA_256_CBC_SHA384"),
    (0xc042, "TLS_DHE_DSS_WITH_ARIA_128_CBC_SHA256"),
    (0xc043, "TLS_DHE_DSS_WITH_ARIA_256_CBC_SHA384"),
    (0xc044, "TLS_DHE_RSA_WITH_ARIA_128_CBC_SHA256"),
    (0xc045, "TLS_DHE_RSA_WITH_ARIA_256_CBC_SHA384"),
    (0xc046, "TLS_DH_anon_WITH_ARIA_128_CBC_SHA256"),
    (0xc047, "TLS_DH_anon_WITH_ARIA_256_CBC_SHA384"),
    (0xc048, "TLS_ECDHE_ECDSA_WITH_ARIA_128_CBC_SHA256"),
    (0xc049, "TLS_ECDHE_ECDSA_WITH_ARIA_256_CBC_SHA384"),
    (0xc04a, "TLS_ECDH_ECDSA_WITH_ARIA_128_CBC_SHA256"),
    (0xc04b, "TLS_ECDH_ECDSA_WITH_ARIA_256_CBC_SHA384"),
    (0xc04c, "TLS_ECDHE_RSA_WITH_ARIA_128_CBC_SHA256"),
    (0xc04d, "TLS_ECDHE_RSA_WITH_ARIA_256_CBC_SHA384"),
    (0xc04e, "TLS_ECDH_RSA_WITH_ARIA_128_CBC_SHA256"),
    (0xc04f, "TLS_ECDH_RSA_WITH_ARIA_256_CBC_SHA384"),
    (0xc050, "TLS_RSA_WITH_ARIA_128_GCM_SHA256"),
    (0xc051, "TLS_RSA_WITH_ARIA_256_GCM_SHA384"),
    (0xc052, "TLS_DHE_RSA_WITH_ARIA_128_GCM_SHA256"),
    (0xc053, "TLS_DHE_RSA_WITH_ARIA_256_GCM_SHA384"),
    (0xc054, "TLS_DH_RSA_WITH_ARIA_128_GCM_SHA256"),
    (0xc055, "TLS_DH_RSA_WITH_ARIA_256_GCM_SHA384"),
    (0xc056, "TLS_DHE_DSS_WITH_ARIA_128_GCM_SHA256"),
    (0xc057, "TLS_DHE_DSS_WITH_ARIA_256_GCM_SHA384"),
    (0xc058, "TLS_DH_DSS_WITH_ARIA_128_GCM_SHA256"),
    (0xc059, "TLS_DH_DSS_WITH_ARIA_256_GCM_SHA384"),
    (0xc05a, "TLS_DH_anon_WITH_ARIA_128_GCM_SHA256"),
    (0xc05b, "TLS_DH_anon_WITH_ARIA_256_GCM_SHA384"),
    (0xc05c, "TLS_ECDHE_ECDSA_WITH_ARIA_128_GCM_SHA256"),
    (0xc05d, "TLS_ECDHE_ECDSA_WITH_ARIA_256_GCM_SHA384"),
    (0xc05e, "TLS_ECDH_ECDSA_WITH_ARIA_128_GCM_SHA256"),
    (0xc05f, "TLS_ECDH_ECDSA_WITH_ARIA_256_GCM_SHA384"),
    (0xc060, "TLS_ECDHE_RSA_WITH_ARIA_128_GCM_SHA256"),
    (0xc061, "TLS_ECDHE_RSA_WITH_ARIA_256_GCM_SHA384"),
    (0xc062, "TLS_ECDH_RSA_WITH_ARIA_128_GCM_SHA256"),
    (0xc063, "TLS_ECDH_RSA_WITH_ARIA_256_GCM_SHA384"),
    (0xc064, "TLS_PSK_WITH_ARIA_128_CBC_SHA256"),
    (0xc065, "TLS_PSK_WITH_ARIA_256_CBC_SHA384"),
    (0xc066, "TLS_DHE_PSK_WITH_ARIA_128_CBC_SHA256"),
    (0xc067, "TLS_DHE_PSK_WITH_ARIA_256_CBC_SHA384"),
    (0xc068, "TLS_RSA_PSK_WITH_ARIA_128_CBC_SHA256"),
    (0xc069, "TLS_RSA_PSK_WITH_ARIA_256_CBC_SHA384"),
    (0xc06a, "TLS_PSK_WITH_ARIA_128_GCM_SHA256"),
    (0xc06b, "TLS_PSK_WITH_ARIA_256_GCM_SHA384"),
    (0xc06c, "TLS_DHE_PSK_WITH_ARIA_128_GCM_SHA256"),
    (0xc06d, "TLS_DHE_PSK_WITH_ARIA_256_GCM_SHA384"),
    (0xc06e, "TLS_RSA_PSK_WITH_ARIA_128_GCM_SHA256"),
    (0xc06f, "TLS_RSA_PSK_WITH_ARIA_256_GCM_SHA384"),
    (0xc070, "TLS_ECDHE_PSK_WITH_ARIA_128_CBC_SHA256"),
    (0xc071, "TLS_ECDHE_PSK_WITH_ARIA_256_CBC_SHA384"),
    (0xc072, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_CBC_SHA256"),
    (0xc073, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_CBC_SHA384"),
    (0xc074, "TLS_ECDH_ECDSA_WITH_CAMELLIA_128_CBC_SHA256"),
    (0xc075, "TLS_ECDH_ECDSA_WITH_CAMELLIA_256_CBC_SHA384"),
    (0xc076, "TLS_ECDHE_RSA_WITH_CAMELLIA_128_CBC_SHA256"),
    (0xc077, "TLS_ECDHE_RSA_WITH_CAMELLIA_256_CBC_SHA384"),
    (0xc078, "TLS_ECDH_RSA_WITH_CAMELLIA_128_CBC_SHA256"),
    (0xc079, "TLS_ECDH_RSA_WITH_CAMELLIA_256_CBC_SHA384"),
    (0xc07a, "TLS_RSA_WITH_CAMELLIA_128_GCM_SHA256"),
    (0xc07b, "TLS_RSA_WITH_CAMELLIA_256_GCM_SHA384"),
    (0xc07c, "TLS_DHE_RSA_WITH_CAMELLIA_128_GCM_SHA256"),
    (0xc07d, "TLS_DHE_RSA_WITH_CAMELLIA_256_GCM_SHA384"),
    (0xc07e, "TLS_DH_RSA_WITH_CAMELLIA_128_GCM_SHA256"),
    (0xc07f, "TLS_DH_RSA_WITH_CAMELLIA_256_GCM_SHA384"),
    (0xc080, "TLS_DHE_DSS_WITH_CAMELLIA_128_GCM_SHA256"),
    (0xc081, "TLS_DHE_DSS_WITH_CAMELLIA_256_GCM_SHA384"),
    (0xc082, "TLS_DH_DSS_WITH_CAMELLIA_128_GCM_SHA256"),
    (0xc083, "TLS_DH_DSS_WITH_CAMELLIA_256_GCM_SHA384"),
    (0xc084, "TLS_DH_anon_WITH_CAMELLIA_128_GCM_SHA256"),
    (0xc085, "TLS_DH_anon_WITH_CAMELLIA_256_GCM_SHA384"),
    (0xc086, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_GCM_SHA256"),
    (0xc087, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_GCM_SHA384"),
    (0xc088, "TLS_ECDH_ECDSA_WITH_CAMELLIA_128_GCM_SHA256"),
    (0xc089, "TLS_ECDH_ECDSA_WITH_CAMELLIA_256_GCM_SHA384"),
    (0xc08a, "TLS_ECDHE_RSA_WITH_CAMELLIA_128_GCM_SHA256"),
    (0xc08b, "TLS_ECDHE_RSA_WITH_CAMELLIA_256_GCM_SHA384"),
    (0xc08c, "TLS_ECDH_RSA_WITH_CAMELLIA_128_GCM_SHA256"),
    (0xc08d, "TLS_ECDH_RSA_WITH_CAMELLIA_256_GCM_SHA384"),
    (0xc08e, "TLS_PSK_WITH_CAMELLIA_128_GCM_SHA256"),
    (0xc08f, "TLS_PSK_WITH_CAMELLIA_256_GCM_SHA384"),
    (0xc090, "TLS_DHE_PSK_WITH_CAMELLIA_128_GCM_SHA256"),
    (0xc091, "TLS_DHE_PSK_WITH_CAMELLIA_256_GCM_SHA384"),
    (0xc092, "TLS_RSA_PSK_WITH_CAMELLIA_128_GCM_SHA256"),
    (0xc093, "TLS_RSA_PSK_WITH_CAMELLIA_256_GCM_SHA384"),
    (0xc094, "TLS_PSK_WITH_CAMELLIA_128_CBC_SHA256"),
    (0xc095, "TLS_PSK_WITH_CAMELLIA_256_CBC_SHA384"),
    (0xc096, "TLS_DHE_PSK_WITH_CAMELLIA_128_CBC_SHA256"),
    (0xc097, "TLS_DHE_PSK_WITH_CAMELLIA_256_CBC_SHA384"),
    (0xc098, "TLS_RSA_PSK_WITH_CAMELLIA_128_CBC_SHA256"),
    (0xc099, "TLS_RSA_PSK_WITH_CAMELLIA_256_CBC_SHA384"),
    (0xc09a, "TLS_ECDHE_PSK_WITH_CAMELLIA_128_CBC_SHA256"),
    (0xc09b, "TLS_ECDHE_PSK_WITH_CAMELLIA_256_CBC_SHA384"),
    (0xc09c, "TLS_RSA_WITH_AES_128_CCM"),
    (0xc09d, "TLS_RSA_WITH_AES_256_CCM"),
    (0xc09e, "TLS_DHE_RSA_WITH_AES_128_CCM"),
    (0xc09f, "TLS_DHE_RSA_WITH_AES_256_CCM"),
    (0xc0a0, "TLS_RSA_WITH_AES_128_CCM_8"),
    (0xc0a1, "TLS_RSA_WITH_AES_256_CCM_8"),
    (0xc0a2, "TLS_DHE_RSA_WITH_AES_128_CCM_8"),
    (0xc0a3, "TLS_DHE_RSA_WITH_AES_256_CCM_8"),
    (0xc0a4, "TLS_PSK_WITH_AES_128_CCM"),
    (0xc0a5, "TLS_PSK_WITH_AES_256_CCM"),
    (0xc0a6, "TLS_DHE_PSK_WITH_AES_128_CCM"),
    (0xc0a7, "TLS_DHE_PSK_WITH_AES_256_CCM"),
    (0xc0a8, "TLS_PSK_WITH_AES_128_CCM_8"),
    (0xc0a9, "TLS_PSK_WITH_AES_256_CCM_8"),
    (0xc0aa, "TLS_PSK_DHE_WITH_AES_128_CCM_8"),
    (0xc0ab, "TLS_PSK_DHE_WITH_AES_256_CCM_8"),
    (0xc0ac, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM"),
    (0xc0ad, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM"),
    (0xc0ae, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8"),
    (0xc0af, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8"),
    (0xc0b0, "TLS_ECCPWD_WITH_AES_128_GCM_SHA256"),
    (0xc0b1, "TLS_ECCPWD_WITH_AES_256_GCM_SHA384"),
    (0xc0b2, "TLS_ECCPWD_WITH_AES_128_CCM_SHA256"),
    (0xc0b3, "TLS_ECCPWD_WITH_AES_256_CCM_SHA384"),
    (0xc0b4, "TLS_SHA256_SHA256"),
    (0xc0b5, "TLS_SHA384_SHA384"),
    (0xc100, "TLS_GOSTR341112_256_WITH_KUZNYECHIK_CTR_OMAC"),
    (0xc101, "TLS_GOSTR341112_256_WITH_MAGMA_CTR_OMAC"),
    (0xc102, "TLS_GOSTR341112_256_WITH_28147_CNT_IMIT"),
    (0xc103, "TLS_GOSTR341112_256_WITH_KUZNYECHIK_MGM_L"),
    (0xc104, "TLS_GOSTR341112_256_WITH_MAGMA_MGM_L"),
    (0xc105, "TLS_GOSTR341112_256_WITH_KUZNYECHIK_MGM_S"),
    (0xc106, "TLS_GOSTR341112_256_WITH_MAGMA_MGM_S"),
    (0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
    (0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
    (0xccaa, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
    (0xccab, "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256"),
    (0xccac, "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256"),
    (0xccad, "TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256"),
    (0xccae, "TLS_RSA_PSK_WITH_CHACHA20_POLY1305_SHA256"),
    (0xd001, "TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256"),
    (0xd002, "TLS_ECDHE_PSK_WITH_AES_256_GCM_SHA384"),
    (0xd003, "TLS_ECDHE_PSK_WITH_AES_128_CCM_8_SHA256"),
    (0xd005, "TLS_ECDHE_PSK_WITH_AES_128_CCM_SHA256"),
    (0xfefe, "SSL_RSA_FIPS_WITH_DES_CBC_SHA"),
    (0xfeff, "SSL_RSA_FIPS_WITH_3DES_EDE_CBC_SHA"),
];

/// The most code points one hello offers. wolfSSL, common on devices, refuses a hello
/// whose cipher suite list exceeds 300 bytes (`WOLFSSL_MAX_SUITE_SZ`, 150 suites) and
/// testssl.sh stays at 128 for the same reason, so the registry is offered in parts.
pub const HELLO_CHUNK: usize = 128;

/// Families seldom deployed (pre-shared keys, SRP, Kerberos, drafts, GOST, FIPS, ...):
/// offered after the others, so that the first part of the registry is the one most
/// servers choose from.
const RARE_FAMILIES: [&str; 11] = [
    "PSK",
    "SRP",
    "KRB5",
    "_draft",
    "GOST",
    "FIPS",
    "FORTEZZA",
    "ECCPWD",
    "EXPORT1024",
    "_RMD",
    "SM4",
];

/// The whole [`REGISTRY`], offered in a hello of any version, in parts of at most
/// [`HELLO_CHUNK`] code points: TLS 1.3 suites first, then the deployed families (those
/// with forward secrecy first), then the rare ones. A server must ignore the values it
/// does not know or that its version cannot use, and choosing one anyway is recorded,
/// not hidden.
pub fn offer_chunks() -> Vec<Vec<u16>> {
    let mut codes: Vec<(u8, u16)> = REGISTRY
        .iter()
        .map(|(id, name)| {
            let rank = if (0x1301..=0x1305).contains(id) {
                0
            } else if RARE_FAMILIES.iter().any(|family| name.contains(family)) {
                3
            } else if properties(*id).forward_secrecy {
                1
            } else {
                2
            };
            (rank, *id)
        })
        .collect();
    codes.sort_unstable();
    codes
        .chunks(HELLO_CHUNK)
        .map(|chunk| chunk.iter().map(|(_, id)| *id).collect())
        .collect()
}

/// The IANA name of a suite, or its code.
pub fn name(id: u16) -> String {
    REGISTRY
        .iter()
        .find(|(code, _)| *code == id)
        .map_or_else(|| format!("0x{id:04x}"), |(_, name)| (*name).to_owned())
}

/// The name with its code point, as the findings show it: `TLS_RSA_WITH_NULL_SHA (0x0002)`.
pub fn label(id: u16) -> String {
    format!("{} (0x{id:04X})", name(id))
}

/// What a suite is made of, as far as the verdicts care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Properties {
    pub forward_secrecy: bool,
    /// ECDHE key exchange without PSK (its ServerKeyExchange names a curve first).
    pub ephemeral_ec: bool,
    /// DHE key exchange without PSK (its ServerKeyExchange carries a prime first).
    pub ephemeral_dh: bool,
    pub anonymous: bool,
    pub export: bool,
    /// No encryption: NULL ciphers and the integrity-only suites of RFC 9150.
    pub null_cipher: bool,
    pub rc4: bool,
    /// Single DES, DES40, RC2 or Skipjack (FORTEZZA): broken ciphers.
    pub des: bool,
    /// 64-bit block ciphers open to Sweet32: 3DES and IDEA.
    pub block_64: bool,
    pub cbc_sha1: bool,
    pub md5_mac: bool,
}

/// The key exchange part and the cipher part of a suite's name.
fn parts(name: &str) -> (&str, &str) {
    let body = name
        .strip_prefix("TLS_")
        .or_else(|| name.strip_prefix("SSL_"))
        .unwrap_or(name);
    let body = body.strip_suffix("_draft").unwrap_or(body);
    if let Some(split) = body.split_once("_WITH_") {
        return split;
    }
    // Drafts without `_WITH_` (TLS_ECMQV_ECDSA_NULL_SHA), and TLS 1.3 names, which carry
    // no key exchange.
    match body.find("_NULL_") {
        Some(at) => (
            body.get(..at).unwrap_or(""),
            body.get(at + 1..).unwrap_or(""),
        ),
        None => ("", body),
    }
}

/// Properties of a suite, from its IANA name.
pub fn properties(id: u16) -> Properties {
    let name = name(id);
    let tls13 = (0x1301..=0x1305).contains(&id)
        || matches!(id, 0x00c6 | 0x00c7 | 0xc0b4 | 0xc0b5 | 0xc103..=0xc106);
    let (exchange, rest) = parts(&name);
    let psk = exchange.contains("PSK");
    let ephemeral = exchange.starts_with("ECDHE")
        || exchange.starts_with("DHE")
        || exchange.contains("_DHE")
        || exchange == "ECCPWD";
    Properties {
        forward_secrecy: tls13 || ephemeral,
        ephemeral_ec: exchange.starts_with("ECDHE") && !psk,
        ephemeral_dh: exchange.starts_with("DHE") && !psk,
        anonymous: exchange.contains("anon"),
        export: exchange.contains("EXPORT") || rest.contains("EXPORT"),
        null_cipher: rest.starts_with("NULL")
            || exchange.ends_with("_NULL")
            || (tls13 && rest.starts_with("SHA")),
        rc4: rest.contains("RC4"),
        des: rest.starts_with("DES") || rest.starts_with("RC2") || rest.starts_with("FORTEZZA"),
        block_64: rest.starts_with("3DES") || rest.starts_with("IDEA"),
        cbc_sha1: rest.contains("CBC") && rest.ends_with("_SHA"),
        md5_mac: rest.ends_with("_MD5"),
    }
}

/// Why a suite is weak, or `None` when it is not; CBC with SHA-1 counts when
/// `forbid_cbc_sha1` says so.
pub fn weakness(id: u16, forbid_cbc_sha1: bool) -> Option<&'static str> {
    let p = properties(id);
    if p.null_cipher {
        Some("NULL cipher: no encryption")
    } else if p.anonymous {
        Some("anonymous key exchange: no server authentication")
    } else if p.export {
        Some("EXPORT grade: 40/56-bit keys")
    } else if p.rc4 {
        Some("RC4 (RFC 7465 prohibits it)")
    } else if p.des {
        Some("DES, RC2 or Skipjack: broken cipher")
    } else if p.block_64 {
        Some("64-bit block cipher (3DES/IDEA, Sweet32)")
    } else if p.md5_mac {
        Some("MD5 MAC")
    } else if forbid_cbc_sha1 && p.cbc_sha1 {
        Some("CBC with SHA-1 MAC (forbidden by the profile's policy)")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_from_names() {
        assert!(properties(0xc02f).forward_secrecy);
        assert!(properties(0xc02f).ephemeral_ec);
        assert!(!properties(0x002f).forward_secrecy);
        assert!(properties(0x002f).cbc_sha1);
        assert!(properties(0x1301).forward_secrecy);
        assert_eq!(
            weakness(0x000a, false),
            Some("64-bit block cipher (3DES/IDEA, Sweet32)")
        );
        assert!(weakness(0x0018, false).unwrap().contains("anonymous"));
        assert!(weakness(0x0003, false).is_some());
        assert!(weakness(0x0002, false).unwrap().contains("NULL"));
        assert_eq!(weakness(0xc02f, true), None);
        assert!(weakness(0xc013, true).is_some());
        assert!(weakness(0xc013, false).is_none());
        assert!(properties(0x0016).ephemeral_dh);
    }

    #[test]
    fn every_family_of_the_registry_is_classified() {
        // Anonymous outside the old table (observation 11 of issue 13).
        assert!(weakness(0x00bf, false).unwrap().contains("anonymous"));
        assert!(weakness(0xc046, false).unwrap().contains("anonymous"));
        // NULL in its odd spellings: drafts, PSK, RFC 9150 integrity-only TLS 1.3.
        for id in [
            0x0000, 0x002c, 0x00b0, 0xc0b4, 0xc0b5, 0x004f, 0x0057, 0x0082,
        ] {
            assert!(weakness(id, false).unwrap().contains("NULL"), "0x{id:04x}");
        }
        for id in [0x0060, 0x0062, 0x0026, 0x0029] {
            assert!(
                weakness(id, false).unwrap().contains("EXPORT"),
                "0x{id:04x}"
            );
        }
        assert!(weakness(0x0066, false).unwrap().contains("RC4"));
        assert!(weakness(0xfefe, false).unwrap().contains("DES"));
        assert!(weakness(0x001d, false).unwrap().contains("Skipjack"));
        assert!(weakness(0x001f, false).unwrap().contains("3DES"));
        // Strong suites stay strong, and PSK suites with (EC)DHE keep forward secrecy
        // without being parsed as plain (EC)DHE.
        for id in [0x1301, 0x1302, 0x1303, 0xcca8, 0xc0b0, 0xd001, 0x00c6] {
            assert_eq!(weakness(id, true), None, "0x{id:04x}");
            assert!(properties(id).forward_secrecy, "0x{id:04x}");
        }
        assert!(!properties(0xccac).ephemeral_ec && properties(0xccac).forward_secrecy);
        assert!(!properties(0x00aa).ephemeral_dh && properties(0x00aa).forward_secrecy);
        assert!(!properties(0xc0aa).ephemeral_dh && properties(0xc0aa).forward_secrecy);
    }

    #[test]
    fn codes_are_unique_and_signalling_values_are_not_offered() {
        let chunks = offer_chunks();
        assert!(chunks
            .iter()
            .all(|c| !c.is_empty() && c.len() <= HELLO_CHUNK));
        assert!(chunks
            .first()
            .is_some_and(|c| c.contains(&0x1301) && c.contains(&0xc02f)));
        let mut codes: Vec<u16> = chunks.concat();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), REGISTRY.len());
        assert!(!codes.contains(&0x00ff) && !codes.contains(&0x5600));
        assert!(codes.len() > 350, "{} code points", codes.len());
    }
}
