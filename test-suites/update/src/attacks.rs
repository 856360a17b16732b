//! The attack images, made from the genuine image: each differs from it in exactly the
//! way its name says, and the genuine image itself comes last.

use crate::checks;
use crate::cms;
use crate::formats::{
    plain::Plain,
    rauc::Rauc,
    swu::{self, Swu},
    Artifact, Genuine,
};
use crate::keys::{self, Signer, Unfit};

/// Every way the suite tries to get an image past the device's verification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Attack {
    PayloadByteFlipped,
    ManifestByteFlipped,
    PayloadSwappedStaleHash,
    Truncated,
    SignatureRemoved,
    ManifestSaysUnsigned,
    ForeignSigner,
    ExpiredSigner,
    WrongPurposeSigner,
    /// Signed by a key the profile says the device must not trust (one attempt per key).
    DeclaredUntrustedKey,
    Rollback,
    Genuine,
}

impl Attack {
    pub const ALL: [Attack; 12] = [
        Attack::PayloadByteFlipped,
        Attack::ManifestByteFlipped,
        Attack::PayloadSwappedStaleHash,
        Attack::Truncated,
        Attack::SignatureRemoved,
        Attack::ManifestSaysUnsigned,
        Attack::ForeignSigner,
        Attack::ExpiredSigner,
        Attack::WrongPurposeSigner,
        Attack::DeclaredUntrustedKey,
        Attack::Rollback,
        Attack::Genuine,
    ];

    /// Stable name used in evidence.
    pub fn name(self) -> &'static str {
        match self {
            Attack::PayloadByteFlipped => "payload-byte-flipped",
            Attack::ManifestByteFlipped => "manifest-byte-flipped",
            Attack::PayloadSwappedStaleHash => "payload-swapped-stale-hash",
            Attack::Truncated => "truncated",
            Attack::SignatureRemoved => "signature-removed",
            Attack::ManifestSaysUnsigned => "manifest-says-unsigned",
            Attack::ForeignSigner => "foreign-signer",
            Attack::ExpiredSigner => "expired-signer",
            Attack::WrongPurposeSigner => "wrong-purpose-signer",
            Attack::DeclaredUntrustedKey => "declared-untrusted-key",
            Attack::Rollback => "rollback",
            Attack::Genuine => "genuine",
        }
    }

    /// The check this attack provides evidence for.
    pub fn check(self) -> &'static str {
        match self {
            Attack::PayloadByteFlipped
            | Attack::ManifestByteFlipped
            | Attack::PayloadSwappedStaleHash
            | Attack::Truncated => checks::TAMPERED_IMAGE,
            Attack::SignatureRemoved | Attack::ManifestSaysUnsigned => checks::UNSIGNED_IMAGE,
            Attack::ForeignSigner
            | Attack::ExpiredSigner
            | Attack::WrongPurposeSigner
            | Attack::DeclaredUntrustedKey => checks::UNTRUSTED_SIGNER,
            Attack::Rollback => checks::ROLLBACK,
            Attack::Genuine => checks::GENUINE_IMAGE,
        }
    }
}

/// One image to send, what it is, and the version it would install.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub attack: Attack,
    pub description: String,
    pub artifact: Artifact,
    pub installs_version: String,
}

/// An attack that could not be made from what the profile gives, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    pub attack: Attack,
    pub reason: String,
}

/// What attacks are made from.
pub struct Materials<'a> {
    pub genuine: &'a Genuine,
    pub genuine_version: &'a str,
    /// An older genuine image and its version.
    pub older: Option<(&'a Genuine, &'a str)>,
    /// A key the device trusts, which the lab may sign with.
    pub test_signer: Option<&'a Signer>,
    /// The trusted CA's key and certificate (PEM), to issue unfit certificates.
    pub trusted_ca: Option<(&'a [u8], &'a [u8])>,
    /// Keys the profile says the device must not trust.
    pub untrusted: &'a [Signer],
}

/// The attempts in the order they are sent (genuine last), and the attacks skipped.
pub fn plan(materials: &Materials<'_>) -> (Vec<Attempt>, Vec<Skipped>) {
    let mut attempts = Vec::new();
    let mut skipped = Vec::new();
    for attack in Attack::ALL {
        if attack == Attack::DeclaredUntrustedKey {
            if materials.untrusted.is_empty() {
                skipped.push(Skipped {
                    attack,
                    reason: "the profile declares no key the device must not trust (update.untrusted_signers)".into(),
                });
            }
            for signer in materials.untrusted {
                match resign(materials.genuine, signer) {
                    Ok(artifact) => attempts.push(Attempt {
                        attack,
                        description: format!(
                            "the genuine image re-signed by {}",
                            signer.description
                        ),
                        artifact,
                        installs_version: materials.genuine_version.to_owned(),
                    }),
                    Err(reason) => skipped.push(Skipped { attack, reason }),
                }
            }
            continue;
        }
        match make(materials, attack) {
            Ok((description, artifact, version)) => attempts.push(Attempt {
                attack,
                description,
                artifact,
                installs_version: version,
            }),
            Err(reason) => skipped.push(Skipped { attack, reason }),
        }
    }
    (attempts, skipped)
}

fn flip(bytes: &mut [u8], index: usize) {
    if let Some(byte) = bytes.get_mut(index) {
        *byte ^= 0x01;
    }
}

/// Offset of the last byte of the first line when the image starts with text, else 0:
/// flipping it keeps a text header a text header (a digit stays a digit).
fn header_byte(image: &[u8]) -> usize {
    let line_end = image.iter().take(4096).position(|&b| b == b'\n');
    match line_end {
        Some(end)
            if end > 0
                && image
                    .iter()
                    .take(end)
                    .all(|b| b.is_ascii_graphic() || *b == b' ') =>
        {
            end - 1
        }
        _ => 0,
    }
}

type Made = Result<(String, Artifact, String), String>;

/// What an attack made of the genuine image: how it differs, in words, and the artifact.
type Altered = Result<(String, Artifact), String>;

fn make(m: &Materials<'_>, attack: Attack) -> Made {
    let version = m.genuine_version.to_owned();
    let genuine = m.genuine.artifact();
    let (description, artifact) = match attack {
        Attack::Genuine => (
            "the manufacturer's genuine image, unchanged".into(),
            genuine,
        ),
        Attack::Truncated => {
            let mut artifact = genuine;
            artifact.image.truncate(artifact.image.len() / 2);
            (
                "the genuine image cut to its first half, signature unchanged".into(),
                artifact,
            )
        }
        Attack::Rollback => return rollback(m),
        _ => match m.genuine {
            Genuine::Plain(plain) => alter_plain(plain, genuine, attack)?,
            Genuine::Swu(image) => alter_swu(m, image, attack)?,
            Genuine::Rauc(bundle) => alter_rauc(m, bundle, attack)?,
        },
    };
    Ok((description, artifact, version))
}

/// A certificate the trusted CA issues but the device must refuse (expired, or for
/// another purpose): it needs the CA's key.
fn unfit_signer(m: &Materials<'_>, unfit: Unfit) -> Result<Signer, String> {
    let (key, certificate) = m.trusted_ca.ok_or_else(|| {
        "needs the trusted CA's key (update.trusted_test_signer.ca_key and ca_certificate) to issue the certificate".to_owned()
    })?;
    keys::unfit_signer(key, certificate, unfit).map_err(|e| e.to_string())
}

/// The signer of a re-signing attack: a foreign key, or the trusted CA's expired or
/// wrong-purpose certificate.
fn attack_signer(m: &Materials<'_>, attack: Attack) -> Result<Signer, String> {
    match attack {
        Attack::ForeignSigner => keys::foreign_signer().map_err(|e| e.to_string()),
        Attack::ExpiredSigner => unfit_signer(m, Unfit::Expired),
        _ => unfit_signer(m, Unfit::WrongPurpose),
    }
}

/// An attack on a plain image with a detached signature: bytes flipped, the signature
/// removed, or a foreign signature; a plain image has no manifest, and its raw
/// signature no certificate, to vary.
fn alter_plain(plain: &Plain, genuine: Artifact, attack: Attack) -> Altered {
    let mut artifact = genuine;
    let description = match attack {
        Attack::PayloadByteFlipped => {
            let last = artifact.image.len().saturating_sub(1);
            flip(&mut artifact.image, last);
            format!("byte {last} (the last) of the image flipped; signature unchanged")
        }
        Attack::ManifestByteFlipped => {
            let at = header_byte(&artifact.image);
            flip(&mut artifact.image, at);
            format!("byte {at} of the image header flipped; signature unchanged")
        }
        Attack::SignatureRemoved => {
            artifact.signature = None;
            "the genuine image sent without its signature".into()
        }
        Attack::ForeignSigner => {
            let signer = keys::foreign_signer().map_err(|e| e.to_string())?;
            artifact.signature = Some(signer.sign(&plain.image).map_err(|e| e.to_string())?);
            format!("the genuine image signed by {}", signer.description)
        }
        Attack::PayloadSwappedStaleHash => {
            return Err("a plain image has no manifest that lists payload hashes".into())
        }
        Attack::ManifestSaysUnsigned => {
            return Err("a plain image has no manifest that could declare it unsigned".into())
        }
        _ => return Err(
            "a raw signature carries no certificate, so its validity and purpose cannot be varied"
                .into(),
        ),
    };
    Ok((description, artifact))
}

/// An attack on an SWUpdate image: a payload or sw-description byte flipped, a payload
/// swapped under a stale hash, the signature removed (with or without the hashes), or
/// sw-description re-signed by a signer the device must refuse.
fn alter_swu(m: &Materials<'_>, image: &Swu, attack: Attack) -> Altered {
    let payload = image
        .payload_index()
        .ok_or("the image has no payload file")?;
    let swu = match attack {
        Attack::PayloadByteFlipped => image.with_payload(payload, |data| {
            let middle = data.len() / 2;
            flip(data, middle);
        }),
        Attack::ManifestByteFlipped => {
            let mut text = image.description_text().to_vec();
            let at = version_byte(&text);
            flip(&mut text, at);
            image.with_description(text)
        }
        Attack::PayloadSwappedStaleHash => image.with_payload(payload, |data| {
            let replacement =
                b"iotcert: payload swapped, sw-description and its signature left as they were\n";
            let length = data.len();
            *data = replacement.iter().copied().cycle().take(length).collect();
        }),
        Attack::SignatureRemoved => image.with_signature(None),
        Attack::ManifestSaysUnsigned => image
            .with_description(swu::without_hashes(image.description_text()))
            .with_signature(None),
        Attack::ForeignSigner | Attack::ExpiredSigner | Attack::WrongPurposeSigner => {
            let signer = attack_signer(m, attack)?;
            let signature =
                cms::sign_detached(&signer, image.description_text()).map_err(|e| e.to_string())?;
            let description = format!("sw-description re-signed (CMS) by {}", signer.description);
            return Ok((
                description,
                Artifact {
                    image: image.with_signature(Some(signature)).bytes(),
                    signature: None,
                },
            ));
        }
        _ => return Err("not an attack on SWUpdate images".into()),
    };
    let description = match attack {
        Attack::PayloadByteFlipped => format!("one byte flipped in {:?}; sw-description and its signature unchanged", image.archive.entries.get(payload).map(|e| e.name.as_str()).unwrap_or("")),
        Attack::ManifestByteFlipped => "one byte of the signed sw-description flipped; sw-description.sig unchanged".into(),
        Attack::PayloadSwappedStaleHash => "a payload file replaced by other bytes of the same size; the sha256 in sw-description left stale".into(),
        Attack::SignatureRemoved => "sw-description.sig removed".into(),
        _ => "sw-description.sig removed and every sha256 removed from sw-description".into(),
    };
    Ok((
        description,
        Artifact {
            image: swu.bytes(),
            signature: None,
        },
    ))
}

/// An attack on a RAUC bundle (plain format): a squashfs or signature byte flipped, the
/// signature removed or declared empty, or the squashfs re-signed by a signer the
/// device must refuse.
fn alter_rauc(m: &Materials<'_>, bundle: &Rauc, attack: Attack) -> Altered {
    let (description, bytes) =
        match attack {
            Attack::PayloadByteFlipped => {
                let mut copy = bundle.clone();
                let middle = copy.squashfs.len() / 2;
                flip(&mut copy.squashfs, middle);
                (
                    format!("byte {middle} of the squashfs flipped; signature unchanged"),
                    copy.bytes(),
                )
            }
            Attack::ManifestByteFlipped => {
                let mut copy = bundle.clone();
                let at = copy.signature.len().saturating_sub(8);
                flip(&mut copy.signature, at);
                (
                    "one byte of the signature's signed value flipped".into(),
                    copy.bytes(),
                )
            }
            Attack::SignatureRemoved => (
                "the bare squashfs, without signature and size trailer".into(),
                Rauc {
                    squashfs: bundle.squashfs.clone(),
                    signature: Vec::new(),
                }
                .bytes(),
            ),
            Attack::ManifestSaysUnsigned => {
                let mut bytes = bundle.squashfs.clone();
                bytes.extend_from_slice(&0u64.to_be_bytes());
                (
                    "the squashfs with a trailer declaring a signature of 0 bytes".into(),
                    bytes,
                )
            }
            Attack::ForeignSigner | Attack::ExpiredSigner | Attack::WrongPurposeSigner => {
                let signer = attack_signer(m, attack)?;
                let signature =
                    cms::sign_detached(&signer, &bundle.squashfs).map_err(|e| e.to_string())?;
                (
                    format!("the squashfs re-signed (CMS) by {}", signer.description),
                    Rauc {
                        squashfs: bundle.squashfs.clone(),
                        signature,
                    }
                    .bytes(),
                )
            }
            _ => return Err(
                "a RAUC bundle in plain format lists no payload hash outside its signed squashfs"
                    .into(),
            ),
        };
    Ok((
        description,
        Artifact {
            image: bytes,
            signature: None,
        },
    ))
}

/// The genuine image with its signature replaced by one from `signer`.
fn resign(genuine: &Genuine, signer: &Signer) -> Result<Artifact, String> {
    match genuine {
        Genuine::Plain(plain) => Ok(Artifact {
            image: plain.image.clone(),
            signature: Some(signer.sign(&plain.image).map_err(|e| e.to_string())?),
        }),
        Genuine::Swu(image) => {
            let signature =
                cms::sign_detached(signer, image.description_text()).map_err(|e| e.to_string())?;
            Ok(Artifact {
                image: image.with_signature(Some(signature)).bytes(),
                signature: None,
            })
        }
        Genuine::Rauc(bundle) => {
            let signature =
                cms::sign_detached(signer, &bundle.squashfs).map_err(|e| e.to_string())?;
            Ok(Artifact {
                image: Rauc {
                    squashfs: bundle.squashfs.clone(),
                    signature,
                }
                .bytes(),
                signature: None,
            })
        }
    }
}

/// Offset of the last character of the version value, or the middle of the text.
fn version_byte(text: &[u8]) -> usize {
    let needle = b"version";
    let found = text.windows(needle.len()).position(|w| w == needle);
    found
        .and_then(|start| {
            let quote = text.iter().skip(start).position(|&b| b == b'"')? + start + 1;
            let close = text.iter().skip(quote).position(|&b| b == b'"')? + quote;
            (close > quote).then(|| close - 1)
        })
        .unwrap_or(text.len() / 2)
}

fn rollback(m: &Materials<'_>) -> Made {
    if let Some((older, version)) = m.older {
        return Ok((
            format!("the manufacturer's genuine older image (version {version})"),
            older.artifact(),
            version.to_owned(),
        ));
    }
    let signer = m.test_signer.ok_or(
        "needs a genuine older image (update.older_image) or a key the device trusts (update.trusted_test_signer)",
    )?;
    match m.genuine {
        Genuine::Swu(image) => {
            let older = "0.0.1";
            let text = swu::with_version(image.description_text(), older).ok_or("sw-description declares no version to lower")?;
            let signature = cms::sign_detached(signer, &text).map_err(|e| e.to_string())?;
            let swu = image.with_description(text).with_signature(Some(signature));
            Ok((
                format!("sw-description's version lowered to {older} and re-signed with the trusted test key"),
                Artifact { image: swu.bytes(), signature: None },
                older.to_owned(),
            ))
        }
        _ => Err("the version of this format sits inside the signed payload: an older genuine image (update.older_image) is needed".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::cpio::{self, Archive, Entry, Magic};
    use crate::formats::swu::Swu;

    fn signed_swu(signer: &Signer) -> Genuine {
        let payload = vec![5u8; 1000];
        let description = format!(
            "software = {{ version = \"2.0.0\"; images: ( {{ filename = \"rootfs.img\"; sha256 = \"{}\"; }} ); }}",
            crate::sha256_hex(&payload)
        );
        let signature = cms::sign_detached(signer, description.as_bytes()).unwrap();
        let entry = |name: &str, data: Vec<u8>| Entry {
            name: name.into(),
            mode: 0o100644,
            mtime: 0,
            data,
        };
        let bytes = cpio::write(&Archive {
            magic: Magic::NewcCrc,
            entries: vec![
                entry("sw-description", description.into_bytes()),
                entry("sw-description.sig", signature),
                entry("rootfs.img", payload),
            ],
        });
        Genuine::Swu(Swu::read(&bytes).unwrap())
    }

    #[test]
    fn every_attack_but_the_genuine_fails_verification() {
        let manufacturer = keys::foreign_signer().unwrap();
        let genuine = signed_swu(&manufacturer);
        let trusted = vec![manufacturer.certificate.clone()];
        assert!(genuine.verify(&trusted).is_ok());
        let materials = Materials {
            genuine: &genuine,
            genuine_version: "2.0.0",
            older: None,
            test_signer: Some(&manufacturer),
            trusted_ca: None,
            untrusted: &[],
        };
        let (attempts, skipped) = plan(&materials);
        for attempt in &attempts {
            let verdict = Swu::read(&attempt.artifact.image).map(|image| image.verify(&trusted));
            match attempt.attack {
                // Re-signed with the trusted test key: verifies, but declares 0.0.1.
                Attack::Rollback | Attack::Genuine => {
                    assert!(
                        matches!(verdict, Ok(Ok(_))),
                        "{:?}: {verdict:?}",
                        attempt.attack
                    )
                }
                _ => assert!(
                    !matches!(verdict, Ok(Ok(_))),
                    "{:?} verifies",
                    attempt.attack
                ),
            }
        }
        let rollback = attempts
            .iter()
            .find(|a| a.attack == Attack::Rollback)
            .unwrap();
        assert_eq!(rollback.installs_version, "0.0.1");
        assert_eq!(attempts.last().map(|a| a.attack), Some(Attack::Genuine));
        let skipped: Vec<Attack> = skipped.iter().map(|s| s.attack).collect();
        assert_eq!(
            skipped,
            [
                Attack::ExpiredSigner,
                Attack::WrongPurposeSigner,
                Attack::DeclaredUntrustedKey
            ]
        );
    }
}
