//! The open-file limit, raised where allowed, and the connect window sized from it.
//!
//! Every connect in flight holds a file descriptor. Scanners that ignore the limit fail
//! with "too many open files" and, worse, report the ports they could not try as
//! closed. The suite raises the soft limit to the hard limit once, keeps a reserve for
//! the rest of the process (the store, other suites, the terminal), and never lets a
//! low limit turn into a panic: a window of one connection is slow, but correct.

/// What the process may open, and what it already has open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileBudget {
    /// The soft limit after raising it (what applies now).
    pub limit: u64,
    /// Descriptors open when the budget was taken.
    pub in_use: u64,
}

/// Descriptors kept free for the rest of the process: an eighth of the limit, at least
/// 32 and at most 1024.
fn reserve(limit: u64) -> u64 {
    (limit / 8).clamp(32, 1024)
}

impl FileBudget {
    /// Descriptors the suite may hold at once, split between `shares` units scanned
    /// side by side; at least one.
    pub fn connections_per_share(&self, shares: usize) -> usize {
        let free = self
            .limit
            .saturating_sub(self.in_use)
            .saturating_sub(reserve(self.limit));
        let per_share = free / (shares.max(1) as u64);
        usize::try_from(per_share).unwrap_or(usize::MAX).max(1)
    }
}

/// Raise the soft open-file limit to the hard limit where the system allows, then
/// measure the budget.
#[cfg(unix)]
pub fn raise_open_file_limit() -> FileBudget {
    let mut limits = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own; no other memory is touched.
    let read = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limits) };
    if read != 0 {
        return FileBudget {
            limit: 256,
            in_use: open_descriptors(),
        };
    }
    // RLIM_INFINITY cannot be set as a soft limit on Linux (fs.nr_open caps it).
    let wanted = limits.rlim_max.min(1 << 20);
    if limits.rlim_cur < wanted {
        let raised = libc::rlimit {
            rlim_cur: wanted,
            rlim_max: limits.rlim_max,
        };
        // SAFETY: setrlimit reads the struct we own; failure leaves the limit as it was.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limits.rlim_cur = wanted;
        }
    }
    FileBudget {
        limit: limits.rlim_cur,
        in_use: open_descriptors(),
    }
}

#[cfg(not(unix))]
pub fn raise_open_file_limit() -> FileBudget {
    FileBudget {
        limit: 512,
        in_use: 64,
    }
}

/// Descriptors open now, from `/proc/self/fd` where it exists; a guess otherwise.
fn open_descriptors() -> u64 {
    std::fs::read_dir("/proc/self/fd")
        .map(|entries| entries.count() as u64)
        .unwrap_or(64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_never_below_one() {
        let tight = FileBudget {
            limit: 40,
            in_use: 39,
        };
        assert_eq!(tight.connections_per_share(3), 1);
        let roomy = FileBudget {
            limit: 20_000,
            in_use: 100,
        };
        assert_eq!(roomy.connections_per_share(1), 20_000 - 100 - 1024);
        assert_eq!(roomy.connections_per_share(2), (20_000 - 100 - 1024) / 2);
    }

    #[test]
    fn raising_is_safe_to_repeat() {
        let first = raise_open_file_limit();
        let second = raise_open_file_limit();
        assert_eq!(first.limit, second.limit);
        assert!(second.connections_per_share(1) >= 1);
    }
}
