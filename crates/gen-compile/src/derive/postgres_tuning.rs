//! PostgreSQL tuning derived from declared hardware and workload, following PGTune.
//!
//! This module re-implements, in plain integer arithmetic, the selectors of
//! PGTune (<https://github.com/le0pard/pgtune>, snapshot at commit `7caef27`,
//! 2026-07-30). Every formula lives in PGTune's
//! `src/features/configuration/configurationSlice.js`; the order in which the
//! settings are printed and the way memory amounts are spelled (`formatValue`)
//! come from `src/common/components/configurationView/index.jsx`. Where this
//! module says "PGTune" without a file, it means `configurationSlice.js`.
//!
//! Only PGTune's `OS Type = linux` is reproduced (Windows shared_buffers /
//! work_mem limits and the macOS huge_pages rule are not needed by `gen`).
//!
//! # Arithmetic
//!
//! PGTune works in JavaScript doubles and rounds down with `Math.floor`. Here
//! every step is done with unsigned integers (rounding toward zero, which is
//! the same as `floor` for non-negative values). For every input PGTune
//! accepts, both give the same number: the fractional part of an exact
//! quotient with denominator below 2^20 is never so close to an integer that a
//! double rounds across it, and PGTune's factors `1.3` and `0.9` are stored as
//! doubles slightly *above* their decimal value, so `floor(x * 1.3)` is
//! `x * 13 / 10` in integers (a test checks this against an `f64` copy of
//! PGTune's code).
//!
//! # Inputs outside PGTune's form limits
//!
//! PGTune's form (`configurationForm/validation.js`) accepts 512 MB to
//! 999999 TB of memory, 1 to 999999 CPUs (or none), 20 to 999999 connections
//! (or none), and PostgreSQL 10 to 18. This module accepts anything, never
//! panics and never divides by zero:
//!
//! * `memory_bytes` is rounded down to whole kB (PGTune only takes whole MB).
//!   `0` gives `shared_buffers = 0GB` etc. (PGTune's `formatValue(0)` is
//!   `"0GB"`); `wal_buffers` and `work_mem` still get PGTune's minimums
//!   (32kB, 4MB). `u64::MAX` cannot overflow: all products are done in `u128`
//!   or saturate.
//! * `cores = 0` means "not declared", exactly like an empty CPU field in
//!   PGTune: no parallel settings, no `autovacuum_max_workers`, and `work_mem`
//!   assumes PostgreSQL's default of 8 worker processes.
//! * `max_connections = Some(0)` is treated like `None` (PGTune tests
//!   `connectionNum ? connectionNum : default`, and 0 is falsy).
//! * Any `major_version` is accepted; PGTune's version comparisons (`>= 10`,
//!   `>= 11`, `>= 12`, `>= 15`, `>= 18`) are applied as they are.
//!
//! In all these cases a [`Warning::OutsidePgtuneRange`] (this module's own,
//! not a PGTune warning) is added so `gen` can tell the user.

use std::fmt;

const KB_PER_MB: u64 = 1024;
const KB_PER_GB: u64 = 1024 * 1024;
const BYTES_PER_MB: u64 = 1024 * 1024;
const BYTES_PER_GB: u64 = 1024 * 1024 * 1024;

/// The "DB Type" choice of PGTune.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// PGTune "Web application" (`web`).
    Web,
    /// PGTune "Online transaction processing system" (`oltp`).
    Oltp,
    /// PGTune "Data warehouse" (`dw`).
    Dw,
    /// PGTune "Mixed type of application" (`mixed`).
    Mixed,
    /// PGTune "Desktop application" (`desktop`).
    Desktop,
}

impl Workload {
    /// PGTune's identifier for this workload (`web`, `oltp`, `dw`, `mixed`, `desktop`).
    pub fn pgtune_name(self) -> &'static str {
        match self {
            Workload::Web => "web",
            Workload::Oltp => "oltp",
            Workload::Dw => "dw",
            Workload::Mixed => "mixed",
            Workload::Desktop => "desktop",
        }
    }
}

/// The "Data Storage" choice of PGTune.
///
/// `Nvme`: current PGTune (since commit `01bb644`, 2026-04-05) has its own
/// `nvme` storage type, and this module follows it: NVMe behaves like `ssd`
/// everywhere (random_page_cost, warnings) **except** that
/// `effective_io_concurrency` is 1000 instead of 200. Older PGTune releases had
/// no NVMe choice and users picked `ssd`; use [`Storage::Ssd`] to get that
/// output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// PGTune `hdd` (spinning disks).
    Hdd,
    /// PGTune `ssd`.
    Ssd,
    /// PGTune `nvme` (see the type's documentation).
    Nvme,
    /// PGTune `san` (network storage).
    San,
}

impl Storage {
    /// PGTune's identifier for this storage type.
    pub fn pgtune_name(self) -> &'static str {
        match self {
            Storage::Hdd => "hdd",
            Storage::Ssd => "ssd",
            Storage::Nvme => "nvme",
            Storage::San => "san",
        }
    }
}

/// PGTune's "DB Size vs RAM" choice (added in commit `fc06b14`). [`tune`] uses
/// PGTune's default, [`DbSize::MidRam`]; call [`tune_with`] to choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DbSize {
    /// `less_ram`: the whole database fits in RAM.
    LessThanRam,
    /// `mid_ram`: database roughly 1-3x RAM (PGTune's default).
    #[default]
    MidRam,
    /// `greater_ram`: database more than 3x RAM.
    GreaterThanRam,
}

/// Declared hardware and workload.
#[derive(Debug, Clone)]
pub struct TuningInput {
    /// Total RAM in bytes (rounded down to whole kB).
    pub memory_bytes: u64,
    /// CPU count; `0` means "not declared" (see module docs).
    pub cores: u32,
    pub storage: Storage,
    pub workload: Workload,
    /// PostgreSQL major version, e.g. 15.
    pub major_version: u32,
    /// `None` (or `Some(0)`) = PGTune's default for the workload.
    pub max_connections: Option<u32>,
}

/// One derived setting: its value as PostgreSQL spells it in postgresql.conf, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Derived {
    /// The postgresql.conf parameter name.
    pub name: &'static str,
    pub value: SettingValue,
    /// Short description of PGTune's rule, e.g. `memory / 4`.
    pub formula: &'static str,
    /// The rule applied to the concrete numbers of this input.
    pub inputs: String,
}

/// A setting's value.
#[derive(Debug, Clone, PartialEq)]
pub enum SettingValue {
    /// A plain integer, printed in decimal.
    Integer(u64),
    /// memory amount in kB, rendered like PGTune does (e.g. "4GB", "20560kB", "16MB": largest unit that divides exactly)
    MemoryKb(u64),
    /// A number printed like JavaScript prints it (`0.9`, `1.1`, `4`).
    Float(f64),
    /// An enumerated value such as `try`, `off`, `lz4`.
    Text(&'static str),
}

impl SettingValue {
    /// Exactly the postgresql.conf spelling PGTune prints (e.g. 0.9, 1.1, 4GB, 20560kB).
    ///
    /// Memory follows PGTune's `formatValue` (configurationView/index.jsx):
    /// GB if the kB amount is a multiple of 1048576, else MB if a multiple of
    /// 1024, else kB. Like PGTune, 0 is rendered `0GB`. Floats use Rust's
    /// shortest round-trip formatting, which matches JavaScript's for these
    /// values (`4.0` prints as `4`, like PGTune's `random_page_cost = 4`).
    pub fn render(&self) -> String {
        match self {
            SettingValue::Integer(n) => n.to_string(),
            SettingValue::MemoryKb(kb) => {
                if kb.is_multiple_of(KB_PER_GB) {
                    format!("{}GB", kb / KB_PER_GB)
                } else if kb.is_multiple_of(KB_PER_MB) {
                    format!("{}MB", kb / KB_PER_MB)
                } else {
                    format!("{kb}kB")
                }
            }
            SettingValue::Float(f) => format!("{f}"),
            SettingValue::Text(t) => (*t).to_string(),
        }
    }
}

impl fmt::Display for SettingValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

/// A warning about the recommendation.
#[derive(Debug, Clone, PartialEq)]
pub enum Warning {
    /// PGTune: total memory below 256 MB.
    LowMemory,
    /// PGTune: total memory above 100 GB.
    HighMemory,
    /// PGTune: `wal_compression = lz4` was recommended (PostgreSQL 15+).
    WalCompressionLz4,
    /// PGTune: `io_method = io_uring` was recommended (PostgreSQL 18+).
    IoMethodIoUring,
    /// PGTune: data warehouse on non-HDD storage with a database not smaller
    /// than RAM, so `random_page_cost` is left at 4.
    DwCostDefaults(Storage),
    /// Not PGTune's: an input PGTune's form would reject (see module docs).
    OutsidePgtuneRange(String),
}

impl Warning {
    /// Whether PGTune itself prints this warning.
    pub fn is_pgtune(&self) -> bool {
        !matches!(self, Warning::OutsidePgtuneRange(_))
    }

    /// The warning's lines, as PGTune prints them (without the `# ` prefix).
    pub fn lines(&self) -> Vec<String> {
        let fixed: &[&str] = match self {
            Warning::LowMemory => &["this tool not being optimal", "for low memory systems"],
            Warning::HighMemory => &[
                "this tool not being optimal",
                "for very high memory systems",
            ],
            Warning::WalCompressionLz4 => &[
                "wal_compression = lz4 requires PostgreSQL",
                "to be compiled with --with-lz4",
            ],
            Warning::IoMethodIoUring => &[
                "io_method = io_uring requires PostgreSQL",
                "to be compiled with --with-liburing",
            ],
            Warning::DwCostDefaults(storage) => {
                let drive = match storage {
                    Storage::Ssd => "SSDs",
                    Storage::Nvme => "NVMe drives",
                    Storage::San => "SAN storage",
                    // PGTune never warns for HDD; its lookup would print "undefined".
                    Storage::Hdd => "HDDs",
                };
                return vec![
                    format!("Cost parameters for Data Warehouses on {drive} are left at defaults"),
                    "to avoid catastrophic index scan selections".to_string(),
                    "Monitor query planner behavior and adjust random_page_cost if necessary"
                        .to_string(),
                ];
            }
            Warning::OutsidePgtuneRange(msg) => return vec![msg.clone()],
        };
        fixed.iter().map(|s| (*s).to_string()).collect()
    }

    /// The warning as one line of text.
    pub fn message(&self) -> String {
        let lines = self.lines();
        match self {
            // PGTune's third line starts a new sentence.
            Warning::DwCostDefaults(_) => {
                format!("{} {}. {}", lines[0], lines[1], lines[2])
            }
            _ => lines.join(" "),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

/// The full recommendation.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// Settings in the order PGTune prints them.
    pub settings: Vec<Derived>,
    /// PGTune's warnings in PGTune's order, then this module's own
    /// [`Warning::OutsidePgtuneRange`] notes.
    pub warnings: Vec<Warning>,
}

impl Tuning {
    /// The setting called `name`, if it is part of the recommendation.
    pub fn get(&self, name: &str) -> Option<&Derived> {
        self.settings.iter().find(|d| d.name == name)
    }

    /// The recommended `max_connections` (always present).
    pub fn max_connections(&self) -> u64 {
        match self.get("max_connections").map(|d| &d.value) {
            Some(SettingValue::Integer(n)) => *n,
            _ => 0,
        }
    }

    /// The `name = value` lines PGTune shows for postgresql.conf.
    pub fn conf_lines(&self) -> Vec<String> {
        self.settings
            .iter()
            .map(|d| format!("{} = {}", d.name, d.value.render()))
            .collect()
    }

    /// PGTune's warning block (without `# `): `WARNING`, then each PGTune
    /// warning's lines separated by an empty line; empty if there is none.
    pub fn pgtune_warning_lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for w in self.warnings.iter().filter(|w| w.is_pgtune()) {
            out.push(if out.is_empty() { "WARNING" } else { "" }.to_string());
            out.extend(w.lines());
        }
        out
    }
}

/// Human-readable memory amount for `inputs` texts (`16 GiB`, `512 MiB`, `20560 kB`).
fn human_kb(kb: u64) -> String {
    if kb != 0 && kb.is_multiple_of(KB_PER_GB) {
        format!("{} GiB", kb / KB_PER_GB)
    } else if kb != 0 && kb.is_multiple_of(KB_PER_MB) {
        format!("{} MiB", kb / KB_PER_MB)
    } else {
        format!("{kb} kB")
    }
}

/// `a * num / den` without overflow (saturating at `u64::MAX`; `den` must not be 0).
fn mul_div(a: u64, num: u64, den: u64) -> u64 {
    let r = u128::from(a) * u128::from(num) / u128::from(den);
    u64::try_from(r).unwrap_or(u64::MAX)
}

fn derived(
    name: &'static str,
    value: SettingValue,
    formula: &'static str,
    inputs: String,
) -> Derived {
    Derived {
        name,
        value,
        formula,
        inputs,
    }
}

/// PGTune's recommendation for `input`, with PGTune's default "DB Size vs RAM"
/// (`mid_ram`).
pub fn tune(input: &TuningInput) -> Tuning {
    tune_with(input, DbSize::default())
}

/// PGTune's recommendation for `input` and a "DB Size vs RAM" choice.
///
/// Settings come out in PGTune's print order (configurationView/index.jsx):
/// max_connections, shared_buffers, effective_cache_size,
/// maintenance_work_mem, checkpoint_completion_target, wal_buffers,
/// default_statistics_target, random_page_cost, effective_io_concurrency,
/// work_mem, huge_pages, jit, wal_compression, autovacuum_max_workers,
/// autovacuum_work_mem, io_method, (io_workers), min_wal_size, max_wal_size,
/// the parallel settings, wal_level, max_wal_senders. Settings PGTune leaves
/// out for this input are left out here too.
///
/// # Formulas
///
/// `memory` is total RAM in kB; every division rounds down. Each rule names
/// the selector of PGTune's `configurationSlice.js` it reproduces.
///
/// | setting | rule | PGTune selector |
/// |---|---|---|
/// | max_connections | declared, else web 200, oltp 300, dw 40, desktop 20, mixed 100 | `selectMaxConnections` |
/// | shared_buffers | memory / 4 (desktop: memory / 16) | `selectSharedBuffers` |
/// | effective_cache_size | memory * 3 / 4 (desktop: memory / 4) | `selectEffectiveCacheSize` |
/// | maintenance_work_mem | min(memory / 16 (dw: / 8), 8GB) | `selectMaintenanceWorkMem` |
/// | checkpoint_completion_target | 0.9 | `selectCheckpointCompletionTarget` |
/// | wal_buffers | 3 * shared_buffers / 100, at most 16MB; 14MB < x < 16MB becomes 16MB; at least 32kB | `selectWalBuffers` |
/// | default_statistics_target | dw 500, others 100 | `selectDefaultStatisticsTarget` |
/// | random_page_cost | db fits in RAM: 1.1; else hdd: 4; else dw: 4; else 1.1 | `selectRandomPageCost` |
/// | effective_io_concurrency | hdd 2, ssd 200, san 300, nvme 1000 | `selectEffectiveIoConcurrency` |
/// | work_mem | (memory - shared_buffers) / ((max_connections + W) * 3), then / 2 for dw and mixed, / 6 for desktop; * 1.3 if the db fits in RAM, * 0.9 if it is > 3x RAM; at least 4MB. W = cores if cores >= 4, else 8 | `selectWorkMem` (W: `DEFAULT_DB_SETTINGS`) |
/// | huge_pages | try if shared_buffers >= 2GB, else off | `selectHugePages` |
/// | jit | off for web/oltp/mixed on 12+, otherwise not set | `selectJit` |
/// | wal_compression | lz4 on 15+, on for 10-14, otherwise not set | `selectWalCompression` |
/// | autovacuum_max_workers | 5 if cores >= 32, 4 if cores >= 16, otherwise not set | `selectAutovacuumMaxWorkers` |
/// | autovacuum_work_mem | 2GB if maintenance_work_mem >= 2GB, otherwise not set | `selectAutovacuumWorkMem` |
/// | io_method | io_uring on 18+ (Linux), otherwise not set; io_workers is never set on Linux | `selectIoMethod`, `selectIoWorkers` |
/// | min_wal_size / max_wal_size | web, mixed 1GB/4GB; oltp 2GB/8GB; dw 4GB/16GB; desktop 100MB/2GB | `selectCheckpointSegments` |
/// | max_worker_processes | cores, only if cores >= 4 (as are the next three) | `selectParallelSettings` |
/// | max_parallel_workers_per_gather | ceil(cores / 2), at most 4 except for dw | `selectParallelSettings` |
/// | max_parallel_workers | cores, on 10+ | `selectParallelSettings` |
/// | max_parallel_maintenance_workers | min(ceil(cores / 2), 4), on 11+ | `selectParallelSettings` |
/// | wal_level, max_wal_senders | minimal and 0 for desktop, otherwise not set | `selectWalLevel` |
///
/// Warnings (`selectWarningInfoMessages`): memory < 256MB (low) or > 100GB
/// (very high); wal_compression = lz4; io_method = io_uring; dw on non-HDD
/// storage whose database does not fit in RAM.
pub fn tune_with(input: &TuningInput, db_size: DbSize) -> Tuning {
    tune_full(input, db_size, None)
}

/// [`tune_with`], with `shared_buffers` (in kB) set explicitly instead of
/// derived: what depends on it (wal_buffers, work_mem, huge_pages) is then
/// computed from the explicit value, as PGTune computes it from its own.
pub fn tune_full(input: &TuningInput, db_size: DbSize, shared_buffers_kb: Option<u64>) -> Tuning {
    use SettingValue::{Float, Integer, MemoryKb, Text};
    use Workload::{Desktop, Dw, Mixed, Oltp, Web};

    let wl = input.workload;
    let wl_name = wl.pgtune_name();
    let version = input.major_version;
    let cores = u64::from(input.cores);
    // selectTotalMemoryInKb: bytes / 1024 (exact in PGTune, which takes whole MB).
    let mem_kb = input.memory_bytes / 1024;
    let mem = human_kb(mem_kb);
    let mut s: Vec<Derived> = Vec::with_capacity(25);

    // --- max_connections (selectMaxConnections) ---
    let max_connections = match input.max_connections {
        Some(n) if n > 0 => u64::from(n),
        _ => match wl {
            Web => 200,
            Oltp => 300,
            Dw => 40,
            Desktop => 20,
            Mixed => 100,
        },
    };
    let conn_declared = matches!(input.max_connections, Some(n) if n > 0);
    s.push(derived(
        "max_connections",
        Integer(max_connections),
        if conn_declared {
            "declared connections"
        } else {
            "PGTune default per workload: web 200, oltp 300, dw 40, desktop 20, mixed 100"
        },
        if conn_declared {
            format!("declared {max_connections}")
        } else {
            format!("{max_connections} ({wl_name})")
        },
    ));

    // --- shared_buffers (selectSharedBuffers) ---
    let sb_div = if wl == Desktop { 16 } else { 4 };
    let shared_buffers = shared_buffers_kb.unwrap_or(mem_kb / sb_div);
    s.push(derived(
        "shared_buffers",
        MemoryKb(shared_buffers),
        match (shared_buffers_kb, wl) {
            (Some(_), _) => "set explicitly",
            (None, Desktop) => "memory / 16",
            (None, _) => "memory / 4",
        },
        match shared_buffers_kb {
            Some(_) => format!("{} (postgres.overrides)", human_kb(shared_buffers)),
            None => format!("memory {mem} / {sb_div} ({wl_name})"),
        },
    ));

    // --- effective_cache_size (selectEffectiveCacheSize) ---
    let (ecs, ecs_formula, ecs_inputs) = if wl == Desktop {
        (
            mem_kb / 4,
            "memory / 4",
            format!("memory {mem} / 4 ({wl_name})"),
        )
    } else {
        (
            mul_div(mem_kb, 3, 4),
            "memory * 3 / 4",
            format!("memory {mem} * 3 / 4 ({wl_name})"),
        )
    };
    s.push(derived(
        "effective_cache_size",
        MemoryKb(ecs),
        ecs_formula,
        ecs_inputs,
    ));

    // --- maintenance_work_mem (selectMaintenanceWorkMem, Linux branch) ---
    let mwm_div = if wl == Dw { 8 } else { 16 };
    let mwm_raw = mem_kb / mwm_div;
    let mwm_cap = 8 * KB_PER_GB;
    let maintenance_work_mem = mwm_raw.min(mwm_cap);
    s.push(derived(
        "maintenance_work_mem",
        MemoryKb(maintenance_work_mem),
        if wl == Dw {
            "min(memory / 8, 8GB)"
        } else {
            "min(memory / 16, 8GB)"
        },
        if mwm_raw > mwm_cap {
            format!(
                "memory {mem} / {mwm_div} ({wl_name}) = {}, capped at 8 GiB",
                human_kb(mwm_raw)
            )
        } else {
            format!("memory {mem} / {mwm_div} ({wl_name})")
        },
    ));

    // --- checkpoint_completion_target (selectCheckpointCompletionTarget) ---
    s.push(derived(
        "checkpoint_completion_target",
        Float(0.9),
        "constant 0.9",
        "0.9 (PostgreSQL 14+ default, commit bbcc4eb2)".to_string(),
    ));

    // --- wal_buffers (selectWalBuffers) ---
    let wal_cap = 16 * KB_PER_MB;
    let wal_near = 14 * KB_PER_MB;
    let wal_raw = mul_div(shared_buffers, 3, 100);
    let mut wal_buffers = wal_raw.min(wal_cap);
    let mut wal_note = if wal_raw > wal_cap {
        format!(", capped at {}", human_kb(wal_cap))
    } else {
        String::new()
    };
    if wal_buffers > wal_near && wal_buffers < wal_cap {
        wal_buffers = wal_cap;
        wal_note = ", above 14 MiB so rounded up to 16 MiB".to_string();
    }
    if wal_buffers < 32 {
        wal_buffers = 32;
        wal_note = ", raised to the 32 kB minimum".to_string();
    }
    s.push(derived(
        "wal_buffers",
        MemoryKb(wal_buffers),
        "3% of shared_buffers, at most 16MB (values above 14MB become 16MB), at least 32kB",
        format!(
            "shared_buffers {} * 3 / 100 = {}{wal_note}",
            human_kb(shared_buffers),
            human_kb(wal_raw)
        ),
    ));

    // --- default_statistics_target (selectDefaultStatisticsTarget) ---
    let dst = if wl == Dw { 500 } else { 100 };
    s.push(derived(
        "default_statistics_target",
        Integer(dst),
        "dw 500, other workloads 100",
        format!("{dst} ({wl_name})"),
    ));

    // --- random_page_cost (selectRandomPageCost) ---
    let (rpc, rpc_inputs) = if db_size == DbSize::LessThanRam {
        (1.1, "1.1: database fits in RAM".to_string())
    } else if input.storage == Storage::Hdd {
        (4.0, "4: hdd".to_string())
    } else if wl == Dw {
        (
            4.0,
            format!(
                "4: dw on {} with a database not smaller than RAM",
                input.storage.pgtune_name()
            ),
        )
    } else {
        (1.1, format!("1.1: {}", input.storage.pgtune_name()))
    };
    s.push(derived(
        "random_page_cost",
        Float(rpc),
        "1.1 if the database fits in RAM; else 4 for hdd or dw; else 1.1",
        rpc_inputs,
    ));

    // --- effective_io_concurrency (selectEffectiveIoConcurrency, Linux) ---
    let eio = match input.storage {
        Storage::Hdd => 2,
        Storage::Ssd => 200,
        Storage::San => 300,
        Storage::Nvme => 1000,
    };
    s.push(derived(
        "effective_io_concurrency",
        Integer(eio),
        "hdd 2, ssd 200, san 300, nvme 1000",
        format!("{eio} ({})", input.storage.pgtune_name()),
    ));

    // --- parallel settings (selectParallelSettings), needed by work_mem ---
    let parallel = cores >= 4;
    let per_gather_raw = cores.div_ceil(2);
    let per_gather = if wl != Dw {
        per_gather_raw.min(4)
    } else {
        per_gather_raw
    };
    let maint_workers = cores.div_ceil(2).min(4);

    // --- work_mem (selectWorkMem, Linux) ---
    // PGTune's DEFAULT_DB_SETTINGS.default.max_worker_processes = 8 when no
    // parallel settings are emitted.
    let workers_for_work_mem = if parallel { cores } else { 8 };
    let den = max_connections
        .saturating_add(workers_for_work_mem)
        .saturating_mul(3)
        .max(1);
    let wl_div: u64 = match wl {
        Web | Oltp => 1,
        Dw | Mixed => 2,
        Desktop => 6,
    };
    let base_num = mem_kb.saturating_sub(shared_buffers);
    let per_workload = base_num / den.saturating_mul(wl_div);
    let (after_size, size_note) = match db_size {
        DbSize::MidRam => (per_workload, String::new()),
        DbSize::LessThanRam => {
            let v = mul_div(per_workload, 13, 10);
            (
                v,
                format!("; * 1.3 (database fits in RAM) = {}", human_kb(v)),
            )
        }
        DbSize::GreaterThanRam => {
            let v = mul_div(per_workload, 9, 10);
            (v, format!("; * 0.9 (database > 3x RAM) = {}", human_kb(v)))
        }
    };
    let work_mem_min = 4 * KB_PER_MB;
    let work_mem = after_size.max(work_mem_min);
    let div_text = if wl_div == 1 {
        String::new()
    } else {
        format!(" / {wl_div}")
    };
    let workers_note = if parallel {
        "max_worker_processes = cores"
    } else {
        "max_worker_processes = PostgreSQL default 8 (parallel settings need cores >= 4)"
    };
    let min_note = if after_size < work_mem_min {
        ", raised to the 4 MiB minimum"
    } else {
        ""
    };
    s.push(derived(
        "work_mem",
        MemoryKb(work_mem),
        work_mem_formula(wl, db_size),
        format!(
            "(memory {mem} - shared_buffers {}) / (({max_connections} + {workers_for_work_mem}) * 3){div_text} ({wl_name}) = {}{size_note}{min_note}; {workers_note}",
            human_kb(shared_buffers),
            human_kb(per_workload),
        ),
    ));

    // --- huge_pages (selectHugePages, non-macOS) ---
    let hp_threshold = 2 * KB_PER_GB;
    let huge = shared_buffers >= hp_threshold;
    s.push(derived(
        "huge_pages",
        Text(if huge { "try" } else { "off" }),
        "try if shared_buffers >= 2GB, else off",
        format!(
            "shared_buffers {} {} 2 GiB",
            human_kb(shared_buffers),
            if huge { ">=" } else { "<" }
        ),
    ));

    // --- jit (selectJit) ---
    if version >= 12 && matches!(wl, Web | Oltp | Mixed) {
        s.push(derived(
            "jit",
            Text("off"),
            "off for web/oltp/mixed on PostgreSQL 12+ (otherwise not set)",
            format!("PostgreSQL {version}, {wl_name}"),
        ));
    }

    // --- wal_compression (selectWalCompression) ---
    let wal_compression = if version >= 15 {
        Some("lz4")
    } else if version >= 10 {
        Some("on")
    } else {
        None
    };
    if let Some(wc) = wal_compression {
        s.push(derived(
            "wal_compression",
            Text(wc),
            "lz4 on PostgreSQL 15+, on for 10-14",
            format!("PostgreSQL {version}"),
        ));
    }

    // --- autovacuum_max_workers (selectAutovacuumMaxWorkers) ---
    let av_workers = if cores >= 32 {
        Some(5)
    } else if cores >= 16 {
        Some(4)
    } else {
        None
    };
    if let Some(n) = av_workers {
        s.push(derived(
            "autovacuum_max_workers",
            Integer(n),
            "5 if cores >= 32, 4 if cores >= 16 (otherwise not set)",
            format!("{cores} cores"),
        ));
    }

    // --- autovacuum_work_mem (selectAutovacuumWorkMem, Linux) ---
    let av_threshold = 2 * KB_PER_GB;
    if maintenance_work_mem >= av_threshold {
        s.push(derived(
            "autovacuum_work_mem",
            MemoryKb(av_threshold),
            "2GB if maintenance_work_mem >= 2GB (otherwise not set)",
            format!(
                "maintenance_work_mem {} >= 2 GiB",
                human_kb(maintenance_work_mem)
            ),
        ));
    }

    // --- io_method / io_workers (selectIoMethod, selectIoWorkers, Linux) ---
    // On Linux io_method is io_uring, for which PGTune never sets io_workers.
    let io_uring = version >= 18;
    if io_uring {
        s.push(derived(
            "io_method",
            Text("io_uring"),
            "io_uring on Linux with PostgreSQL 18+",
            format!("PostgreSQL {version}, Linux"),
        ));
    }

    // --- min_wal_size / max_wal_size (selectCheckpointSegments) ---
    let (min_wal, max_wal) = match wl {
        Web | Mixed => (1024 * KB_PER_MB, 4096 * KB_PER_MB),
        Oltp => (2048 * KB_PER_MB, 8192 * KB_PER_MB),
        Dw => (4096 * KB_PER_MB, 16384 * KB_PER_MB),
        Desktop => (100 * KB_PER_MB, 2048 * KB_PER_MB),
    };
    s.push(derived(
        "min_wal_size",
        MemoryKb(min_wal),
        "web/mixed 1GB, oltp 2GB, dw 4GB, desktop 100MB",
        format!("{} ({wl_name})", human_kb(min_wal)),
    ));
    s.push(derived(
        "max_wal_size",
        MemoryKb(max_wal),
        "web/mixed 4GB, oltp 8GB, dw 16GB, desktop 2GB",
        format!("{} ({wl_name})", human_kb(max_wal)),
    ));

    // --- parallel settings (selectParallelSettings) ---
    if parallel {
        s.push(derived(
            "max_worker_processes",
            Integer(cores),
            "cores (only when cores >= 4)",
            format!("{cores} cores"),
        ));
        s.push(derived(
            "max_parallel_workers_per_gather",
            Integer(per_gather),
            if wl == Dw {
                "ceil(cores / 2) (dw: no cap)"
            } else {
                "min(ceil(cores / 2), 4)"
            },
            if per_gather < per_gather_raw {
                format!("ceil({cores} / 2) = {per_gather_raw}, capped at 4 ({wl_name})")
            } else {
                format!("ceil({cores} / 2) ({wl_name})")
            },
        ));
        if version >= 10 {
            s.push(derived(
                "max_parallel_workers",
                Integer(cores),
                "cores (PostgreSQL 10+)",
                format!("{cores} cores"),
            ));
        }
        if version >= 11 {
            s.push(derived(
                "max_parallel_maintenance_workers",
                Integer(maint_workers),
                "min(ceil(cores / 2), 4) (PostgreSQL 11+)",
                if maint_workers < per_gather_raw {
                    format!("ceil({cores} / 2) = {per_gather_raw}, capped at 4")
                } else {
                    format!("ceil({cores} / 2)")
                },
            ));
        }
    }

    // --- wal_level / max_wal_senders (selectWalLevel) ---
    if wl == Desktop {
        s.push(derived(
            "wal_level",
            Text("minimal"),
            "minimal for desktop (otherwise not set)",
            "desktop".to_string(),
        ));
        s.push(derived(
            "max_wal_senders",
            Integer(0),
            "0 for desktop (required by wal_level = minimal)",
            "desktop".to_string(),
        ));
    }

    // --- warnings (selectWarningInfoMessages) ---
    let mut warnings = Vec::new();
    if input.memory_bytes < 256 * BYTES_PER_MB {
        warnings.push(Warning::LowMemory);
    } else if input.memory_bytes > 100 * BYTES_PER_GB {
        warnings.push(Warning::HighMemory);
    }
    if wal_compression == Some("lz4") {
        warnings.push(Warning::WalCompressionLz4);
    }
    if io_uring {
        warnings.push(Warning::IoMethodIoUring);
    }
    if wl == Dw && input.storage != Storage::Hdd && db_size != DbSize::LessThanRam {
        warnings.push(Warning::DwCostDefaults(input.storage));
    }
    warnings.extend(range_warnings(input));

    Tuning {
        settings: s,
        warnings,
    }
}

/// The `formula` text of work_mem. Every division rounds down.
fn work_mem_formula(wl: Workload, db_size: DbSize) -> &'static str {
    macro_rules! f {
        ($div:literal, $factor:literal) => {
            concat!(
                "(memory - shared_buffers) / ((max_connections + max_worker_processes) * 3)",
                $div,
                $factor,
                ", at least 4MB"
            )
        };
    }
    use DbSize::{GreaterThanRam, LessThanRam, MidRam};
    use Workload::{Desktop, Dw, Mixed, Oltp, Web};
    match (wl, db_size) {
        (Web | Oltp, MidRam) => f!("", ""),
        (Web | Oltp, LessThanRam) => f!("", " * 1.3"),
        (Web | Oltp, GreaterThanRam) => f!("", " * 0.9"),
        (Dw | Mixed, MidRam) => f!(" / 2", ""),
        (Dw | Mixed, LessThanRam) => f!(" / 2", " * 1.3"),
        (Dw | Mixed, GreaterThanRam) => f!(" / 2", " * 0.9"),
        (Desktop, MidRam) => f!(" / 6", ""),
        (Desktop, LessThanRam) => f!(" / 6", " * 1.3"),
        (Desktop, GreaterThanRam) => f!(" / 6", " * 0.9"),
    }
}

/// This module's own notes for inputs PGTune's form (validation.js) rejects.
fn range_warnings(input: &TuningInput) -> Vec<Warning> {
    const MAX_NUMERIC: u64 = 999_999;
    let mut out = Vec::new();
    let note = |what: String| {
        Warning::OutsidePgtuneRange(format!(
            "{what}; PGTune does not accept this, its formulas were applied unchanged"
        ))
    };
    if input.memory_bytes < 512 * BYTES_PER_MB {
        out.push(note(format!(
            "memory {} is below PGTune's minimum of 512 MB",
            human_kb(input.memory_bytes / 1024)
        )));
    } else if input.memory_bytes / 1024 > MAX_NUMERIC * 1024 * KB_PER_GB {
        out.push(note(format!(
            "memory {} is above PGTune's maximum of 999999 TB",
            human_kb(input.memory_bytes / 1024)
        )));
    }
    if u64::from(input.cores) > MAX_NUMERIC {
        out.push(note(format!(
            "{} cores is above PGTune's maximum of 999999",
            input.cores
        )));
    }
    if let Some(n) = input.max_connections {
        if n > 0 && n < 20 {
            out.push(note(format!(
                "max_connections {n} is below PGTune's minimum of 20"
            )));
        } else if u64::from(n) > MAX_NUMERIC {
            out.push(note(format!(
                "max_connections {n} is above PGTune's maximum of 999999"
            )));
        }
    }
    if !(10..=18).contains(&input.major_version) {
        out.push(note(format!(
            "PostgreSQL {} is outside PGTune's supported versions 10-18",
            input.major_version
        )));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1024 * 1024 * 1024;
    const MIB: u64 = 1024 * 1024;

    fn input(
        memory_bytes: u64,
        cores: u32,
        storage: Storage,
        workload: Workload,
        major_version: u32,
    ) -> TuningInput {
        TuningInput {
            memory_bytes,
            cores,
            storage,
            workload,
            major_version,
            max_connections: None,
        }
    }

    /// `name = value` pairs of the whole recommendation, in order.
    fn pairs(t: &Tuning) -> Vec<(String, String)> {
        t.settings
            .iter()
            .map(|d| (d.name.to_string(), d.value.render()))
            .collect()
    }

    fn assert_conf(t: &Tuning, expected: &[(&str, &str)]) {
        let got = pairs(t);
        let want: Vec<(String, String)> = expected
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        assert_eq!(got, want);
    }

    fn val(t: &Tuning, name: &str) -> String {
        t.get(name)
            .unwrap_or_else(|| panic!("{name} missing"))
            .value
            .render()
    }

    /// PGTune's worked example: 16 GB, 4 CPUs, web, SSD, PostgreSQL 15.
    /// memory = 16777216 kB; shared_buffers = /4 = 4194304 kB = 4GB;
    /// effective_cache_size = *3/4 = 12GB; maintenance_work_mem = /16 = 1GB;
    /// wal_buffers = 3% of 4GB = 125829 kB -> cap 16MB;
    /// work_mem = (16777216 - 4194304) / ((200 + 4) * 3) = 12582912 / 612
    /// = 20560.3 -> 20560kB; huge_pages try (4GB >= 2GB); jit off (web, 12+);
    /// wal_compression lz4 (15+); parallel: 4, ceil(4/2)=2, 4, 2.
    #[test]
    fn pgtune_worked_example_16gb_web_ssd_pg15() {
        let t = tune(&input(16 * GIB, 4, Storage::Ssd, Workload::Web, 15));
        assert_conf(
            &t,
            &[
                ("max_connections", "200"),
                ("shared_buffers", "4GB"),
                ("effective_cache_size", "12GB"),
                ("maintenance_work_mem", "1GB"),
                ("checkpoint_completion_target", "0.9"),
                ("wal_buffers", "16MB"),
                ("default_statistics_target", "100"),
                ("random_page_cost", "1.1"),
                ("effective_io_concurrency", "200"),
                ("work_mem", "20560kB"),
                ("huge_pages", "try"),
                ("jit", "off"),
                ("wal_compression", "lz4"),
                ("min_wal_size", "1GB"),
                ("max_wal_size", "4GB"),
                ("max_worker_processes", "4"),
                ("max_parallel_workers_per_gather", "2"),
                ("max_parallel_workers", "4"),
                ("max_parallel_maintenance_workers", "2"),
            ],
        );
        assert_eq!(t.max_connections(), 200);
        assert_eq!(t.warnings, vec![Warning::WalCompressionLz4]);
        assert_eq!(
            t.pgtune_warning_lines(),
            vec![
                "WARNING",
                "wal_compression = lz4 requires PostgreSQL",
                "to be compiled with --with-lz4"
            ]
        );
        let wm = t.get("work_mem").unwrap();
        assert_eq!(
            wm.formula,
            "(memory - shared_buffers) / ((max_connections + max_worker_processes) * 3), at least 4MB"
        );
        assert!(
            wm.inputs.starts_with(
                "(memory 16 GiB - shared_buffers 4 GiB) / ((200 + 4) * 3) (web) = 20560 kB"
            ),
            "{}",
            wm.inputs
        );
        assert_eq!(
            t.get("shared_buffers").unwrap().inputs,
            "memory 16 GiB / 4 (web)"
        );
    }

    /// 64 GB, 16 cores, dw, HDD, PostgreSQL 16. memory = 67108864 kB.
    /// max_connections 40 (dw); shared_buffers /4 = 16GB; ecs *3/4 = 48GB;
    /// maintenance_work_mem /8 = 8388608 kB = exactly the 8GB cap;
    /// wal_buffers 503316 kB -> 16MB; default_statistics_target 500;
    /// random_page_cost 4 (hdd); effective_io_concurrency 2 (hdd);
    /// work_mem = (67108864 - 16777216) / ((40 + 16) * 3) / 2
    /// = 50331648 / 168 / 2 = 149796.57 -> 149796kB; huge_pages try;
    /// no jit (dw); lz4; autovacuum_max_workers 4 (16 cores);
    /// autovacuum_work_mem 2GB (8GB >= 2GB); wal 4GB/16GB;
    /// parallel 16, ceil(16/2)=8 (dw: no cap of 4), 16, min(8,4)=4.
    /// No dw cost warning: storage is HDD.
    #[test]
    fn dw_64gb_16_cores_hdd_pg16() {
        let t = tune(&input(64 * GIB, 16, Storage::Hdd, Workload::Dw, 16));
        assert_conf(
            &t,
            &[
                ("max_connections", "40"),
                ("shared_buffers", "16GB"),
                ("effective_cache_size", "48GB"),
                ("maintenance_work_mem", "8GB"),
                ("checkpoint_completion_target", "0.9"),
                ("wal_buffers", "16MB"),
                ("default_statistics_target", "500"),
                ("random_page_cost", "4"),
                ("effective_io_concurrency", "2"),
                ("work_mem", "149796kB"),
                ("huge_pages", "try"),
                ("wal_compression", "lz4"),
                ("autovacuum_max_workers", "4"),
                ("autovacuum_work_mem", "2GB"),
                ("min_wal_size", "4GB"),
                ("max_wal_size", "16GB"),
                ("max_worker_processes", "16"),
                ("max_parallel_workers_per_gather", "8"),
                ("max_parallel_workers", "16"),
                ("max_parallel_maintenance_workers", "4"),
            ],
        );
        assert_eq!(t.warnings, vec![Warning::WalCompressionLz4]);
    }

    /// 2 GB, 1 core, oltp, SSD, PostgreSQL 13. memory = 2097152 kB.
    /// max_connections 300; shared_buffers 524288 kB = 512MB;
    /// ecs 1572864 kB = 1536MB (not a whole GB); maintenance 131072 = 128MB;
    /// wal_buffers = 3 * 524288 / 100 = 15728 kB: between 14MB and 16MB, so
    /// rounded up to 16MB; work_mem: 1 core -> no parallel settings and
    /// max_worker_processes taken as 8: 1572864 / ((300 + 8) * 3) = 1702 kB,
    /// below 4MB so 4MB; huge_pages off; jit off; wal_compression on (13);
    /// wal sizes 2GB/8GB (oltp).
    #[test]
    fn oltp_2gb_1_core_pg13() {
        let t = tune(&input(2 * GIB, 1, Storage::Ssd, Workload::Oltp, 13));
        assert_conf(
            &t,
            &[
                ("max_connections", "300"),
                ("shared_buffers", "512MB"),
                ("effective_cache_size", "1536MB"),
                ("maintenance_work_mem", "128MB"),
                ("checkpoint_completion_target", "0.9"),
                ("wal_buffers", "16MB"),
                ("default_statistics_target", "100"),
                ("random_page_cost", "1.1"),
                ("effective_io_concurrency", "200"),
                ("work_mem", "4MB"),
                ("huge_pages", "off"),
                ("jit", "off"),
                ("wal_compression", "on"),
                ("min_wal_size", "2GB"),
                ("max_wal_size", "8GB"),
            ],
        );
        assert!(t.warnings.is_empty());
        assert!(t.pgtune_warning_lines().is_empty());
        let wb = t.get("wal_buffers").unwrap();
        assert!(wb.inputs.contains("rounded up to 16 MiB"), "{}", wb.inputs);
        let wm = t.get("work_mem").unwrap();
        assert!(wm.inputs.contains("= 1702 kB"), "{}", wm.inputs);
        assert!(wm.inputs.contains("4 MiB minimum"), "{}", wm.inputs);
    }

    /// 4 GB, 2 cores, mixed, SAN, PostgreSQL 12. memory = 4194304 kB.
    /// max_connections 100; shared_buffers 1GB; ecs 3GB; maintenance 256MB;
    /// wal_buffers 31457 kB -> 16MB cap; random_page_cost 1.1; eio 300 (san);
    /// work_mem = 3145728 / ((100 + 8) * 3) / 2 = 3145728 / 648 = 4854.5
    /// -> 4854kB; huge_pages off (1GB < 2GB); jit off (mixed, 12);
    /// wal_compression on (12 < 15); wal 1GB/4GB; 2 cores: no parallel.
    #[test]
    fn mixed_4gb_2_cores_san_pg12() {
        let t = tune(&input(4 * GIB, 2, Storage::San, Workload::Mixed, 12));
        assert_conf(
            &t,
            &[
                ("max_connections", "100"),
                ("shared_buffers", "1GB"),
                ("effective_cache_size", "3GB"),
                ("maintenance_work_mem", "256MB"),
                ("checkpoint_completion_target", "0.9"),
                ("wal_buffers", "16MB"),
                ("default_statistics_target", "100"),
                ("random_page_cost", "1.1"),
                ("effective_io_concurrency", "300"),
                ("work_mem", "4854kB"),
                ("huge_pages", "off"),
                ("jit", "off"),
                ("wal_compression", "on"),
                ("min_wal_size", "1GB"),
                ("max_wal_size", "4GB"),
            ],
        );
        assert!(t.warnings.is_empty());
    }

    /// 8 GB, 4 cores, desktop, NVMe, PostgreSQL 17. memory = 8388608 kB.
    /// max_connections 20; shared_buffers /16 = 512MB; ecs /4 = 2GB;
    /// maintenance /16 = 512MB; wal_buffers 15728 kB -> rounded up to 16MB;
    /// eio 1000 (nvme); work_mem = (8388608 - 524288) / ((20 + 4) * 3) / 6
    /// = 7864320 / 432 = 18204.4 -> 18204kB; huge_pages off; no jit
    /// (desktop); lz4; wal 100MB/2GB; parallel 4/2/4/2; wal_level minimal,
    /// max_wal_senders 0.
    #[test]
    fn desktop_8gb_nvme_pg17() {
        let t = tune(&input(8 * GIB, 4, Storage::Nvme, Workload::Desktop, 17));
        assert_conf(
            &t,
            &[
                ("max_connections", "20"),
                ("shared_buffers", "512MB"),
                ("effective_cache_size", "2GB"),
                ("maintenance_work_mem", "512MB"),
                ("checkpoint_completion_target", "0.9"),
                ("wal_buffers", "16MB"),
                ("default_statistics_target", "100"),
                ("random_page_cost", "1.1"),
                ("effective_io_concurrency", "1000"),
                ("work_mem", "18204kB"),
                ("huge_pages", "off"),
                ("wal_compression", "lz4"),
                ("min_wal_size", "100MB"),
                ("max_wal_size", "2GB"),
                ("max_worker_processes", "4"),
                ("max_parallel_workers_per_gather", "2"),
                ("max_parallel_workers", "4"),
                ("max_parallel_maintenance_workers", "2"),
                ("wal_level", "minimal"),
                ("max_wal_senders", "0"),
            ],
        );
    }

    /// 128 GB, 32 cores, dw, NVMe, PostgreSQL 17. memory = 134217728 kB.
    /// shared_buffers 32GB; ecs 96GB; maintenance /8 = 16GB -> capped 8GB;
    /// random_page_cost 4 (dw, not fitting in RAM); eio 1000;
    /// work_mem = (134217728 - 33554432) / ((40 + 32) * 3) / 2
    /// = 100663296 / 432 = 233016.9 -> 233016kB; autovacuum_max_workers 5
    /// (>= 32 cores); autovacuum_work_mem 2GB; parallel 32, 16 (dw), 32, 4.
    /// Warnings: very high memory (> 100GB), lz4, dw cost on NVMe.
    #[test]
    fn dw_128gb_32_cores_nvme_caps_and_warnings() {
        let t = tune(&input(128 * GIB, 32, Storage::Nvme, Workload::Dw, 17));
        assert_conf(
            &t,
            &[
                ("max_connections", "40"),
                ("shared_buffers", "32GB"),
                ("effective_cache_size", "96GB"),
                ("maintenance_work_mem", "8GB"),
                ("checkpoint_completion_target", "0.9"),
                ("wal_buffers", "16MB"),
                ("default_statistics_target", "500"),
                ("random_page_cost", "4"),
                ("effective_io_concurrency", "1000"),
                ("work_mem", "233016kB"),
                ("huge_pages", "try"),
                ("wal_compression", "lz4"),
                ("autovacuum_max_workers", "5"),
                ("autovacuum_work_mem", "2GB"),
                ("min_wal_size", "4GB"),
                ("max_wal_size", "16GB"),
                ("max_worker_processes", "32"),
                ("max_parallel_workers_per_gather", "16"),
                ("max_parallel_workers", "32"),
                ("max_parallel_maintenance_workers", "4"),
            ],
        );
        let mwm = t.get("maintenance_work_mem").unwrap();
        assert_eq!(mwm.formula, "min(memory / 8, 8GB)");
        assert!(mwm.inputs.contains("= 16 GiB, capped at 8 GiB"));
        assert_eq!(
            t.pgtune_warning_lines(),
            vec![
                "WARNING",
                "this tool not being optimal",
                "for very high memory systems",
                "",
                "wal_compression = lz4 requires PostgreSQL",
                "to be compiled with --with-lz4",
                "",
                "Cost parameters for Data Warehouses on NVMe drives are left at defaults",
                "to avoid catastrophic index scan selections",
                "Monitor query planner behavior and adjust random_page_cost if necessary",
            ]
        );
    }

    /// Same machine with PGTune's "DB Size vs RAM" choices:
    /// less_ram: random_page_cost 1.1, no dw cost warning,
    /// work_mem floor(233016 * 1.3) = 302920kB;
    /// greater_ram: work_mem floor(233016 * 0.9) = 209714kB.
    #[test]
    fn db_size_choices() {
        let i = input(128 * GIB, 32, Storage::Nvme, Workload::Dw, 17);
        let less = tune_with(&i, DbSize::LessThanRam);
        assert_eq!(val(&less, "work_mem"), "302920kB");
        assert_eq!(val(&less, "random_page_cost"), "1.1");
        assert!(!less
            .warnings
            .iter()
            .any(|w| matches!(w, Warning::DwCostDefaults(_))));
        let greater = tune_with(&i, DbSize::GreaterThanRam);
        assert_eq!(val(&greater, "work_mem"), "209714kB");
        assert_eq!(val(&greater, "random_page_cost"), "4");
        // HDD with a database that fits in RAM: 1.1 (PGTune test).
        let hdd = input(16 * GIB, 4, Storage::Hdd, Workload::Web, 15);
        assert_eq!(
            val(&tune_with(&hdd, DbSize::LessThanRam), "random_page_cost"),
            "1.1"
        );
        assert_eq!(val(&tune(&hdd), "random_page_cost"), "4");
        // dw on SSD not fitting in RAM: 4 and a warning naming SSDs.
        let t = tune(&input(16 * GIB, 4, Storage::Ssd, Workload::Dw, 15));
        assert_eq!(val(&t, "random_page_cost"), "4");
        assert!(t.pgtune_warning_lines().contains(
            &"Cost parameters for Data Warehouses on SSDs are left at defaults".to_string()
        ));
    }

    /// PGTune test: 4GB web with 9999 connections and 4 CPUs floors work_mem
    /// to 4MB: (4194304 - 1048576) / ((9999 + 4) * 3) = 104 kB -> 4096 kB.
    /// Declared connections replace the default.
    #[test]
    fn declared_connections_and_work_mem_floor() {
        let mut i = input(4 * GIB, 4, Storage::Ssd, Workload::Web, 15);
        i.max_connections = Some(9999);
        let t = tune(&i);
        assert_eq!(t.max_connections(), 9999);
        assert_eq!(val(&t, "work_mem"), "4MB");
        // Some(0) is PGTune's falsy connection count: the default applies.
        i.max_connections = Some(0);
        assert_eq!(tune(&i).max_connections(), 200);
        // 256GB web with 20 connections: (268435456 - 67108864) / ((20 + 4) * 3)
        // = 2796202 kB (PGTune's own test value for PostgreSQL 18).
        let mut big = input(256 * GIB, 4, Storage::Ssd, Workload::Web, 18);
        big.max_connections = Some(20);
        assert_eq!(val(&tune(&big), "work_mem"), "2796202kB");
    }

    /// Version-dependent settings: parallel_workers from 10,
    /// parallel_maintenance_workers from 11, jit from 12, lz4 from 15,
    /// io_method = io_uring from 18. 12 cores web: ceil(12/2)=6 capped at 4.
    #[test]
    fn version_cutoffs() {
        let names = |v: u32| -> Vec<&'static str> {
            tune(&input(16 * GIB, 12, Storage::Ssd, Workload::Web, v))
                .settings
                .iter()
                .map(|d| d.name)
                .collect()
        };
        let v9 = names(9);
        assert!(v9.contains(&"max_worker_processes"));
        assert!(!v9.contains(&"max_parallel_workers"));
        assert!(!v9.contains(&"wal_compression"));
        let v10 = names(10);
        assert!(v10.contains(&"max_parallel_workers"));
        assert!(!v10.contains(&"max_parallel_maintenance_workers"));
        let v11 = names(11);
        assert!(v11.contains(&"max_parallel_maintenance_workers"));
        assert!(!v11.contains(&"jit"));
        assert!(names(12).contains(&"jit"));
        for v in 12..=17 {
            assert!(!names(v).contains(&"io_method"));
        }
        let t14 = tune(&input(16 * GIB, 12, Storage::Ssd, Workload::Web, 14));
        assert_eq!(val(&t14, "wal_compression"), "on");
        assert!(t14.warnings.is_empty());
        let t18 = tune(&input(16 * GIB, 12, Storage::Ssd, Workload::Web, 18));
        assert_eq!(val(&t18, "wal_compression"), "lz4");
        assert_eq!(val(&t18, "io_method"), "io_uring");
        assert!(t18.get("io_workers").is_none());
        assert_eq!(
            t18.warnings,
            vec![Warning::WalCompressionLz4, Warning::IoMethodIoUring]
        );
        assert_eq!(val(&t18, "max_parallel_workers_per_gather"), "4");
        assert_eq!(val(&t18, "max_parallel_maintenance_workers"), "4");
        assert_eq!(val(&t18, "max_parallel_workers"), "12");
    }

    /// wal_buffers: 3% of shared_buffers, capped at 16MB, 14-16MB rounded up,
    /// at least 32kB.
    #[test]
    fn wal_buffers_rules() {
        let wal = |mem: u64| {
            val(
                &tune(&input(mem, 4, Storage::Ssd, Workload::Web, 15)),
                "wal_buffers",
            )
        };
        // 1GB: sb 262144 kB -> 7864 kB, kept as is.
        assert_eq!(wal(GIB), "7864kB");
        // 1900MB: sb 486400 kB -> 14592 kB (> 14336) -> 16MB.
        assert_eq!(wal(1900 * MIB), "16MB");
        // 1800MB: sb 460800 kB -> 13824 kB (<= 14336) -> unchanged.
        assert_eq!(wal(1800 * MIB), "13824kB");
        // 3GB: sb 786432 kB -> 23592 kB -> capped 16MB.
        assert_eq!(wal(3 * GIB), "16MB");
        // 4MB: sb 1024 kB -> 30 kB -> minimum 32kB.
        assert_eq!(wal(4 * MIB), "32kB");
    }

    #[test]
    fn rendering_of_units_and_numbers() {
        assert_eq!(SettingValue::MemoryKb(4 * 1024 * 1024).render(), "4GB");
        assert_eq!(SettingValue::MemoryKb(16 * 1024).render(), "16MB");
        assert_eq!(SettingValue::MemoryKb(1536 * 1024).render(), "1536MB");
        assert_eq!(SettingValue::MemoryKb(20560).render(), "20560kB");
        assert_eq!(SettingValue::MemoryKb(32).render(), "32kB");
        assert_eq!(SettingValue::MemoryKb(0).render(), "0GB");
        assert_eq!(SettingValue::Float(0.9).render(), "0.9");
        assert_eq!(SettingValue::Float(1.1).render(), "1.1");
        assert_eq!(SettingValue::Float(4.0).render(), "4");
        assert_eq!(SettingValue::Integer(200).render(), "200");
        assert_eq!(SettingValue::Text("try").to_string(), "try");
        let t = tune(&input(16 * GIB, 4, Storage::Ssd, Workload::Web, 15));
        assert_eq!(t.conf_lines()[1], "shared_buffers = 4GB");
    }

    #[test]
    fn low_memory_warning_and_zero_inputs_do_not_panic() {
        let mut i = input(0, 0, Storage::Hdd, Workload::Desktop, 0);
        i.max_connections = Some(0);
        let t = tune(&i);
        assert_eq!(val(&t, "shared_buffers"), "0GB");
        assert_eq!(val(&t, "wal_buffers"), "32kB");
        assert_eq!(val(&t, "work_mem"), "4MB");
        assert_eq!(t.max_connections(), 20);
        assert!(t.get("max_worker_processes").is_none());
        assert!(t.get("autovacuum_max_workers").is_none());
        assert_eq!(t.warnings[0], Warning::LowMemory);
        assert!(t.warnings.iter().any(|w| !w.is_pgtune()));
        assert_eq!(
            t.pgtune_warning_lines(),
            vec![
                "WARNING",
                "this tool not being optimal",
                "for low memory systems"
            ]
        );
        // 255 MB: PGTune's low memory warning; 300MB: only our range note.
        let t = tune(&input(255 * MIB, 1, Storage::Ssd, Workload::Web, 15));
        assert_eq!(t.warnings[0], Warning::LowMemory);
        let t = tune(&input(300 * MIB, 1, Storage::Ssd, Workload::Web, 15));
        assert!(!t.warnings.contains(&Warning::LowMemory));
        assert!(matches!(
            t.warnings.last(),
            Some(Warning::OutsidePgtuneRange(_))
        ));
        // 100GB exactly is not "very high"; 100GB + 1MB is.
        let t = tune(&input(100 * GIB, 8, Storage::Ssd, Workload::Web, 14));
        assert!(t.warnings.is_empty());
        let t = tune(&input(100 * GIB + MIB, 8, Storage::Ssd, Workload::Web, 14));
        assert_eq!(t.warnings, vec![Warning::HighMemory]);
    }

    #[test]
    fn huge_inputs_do_not_panic() {
        for wl in [
            Workload::Web,
            Workload::Oltp,
            Workload::Dw,
            Workload::Mixed,
            Workload::Desktop,
        ] {
            for storage in [Storage::Hdd, Storage::Ssd, Storage::Nvme, Storage::San] {
                for db in [DbSize::LessThanRam, DbSize::MidRam, DbSize::GreaterThanRam] {
                    let i = TuningInput {
                        memory_bytes: u64::MAX,
                        cores: u32::MAX,
                        storage,
                        workload: wl,
                        major_version: u32::MAX,
                        max_connections: Some(u32::MAX),
                    };
                    let t = tune_with(&i, db);
                    assert_eq!(val(&t, "maintenance_work_mem"), "8GB");
                    assert_eq!(val(&t, "wal_buffers"), "16MB");
                    assert_eq!(t.max_connections(), u64::from(u32::MAX));
                    assert_eq!(val(&t, "max_worker_processes"), u32::MAX.to_string());
                    for d in &t.settings {
                        assert!(!d.value.render().is_empty());
                    }
                }
            }
        }
        // Largest memory with few connections: shared_buffers = floor(kB / 4).
        let t = tune(&input(u64::MAX, 4, Storage::Ssd, Workload::Web, 15));
        assert_eq!(
            t.get("shared_buffers").unwrap().value,
            SettingValue::MemoryKb(u64::MAX / 1024 / 4)
        );
        assert_eq!(
            t.get("effective_cache_size").unwrap().value,
            SettingValue::MemoryKb(u64::MAX / 1024 * 3 / 4)
        );
    }

    /// A line-by-line f64 copy of PGTune's JavaScript (Linux branch) for
    /// work_mem, wal_buffers and effective_cache_size, to check that the
    /// integer arithmetic gives the same numbers.
    fn js_work_mem(mem_kb: f64, sb: f64, conn: f64, workers: f64, wl: Workload, db: DbSize) -> f64 {
        let x = (mem_kb - sb) / ((conn + workers) * 3.0);
        let mut r = match wl {
            Workload::Web | Workload::Oltp => x.floor(),
            Workload::Dw | Workload::Mixed => (x / 2.0).floor(),
            Workload::Desktop => (x / 6.0).floor(),
        };
        match db {
            DbSize::LessThanRam => r = (r * 1.3).floor(),
            DbSize::GreaterThanRam => r = (r * 0.9).floor(),
            DbSize::MidRam => {}
        }
        r.max(4096.0)
    }

    #[test]
    fn integer_math_matches_pgtune_float_math() {
        let wls = [
            Workload::Web,
            Workload::Oltp,
            Workload::Dw,
            Workload::Mixed,
            Workload::Desktop,
        ];
        let dbs = [DbSize::LessThanRam, DbSize::MidRam, DbSize::GreaterThanRam];
        // Memory from 512MB to ~2TB in uneven MB steps, various cores/connections.
        let mut mem_mb: u64 = 512;
        while mem_mb < 2 * 1024 * 1024 {
            for (cores, conn) in [
                (0u32, None),
                (3, Some(20)),
                (4, None),
                (7, Some(333)),
                (48, Some(5000)),
            ] {
                for wl in wls {
                    for db in dbs {
                        let i = TuningInput {
                            memory_bytes: mem_mb * MIB,
                            cores,
                            storage: Storage::Ssd,
                            workload: wl,
                            major_version: 16,
                            max_connections: conn,
                        };
                        let t = tune_with(&i, db);
                        let kb = (mem_mb * 1024) as f64;
                        let sb = if wl == Workload::Desktop {
                            (kb / 16.0).floor()
                        } else {
                            (kb / 4.0).floor()
                        };
                        let workers = if cores >= 4 { f64::from(cores) } else { 8.0 };
                        let want = js_work_mem(kb, sb, t.max_connections() as f64, workers, wl, db);
                        assert_eq!(
                            t.get("work_mem").unwrap().value,
                            SettingValue::MemoryKb(want as u64),
                            "{mem_mb}MB {cores} cores {conn:?} {wl:?} {db:?}"
                        );
                        let mut wal = (3.0 * sb / 100.0).floor().min(16384.0);
                        if wal > 14336.0 && wal < 16384.0 {
                            wal = 16384.0;
                        }
                        let wal = wal.max(32.0);
                        assert_eq!(
                            t.get("wal_buffers").unwrap().value,
                            SettingValue::MemoryKb(wal as u64)
                        );
                        let ecs = if wl == Workload::Desktop {
                            (kb / 4.0).floor()
                        } else {
                            (kb * 3.0 / 4.0).floor()
                        };
                        assert_eq!(
                            t.get("effective_cache_size").unwrap().value,
                            SettingValue::MemoryKb(ecs as u64)
                        );
                    }
                }
            }
            mem_mb = mem_mb * 21 / 20 + 7;
        }
    }

    #[test]
    fn every_setting_is_explained() {
        let t = tune(&input(32 * GIB, 16, Storage::San, Workload::Oltp, 16));
        for d in &t.settings {
            assert!(!d.formula.is_empty(), "{}", d.name);
            assert!(!d.inputs.is_empty(), "{}", d.name);
        }
        // Names are unique.
        let mut names: Vec<_> = t.settings.iter().map(|d| d.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), t.settings.len());
    }
}
