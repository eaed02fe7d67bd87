//! Deterministic tenants of Graph users with their Teams configurations, and the `EndUser`s the
//! mapper must make of them.

use std::ops::Range;

use domain::graph_mapping::{
    AssignedPlan, AssignedTelephoneNumber, EffectivePolicyAssignment, GraphUser, PolicyAssignment,
    TeamsUserConfiguration,
};
use domain::EndUser;
use uuid::Uuid;

/// What kind of account a generated user is; decides its plans and configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserKind {
    /// Licensed for Teams, no voice.
    TeamsUser,
    /// Licensed for Teams with Phone System, enterprise voice on; most have a number (some with
    /// an extension) and some an online voice routing policy.
    VoiceUser,
    /// No Teams licence (`ineligibleUser`).
    Unlicensed,
    /// Teams returned no configuration for the user.
    NoConfiguration,
    /// Had a Teams licence that was removed (plans `Deleted`, no Teams feature).
    LapsedLicence,
    /// A resource account (auto attendant / call queue), sign-in disabled.
    ResourceAccount,
    Guest,
    /// A licensed member whose sign-in is blocked.
    Disabled,
    /// A user homed on Skype for Business Server on premises.
    OnPremSfb,
}

/// A Graph user plus the Teams configuration Graph returns for it (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeUser {
    pub kind: UserKind,
    pub user: GraphUser,
    pub config: Option<TeamsUserConfiguration>,
}

impl FakeUser {
    /// The record the sync must store for this user, written out by hand for each kind from
    /// the mapping table (`docs/mapping.md`) instead of computed by the production mapper, so
    /// that a mapping error shows up as a difference. It reads only the values the generator
    /// (or a test) chose: names, department, location, numbers, policy, the guest's Teams
    /// feature.
    pub fn expected(&self, tenant_id: Uuid) -> EndUser {
        let user = &self.user;
        let config = self.config.as_ref();
        // The generator gives every user who has an `imAddresses` entry its UPN there.
        let sip_from_upn = || {
            user.user_principal_name
                .as_deref()
                .map(|upn| format!("sip:{}", upn.to_lowercase()))
        };
        let primary_number = || {
            config?
                .telephone_numbers
                .iter()
                .find(|n| n.assignment_category.as_deref() == Some("primary"))?
                .telephone_number
                .as_deref()
                .map(|number| format!("tel:{number}"))
        };
        let routing_policy = config
            .and_then(|c| {
                c.effective_policy_assignments
                    .iter()
                    .filter(|a| a.policy_type.as_deref() == Some("OnlineVoiceRoutingPolicy"))
                    // Only a direct assignment is what Get-CsOnlineUser shows.
                    .find(|a| {
                        a.policy_assignment
                            .as_ref()
                            .is_some_and(|p| p.assignment_type.as_deref() != Some("group"))
                    })
            })
            .and_then(|a| a.policy_assignment.as_ref()?.display_name.clone())
            .filter(|name| name != "Global")
            .unwrap_or_default();
        let guest_in_teams = config.is_some_and(|c| c.feature_types.iter().any(|f| f == "Teams"));

        // (SipAddress, homed in Teams, UserType, MsInterpretedUserType, EnterpriseVoiceEnabled);
        // LineURI and OnlineVoiceRoutingPolicy follow the number and policy whatever the kind
        // (a test may give any user a number).
        let (sip, teams_homed, user_type, interpreted, voice) = match self.kind {
            UserKind::TeamsUser => (sip_from_upn(), true, "TeamsOnly", "PureOnlineTeamsOnlyUser", false),
            UserKind::Disabled => (
                sip_from_upn(),
                true,
                "TeamsOnly",
                "PureOnlineActiveDirectoryDisabledUser",
                false,
            ),
            UserKind::VoiceUser => (sip_from_upn(), true, "TeamsOnly", "PureOnlineTeamsOnlyUser", true),
            UserKind::Unlicensed | UserKind::NoConfiguration => {
                (None, false, "NoService", "PureOnlineUserWithNoService", false)
            }
            // The Teams plans stay in assignedPlans as Deleted: still homed online, no service.
            UserKind::LapsedLicence => (None, true, "NoService", "PureOnlineTeamsOnlyUserWithNoService", false),
            UserKind::ResourceAccount => (sip_from_upn(), true, "TeamsOnly", "PureOnlineApplicationInstance", true),
            UserKind::Guest if guest_in_teams => (None, true, "TeamsOnly", "PureOnlineTeamsOnlyUser", false),
            UserKind::Guest => (None, false, "NoService", "PureOnlineUserWithNoService", false),
            UserKind::OnPremSfb => (sip_from_upn(), true, "NoService", "HybridOnpremSfBUser", false),
        };
        // Users synced from on-premises AD: the same rows with the DirSyncEnabledOnline prefix
        // (resource accounts and on-premises Skype users keep theirs).
        let interpreted = match (user.on_premises_sync_enabled, interpreted) {
            (Some(true), "PureOnlineTeamsOnlyUser") => "DirSyncEnabledOnlineTeamsOnlyUser",
            (Some(true), "PureOnlineActiveDirectoryDisabledUser") => "DirSyncEnabledOnlineActiveDirectoryDisabledUser",
            (Some(true), "PureOnlineTeamsOnlyUserWithNoService") => {
                "DirSyncEnabledOnlineTeamsOnlyUserNotLicensedForService"
            }
            (Some(true), "PureOnlineUserWithNoService") => "DirSyncEnabledOnlineUserWithNoService",
            (_, other) => other,
        };
        EndUser {
            identity: user.id,
            status: "----".into(),
            sip_address: sip,
            line_uri: primary_number(),
            hosting_provider: teams_homed.then(|| "sipfed.online.lync.com".to_string()),
            hybrid_pstn_site_name: None,
            usage_location: user.usage_location.clone(),
            registrar_pool: None,
            call_forward: String::new(),
            object_id: user.id.to_string().to_uppercase(),
            web_name: user.display_name.clone(),
            user_type: Some(user_type.into()),
            ps_count: 0,
            is_managed: None,
            department: user.department.clone(),
            tenant_id: Some(tenant_id.to_string()),
            user_principal_name: user.user_principal_name.clone(),
            ms_interpreted_user_type: Some(interpreted.into()),
            enterprise_voice_enabled: Some(voice),
            online_voice_routing_policy: routing_policy,
            online_pstn_gateway: String::new(),
        }
    }

    pub fn id(&self) -> Uuid {
        self.user.id
    }
}

const FIRST_NAMES: [&str; 24] = [
    "Megan",
    "Alex",
    "Allan",
    "Joni",
    "Diego",
    "Lynne",
    "Isaiah",
    "Nestor",
    "Grady",
    "Lee",
    "Pradeep",
    "Adele",
    "Lidia",
    "Johanna",
    "Henrietta",
    "Patti",
    "Irvin",
    "Miriam",
    "Cameron",
    "Brian",
    "Bianca",
    "Mallory",
    "Zoë",
    "José",
];
const LAST_NAMES: [&str; 20] = [
    "Bowen",
    "Wilber",
    "Deyoung",
    "Sherman",
    "Siciliani",
    "Robbins",
    "Langer",
    "Strickland",
    "Archie",
    "Gu",
    "Gupta",
    "Vance",
    "Holloway",
    "Lauer",
    "Mueller",
    "Fernandez",
    "Sink",
    "Graham",
    "White",
    "Cortez",
];
const DEPARTMENTS: [&str; 8] = [
    "Sales",
    "Marketing",
    "Retail",
    "Operations",
    "Finance",
    "Legal",
    "Engineering",
    "Human Resources",
];
const LOCATIONS: [&str; 6] = ["US", "GB", "DE", "FR", "NL", "CA"];
const ROUTING_POLICIES: [&str; 4] = ["US-Unrestricted", "EMEA-National", "Global", "Internal-Only"];
const PLAN_TEAMS: &str = "57ff2da0-773e-42df-b2af-ffb7a2317929";
const PLAN_PHONE_SYSTEM: &str = "4828c8ec-dc2e-4779-b502-87ac9ce28ab7";
const PLAN_SFB: &str = "0feaeb32-d00e-4d66-bd5a-43b5b83db82c";
const PLAN_VIRTUAL_USER: &str = "f47330e9-c134-43b3-9993-e7f004506889";
const PLAN_EXCHANGE: &str = "efb87545-963c-4e0d-99df-69c6916d9eb0";

/// splitmix64: small, fast and stable across platforms and crate versions.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, index: u64) -> Self {
        let mut rng = Self(seed ^ index.wrapping_mul(0xA24B_AED4_963E_E407));
        rng.next();
        rng
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    fn uuid(&mut self) -> Uuid {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }

    fn digits(&mut self, count: usize) -> String {
        (0..count).map(|_| char::from(b'0' + self.below(10) as u8)).collect()
    }
}

/// Derives a tenant's ids and secret from a seed.
pub(crate) fn seeded_uuid(seed: u64, salt: u64) -> Uuid {
    Rng::new(seed, salt ^ 0x5EED_0000_0000_0000).uuid()
}

/// Generates the users of one tenant: user `i` depends only on (seed, i).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserGenerator {
    seed: u64,
    tenant_id: Uuid,
    domain: String,
}

impl UserGenerator {
    /// `domain` is the tenant's initial domain, e.g. `M365x33712745.OnMicrosoft.com`.
    pub fn new(seed: u64, tenant_id: Uuid, domain: impl Into<String>) -> Self {
        Self {
            seed,
            tenant_id,
            domain: domain.into(),
        }
    }

    pub fn tenant_id(&self) -> Uuid {
        self.tenant_id
    }

    pub fn users(&self, indexes: Range<u64>) -> Vec<FakeUser> {
        indexes.map(|i| self.user(i)).collect()
    }

    /// User number `index`.
    pub fn user(&self, index: u64) -> FakeUser {
        let mut rng = Rng::new(self.seed, index);
        let kind = match rng.below(100) {
            0..=34 => UserKind::TeamsUser,
            35..=54 => UserKind::VoiceUser,
            55..=66 => UserKind::Unlicensed,
            67..=72 => UserKind::NoConfiguration,
            73..=77 => UserKind::LapsedLicence,
            78..=84 => UserKind::ResourceAccount,
            85..=91 => UserKind::Guest,
            92..=96 => UserKind::Disabled,
            _ => UserKind::OnPremSfb,
        };
        let id = rng.uuid();
        let first = rng.pick(&FIRST_NAMES);
        let last = rng.pick(&LAST_NAMES);
        let mut user = GraphUser::new(id);
        user.display_name = Some(format!("{first} {last}"));
        let ascii_first: String = first.chars().filter(char::is_ascii_alphabetic).collect();
        let local = format!("{ascii_first}{}{index}", &last[..1]);
        user.user_principal_name = Some(format!("{local}@{}", self.domain));
        user.department = rng.chance(60).then(|| rng.pick(&DEPARTMENTS).to_string());
        user.usage_location = rng.chance(95).then(|| rng.pick(&LOCATIONS).to_string());
        user.account_enabled = Some(true);
        let mut config = TeamsUserConfiguration::new(id);
        config.user_principal_name = user.user_principal_name.clone();
        config.tenant_id = Some(self.tenant_id.to_string());
        config.account_type = Some("user".into());
        config.is_enterprise_voice_enabled = Some(false);

        let enabled = |plan_id: &str, service: &str| plan(plan_id, service, "Enabled");
        match kind {
            UserKind::TeamsUser | UserKind::Disabled => {
                user.im_addresses = vec![user.user_principal_name.clone().unwrap_or_default()];
                user.assigned_plans = vec![
                    enabled(PLAN_EXCHANGE, "exchange"),
                    enabled(PLAN_TEAMS, "TeamspaceAPI"),
                    enabled(PLAN_SFB, "MicrosoftCommunicationsOnline"),
                ];
                config.feature_types = vec!["Teams".into(), "AudioConferencing".into()];
                if kind == UserKind::Disabled {
                    user.account_enabled = Some(false);
                }
            }
            UserKind::VoiceUser => {
                user.im_addresses = vec![user.user_principal_name.clone().unwrap_or_default()];
                user.assigned_plans = vec![
                    enabled(PLAN_EXCHANGE, "exchange"),
                    enabled(PLAN_TEAMS, "TeamspaceAPI"),
                    enabled(PLAN_SFB, "MicrosoftCommunicationsOnline"),
                    enabled(PLAN_PHONE_SYSTEM, "MicrosoftCommunicationsOnline"),
                ];
                config.feature_types = vec!["Teams".into(), "PhoneSystem".into(), "AudioConferencing".into()];
                config.is_enterprise_voice_enabled = Some(true);
                if rng.chance(85) {
                    let mut number = format!("+1{}", rng.digits(10));
                    if rng.chance(20) {
                        number.push_str(&format!(";ext={}", rng.digits(3)));
                    }
                    config.telephone_numbers.push(number_of(&number, "primary"));
                }
                if rng.chance(15) {
                    config
                        .telephone_numbers
                        .push(number_of(&format!("+1{}", rng.digits(10)), "private"));
                }
                if rng.chance(60) {
                    let name = rng.pick(&ROUTING_POLICIES);
                    config.effective_policy_assignments.push(policy(
                        "OnlineVoiceRoutingPolicy",
                        name,
                        &format!("Tag:{name}"),
                    ));
                }
                config.effective_policy_assignments.push(policy(
                    "TeamsCallingPolicy",
                    "AllowCalling",
                    "Tag:AllowCalling",
                ));
            }
            UserKind::Unlicensed => {
                if rng.chance(50) {
                    user.assigned_plans = vec![enabled(PLAN_EXCHANGE, "exchange")];
                }
                config.account_type = Some("ineligibleUser".into());
            }
            UserKind::NoConfiguration => {}
            UserKind::LapsedLicence => {
                user.assigned_plans = vec![
                    plan(PLAN_TEAMS, "TeamspaceAPI", "Deleted"),
                    plan(PLAN_SFB, "MicrosoftCommunicationsOnline", "Deleted"),
                ];
            }
            UserKind::ResourceAccount => {
                let purpose = if rng.chance(50) { "AA" } else { "CQ" };
                user.display_name = Some(format!("{purpose} {last} {index}"));
                let upn = format!("ra_{}{index}@{}", purpose.to_lowercase(), self.domain);
                user.user_principal_name = Some(upn.clone());
                user.department = None;
                user.account_enabled = Some(false);
                user.im_addresses = vec![upn.clone()];
                user.assigned_plans = vec![enabled(PLAN_VIRTUAL_USER, "MicrosoftCommunicationsOnline")];
                config.user_principal_name = Some(upn);
                config.account_type = Some("resourceAccount".into());
                config.feature_types = vec!["PhoneSystemVirtualUser".into(), "Teams".into()];
                config.is_enterprise_voice_enabled = Some(true);
                if rng.chance(60) {
                    config
                        .telephone_numbers
                        .push(number_of(&format!("+1{}", rng.digits(10)), "primary"));
                }
            }
            UserKind::Guest => {
                let upn = format!(
                    "{}.{}{index}_fabrikam.com#EXT#@{}",
                    first.to_lowercase(),
                    last.to_lowercase(),
                    self.domain
                );
                user.user_principal_name = Some(upn.clone());
                user.display_name = Some(format!("{first} {last} (Fabrikam)"));
                user.department = None;
                config.user_principal_name = Some(upn);
                config.account_type = Some("guest".into());
                if rng.chance(50) {
                    config.feature_types = vec!["Teams".into()];
                }
            }
            UserKind::OnPremSfb => {
                user.im_addresses = vec![user.user_principal_name.clone().unwrap_or_default()];
                user.assigned_plans = vec![enabled(PLAN_SFB, "MicrosoftCommunicationsOnline")];
                config.account_type = Some("sfbOnPremUser".into());
            }
        }
        let config = match kind {
            UserKind::NoConfiguration => None,
            _ => Some(config),
        };
        FakeUser { kind, user, config }
    }
}

fn plan(service_plan_id: &str, service: &str, status: &str) -> AssignedPlan {
    AssignedPlan {
        assigned_date_time: Some("2024-03-01T08:00:00Z".into()),
        capability_status: Some(status.into()),
        service: Some(service.into()),
        service_plan_id: Some(service_plan_id.into()),
    }
}

fn number_of(number: &str, category: &str) -> AssignedTelephoneNumber {
    AssignedTelephoneNumber {
        telephone_number: Some(number.into()),
        assignment_category: Some(category.into()),
    }
}

fn policy(policy_type: &str, name: &str, policy_id: &str) -> EffectivePolicyAssignment {
    let (policy_id, assignment_type) = if name == "Global" {
        ("Global", "direct")
    } else {
        (policy_id, "direct")
    };
    EffectivePolicyAssignment {
        policy_type: Some(policy_type.into()),
        policy_assignment: Some(PolicyAssignment {
            display_name: Some(name.into()),
            assignment_type: Some(assignment_type.into()),
            policy_id: Some(policy_id.into()),
            group_id: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    fn generator() -> UserGenerator {
        UserGenerator::new(7, seeded_uuid(7, 0), "M365x00000007.OnMicrosoft.com")
    }

    #[test]
    fn deterministic_per_index() {
        let a = generator().users(0..50);
        let b = generator().users(0..50);
        assert_eq!(a, b);
        assert_eq!(generator().user(42), a[42]);
        let other = UserGenerator::new(8, seeded_uuid(8, 0), "x.onmicrosoft.com").user(42);
        assert_ne!(other.user.id, a[42].user.id);
    }

    /// Users of every kind (and the variants that matter: a number with an extension, a guest
    /// in Teams, a resource account with a number) as the sync must serve them, literally, in
    /// `testdata/fake-graph-expected.json`: checked against the mapping table by reading them,
    /// so that the expectations written above cannot drift along with the code.
    #[test]
    fn users_of_every_kind_map_as_written_down() {
        let fixture: Vec<serde_json::Value> =
            serde_json::from_str(include_str!("../../../../testdata/fake-graph-expected.json")).unwrap();
        let generator = generator();
        let mut kinds = HashSet::new();
        for entry in &fixture {
            let user = generator.user(entry["index"].as_u64().unwrap());
            assert_eq!(format!("{:?}", user.kind), entry["kind"], "{entry}");
            kinds.insert(user.kind);
            assert_eq!(
                user.expected(generator.tenant_id()).render_json(),
                serde_json::to_string(&entry["record"]).unwrap(),
                "user {}",
                entry["index"]
            );
        }
        assert_eq!(kinds.len(), 9, "every kind is written down");
    }

    #[test]
    fn covers_every_kind_and_the_interesting_values() {
        let users = generator().users(0..2000);
        let ids: HashSet<Uuid> = users.iter().map(FakeUser::id).collect();
        assert_eq!(ids.len(), users.len());
        let mut kinds: HashMap<UserKind, usize> = HashMap::new();
        for user in &users {
            *kinds.entry(user.kind).or_default() += 1;
        }
        assert_eq!(kinds.len(), 9, "{kinds:?}");
        let tenant = generator().tenant_id();
        let expected: Vec<EndUser> = users.iter().map(|u| u.expected(tenant)).collect();
        assert!(expected
            .iter()
            .any(|e| e.line_uri.as_deref().is_some_and(|l| l.contains(";ext="))));
        assert!(expected.iter().any(|e| !e.online_voice_routing_policy.is_empty()));
        assert!(expected
            .iter()
            .any(|e| e.ms_interpreted_user_type.as_deref() == Some("PureOnlineApplicationInstance")));
        assert!(expected
            .iter()
            .any(|e| e.ms_interpreted_user_type.as_deref() == Some("PureOnlineTeamsOnlyUserWithNoService")));
        assert!(expected.iter().any(|e| e.sip_address.is_none()));
        assert!(expected.iter().all(|e| match &e.sip_address {
            Some(sip) => sip == &sip.to_lowercase(),
            None => true,
        }));
    }
}
