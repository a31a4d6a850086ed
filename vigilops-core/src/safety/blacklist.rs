//! The original's blacklist categories (`remediation-and-ai.md` §3.2), searched anywhere in the
//! lower-cased command with runs of whitespace collapsed, so `rm  -rf   /` cannot dodge
//! `rm -rf /`. Most of these forms are refused by the allow-list anyway; the blacklist stays
//! as a second, independent net and gives the clearest reason.

/// One blacklisted pattern and the category named in the refusal.
struct Pattern {
    category: &'static str,
    matches: fn(&str) -> bool,
}

const PATTERNS: &[Pattern] = &[
    Pattern {
        category: "destructive delete of the root or home directory",
        matches: |c| {
            [
                "rm -rf /",
                "rm -fr /",
                "rm -r -f /",
                "rm -f -r /",
                "rm -rf ~",
                "rm -fr ~",
            ]
            .iter()
            .any(|p| {
                c.match_indices(p).any(|(at, _)| {
                    // `rm -rf /` exactly the root (or `/*`), not `rm -rf /tmp/x`.
                    let rest = &c[at + p.len()..];
                    rest.is_empty() || rest.starts_with(' ') || rest.starts_with('*')
                })
            })
        },
    },
    Pattern {
        category: "filesystem creation (mkfs)",
        matches: |c| c.contains("mkfs"),
    },
    Pattern {
        category: "raw write to a disk device",
        matches: |c| {
            let device = [
                "/dev/sd",
                "/dev/hd",
                "/dev/nvme",
                "/dev/vd",
                "/dev/xvd",
                "/dev/mmcblk",
            ];
            (c.split(' ').next() == Some("dd") || c.contains(" dd ") || c.starts_with("dd "))
                && device.iter().any(|d| c.contains(&format!("of={d}")))
                || device
                    .iter()
                    .any(|d| c.contains(&format!(">{d}")) || c.contains(&format!("> {d}")))
        },
    },
    Pattern {
        category: "permission or ownership change of the root",
        matches: |c| {
            (c.contains("chmod") && (c.contains("777 /") || c.ends_with("777 /")))
                || (c.contains("chown") && c.contains("root /"))
        },
    },
    Pattern {
        category: "account change",
        matches: |c| {
            [
                "passwd ", "useradd ", "userdel ", "usermod ", "visudo", "chpasswd",
            ]
            .iter()
            .any(|p| c.contains(p))
                || c.ends_with("passwd") && c.starts_with("passwd")
        },
    },
    Pattern {
        category: "download and execute",
        matches: |c| {
            (c.contains("curl") || c.contains("wget"))
                && ["| sh", "|sh", "| bash", "|bash"]
                    .iter()
                    .any(|p| c.contains(p))
        },
    },
    Pattern {
        category: "system state change (shutdown, reboot, runlevel, firewall flush)",
        matches: |c| {
            c.contains("shutdown")
                || c.contains("reboot")
                || c.contains("poweroff")
                || c.contains("halt ")
                || c.contains("init 0")
                || c.contains("init 6")
                || c.contains("systemctl disable")
                || c.contains("systemctl mask")
                || c.contains("iptables -f")
                || c.contains("iptables -x")
                || c.contains("iptables --flush")
        },
    },
    Pattern {
        category: "SQL destruction",
        matches: |c| {
            c.contains("drop database") || c.contains("drop table") || c.contains("truncate table")
        },
    },
    Pattern {
        category: "crypto miner",
        matches: |c| c.contains("xmrig") || c.contains("minerd") || c.contains("cryptonight"),
    },
];

/// One reason per blacklist category the command hits.
pub(super) fn hits(command: &str) -> Vec<String> {
    let normalized = command
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    PATTERNS
        .iter()
        .filter(|pattern| (pattern.matches)(&normalized))
        .map(|pattern| format!("blacklisted: {}", pattern.category))
        .collect()
}
