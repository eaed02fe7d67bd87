//! Live Platform license types and which of them have an end-user list.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The `LicenseType` of a service, as the Live Platform API numbers it (0 Hosted Essentials to
/// 5 Operator Connect Pro; see `docs/decisions.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub enum LicenseType {
    HostedEssentials = 0,
    HostedEssentialsPlus = 1,
    HostedPro = 2,
    OcEssentials = 3,
    OcEssentialsPlus = 4,
    OcPro = 5,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("license type {0} does not exist; valid values are 0 to 5")]
pub struct UnknownLicenseType(pub i64);

impl LicenseType {
    pub fn code(self) -> i64 {
        self as i64
    }

    /// Essentials services keep their users in the customer's Teams admin center, so the
    /// platform has no list of them; only Essentials Plus and Pro do.
    pub fn has_end_users(self) -> bool {
        !matches!(self, Self::HostedEssentials | Self::OcEssentials)
    }

    pub fn display_name(self) -> &'static str {
        match self {
            Self::HostedEssentials => "Hosted Essentials",
            Self::HostedEssentialsPlus => "Hosted Essentials Plus",
            Self::HostedPro => "Hosted Pro",
            Self::OcEssentials => "OC Essentials",
            Self::OcEssentialsPlus => "OC Essentials Plus",
            Self::OcPro => "OC Pro",
        }
    }
}

/// A license change across product families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Invalid change for License Type!")]
pub struct LicenseChangeRefused;

impl LicenseType {
    /// Hosted (0-2) and Operator Connect (3-5) are different products: a license moves within
    /// its family, never across it. (The message is the original's.)
    pub fn may_change_to(self, to: LicenseType) -> Result<(), LicenseChangeRefused> {
        if (self.code() <= 2) == (to.code() <= 2) {
            Ok(())
        } else {
            Err(LicenseChangeRefused)
        }
    }
}

impl TryFrom<i64> for LicenseType {
    type Error = UnknownLicenseType;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Ok(match value {
            0 => Self::HostedEssentials,
            1 => Self::HostedEssentialsPlus,
            2 => Self::HostedPro,
            3 => Self::OcEssentials,
            4 => Self::OcEssentialsPlus,
            5 => Self::OcPro,
            other => return Err(UnknownLicenseType(other)),
        })
    }
}

impl From<LicenseType> for i64 {
    fn from(value: LicenseType) -> Self {
        value.code()
    }
}

impl fmt::Display for LicenseType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.code(), self.display_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn license_moves_within_its_family() {
        use LicenseType::*;
        assert!(HostedEssentials.may_change_to(HostedPro).is_ok());
        assert!(OcEssentialsPlus.may_change_to(OcPro).is_ok());
        assert_eq!(HostedPro.may_change_to(OcPro), Err(LicenseChangeRefused));
        assert!(OcEssentials.may_change_to(HostedEssentialsPlus).is_err());
    }

    #[test]
    fn only_plus_and_pro_have_users() {
        let with: Vec<i64> = (0..=5)
            .filter(|c| LicenseType::try_from(*c).unwrap().has_end_users())
            .collect();
        assert_eq!(with, vec![1, 2, 4, 5]);
    }

    #[test]
    fn rejects_out_of_range() {
        assert!(LicenseType::try_from(6).is_err());
        assert!(LicenseType::try_from(-1).is_err());
    }
}
