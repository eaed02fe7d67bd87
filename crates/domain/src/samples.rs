//! Sample data: the seed's example page and the demo tenant's 27 further users. Used by
//! `rosterd demo`, the golden test and benchmarks.

use serde::Deserialize;
use uuid::Uuid;

use crate::end_user::EndUser;

/// The seed's example page, kept in the repository.
pub const SEED_PAGE: &str = include_str!("../../../testdata/seed-example-page1.json");
/// The seed's tenant.
pub const DEMO_TENANT: Uuid = Uuid::from_u128(0x7e24d47c_eb72_439a_84e4_aea1bdb1eed9);
pub const DEMO_DOMAIN: &str = "M365x33712745.OnMicrosoft.com";
/// Users in the demo tenant, as in the seed's `totalRecords`.
pub const TOTAL_USERS: usize = 37;

#[derive(Deserialize)]
struct SeedPage {
    data: Vec<EndUser>,
}

/// The seed's ten users, in page order.
pub fn seed_users() -> Result<Vec<EndUser>, serde_json::Error> {
    serde_json::from_str::<SeedPage>(SEED_PAGE).map(|p| p.data)
}

/// The seed's ten users followed by 27 generated ones that sort after them.
pub fn demo_users() -> Result<Vec<EndUser>, serde_json::Error> {
    let mut users = seed_users()?;
    let first_names = [
        "Adele",
        "Alex",
        "Grady",
        "Henrietta",
        "Isaiah",
        "Johanna",
        "Lee",
        "Lidia",
        "Lynne",
        "Miriam",
        "Nestor",
        "Patti",
        "Pradeep",
        "Irvin",
        "Debra",
        "Christie",
        "Enrico",
        "Raul",
        "Sanjay",
        "Ben",
        "Emily",
        "Gerhart",
        "Kathy",
        "Lena",
        "Omar",
        "Quinn",
        "Tara",
    ];
    let departments = [Some("Sales"), Some("Finance"), None, Some("Operations"), Some("IT")];
    for (i, first) in first_names.iter().enumerate().take(TOTAL_USERS - users.len()) {
        // Leading bytes 0x50.. keep every generated id after the seed's last one (0x4adcbb3b...).
        let high = (0x50 + i as u128 * 6) << 120;
        let low = (0x1f3a_9c44_0000_4000_8000_0000_0000_0000u128).wrapping_add(i as u128 * 0x0101_0101_0101);
        let identity = Uuid::from_u128(high | (low & ((1u128 << 120) - 1)));
        let mut user = EndUser::new(identity);
        let alias = format!("{first}{}", (b'A' + (i % 26) as u8) as char);
        let teams = i % 3 != 2;
        user.web_name = Some(format!(
            "{first} {}",
            ["Vance", "Wilber", "Archie", "Cane", "Patel"][i % 5]
        ));
        user.user_principal_name = Some(format!("{alias}@{DEMO_DOMAIN}"));
        user.usage_location = Some("US".into());
        user.department = departments[i % departments.len()].map(str::to_string);
        user.tenant_id = Some(DEMO_TENANT.to_string());
        user.user_type = Some(if teams { "TeamsOnly" } else { "NoService" }.into());
        user.hosting_provider = teams.then(|| "sipfed.online.lync.com".into());
        user.sip_address = teams.then(|| format!("sip:{}@{}", alias.to_lowercase(), DEMO_DOMAIN.to_lowercase()));
        user.ms_interpreted_user_type = Some(
            if teams {
                "PureOnlineTeamsOnlyUser"
            } else {
                "PureOnlineUserWithNoService"
            }
            .into(),
        );
        if teams && i % 4 == 0 {
            user.line_uri = Some(format!("tel:+1425555{:04}", 100 + i));
            user.enterprise_voice_enabled = Some(true);
            user.online_voice_routing_policy = "Unrestricted".into();
        }
        users.push(user);
    }
    Ok(users)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_users_sort_after_the_seed_and_are_unique() {
        let users = demo_users().unwrap();
        assert_eq!(users.len(), TOTAL_USERS);
        let ids: Vec<Uuid> = users.iter().map(|u| u.identity).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), TOTAL_USERS);
        assert_eq!(&sorted[..10], &ids[..10], "the seed's ten users must be the first page");
    }
}
