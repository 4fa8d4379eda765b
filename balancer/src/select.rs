//! Choosing an instance: least loaded first, spread on ties.
//!
//! The balancer knows exactly how many requests it has in flight to each
//! instance, right now; the registry knows how busy each instance said it was
//! at its last heartbeat (up to a second ago, and counting every client, not
//! only us). So our own count decides, the reported load breaks ties, and
//! what is still tied is rotated by a counter the caller advances on every
//! pick. Without the rotation an idle cluster would send every sequential
//! request to the first instance in the list and never exercise the others.
//!
//! `order` returns every candidate, best first, so a caller whose first
//! choice cannot be reached moves on to the next without choosing again.

/// What selection needs to know about one instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// Requests this balancer has in flight to it.
    pub in_flight: usize,
    /// The load it last reported to the registry (0 in static mode).
    pub load: u64,
}

/// Indices of `cands`, best first. `rotate` is any counter that advances per
/// pick; among equals, the instance at `rotate % len` comes first, then the
/// ones after it.
pub fn order(cands: &[Candidate], rotate: usize) -> Vec<usize> {
    let n = cands.len();
    if n == 0 {
        return Vec::new();
    }
    let start = rotate % n;
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by_key(|&i| (cands[i].in_flight, cands[i].load, (i + n - start) % n));
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(in_flight: usize, load: u64) -> Candidate {
        Candidate { in_flight, load }
    }

    #[test]
    fn fewest_in_flight_wins() {
        assert_eq!(order(&[c(3, 0), c(1, 9), c(2, 0)], 0), vec![1, 2, 0]);
        assert_eq!(order(&[c(3, 0), c(1, 9), c(2, 0)], 2), vec![1, 2, 0]);
    }

    #[test]
    fn reported_load_breaks_ties() {
        assert_eq!(order(&[c(1, 5), c(1, 2), c(0, 7)], 0), vec![2, 1, 0]);
    }

    #[test]
    fn exact_ties_rotate() {
        let cands = [c(0, 0), c(0, 0), c(0, 0)];
        let firsts: Vec<usize> = (0..6).map(|r| order(&cands, r)[0]).collect();
        assert_eq!(firsts, vec![0, 1, 2, 0, 1, 2]);
        assert_eq!(order(&cands, 1), vec![1, 2, 0]);
        // Rotation never overrides a real difference.
        assert_eq!(order(&[c(0, 0), c(1, 0)], 1), vec![0, 1]);
    }

    #[test]
    fn empty_and_single() {
        assert!(order(&[], 5).is_empty());
        assert_eq!(order(&[c(9, 9)], 7), vec![0]);
    }
}
