//! Typed profile scalars that TOML spells as strings: sizes (`16GiB`), durations
//! (`30s`) and networks (`10.0.0.0/8`). Each parses strictly and renders in the
//! spelling of the file it ends up in.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use std::borrow::Cow;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

const KIB: u64 = 1024;
const MIB: u64 = KIB * 1024;
const GIB: u64 = MIB * 1024;
const TIB: u64 = GIB * 1024;

/// A number of bytes. Units are binary, as in PostgreSQL and most ops tooling:
/// `kB`/`KiB` = 1024, `MB`/`MiB` = 1024², `GB`/`GiB` = 1024³, `TB`/`TiB` = 1024⁴.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

impl ByteSize {
    pub fn bytes(self) -> u64 {
        self.0
    }

    /// The largest whole unit: `4GB`, `512MB`, `20560kB`, as PostgreSQL and
    /// PgBouncer spell memory (an odd byte count rounds up to whole kB).
    pub fn postgres(self) -> String {
        if !self.0.is_multiple_of(KIB) {
            return format!("{}kB", self.0.div_ceil(KIB));
        }
        largest_unit(
            self.0,
            &[(TIB, "TB"), (GIB, "GB"), (MIB, "MB"), (KIB, "kB")],
            "B",
        )
    }

    /// nginx spells sizes `10m`, `512k`.
    pub fn nginx(self) -> String {
        largest_unit(self.0, &[(GIB, "g"), (MIB, "m"), (KIB, "k")], "")
    }

    /// Docker compose spells memory `2g`, `512m`: same suffixes as nginx.
    pub fn compose(self) -> String {
        self.nginx()
    }

    /// systemd accepts `2G`, `512M` (binary).
    pub fn systemd(self) -> String {
        largest_unit(self.0, &[(GIB, "G"), (MIB, "M"), (KIB, "K")], "")
    }

    /// Redis spells memory `1gb`, `512mb` (binary with the `b` suffix).
    pub fn redis(self) -> String {
        largest_unit(self.0, &[(GIB, "gb"), (MIB, "mb"), (KIB, "kb")], "")
    }
}

/// A PostgreSQL memory setting as postgresql.conf holds it (`'64MB'`,
/// `8192`), in bytes. Units are PostgreSQL's: `B`, `kB`, `MB`, `GB`, `TB`
/// (binary, case-sensitive); a bare number counts the setting's own unit, 8kB
/// blocks for the buffer settings and kB for the rest. `None` for anything
/// else (`-1`, a value PostgreSQL itself would refuse).
pub fn postgres_memory(setting: &str, value: &str) -> Option<ByteSize> {
    let value = value.trim_matches('\'').trim();
    let digits_end = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(digits_end);
    if number.is_empty() || number.len() > 15 {
        return None;
    }
    let number: u64 = number.parse().ok()?;
    let factor = match unit.trim_start() {
        "" if matches!(
            setting,
            "shared_buffers" | "effective_cache_size" | "wal_buffers" | "temp_buffers"
        ) =>
        {
            8 * KIB
        }
        "" => KIB,
        "B" => 1,
        "kB" => KIB,
        "MB" => MIB,
        "GB" => GIB,
        "TB" => TIB,
        _ => return None,
    };
    number.checked_mul(factor).map(ByteSize)
}

/// `bytes` in the first (largest) unit that divides it exactly.
fn largest_unit(bytes: u64, units: &[(u64, &str)], bytes_suffix: &str) -> String {
    for (factor, suffix) in units {
        if bytes >= *factor && bytes.is_multiple_of(*factor) {
            return format!("{}{suffix}", bytes / factor);
        }
    }
    format!("{bytes}{bytes_suffix}")
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&largest_unit(
            self.0,
            &[(TIB, "TiB"), (GIB, "GiB"), (MIB, "MiB"), (KIB, "KiB")],
            "B",
        ))
    }
}

impl FromStr for ByteSize {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let expected = || format!("expected a size like `512MiB` or `16GiB`, found `{s}`");
        let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (number, unit) = s.split_at(digits_end);
        if number.is_empty() || number.len() > 15 {
            return Err(expected());
        }
        let number: u64 = number.parse().map_err(|_| expected())?;
        let factor = match unit.trim_start() {
            "B" => 1,
            "kB" | "KB" | "KiB" | "k" | "K" => KIB,
            "MB" | "MiB" | "M" => MIB,
            "GB" | "GiB" | "G" => GIB,
            "TB" | "TiB" | "T" => TIB,
            _ => return Err(expected()),
        };
        number
            .checked_mul(factor)
            .map(ByteSize)
            .ok_or_else(expected)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(de::Error::custom)
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A span of time in whole seconds, written `90s`, `5m`, `1h` or `7d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(pub u64);

impl Duration {
    pub fn seconds(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Duration {
    /// The shortest exact spelling, accepted alike by nginx, compose, systemd and
    /// Prometheus: `30s`, `5m`, `2h`, `1d`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        for (factor, unit) in [(86_400, "d"), (3600, "h"), (60, "m")] {
            if s != 0 && s.is_multiple_of(factor) {
                return write!(f, "{}{unit}", s / factor);
            }
        }
        write!(f, "{s}s")
    }
}

impl FromStr for Duration {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let expected =
            || format!("expected a duration like `30s`, `5m`, `1h` or `7d`, found `{s}`");
        let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (number, unit) = s.split_at(digits_end);
        if number.is_empty() || number.len() > 12 {
            return Err(expected());
        }
        let number: u64 = number.parse().map_err(|_| expected())?;
        let factor = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return Err(expected()),
        };
        number
            .checked_mul(factor)
            .map(Duration)
            .ok_or_else(expected)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(de::Error::custom)
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// An IP network in CIDR notation; a bare address means a single host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr {
    pub address: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    pub fn host(address: IpAddr) -> Cidr {
        let prefix = if address.is_ipv4() { 32 } else { 128 };
        Cidr { address, prefix }
    }

    /// Whether `ip` lies inside this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.address, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let expected =
            || format!("expected a network like `10.0.0.0/8` or an address, found `{s}`");
        let (address, prefix) = match s.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (s, None),
        };
        let address: IpAddr = address.parse().map_err(|_| expected())?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if p.len() <= 3 && p.chars().all(|c| c.is_ascii_digit()) => {
                p.parse::<u8>().map_err(|_| expected())?
            }
            Some(_) => return Err(expected()),
        };
        if prefix > max {
            return Err(expected());
        }
        let network = Cidr { address, prefix };
        // A network written with host bits set (10.0.0.1/8) is almost always a typo.
        let masked = match address {
            IpAddr::V4(a) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                IpAddr::V4((u32::from(a) & mask).into())
            }
            IpAddr::V6(a) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                IpAddr::V6((u128::from(a) & mask).into())
            }
        };
        if masked != address {
            return Err(format!(
                "`{s}` has host bits set; the network is `{masked}/{prefix}`"
            ));
        }
        Ok(network)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(de::Error::custom)
    }
}

impl Serialize for Cidr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl JsonSchema for ByteSize {
    fn schema_name() -> Cow<'static, str> {
        "Size".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^[0-9]{1,15} ?(B|k|K|kB|KB|KiB|M|MB|MiB|G|GB|GiB|T|TB|TiB)$",
            "description": "A size with a binary unit: `512MiB`, `16GiB` (`MB`, `GB` mean the same as `MiB`, `GiB`).",
            "examples": ["512MiB", "16GiB"]
        })
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^[0-9]{1,12}(s|m|h|d)$",
            "description": "A whole number of seconds, minutes, hours or days: `30s`, `5m`, `1h`, `7d`.",
            "examples": ["30s", "5m"]
        })
    }
}

/// The `pattern` of a network in the profile schema.
const CIDR_PATTERN: &str = concat!(
    r"^(((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(/0{0,2}(3[0-2]|[12]?[0-9]))?",
    r"|[0-9a-fA-F.]*:[0-9a-fA-F:.]*(/0{0,2}(12[0-8]|1[01][0-9]|[1-9]?[0-9]))?)$"
);

impl JsonSchema for Cidr {
    fn schema_name() -> Cow<'static, str> {
        "Network".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            // JSON Schema has no CIDR format: an IPv4 network exactly (four
            // octets of 0-255, a prefix of 0-32), an IPv6 one by its alphabet
            // (a prefix of 0-128); gen's parser has the last word on both.
            "pattern": CIDR_PATTERN,
            "description": "An IP network in CIDR notation (`10.0.0.0/8`), or a single address.",
            "examples": ["10.0.0.0/16"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_memory_settings_read_as_postgresql_reads_them() {
        let read = |setting, value| postgres_memory(setting, value).map(ByteSize::bytes);
        assert_eq!(read("effective_cache_size", "'64GB'"), Some(64 * GIB));
        assert_eq!(read("work_mem", "'512kB'"), Some(512 * KIB));
        assert_eq!(read("shared_buffers", "16384"), Some(128 * MIB));
        assert_eq!(read("maintenance_work_mem", "65536"), Some(64 * MIB));
        assert_eq!(read("autovacuum_work_mem", "-1"), None);
        assert_eq!(
            read("work_mem", "'64mb'"),
            None,
            "PostgreSQL units are case-sensitive"
        );
    }

    #[test]
    fn sizes_parse_binary_units_and_render_per_file_format() {
        let s: ByteSize = "16GiB".parse().expect("valid");
        assert_eq!(s.bytes(), 16 * GIB);
        assert_eq!("16GB".parse::<ByteSize>(), Ok(s));
        assert_eq!(s.postgres(), "16GB");
        assert_eq!(ByteSize(20560 * KIB).postgres(), "20560kB");
        assert_eq!(ByteSize(10 * MIB).nginx(), "10m");
        assert_eq!(ByteSize(2 * GIB).systemd(), "2G");
        assert_eq!(ByteSize(GIB).redis(), "1gb");
        assert_eq!(ByteSize(1536 * MIB).to_string(), "1536MiB");
    }

    #[test]
    fn sizes_reject_garbage_and_overflow() {
        for bad in [
            "",
            "GiB",
            "12",
            "1.5GiB",
            "-1GiB",
            "99999999999999TiB",
            "1 PiB",
            "1GiB;",
        ] {
            assert!(
                bad.parse::<ByteSize>().is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn durations_round_trip_in_the_shortest_unit() {
        assert_eq!("90s".parse::<Duration>(), Ok(Duration(90)));
        assert_eq!(Duration(300).to_string(), "5m");
        assert_eq!(Duration(86_400).to_string(), "1d");
        assert_eq!(Duration(0).to_string(), "0s");
        for bad in ["", "5", "5 m", "1w", "1.5h", "m"] {
            assert!(
                bad.parse::<Duration>().is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn networks_contain_their_addresses_only() {
        let net: Cidr = "10.0.0.0/8".parse().expect("valid");
        assert!(net.contains("10.1.2.3".parse().expect("ip")));
        assert!(!net.contains("11.0.0.1".parse().expect("ip")));
        let all: Cidr = "0.0.0.0/0".parse().expect("valid");
        assert!(all.contains("8.8.8.8".parse().expect("ip")));
        let host: Cidr = "10.0.1.10".parse().expect("valid");
        assert_eq!(host.to_string(), "10.0.1.10/32");
        assert!("10.0.0.1/8".parse::<Cidr>().is_err());
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("10.0.0.0/8 ; deny".parse::<Cidr>().is_err());
    }
}
