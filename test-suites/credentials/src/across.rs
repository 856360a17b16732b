//! What comparing units needs, and no more (issue 16, item 4). Whether two units hold
//! one secret is a matter of comparing what each holds: a declared password, a session
//! cookie it issued, a login found on it, each compared by digest or as a set, without a
//! single login. What the comparison cannot see from outside (a device that takes any
//! password, or a secret it derives from one baked into the firmware) needs a live try,
//! and one is enough: each unit's secret is presented to one other unit, its neighbour in
//! a ring over the profile's units. So a campaign sends N cross-unit attempts, not N(N-1).

use iotcert_suite::SampleUnit;
use sha2::{Digest, Sha256};

/// SHA-256 over `parts`, each prefixed with its length, in hex: equal only when every
/// part is equal (`ab` + `c` never collides with `a` + `bc`).
pub(crate) fn secret_digest(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hex::encode(hasher.finalize())
}

/// The unit a secret of `from` is tried on: the next unit after it in profile order
/// (wrapping round) that is `eligible`, else the next unit at all; `None` with a single
/// unit or when `from` is not a unit of the profile.
pub(crate) fn neighbour<'a>(
    units: &'a [SampleUnit],
    from: &str,
    eligible: impl Fn(&SampleUnit) -> bool,
) -> Option<&'a SampleUnit> {
    let position = units.iter().position(|u| u.id == from)?;
    let after: Vec<&SampleUnit> = units
        .iter()
        .cycle()
        .skip(position + 1)
        .take(units.len().saturating_sub(1))
        .collect();
    after
        .iter()
        .find(|u| eligible(u))
        .or_else(|| after.first())
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(count: usize) -> Vec<SampleUnit> {
        (1..=count)
            .map(|index| SampleUnit {
                id: format!("unit-{index}"),
                address: std::net::IpAddr::from([127, 0, 0, 1]),
                hostname: None,
            })
            .collect()
    }

    fn id(unit: Option<&SampleUnit>) -> Option<&str> {
        unit.map(|u| u.id.as_str())
    }

    #[test]
    fn digests_tell_where_one_part_ends() {
        assert_ne!(secret_digest(&[b"ab", b"c"]), secret_digest(&[b"a", b"bc"]));
        assert_eq!(
            secret_digest(&[b"admin", b"x"]),
            secret_digest(&[b"admin", b"x"])
        );
        assert_eq!(secret_digest(&[]).len(), 64);
    }

    #[test]
    fn the_ring_takes_the_next_eligible_unit_and_wraps_round() {
        let units = units(4);
        assert_eq!(id(neighbour(&units, "unit-1", |_| true)), Some("unit-2"));
        assert_eq!(id(neighbour(&units, "unit-4", |_| true)), Some("unit-1"));
        let not_2 = |u: &SampleUnit| u.id != "unit-2";
        assert_eq!(id(neighbour(&units, "unit-1", not_2)), Some("unit-3"));
        // None eligible: the next unit all the same (an acceptance there still counts).
        assert_eq!(id(neighbour(&units, "unit-3", |_| false)), Some("unit-4"));
        // Never the unit itself.
        let only_1 = |u: &SampleUnit| u.id == "unit-1";
        assert_eq!(id(neighbour(&units, "unit-1", only_1)), Some("unit-2"));
        assert_eq!(id(neighbour(&units[..1], "unit-1", |_| true)), None);
        assert_eq!(id(neighbour(&units, "unit-9", |_| true)), None);
    }
}
