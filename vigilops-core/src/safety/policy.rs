//! The allow-list: each program is allowed only in the forms listed here, with known options,
//! validated values and paths confined to allowed roots. A form lists what is allowed; nothing
//! else is (an unknown option, an extra argument or a path outside its roots refuses the command).
//!
//! The read-only forms are the diagnostic commands of the original 0.2.x agent
//! (`agent-protocol.md` §8). The changing forms are exactly what the six built-in runbooks need
//! (`remediation-and-ai.md` §2), each narrowed: `find … -delete` only under `/tmp` and
//! `/var/log` and only for old regular files, package managers only with `clean`, `kill` only
//! with `SIGCHLD`/`SIGTERM` and never PID 1, `sysctl -w` only for two keys.

use super::{Purpose, Refusal, Tier};

/// What a value (an option's argument or a positional) must look like.
#[derive(Debug, Clone, Copy)]
pub enum Value {
    /// A decimal count from `min` to `max`.
    Count { min: u64, max: u64 },
    /// A find(1) age or size comparison: `+N` with an optional unit suffix from `units`.
    Greater { units: &'static str, min: u64 },
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// A systemd unit name.
    Unit,
    /// A systemd unit name that is not critical to reaching the host (ssh, dbus, systemd itself,
    /// the agent): a runbook must not cut the host off.
    RestartableUnit,
    /// A Docker container name or id.
    Container,
    /// A file under `/var/log`.
    LogFile,
    /// A file under `/var/log` or one of the kernel's read-only information files in `/proc`.
    ReadableFile,
    /// Any absolute path (read-only listings and usage of any directory).
    AnyPath,
    /// `/tmp` or `/var/log`, or a directory below them: the only roots a deletion may start from.
    CleanupRoot,
    /// A logrotate configuration: `/etc/logrotate.conf` or a file in `/etc/logrotate.d`.
    LogrotateConfig,
    /// A find(1) `-name` pattern: a file name that may contain `*` and `?`, never a path.
    NamePattern,
    /// A search pattern (grep): printable text, at most 256 bytes.
    SearchPattern,
    /// A host name or an IP address.
    Host,
    /// An http(s) URL of the host itself (localhost, 127.0.0.1, [::1]): health endpoints only.
    LocalUrl,
    /// A process id greater than 1.
    Pid,
    /// ps(1) output columns (`pid,ppid,stat,comm`).
    PsColumns,
    /// ps(1) sort keys (`-%mem`).
    PsSort,
    /// A journalctl time specification (`1 hour ago`, `2026-11-27 10:00`, `today`).
    TimeSpec,
    /// A number of days as `Nd`, from 1 to 365.
    Days,
    /// A network interface name.
    Interface,
    /// An lsof `-i` selector (`:5432`, `tcp`, `@10.0.0.1:80`).
    InternetSelector,
    /// A sysctl key (read only).
    SysctlKey,
    /// This exact text.
    Exact(&'static str),
}

/// The arguments a program may take in one form.
#[derive(Debug, Clone, Copy)]
pub struct Form {
    /// `argv[0]`.
    pub program: &'static str,
    /// Read-only or changing.
    pub tier: Tier,
    /// When set, `argv[1]` must be one of these (systemctl, docker, nginx, package managers).
    pub subcommands: &'static [&'static str],
    /// Option tokens taken as they are (`-h`, `aux`, `--no-pager`).
    pub flags: &'static [&'static str],
    /// When set, any token `-` followed by these letters is a flag (`ss -tanp`).
    pub flag_letters: &'static str,
    /// Options that take a value: `-n 10`, `-n10`, `--lines=10` and `--lines 10` all work.
    pub options: &'static [(&'static str, Value)],
    /// When set, what the first positional must look like (grep's pattern, ip's `show`).
    pub first_positional: Option<Value>,
    /// What every (other) positional argument must look like.
    pub positional: Value,
    /// How many positionals are required and allowed.
    pub positionals: (usize, usize),
    /// Each entry is a `|`-separated list of flags or options one of which must be present.
    pub required: &'static [&'static str],
}

const NONE: Value = Value::Exact("");

const BASE: Form = Form {
    program: "",
    tier: Tier::ReadOnly,
    subcommands: &[],
    flags: &[],
    flag_letters: "",
    options: &[],
    first_positional: None,
    positional: NONE,
    positionals: (0, 0),
    required: &[],
};

const PROC_FILES: &[&str] = &[
    "/proc/loadavg",
    "/proc/meminfo",
    "/proc/cpuinfo",
    "/proc/stat",
    "/proc/uptime",
    "/proc/version",
    "/proc/mounts",
    "/proc/diskstats",
    "/proc/vmstat",
    "/proc/swaps",
    "/proc/partitions",
    "/proc/filesystems",
    "/proc/net/dev",
    "/proc/net/sockstat",
    "/proc/net/snmp",
    "/proc/sys/fs/file-nr",
    "/proc/pressure/cpu",
    "/proc/pressure/memory",
    "/proc/pressure/io",
];

const CRITICAL_UNIT_PREFIXES: &[&str] = &[
    "systemd",
    "dbus",
    "ssh",
    "sshd",
    "vigilops-agent",
    "nightmend-agent",
    "getty",
    "networkmanager",
    "networking",
    "network",
    "user@",
    "init",
];

const HEAD_TAIL: Form = Form {
    flags: &["-q", "-v"],
    options: &[
        (
            "-n",
            Value::Count {
                min: 0,
                max: 10_000,
            },
        ),
        (
            "--lines",
            Value::Count {
                min: 0,
                max: 10_000,
            },
        ),
    ],
    positional: Value::ReadableFile,
    positionals: (1, 8),
    ..BASE
};

const DIAGNOSTIC_FIND_OPTIONS: &[(&str, Value)] = &[
    ("-maxdepth", Value::Count { min: 0, max: 10 }),
    ("-mindepth", Value::Count { min: 0, max: 10 }),
    ("-type", Value::OneOf(&["f", "d", "l"])),
    ("-name", Value::NamePattern),
    ("-iname", Value::NamePattern),
    (
        "-size",
        Value::Greater {
            units: "ckMG",
            min: 0,
        },
    ),
    ("-mtime", Value::Greater { units: "", min: 0 }),
    ("-mmin", Value::Greater { units: "", min: 0 }),
];

/// Every allowed form. A command passes when any form of its program, permitted for the
/// caller's purpose, accepts all its arguments.
pub const FORMS: &[Form] = &[
    // ---- Read-only: system state.
    Form {
        program: "df",
        flags: &[
            "-h", "-H", "-T", "-i", "-l", "-P", "-k", "-m", "-hT", "-Th", "-ih", "--total",
        ],
        positional: Value::AnyPath,
        positionals: (0, 8),
        ..BASE
    },
    Form {
        program: "free",
        flags: &[
            "-h", "-m", "-g", "-k", "-b", "-t", "-w", "--si", "-mt", "-ht",
        ],
        ..BASE
    },
    Form {
        program: "top",
        flags: &["-b", "-bn1", "-bn", "-c", "-bcn1"],
        options: &[("-n", Value::Count { min: 1, max: 3 })],
        required: &["-b|-bn1|-bcn1|-bn"],
        ..BASE
    },
    Form {
        program: "ps",
        flags: &[
            "aux", "auxf", "auxww", "-ef", "-e", "-f", "-A", "-ww", "-eF", "-ely", "axo",
        ],
        options: &[
            ("-o", Value::PsColumns),
            ("-eo", Value::PsColumns),
            ("--sort", Value::PsSort),
            ("-p", Value::Pid),
        ],
        ..BASE
    },
    Form {
        program: "uptime",
        flags: &["-p", "-s"],
        ..BASE
    },
    Form {
        program: "uname",
        flags: &["-a", "-r", "-m", "-n", "-s", "-v", "-o", "-sr"],
        ..BASE
    },
    Form {
        program: "vmstat",
        flags: &["-s", "-d", "-w", "-a", "-t"],
        options: &[("-S", Value::OneOf(&["k", "K", "m", "M"]))],
        positional: Value::Count { min: 1, max: 60 },
        positionals: (0, 2),
        ..BASE
    },
    Form {
        program: "iostat",
        flags: &["-x", "-d", "-c", "-k", "-m", "-h", "-t", "-z", "-xz", "-dx"],
        positional: Value::Count { min: 1, max: 60 },
        positionals: (0, 2),
        ..BASE
    },
    Form {
        program: "sysctl",
        flags: &["-n"],
        positional: Value::SysctlKey,
        positionals: (1, 8),
        ..BASE
    },
    // ---- Read-only: files, confined to /var/log and the /proc information files.
    Form {
        program: "cat",
        positional: Value::ReadableFile,
        positionals: (1, 8),
        ..BASE
    },
    Form {
        program: "head",
        ..HEAD_TAIL
    },
    Form {
        program: "tail",
        ..HEAD_TAIL
    },
    Form {
        program: "grep",
        flags: &[
            "-i", "-c", "-n", "-v", "-w", "-E", "-F", "-H", "-h", "-l", "-in", "-ic", "-iv",
        ],
        options: &[
            (
                "-m",
                Value::Count {
                    min: 1,
                    max: 10_000,
                },
            ),
            (
                "--max-count",
                Value::Count {
                    min: 1,
                    max: 10_000,
                },
            ),
        ],
        // The pattern comes first, then the files, which must be logs.
        first_positional: Some(Value::SearchPattern),
        positional: Value::LogFile,
        positionals: (2, 9),
        ..BASE
    },
    Form {
        program: "ls",
        flags: &[
            "-l", "-a", "-h", "-la", "-al", "-lh", "-hl", "-lah", "-alh", "-lha", "-ltr", "-lt",
            "-latr", "-1", "-d", "-ld", "-S", "-lS", "-lhS",
        ],
        positional: Value::AnyPath,
        positionals: (0, 8),
        ..BASE
    },
    Form {
        program: "du",
        flags: &[
            "-s", "-h", "-sh", "-hs", "-x", "-c", "-shx", "-k", "-m", "-a",
        ],
        options: &[
            ("-d", Value::Count { min: 0, max: 5 }),
            ("--max-depth", Value::Count { min: 0, max: 5 }),
        ],
        positional: Value::AnyPath,
        positionals: (0, 8),
        ..BASE
    },
    Form {
        program: "find",
        flags: &["-xdev", "-print", "-ls", "-empty"],
        options: DIAGNOSTIC_FIND_OPTIONS,
        positional: Value::AnyPath,
        positionals: (1, 1),
        ..BASE
    },
    // ---- Read-only: services and logs.
    Form {
        program: "systemctl",
        subcommands: &["status", "is-active", "is-enabled", "is-failed", "show"],
        flags: &["--no-pager", "-l", "--full", "--lines=0"],
        options: &[("-n", Value::Count { min: 0, max: 1000 })],
        positional: Value::Unit,
        positionals: (0, 8),
        ..BASE
    },
    Form {
        program: "systemctl",
        subcommands: &["list-units", "list-timers", "--failed"],
        flags: &[
            "--no-pager",
            "--failed",
            "--all",
            "--type=service",
            "--state=failed",
            "--plain",
        ],
        ..BASE
    },
    Form {
        program: "journalctl",
        flags: &[
            "--no-pager",
            "-x",
            "-k",
            "-b",
            "-q",
            "-r",
            "--utc",
            "--no-hostname",
        ],
        options: &[
            (
                "-n",
                Value::Count {
                    min: 1,
                    max: 10_000,
                },
            ),
            (
                "--lines",
                Value::Count {
                    min: 1,
                    max: 10_000,
                },
            ),
            ("-u", Value::Unit),
            ("--unit", Value::Unit),
            (
                "-p",
                Value::OneOf(&[
                    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug", "0",
                    "1", "2", "3", "4", "5", "6", "7",
                ]),
            ),
            ("--since", Value::TimeSpec),
            ("--until", Value::TimeSpec),
            (
                "--output",
                Value::OneOf(&["short", "short-iso", "cat", "json"]),
            ),
        ],
        // "With limits": a line count is required, and following (`-f`) is never allowed.
        required: &["-n|--lines"],
        ..BASE
    },
    Form {
        program: "journalctl",
        flags: &["--disk-usage"],
        required: &["--disk-usage"],
        ..BASE
    },
    Form {
        program: "docker",
        subcommands: &["ps"],
        flags: &["-a", "--no-trunc", "-q"],
        ..BASE
    },
    Form {
        program: "docker",
        subcommands: &["stats"],
        flags: &["--no-stream", "--no-trunc"],
        positional: Value::Container,
        positionals: (0, 8),
        required: &["--no-stream"],
        ..BASE
    },
    Form {
        program: "docker",
        subcommands: &["logs"],
        flags: &["-t", "--timestamps"],
        options: &[
            (
                "--tail",
                Value::Count {
                    min: 1,
                    max: 10_000,
                },
            ),
            (
                "-n",
                Value::Count {
                    min: 1,
                    max: 10_000,
                },
            ),
            ("--since", Value::TimeSpec),
        ],
        positional: Value::Container,
        positionals: (1, 1),
        required: &["--tail|-n"],
        ..BASE
    },
    Form {
        program: "docker",
        subcommands: &["inspect"],
        positional: Value::Container,
        positionals: (1, 8),
        ..BASE
    },
    Form {
        program: "nginx",
        subcommands: &["-t"],
        ..BASE
    },
    // ---- Read-only: network.
    Form {
        program: "ss",
        flag_letters: "tuanplsxeim46oH",
        positional: Value::OneOf(&[
            "state",
            "time-wait",
            "close-wait",
            "established",
            "listening",
            "syn-sent",
            "syn-recv",
            "fin-wait-1",
            "fin-wait-2",
            "closing",
            "all",
            "connected",
        ]),
        positionals: (0, 2),
        ..BASE
    },
    Form {
        program: "netstat",
        flag_letters: "tuanplsei46r",
        ..BASE
    },
    Form {
        program: "ip",
        flags: &["-s", "-4", "-6", "-br", "-brief", "-d", "-details"],
        positional: Value::OneOf(&[
            "addr", "address", "a", "link", "l", "route", "r", "neigh", "n", "show", "list",
        ]),
        positionals: (1, 2),
        ..BASE
    },
    Form {
        program: "ip",
        flags: &["-s", "-4", "-6", "-br", "-d"],
        subcommands: &["addr", "address", "a", "link", "l"],
        first_positional: Some(Value::OneOf(&["show", "list"])),
        positional: Value::Interface,
        positionals: (2, 2),
        ..BASE
    },
    Form {
        program: "ping",
        flags: &["-n", "-q", "-4", "-6"],
        options: &[
            ("-c", Value::Count { min: 1, max: 10 }),
            ("-W", Value::Count { min: 1, max: 10 }),
            ("-w", Value::Count { min: 1, max: 30 }),
            ("-i", Value::Count { min: 1, max: 5 }),
        ],
        positional: Value::Host,
        positionals: (1, 1),
        required: &["-c"],
        ..BASE
    },
    Form {
        program: "dig",
        flags: &["+short", "+noall", "+answer", "-4", "-6"],
        positional: Value::Host,
        positionals: (1, 2),
        ..BASE
    },
    Form {
        program: "lsof",
        flags: &["-n", "-P", "-nP", "-Pn", "+L1"],
        options: &[("-i", Value::InternetSelector), ("-p", Value::Pid)],
        required: &["-i|-p|+L1"],
        ..BASE
    },
    Form {
        program: "curl",
        flags: &[
            "-s", "-S", "-sS", "-I", "-i", "-f", "-fsS", "-sf", "--head", "--fail",
        ],
        options: &[
            ("-m", Value::Count { min: 1, max: 60 }),
            ("--max-time", Value::Count { min: 1, max: 60 }),
        ],
        positional: Value::LocalUrl,
        positionals: (1, 1),
        ..BASE
    },
    // ---- Changing: the built-in runbooks' steps, each narrowed.
    Form {
        program: "systemctl",
        tier: Tier::Changing,
        subcommands: &["restart", "start", "reload", "try-restart"],
        flags: &["--no-block"],
        positional: Value::RestartableUnit,
        positionals: (1, 1),
        ..BASE
    },
    Form {
        program: "journalctl",
        tier: Tier::Changing,
        options: &[("--vacuum-time", Value::Days)],
        required: &["--vacuum-time"],
        ..BASE
    },
    Form {
        program: "find",
        tier: Tier::Changing,
        flags: &["-xdev", "-delete", "-print"],
        options: &[
            ("-type", Value::Exact("f")),
            ("-name", Value::NamePattern),
            ("-mtime", Value::Greater { units: "", min: 1 }),
            ("-maxdepth", Value::Count { min: 1, max: 10 }),
        ],
        positional: Value::CleanupRoot,
        positionals: (1, 1),
        // A deletion only ever removes old regular files.
        required: &["-delete", "-type", "-mtime"],
        ..BASE
    },
    Form {
        program: "apt-get",
        tier: Tier::Changing,
        subcommands: &["clean", "autoclean"],
        flags: &["-q", "-y"],
        ..BASE
    },
    Form {
        program: "dnf",
        tier: Tier::Changing,
        subcommands: &["clean"],
        flags: &["-q", "-y"],
        positional: Value::OneOf(&["packages", "all", "metadata", "dbcache"]),
        positionals: (1, 1),
        ..BASE
    },
    Form {
        program: "yum",
        tier: Tier::Changing,
        subcommands: &["clean"],
        flags: &["-q", "-y"],
        positional: Value::OneOf(&["packages", "all", "metadata", "dbcache"]),
        positionals: (1, 1),
        ..BASE
    },
    Form {
        program: "sync",
        tier: Tier::Changing,
        ..BASE
    },
    Form {
        program: "sysctl",
        tier: Tier::Changing,
        options: &[(
            "-w",
            Value::OneOf(&[
                "vm.drop_caches=1",
                "vm.drop_caches=2",
                "vm.drop_caches=3",
                "net.ipv4.tcp_tw_reuse=1",
            ]),
        )],
        required: &["-w"],
        ..BASE
    },
    Form {
        program: "logrotate",
        tier: Tier::Changing,
        flags: &["-f", "-v", "--force"],
        positional: Value::LogrotateConfig,
        positionals: (1, 1),
        ..BASE
    },
    Form {
        program: "kill",
        tier: Tier::Changing,
        flags: &["-CHLD", "-SIGCHLD", "-TERM", "-SIGTERM", "-17", "-15"],
        options: &[("-s", Value::OneOf(&["CHLD", "SIGCHLD", "TERM", "SIGTERM"]))],
        positional: Value::Pid,
        positionals: (1, 20),
        // A signal must be named: kill's default is TERM, and an explicit name keeps intent visible.
        required: &["-CHLD|-SIGCHLD|-TERM|-SIGTERM|-17|-15|-s"],
        ..BASE
    },
    Form {
        program: "docker",
        tier: Tier::Changing,
        subcommands: &["restart", "start"],
        positional: Value::Container,
        positionals: (1, 1),
        ..BASE
    },
    Form {
        program: "nginx",
        tier: Tier::Changing,
        subcommands: &["-s"],
        positional: Value::Exact("reload"),
        positionals: (1, 1),
        ..BASE
    },
];

/// Finds a form that accepts `argv` for `purpose`, or explains why none does.
pub(super) fn match_form(argv: &[String], purpose: Purpose) -> Result<Tier, Refusal> {
    let program = argv[0].as_str();
    let candidates: Vec<&Form> = FORMS.iter().filter(|f| f.program == program).collect();
    if candidates.is_empty() {
        return Err(Refusal::one(format!(
            "program `{program}` is not on the allow-list"
        )));
    }
    let mut reasons = Vec::new();
    let mut changing_only = true;
    for form in &candidates {
        match accepts(form, &argv[1..]) {
            Ok(()) if purpose.permits(form.tier) => return Ok(form.tier),
            Ok(()) => {
                return Err(Refusal::one(format!(
                    "`{program}` in this form changes the host and is allowed only as a remediation step"
                )));
            }
            Err(reason) => {
                if form.tier == Tier::ReadOnly {
                    changing_only = false;
                }
                if !reasons.contains(&reason) {
                    reasons.push(reason);
                }
            }
        }
    }
    if changing_only && !purpose.permits(Tier::Changing) {
        return Err(Refusal::one(format!(
            "program `{program}` changes the host and is allowed only as a remediation step"
        )));
    }
    Err(Refusal { reasons })
}

/// Whether one form accepts these arguments.
fn accepts(form: &Form, arguments: &[String]) -> Result<(), String> {
    let program = form.program;
    let mut rest = arguments;
    if !form.subcommands.is_empty() {
        match rest.first() {
            Some(sub) if form.subcommands.contains(&sub.as_str()) => rest = &rest[1..],
            Some(sub) => {
                return Err(format!(
                    "`{program} {sub}` is not allowed (allowed: {})",
                    form.subcommands.join(", ")
                ));
            }
            None => {
                return Err(format!(
                    "`{program}` needs one of: {}",
                    form.subcommands.join(", ")
                ));
            }
        }
    }
    let mut seen: Vec<&str> = Vec::new();
    let mut positionals: Vec<&str> = Vec::new();
    let mut index = 0;
    while index < rest.len() {
        let token = rest[index].as_str();
        index += 1;
        if form.flags.contains(&token) {
            seen.push(token);
            continue;
        }
        if !form.flag_letters.is_empty()
            && token.len() > 1
            && token.starts_with('-')
            && !token.starts_with("--")
            && token[1..].chars().all(|c| form.flag_letters.contains(c))
        {
            seen.push(token);
            continue;
        }
        if let Some((name, value, consumed_next)) = option_value(form, token, rest.get(index)) {
            if consumed_next {
                index += 1;
            }
            let Some(value) = value else {
                return Err(format!("`{program} {name}` needs a value"));
            };
            let kind = form
                .options
                .iter()
                .find(|(option, _)| *option == name)
                .map(|(_, kind)| *kind)
                .unwrap_or(NONE);
            check_value(kind, value).map_err(|why| format!("`{program} {name}`: {why}"))?;
            seen.push(name);
            continue;
        }
        if token.starts_with('-') || token.starts_with('+') {
            return Err(format!("`{program}`: option `{token}` is not allowed"));
        }
        positionals.push(token);
    }
    let (min, max) = form.positionals;
    if positionals.len() < min {
        return Err(format!("`{program}` needs at least {min} argument(s)"));
    }
    if positionals.len() > max {
        return Err(if max == 0 {
            format!("`{program}` takes no argument here")
        } else {
            format!("`{program}` takes at most {max} argument(s)")
        });
    }
    for (position, positional) in positionals.iter().enumerate() {
        let kind = match form.first_positional {
            Some(first) if position == 0 => first,
            _ => form.positional,
        };
        check_value(kind, positional).map_err(|why| format!("`{program}`: {why}"))?;
    }
    for requirement in form.required {
        if !requirement
            .split('|')
            .any(|alternative| seen.contains(&alternative))
        {
            return Err(format!(
                "`{program}` requires {}",
                requirement.replace('|', " or ")
            ));
        }
    }
    Ok(())
}

/// Recognises an option token with its value: `-n 10`, `-n10`, `--lines=10`, `--lines 10`.
/// Returns the option name, its value (if any) and whether the next token was consumed.
fn option_value<'a>(
    form: &Form,
    token: &'a str,
    next: Option<&'a String>,
) -> Option<(&'static str, Option<&'a str>, bool)> {
    for (name, _) in form.options {
        if token == *name {
            return Some((name, next.map(String::as_str), next.is_some()));
        }
        if name.starts_with("--") {
            if let Some(value) = token.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
                return Some((name, Some(value), false));
            }
        } else if name.len() == 2 && token.len() > 2 && token.starts_with(name) {
            return Some((name, Some(&token[2..]), false));
        }
    }
    None
}

/// Checks one value against its kind.
fn check_value(kind: Value, value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("empty value".to_owned());
    }
    match kind {
        Value::Exact(expected) => expect(value == expected, || {
            format!("`{value}` must be `{expected}`")
        }),
        Value::OneOf(words) => expect(words.contains(&value), || {
            format!("`{value}` is not one of {}", words.join(", "))
        }),
        Value::Count { min, max } => match value.parse::<u64>() {
            Ok(n) if value.bytes().all(|b| b.is_ascii_digit()) && (min..=max).contains(&n) => {
                Ok(())
            }
            _ => Err(format!("`{value}` must be a number from {min} to {max}")),
        },
        Value::Greater { units, min } => {
            let body = value.strip_prefix('+').unwrap_or(value);
            let digits = body.trim_end_matches(|c: char| units.contains(c));
            let unit_len = body.len() - digits.len();
            match digits.parse::<u64>() {
                Ok(n)
                    if value.starts_with('+')
                        && unit_len <= 1
                        && digits.bytes().all(|b| b.is_ascii_digit())
                        && n >= min =>
                {
                    Ok(())
                }
                _ => Err(format!("`{value}` must look like +N (at least {min})")),
            }
        }
        Value::Days => match value.strip_suffix('d').map(str::parse::<u64>) {
            Some(Ok(n)) if (1..=365).contains(&n) && !value.starts_with('+') => Ok(()),
            _ => Err(format!(
                "`{value}` must be a number of days like 3d (1d to 365d)"
            )),
        },
        Value::Unit | Value::RestartableUnit => {
            let ok = value.len() <= 256
                && !value.starts_with('-')
                && !value.starts_with('.')
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"@._:-".contains(&b));
            expect(ok, || format!("`{value}` is not a unit name"))?;
            if matches!(kind, Value::RestartableUnit) {
                let lower = value.to_ascii_lowercase();
                if let Some(prefix) = CRITICAL_UNIT_PREFIXES
                    .iter()
                    .find(|p| lower.starts_with(*p))
                {
                    return Err(format!(
                        "unit `{value}` is critical to reaching the host (`{prefix}…`) and is never restarted by a runbook"
                    ));
                }
            }
            Ok(())
        }
        Value::Container => expect(
            value.len() <= 128
                && value.as_bytes()[0].is_ascii_alphanumeric()
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b)),
            || format!("`{value}` is not a container name"),
        ),
        Value::Interface => expect(
            value.len() <= 15
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-@".contains(&b))
                && !value.starts_with('-'),
            || format!("`{value}` is not an interface name"),
        ),
        Value::SysctlKey => expect(
            value.len() <= 128
                && value.as_bytes()[0].is_ascii_alphabetic()
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.".contains(&b)),
            || format!("`{value}` is not a sysctl key (use -w only in a remediation step)"),
        ),
        Value::Host => expect(
            value.len() <= 253
                && value.as_bytes()[0].is_ascii_alphanumeric()
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".:-".contains(&b)),
            || format!("`{value}` is not a host name or address"),
        ),
        Value::Pid => match value.parse::<u32>() {
            Ok(pid) if pid > 1 && pid <= 4_194_304 && value.bytes().all(|b| b.is_ascii_digit()) => {
                Ok(())
            }
            _ => Err(format!("`{value}` is not a process id above 1")),
        },
        Value::PsColumns => expect(
            value.len() <= 200
                && value
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b"%,_=".contains(&b)),
            || format!("`{value}` is not a list of ps columns"),
        ),
        Value::PsSort => expect(
            value.len() <= 100
                && value
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b"%,+-_".contains(&b)),
            || format!("`{value}` is not a ps sort key"),
        ),
        Value::TimeSpec => expect(value.len() <= 40 && is_time_spec(value), || {
            format!(
                "`{value}` is not a time specification (like `1 hour ago`, `today`, `2026-11-27 10:00`)"
            )
        }),
        Value::InternetSelector => expect(
            value.len() <= 100
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b":.@-[]".contains(&b)),
            || format!("`{value}` is not an lsof -i selector"),
        ),
        Value::SearchPattern => expect(
            value.len() <= 256
                && !value.starts_with('-')
                && !value.starts_with('/')
                && value.bytes().all(|b| (0x20..0x7f).contains(&b)),
            || {
                "the search pattern must be printable text of at most 256 bytes, not starting with - or / \
                 (it would read as an option or a path)"
                    .to_owned()
            },
        ),
        Value::NamePattern => expect(
            value.len() <= 255
                && !value.contains('/')
                && !value.starts_with('-')
                && value != "."
                && value != ".."
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-*?".contains(&b))
                && value.bytes().any(|b| b.is_ascii_alphanumeric()),
            || format!("`{value}` is not a file name pattern"),
        ),
        Value::LocalUrl => check_local_url(value),
        Value::AnyPath => check_path(value).map(|_| ()),
        Value::LogFile => {
            let path = check_path(value)?;
            expect(path.starts_with("/var/log/"), || {
                format!("`{value}` is not under /var/log")
            })
        }
        Value::ReadableFile => {
            let path = check_path(value)?;
            expect(
                path.starts_with("/var/log/") || PROC_FILES.contains(&path),
                || {
                    format!(
                        "`{value}` is neither a file under /var/log nor a /proc information file"
                    )
                },
            )
        }
        Value::CleanupRoot => {
            let path = check_path(value)?;
            expect(
                ["/tmp", "/var/log", "/var/tmp"]
                    .iter()
                    .any(|root| path == *root || path.starts_with(&format!("{root}/"))),
                || {
                    format!(
                        "deletions are allowed only under /tmp, /var/tmp and /var/log, not `{value}`"
                    )
                },
            )
        }
        Value::LogrotateConfig => {
            let path = check_path(value)?;
            expect(
                path == "/etc/logrotate.conf"
                    || path
                        .strip_prefix("/etc/logrotate.d/")
                        .is_some_and(|name| !name.is_empty() && !name.contains('/')),
                || format!("`{value}` is not a logrotate configuration in /etc"),
            )
        }
    }
}

/// journalctl/docker times: words from a small vocabulary, numbers, dates and clock times.
fn is_time_spec(value: &str) -> bool {
    const WORDS: &[&str] = &[
        "now",
        "today",
        "yesterday",
        "ago",
        "s",
        "sec",
        "second",
        "seconds",
        "m",
        "min",
        "minute",
        "minutes",
        "h",
        "hour",
        "hours",
        "d",
        "day",
        "days",
        "w",
        "week",
        "weeks",
    ];
    value.split(' ').all(|token| {
        WORDS.contains(&token)
            || (token.as_bytes().first().is_some_and(u8::is_ascii_digit)
                && token
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b"-:.TZhmsdw".contains(&b)))
    })
}

fn expect(condition: bool, reason: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(reason()) }
}

/// An absolute path of plain characters, without `.`/`..` components, empty components or
/// glob characters; returned without a trailing `/`.
fn check_path(value: &str) -> Result<&str, String> {
    if !value.starts_with('/') {
        return Err(format!("`{value}` must be an absolute path"));
    }
    if value.len() > 1024 {
        return Err("the path is longer than 1024 bytes".to_owned());
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "/._-+@=:,".contains(*c)))
    {
        return Err(if "*?[]".contains(bad) {
            format!("`{value}`: glob characters are not allowed in paths")
        } else if bad == '~' {
            format!("`{value}`: `~` is not expanded; give an absolute path")
        } else {
            format!("`{value}`: character `{bad}` is not allowed in a path")
        });
    }
    let trimmed = if value.len() > 1 {
        value.trim_end_matches('/')
    } else {
        value
    };
    for component in trimmed.split('/').skip(1) {
        if component == ".." {
            return Err(format!("`{value}`: `..` (path traversal) is not allowed"));
        }
        if component == "." || (component.is_empty() && trimmed != "/") {
            return Err(format!("`{value}`: the path is not in normal form"));
        }
    }
    Ok(trimmed)
}

/// `http(s)://localhost|127.0.0.1|[::1][:port][/path]` with a path of plain characters.
fn check_local_url(value: &str) -> Result<(), String> {
    let rest = value
        .strip_prefix("http://")
        .or_else(|| value.strip_prefix("https://"))
        .ok_or_else(|| format!("`{value}` must be an http(s) URL"))?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = match authority.rsplit_once(':') {
        Some((host, port))
            if !authority.ends_with(']') && port.parse::<u16>().is_ok_and(|p| p > 0) =>
        {
            host
        }
        _ => authority,
    };
    let local = ["localhost", "127.0.0.1", "[::1]"].contains(&host);
    let path_ok = path.len() <= 512
        && !path.contains("..")
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-=,:+".contains(&b));
    expect(local && path_ok, || {
        format!("`{value}` must be a URL of this host (localhost) with a plain path")
    })
}

/// The commands of the six built-in runbooks (`remediation-and-ai.md` §2) as ours runs them,
/// with sample labels filled in. Each must pass for [`Purpose::Remediation`]; tests pin it, and
/// the runbook module is expected to use exactly these forms.
pub const BUILTIN_RUNBOOK_COMMANDS: &[&str] = &[
    // disk_cleanup
    "find /tmp -type f -mtime +7 -delete",
    "journalctl --vacuum-time=3d",
    "find /var/log -type f -name '*.gz' -mtime +7 -delete",
    "apt-get clean",
    "dnf clean packages",
    "yum clean packages",
    "df -h /",
    // service_restart
    "systemctl status nginx",
    "systemctl restart nginx",
    "systemctl is-active nginx",
    // zombie_killer
    "ps -eo pid,ppid,stat,comm",
    "kill -CHLD 4242",
    "kill -TERM 4242",
    // memory_pressure
    "free -h",
    "ps aux --sort=-%mem",
    "sync",
    "sysctl -w vm.drop_caches=3",
    // log_rotation
    "find /var/log -type f -size +100M",
    "logrotate -f /etc/logrotate.conf",
    "du -sh /var/log",
    // connection_reset
    "ss -s",
    "ss -tan state time-wait",
    "ss -tan state close-wait",
    "ss -tnp",
    "sysctl -w net.ipv4.tcp_tw_reuse=1",
];

/// Read-only diagnostic commands of the original 0.2.x agent, in the forms ours accepts. Each
/// must pass for [`Purpose::Diagnostic`].
pub const DIAGNOSTIC_EXAMPLES: &[&str] = &[
    "df -h",
    "df -h /",
    "free -m",
    "top -bn1",
    "top -b -n 1",
    "ps aux",
    "ps -ef",
    "uptime",
    "uname -a",
    "cat /proc/loadavg",
    "cat /proc/meminfo",
    "cat /var/log/syslog",
    "tail -n 100 /var/log/nginx/error.log",
    "tail -n100 /var/log/syslog",
    "head --lines=20 /var/log/dpkg.log",
    "grep -i error /var/log/syslog",
    "systemctl status nginx --no-pager",
    "systemctl is-active postgresql",
    "journalctl -u nginx -n 200 --no-pager",
    "journalctl --since '1 hour ago' -n 500 -p err",
    "docker ps -a",
    "docker stats --no-stream",
    "docker logs --tail 100 web",
    "docker inspect web",
    "ss -tlnp",
    "netstat -tlnp",
    "ip addr",
    "ip -br addr show",
    "ip addr show eth0",
    "ip route",
    "ping -c 3 10.0.0.1",
    "dig +short example.internal",
    "du -sh /var/lib/docker",
    "ls -la /etc/nginx",
    "find /var/log -type f -size +100M",
    "vmstat 1 5",
    "iostat -x 1 3",
    "lsof -i :5432",
    "curl -sS -m 5 http://localhost:8080/health",
    "nginx -t",
    "sysctl vm.swappiness",
];
