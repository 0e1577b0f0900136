//! CPU time of a local server: the process and every descendant, from `/proc`.
//!
//! `/proc/<pid>/stat` fields 14-17 are `utime`, `stime`, `cutime` and `cstime` in
//! clock ticks (proc(5)). A start command is often a shell (`sh -c "npm start"`)
//! whose real server is a grandchild that runs until the end, so `cutime`/`cstime`
//! (time of children that were *waited for*) alone would miss it. A snapshot therefore
//! walks the whole process tree below the pid and sums each process's own and waited
//! children's time. Take one snapshot before and one after a round; the difference is
//! the round's CPU time. A descendant that exits and is never reaped between two
//! snapshots is lost (a small undercount, never an overcount).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use crate::cost::CostError;

/// The fields of one `/proc/<pid>/stat` line that matter here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    /// Process id.
    pub pid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// User time + system time + waited-for children's user and system time, in ticks.
    pub ticks: u64,
}

/// Parse one `/proc/<pid>/stat` line. The command name (field 2) is in parentheses
/// and may itself hold spaces and parentheses, so fields are counted after the *last* `)`.
pub fn parse_stat(line: &str) -> Option<ProcStat> {
    let open = line.find('(')?;
    let close = line.rfind(')')?;
    if close < open {
        return None;
    }
    let pid = line[..open].trim().parse().ok()?;
    // After ")": field 3 (state) is index 0, so field N is index N - 3.
    let rest: Vec<&str> = line[close + 1..].split_whitespace().collect();
    let field = |n: usize| rest.get(n - 3).and_then(|f| f.parse::<u64>().ok());
    let ppid = u32::try_from(field(4)?).ok()?;
    let mut ticks = 0u64;
    for n in [14, 15] {
        ticks = ticks.checked_add(field(n)?)?;
    }
    // cutime and cstime are signed in the kernel's format; negative never happens in practice.
    for n in [16, 17] {
        let v: i64 = rest.get(n - 3)?.parse().ok()?;
        ticks = ticks.checked_add(u64::try_from(v.max(0)).ok()?)?;
    }
    Some(ProcStat { pid, ppid, ticks })
}

/// The CPU time of `root` and all its descendants, summed, from `stats` (all processes).
pub fn tree_ticks(root: u32, stats: &[ProcStat]) -> Option<u64> {
    let mut children: BTreeMap<u32, Vec<&ProcStat>> = BTreeMap::new();
    let mut by_pid = BTreeMap::new();
    for s in stats {
        children.entry(s.ppid).or_default().push(s);
        by_pid.insert(s.pid, s);
    }
    let root_stat = by_pid.get(&root)?;
    let mut seen = BTreeSet::from([root]);
    let mut stack = vec![*root_stat];
    let mut total = 0u64;
    while let Some(s) = stack.pop() {
        total = total.saturating_add(s.ticks);
        for child in children.get(&s.pid).into_iter().flatten() {
            if seen.insert(child.pid) {
                stack.push(child);
            }
        }
    }
    Some(total)
}

/// A reading of one process tree's CPU time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuReading {
    /// The root process.
    pub pid: u32,
    /// Ticks summed over the tree.
    pub ticks: u64,
    /// Ticks per second (`sysconf(_SC_CLK_TCK)`).
    pub ticks_per_second: u64,
}

impl CpuReading {
    /// The CPU time spent between `earlier` and `self` (zero if the tree shrank).
    pub fn since(&self, earlier: &CpuReading) -> Duration {
        let ticks = self.ticks.saturating_sub(earlier.ticks);
        let tps = self.ticks_per_second.max(1);
        Duration::from_secs(ticks / tps) + Duration::from_nanos((ticks % tps) * 1_000_000_000 / tps)
    }
}

fn ticks_per_second() -> u64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK) {
        Ok(Some(n)) if n > 0 => u64::try_from(n).unwrap_or(100),
        // USER_HZ is 100 on every Linux architecture tailgate runs on.
        _ => 100,
    }
}

/// Read the CPU time of `pid` and its descendants now, from `proc_root` (`/proc`).
pub fn read_tree(proc_root: &Path, pid: u32) -> Result<CpuReading, CostError> {
    let entries = std::fs::read_dir(proc_root).map_err(|source| CostError::Proc {
        pid,
        message: format!("cannot list {}: {source}", proc_root.display()),
    })?;
    let mut stats = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        // Processes come and go while we read: a vanished one is simply skipped.
        if let Ok(line) = std::fs::read_to_string(entry.path().join("stat")) {
            if let Some(stat) = parse_stat(&line) {
                stats.push(stat);
            }
        }
    }
    let ticks = tree_ticks(pid, &stats).ok_or_else(|| CostError::Proc {
        pid,
        message: "the process is not running (it may have exited)".into(),
    })?;
    Ok(CpuReading {
        pid,
        ticks,
        ticks_per_second: ticks_per_second(),
    })
}

/// [`read_tree`] on `/proc`.
pub fn read_process(pid: u32) -> Result<CpuReading, CostError> {
    read_tree(Path::new("/proc"), pid)
}

/// The CPU time `pid` and its descendants have used so far (`None` when it is
/// not running): the bench stage reads it around each measured phase of a local
/// target, and the difference of two readings is [`CpuReading::since`].
pub fn process_time(pid: u32) -> Option<Duration> {
    let reading = read_process(pid).ok()?;
    Some(reading.since(&CpuReading {
        ticks: 0,
        ..reading
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 1234 0 0 0 150 30 7 3 20 0 4 0 123456 1000000 250 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";

    #[test]
    fn parses_a_stat_line_with_parentheses_in_the_name() {
        let s = parse_stat(LINE).unwrap();
        assert_eq!(s.pid, 4242);
        assert_eq!(s.ppid, 1);
        assert_eq!(s.ticks, 150 + 30 + 7 + 3);
    }

    #[test]
    fn rejects_truncated_lines() {
        assert!(parse_stat("12 (x) S 1 2 3").is_none());
        assert!(parse_stat("").is_none());
        assert!(parse_stat("x) (").is_none());
    }

    #[test]
    fn sums_the_whole_tree_once() {
        let s = |pid, ppid, ticks| ProcStat { pid, ppid, ticks };
        let stats = [s(10, 1, 5), s(11, 10, 7), s(12, 11, 100), s(13, 1, 1000)];
        assert_eq!(tree_ticks(10, &stats), Some(112));
        assert_eq!(tree_ticks(99, &stats), None);
    }

    #[test]
    fn reads_this_process_and_converts_ticks() {
        let me = read_process(std::process::id()).unwrap();
        let later = CpuReading {
            ticks: me.ticks + me.ticks_per_second / 2,
            ..me
        };
        assert_eq!(later.since(&me), Duration::from_millis(500));
        assert_eq!(me.since(&later), Duration::ZERO);
    }
}
