//! The exposure budget of a systemd service unit: the highest overall score
//! `systemd-analyze security --offline=yes` may give it (0.0 locked down,
//! 10.0 everything allowed). The compiler records each unit kind's budget in
//! the manifest; `gen check` scores the unit and compares.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A score of `systemd-analyze security`, in tenths (the precision it prints),
/// so budgets compare exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Exposure(u8);

impl Exposure {
    /// The highest score systemd gives.
    pub const MAX: Exposure = Exposure(100);

    /// `tenths` / 10, e.g. `Exposure::tenths(45)` is 4.5; `None` above 10.0.
    pub const fn tenths(tenths: u8) -> Option<Exposure> {
        if tenths <= 100 {
            Some(Exposure(tenths))
        } else {
            None
        }
    }

    /// A score as systemd prints it (`4.5`); `None` for anything else.
    pub fn parse(text: &str) -> Option<Exposure> {
        let (whole, tenth) = text.trim().split_once('.')?;
        if whole.is_empty() || whole.len() > 2 || tenth.len() != 1 {
            return None;
        }
        let whole: u8 = whole.parse().ok()?;
        let tenth: u8 = tenth.parse().ok()?;
        Exposure::tenths(whole.checked_mul(10)?.checked_add(tenth)?)
    }

    fn as_f64(self) -> f64 {
        f64::from(self.0) / 10.0
    }
}

impl fmt::Display for Exposure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0 / 10, self.0 % 10)
    }
}

impl Serialize for Exposure {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.as_f64())
    }
}

impl<'de> Deserialize<'de> for Exposure {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = f64::deserialize(deserializer)?;
        let tenths = (value * 10.0).round();
        if !(0.0..=100.0).contains(&tenths) || (value * 10.0 - tenths).abs() > 1e-6 {
            return Err(serde::de::Error::custom(format!(
                "an exposure score is 0.0 to 10.0 in tenths, not {value}"
            )));
        }
        // In range and whole: the cast is exact.
        Ok(Exposure(tenths as u8))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_systemd_prints_and_nothing_else() {
        assert_eq!(Exposure::parse("4.5"), Exposure::tenths(45));
        assert_eq!(Exposure::parse("10.0"), Some(Exposure::MAX));
        assert_eq!(
            Exposure::parse("0.1").map(|e| e.to_string()),
            Some("0.1".into())
        );
        for bad in ["", "4", "4.55", "10.1", "-1.0", "x.5", "100.0", ".5"] {
            assert_eq!(Exposure::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn round_trips_through_json_as_a_number() {
        let budget = Exposure::tenths(35).unwrap();
        let json = serde_json::to_string(&budget).unwrap();
        assert_eq!(json, "3.5");
        assert_eq!(serde_json::from_str::<Exposure>(&json).unwrap(), budget);
        assert!(serde_json::from_str::<Exposure>("3.55").is_err());
        assert!(serde_json::from_str::<Exposure>("11").is_err());
    }
}
