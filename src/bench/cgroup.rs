//! How long a CPU quota held this process back: the throttled time of its cgroup
//! and of the cgroups above it.
//!
//! A load generator in a container with a CPU limit (a Kubernetes runner's
//! `resources.limits.cpu`, `docker run --cpus`) is stopped whenever its cgroup
//! has used its quota for the period (100 ms by default), however many cores the
//! machine has idle. Neither its CPU time nor its run-queue wait shows that: the
//! kernel dequeues a throttled group. The cgroup's `cpu.stat` counts it:
//! `throttled_usec` on cgroup v2, `throttled_time` (ns) on v1's `cpu`
//! controller. A limit set on an ancestor (the pod, the container's slice)
//! throttles the whole subtree and is counted in the ancestor's file, so every
//! file from the process's cgroup up to the hierarchy's root is read, and the
//! largest increase over a phase is the time the process was held back.
//!
//! Files are found from `/proc/self/cgroup` and `/proc/self/mountinfo` (the
//! hierarchy's mount point and the part of it the mount shows, for a container
//! without its own cgroup namespace). Where any of that is missing — not Linux,
//! no cgroup filesystem mounted — there is nothing to read and nothing is said.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

/// The `cpu.stat` files of this process's cgroup and its ancestors, with the
/// unit their throttled time is counted in; empty where there are none.
#[derive(Debug, Clone, PartialEq)]
pub struct Throttle {
    files: Vec<(PathBuf, Unit)>,
}

/// Which counter a `cpu.stat` file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    /// cgroup v2: `throttled_usec`.
    V2Micros,
    /// cgroup v1 `cpu` controller: `throttled_time`, nanoseconds.
    V1Nanos,
}

/// The throttled time of each file at one moment (`None` where it could not be
/// read then).
#[derive(Debug, Clone, PartialEq)]
pub struct Reading(Vec<Option<Duration>>);

impl Throttle {
    /// This process's files, located once.
    pub fn of_this_process() -> &'static Throttle {
        static THIS: OnceLock<Throttle> = OnceLock::new();
        THIS.get_or_init(|| {
            let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
            Throttle::locate(&read("/proc/self/cgroup"), &read("/proc/self/mountinfo"))
        })
    }

    /// The files named by a `/proc/<pid>/cgroup` text and a `mountinfo` text:
    /// the v2 hierarchy's when it is mounted, else v1's `cpu` controller's.
    fn locate(cgroup: &str, mountinfo: &str) -> Throttle {
        let mounts = mounts(mountinfo);
        let mut files = Vec::new();
        for line in cgroup.lines() {
            // hierarchy-ID:controller-list:path
            let mut parts = line.splitn(3, ':');
            let (Some(id), Some(controllers), Some(path)) =
                (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let (unit, mount) = if id == "0" && controllers.is_empty() {
                (Unit::V2Micros, mounts.iter().find(|m| m.fs == "cgroup2"))
            } else if controllers.split(',').any(|c| c == "cpu") {
                (
                    Unit::V1Nanos,
                    mounts
                        .iter()
                        .find(|m| m.fs == "cgroup" && m.options.split(',').any(|o| o == "cpu")),
                )
            } else {
                continue;
            };
            let Some(mount) = mount else { continue };
            // The part of the path below what the mount shows.
            let Some(below) = Path::new(path).strip_prefix(&mount.root).ok() else {
                continue;
            };
            let mut dir = mount.point.join(below);
            loop {
                files.push((dir.join("cpu.stat"), unit));
                if dir == mount.point || !dir.pop() {
                    break;
                }
            }
        }
        // v2 first: where both are mounted (a hybrid host), v2's are the ones a
        // limit is set on when it has a cpu controller at all; both are read.
        files.sort_by_key(|(_, unit)| *unit != Unit::V2Micros);
        Throttle { files }
    }

    /// Whether there is anything to read.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The throttled time of every file now.
    pub fn read(&self) -> Reading {
        Reading(
            self.files
                .iter()
                .map(|(path, unit)| {
                    let text = std::fs::read_to_string(path).ok()?;
                    throttled(&text, *unit)
                })
                .collect(),
        )
    }

    /// The time this process was held back between `earlier` and `later`: the
    /// largest increase of any file read both times. `None` when no file was.
    pub fn held_back(earlier: &Reading, later: &Reading) -> Option<Duration> {
        earlier
            .0
            .iter()
            .zip(&later.0)
            .filter_map(|(a, b)| Some(b.as_ref()?.saturating_sub(*a.as_ref()?)))
            .max()
    }
}

/// The throttled time in a `cpu.stat` text.
fn throttled(stat: &str, unit: Unit) -> Option<Duration> {
    let key = match unit {
        Unit::V2Micros => "throttled_usec",
        Unit::V1Nanos => "throttled_time",
    };
    let value: u64 = stat
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.trim().parse().ok())?;
    Some(match unit {
        Unit::V2Micros => Duration::from_micros(value),
        Unit::V1Nanos => Duration::from_nanos(value),
    })
}

/// One cgroup filesystem mount.
#[derive(Debug)]
struct Mount {
    /// The part of the hierarchy the mount shows (`/` unless the process sees
    /// another namespace's hierarchy).
    root: PathBuf,
    /// Where it is mounted.
    point: PathBuf,
    /// `cgroup` or `cgroup2`.
    fs: String,
    /// Its super options (`rw,cpu` for v1's cpu controller).
    options: String,
}

/// The cgroup mounts of a `mountinfo` text.
fn mounts(mountinfo: &str) -> Vec<Mount> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let left: Vec<&str> = left.split(' ').collect();
            let mut right = right.split(' ');
            let fs = right.next()?;
            if fs != "cgroup" && fs != "cgroup2" {
                return None;
            }
            let _source = right.next()?;
            Some(Mount {
                root: PathBuf::from(unescape(left.get(3)?)),
                point: PathBuf::from(unescape(left.get(4)?)),
                fs: fs.to_string(),
                options: right.next().unwrap_or_default().to_string(),
            })
        })
        .collect()
}

/// `mountinfo` writes a space, tab, newline and backslash in a path as an
/// octal escape (`\040`).
fn unescape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut rest = field;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let code = rest.get(i + 1..i + 4);
        match code.and_then(|c| u8::from_str_radix(c, 8).ok()) {
            Some(b) => {
                out.push(char::from(b));
                rest = &rest[i + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    fn paths(t: &Throttle) -> Vec<(String, Unit)> {
        t.files
            .iter()
            .map(|(p, u)| (p.display().to_string(), *u))
            .collect()
    }

    #[test]
    fn a_v2_container_reads_its_own_cgroup_and_its_ancestors() {
        // A pure v2 host, the process in a pod's container cgroup.
        let mountinfo =
            "29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate\n";
        let cgroup = "0::/kubepods/burstable/pod1/abc\n";
        let t = Throttle::locate(cgroup, mountinfo);
        assert_eq!(
            paths(&t),
            [
                "/sys/fs/cgroup/kubepods/burstable/pod1/abc/cpu.stat",
                "/sys/fs/cgroup/kubepods/burstable/pod1/cpu.stat",
                "/sys/fs/cgroup/kubepods/burstable/cpu.stat",
                "/sys/fs/cgroup/kubepods/cpu.stat",
                "/sys/fs/cgroup/cpu.stat",
            ]
            .map(|p| (p.to_string(), Unit::V2Micros))
        );
        // In its own cgroup namespace a container sees itself as the root.
        let t = Throttle::locate("0::/\n", mountinfo);
        assert_eq!(
            paths(&t),
            [("/sys/fs/cgroup/cpu.stat".to_string(), Unit::V2Micros)]
        );
    }

    #[test]
    fn a_hybrid_host_reads_v2_and_v1s_cpu_controller() {
        let cgroup = "9:name=systemd:/\n4:memory:/x\n2:cpuacct:/\n1:cpu:/tg\n0::/\n";
        let t = Throttle::locate(cgroup, HYBRID);
        assert_eq!(
            paths(&t),
            [
                (
                    "/sys/fs/cgroup/unified/cpu.stat".to_string(),
                    Unit::V2Micros
                ),
                ("/sys/fs/cgroup/cpu/tg/cpu.stat".to_string(), Unit::V1Nanos),
                ("/sys/fs/cgroup/cpu/cpu.stat".to_string(), Unit::V1Nanos),
            ]
        );
    }

    #[test]
    fn a_mount_that_shows_part_of_the_hierarchy_is_joined_below_its_root() {
        // Docker on v1 without a cgroup namespace: the container's own cgroup is
        // mounted at /sys/fs/cgroup/cpu,cpuacct.
        let mountinfo = "700 690 0:29 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro - cgroup cgroup rw,cpu,cpuacct\n";
        let t = Throttle::locate("3:cpu,cpuacct:/docker/abc\n", mountinfo);
        assert_eq!(
            paths(&t),
            [(
                "/sys/fs/cgroup/cpu,cpuacct/cpu.stat".to_string(),
                Unit::V1Nanos
            )]
        );
        // A path outside what the mount shows is not guessed at.
        let t = Throttle::locate("3:cpu,cpuacct:/other\n", mountinfo);
        assert!(t.is_empty());
        // Nothing mounted, nothing read.
        assert!(Throttle::locate("0::/\n", "").is_empty());
    }

    #[test]
    fn throttled_time_is_read_in_its_unit() {
        let v2 = "usage_usec 100\nuser_usec 60\nsystem_usec 40\nnr_periods 10\nnr_throttled 3\nthrottled_usec 2500\n";
        assert_eq!(
            throttled(v2, Unit::V2Micros),
            Some(Duration::from_micros(2500))
        );
        let v1 =
            "nr_periods 10\nnr_throttled 3\nthrottled_time 2500000\nnr_bursts 0\nburst_time 0\n";
        assert_eq!(
            throttled(v1, Unit::V1Nanos),
            Some(Duration::from_micros(2500))
        );
        assert_eq!(throttled("nr_periods 0\n", Unit::V1Nanos), None);
    }

    #[test]
    fn the_largest_increase_of_any_file_is_the_time_held_back() {
        let earlier = Reading(vec![
            Some(Duration::from_millis(10)),
            None,
            Some(Duration::from_millis(5)),
        ]);
        let later = Reading(vec![
            Some(Duration::from_millis(30)),
            Some(Duration::from_millis(900)),
            Some(Duration::from_millis(85)),
        ]);
        assert_eq!(
            Throttle::held_back(&earlier, &later),
            Some(Duration::from_millis(80))
        );
        assert_eq!(
            Throttle::held_back(&Reading(vec![]), &Reading(vec![])),
            None
        );
    }

    #[test]
    fn mountinfo_escapes_are_undone() {
        assert_eq!(
            unescape(r"/sys/fs/cgroup/my\040dir"),
            "/sys/fs/cgroup/my dir"
        );
        assert_eq!(unescape(r"a\\b"), r"a\\b");
    }
}
