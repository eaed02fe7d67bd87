//! The mapping of a Graph user plus its Teams configuration to the served `EndUser`.

use uuid::Uuid;

use super::records::{AssignedTelephoneNumber, EffectivePolicyAssignment, GraphUser, TeamsUserConfiguration};
use crate::end_user::EndUser;

/// `HostingProvider` of every user homed in Teams (Get-CsOnlineUser prints this value).
pub const TEAMS_HOSTING_PROVIDER: &str = "sipfed.online.lync.com";

/// `UserType` values.
pub const USER_TYPE_TEAMS_ONLY: &str = "TeamsOnly";
pub const USER_TYPE_NO_SERVICE: &str = "NoService";

/// `MsInterpretedUserType` values this mapper produces (an open set upstream; see
/// `interpreted_user_type` for the table).
pub const IUT_TEAMS_ONLY_USER: &str = "PureOnlineTeamsOnlyUser";
pub const IUT_TEAMS_ONLY_USER_WITH_NO_SERVICE: &str = "PureOnlineTeamsOnlyUserWithNoService";
pub const IUT_USER_WITH_NO_SERVICE: &str = "PureOnlineUserWithNoService";
pub const IUT_APPLICATION_INSTANCE: &str = "PureOnlineApplicationInstance";
pub const IUT_ONPREM_SFB_USER: &str = "HybridOnpremSfBUser";
pub const IUT_DISABLED_USER: &str = "PureOnlineActiveDirectoryDisabledUser";
/// The same rows for users synced from on-premises Active Directory (`onPremisesSyncEnabled`).
pub const IUT_SYNCED_TEAMS_ONLY_USER: &str = "DirSyncEnabledOnlineTeamsOnlyUser";
pub const IUT_SYNCED_TEAMS_ONLY_USER_NOT_LICENSED: &str = "DirSyncEnabledOnlineTeamsOnlyUserNotLicensedForService";
pub const IUT_SYNCED_USER_WITH_NO_SERVICE: &str = "DirSyncEnabledOnlineUserWithNoService";
pub const IUT_SYNCED_DISABLED_USER: &str = "DirSyncEnabledOnlineActiveDirectoryDisabledUser";

/// The policy type whose effective assignment fills `OnlineVoiceRoutingPolicy`.
const POLICY_ONLINE_VOICE_ROUTING: &str = "OnlineVoiceRoutingPolicy";
/// The tenant default policy instance.
const GLOBAL_POLICY: &str = "Global";
/// `assignmentType` of a policy inherited from a group.
const ASSIGNMENT_GROUP: &str = "group";

/// Maps a Graph user and its Teams configuration (if Teams returned one) to the Live Platform
/// record, following the mapping table of `docs/mapping.md` (which gives the reasons):
///
/// | field | rule |
/// |---|---|
/// | Identity / ObjectId | `id`, lower / upper case |
/// | WebName, UserPrincipalName, Department, UsageLocation | from the user, as is |
/// | SipAddress | `sip_address_of` |
/// | LineURI | `line_uri_of` |
/// | EnterpriseVoiceEnabled | `isEnterpriseVoiceEnabled`, `false` without a configuration |
/// | OnlineVoiceRoutingPolicy | `voice_routing_policy_of` |
/// | UserType | `TeamsOnly` when `featureTypes` holds `Teams`, else `NoService` |
/// | HostingProvider | `sipfed.online.lync.com` for users homed in Teams (`is_teams_homed`), else null |
/// | MsInterpretedUserType | `interpreted_user_type` |
/// | TenantId | the service's tenant |
/// | Status, PsCount, CallForward, OnlinePstnGateway | `"----"`, 0, `""`, `""` |
/// | HybridPstnSiteName, RegistrarPool, IsManaged | null |
pub fn map_user(user: &GraphUser, config: Option<&TeamsUserConfiguration>, tenant_id: Uuid) -> EndUser {
    let mut out = EndUser::new(user.id);
    let teams_feature = config.is_some_and(TeamsUserConfiguration::has_teams_feature);
    out.sip_address = sip_address_of(&user.im_addresses);
    out.line_uri = config.and_then(|c| line_uri_of(&c.telephone_numbers));
    out.hosting_provider = is_teams_homed(user, config).then(|| TEAMS_HOSTING_PROVIDER.to_string());
    out.usage_location = user.usage_location.clone();
    out.web_name = user.display_name.clone();
    out.user_type = Some(
        if teams_feature {
            USER_TYPE_TEAMS_ONLY
        } else {
            USER_TYPE_NO_SERVICE
        }
        .to_string(),
    );
    out.department = user.department.clone();
    out.tenant_id = Some(tenant_id.hyphenated().to_string());
    out.user_principal_name = user.user_principal_name.clone();
    out.ms_interpreted_user_type = Some(interpreted_user_type(user, config).to_string());
    out.enterprise_voice_enabled = Some(config.and_then(|c| c.is_enterprise_voice_enabled).unwrap_or(false));
    out.online_voice_routing_policy = config
        .map(|c| voice_routing_policy_of(&c.effective_policy_assignments))
        .unwrap_or_default();
    out
}

/// `sip:` + the first non-blank `imAddresses` entry, lower case; `None` without one.
///
/// Graph keeps the address without its scheme; an entry that already carries `sip:` is not
/// given a second one.
pub fn sip_address_of(im_addresses: &[String]) -> Option<String> {
    let first = im_addresses.iter().map(|a| a.trim()).find(|a| !a.is_empty())?;
    let lower = first.to_lowercase();
    let bare = lower.strip_prefix("sip:").unwrap_or(&lower);
    Some(format!("sip:{bare}"))
}

/// `tel:` + the first `primary` telephone number; `None` without one.
///
/// Rule for the number's text: only surrounding blanks are trimmed and a leading `tel:` (any
/// case) is dropped so the scheme is not doubled; everything else is kept verbatim, so an
/// extension parameter survives (`+14255551297;ext=1234` → `tel:+14255551297;ext=1234`). Numbers
/// are not reformatted (Get-CsOnlineUser values drift in the wild and the raw value is what
/// operators recognise). `private` and `alternate` numbers are not the line URI: Get-CsOnlineUser
/// shows them elsewhere (PrivateLine), so a user with only those has no LineURI.
pub fn line_uri_of(numbers: &[AssignedTelephoneNumber]) -> Option<String> {
    numbers
        .iter()
        .filter(|n| {
            n.assignment_category
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case("primary"))
        })
        .filter_map(|n| n.telephone_number.as_deref().map(str::trim))
        .find(|n| !n.is_empty())
        .map(|number| {
            let bare = match number.get(..4) {
                Some(scheme) if scheme.eq_ignore_ascii_case("tel:") => &number[4..],
                _ => number,
            };
            format!("tel:{bare}")
        })
}

/// The display name of the `OnlineVoiceRoutingPolicy` assigned *directly* to the user, else
/// `""`.
///
/// Group-inherited assignments (`assignmentType` `group`) are skipped: Get-CsOnlineUser's
/// `OnlineVoiceRoutingPolicy` shows the policy assigned to the user itself and is empty for a
/// user who only inherits one from a group (those are seen with Get-CsUserPolicyAssignment), and
/// Live Platform clients read that field (decision in `docs/decisions.md`, issue 9). An
/// assignment without an `assignmentType` counts as direct.
///
/// A deliberate deviation from "the display name" (`docs/mapping.md`): the tenant default instance (`Global`, by display name or
/// policy id) maps to `""`, because Get-CsOnlineUser (and so the Live Platform) leaves the field
/// empty for users on the global policy; Graph's *effective* assignments list it explicitly.
pub fn voice_routing_policy_of(assignments: &[EffectivePolicyAssignment]) -> String {
    assignments
        .iter()
        .filter(|a| {
            a.policy_type
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case(POLICY_ONLINE_VOICE_ROUTING))
        })
        .filter_map(|a| a.policy_assignment.as_ref())
        .filter(|p| {
            !p.assignment_type
                .as_deref()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case(ASSIGNMENT_GROUP))
        })
        .find_map(|p| {
            let name = p.display_name.as_deref().map(str::trim).filter(|n| !n.is_empty())?;
            let is_global = name.eq_ignore_ascii_case(GLOBAL_POLICY)
                || p.policy_id
                    .as_deref()
                    .is_some_and(|id| id.eq_ignore_ascii_case(GLOBAL_POLICY));
            (!is_global).then(|| name.to_string())
        })
        .unwrap_or_default()
}

/// Whether the user is homed in Teams, which is what `HostingProvider` reports: the Teams
/// feature is on, or a Teams / Skype Online plan was ever assigned.
///
/// The second half explains the seed's `PureOnlineTeamsOnlyUserWithNoService` row (Allan
/// Deyoung: HostingProvider set, UserType NoService, no SipAddress): a user whose licence was
/// removed keeps the plan in `assignedPlans` as `Deleted`, Teams drops the `Teams` feature (so
/// UserType is NoService) and Entra clears `imAddresses`, yet Get-CsOnlineUser still reports
/// the user as homed online.
pub fn is_teams_homed(user: &GraphUser, config: Option<&TeamsUserConfiguration>) -> bool {
    config.is_some_and(TeamsUserConfiguration::has_teams_feature) || user.has_teams_plan()
}

/// `MsInterpretedUserType`, first matching row wins; the third column is the value for users
/// synced from on-premises Active Directory (`onPremisesSyncEnabled` true), which
/// Get-CsOnlineUser reports with the `DirSyncEnabledOnline` prefix instead of `PureOnline`:
///
/// | # | Graph data | cloud-only user | synced from on-premises AD |
/// |---|---|---|---|
/// | 1 | accountType `resourceAccount` | `PureOnlineApplicationInstance` | same |
/// | 2 | accountType `sfbOnPremUser` | `HybridOnpremSfBUser` | same |
/// | 3 | `accountEnabled` false | `PureOnlineActiveDirectoryDisabledUser` | `DirSyncEnabledOnlineActiveDirectoryDisabledUser` |
/// | 4 | `featureTypes` holds `Teams` | `PureOnlineTeamsOnlyUser` | `DirSyncEnabledOnlineTeamsOnlyUser` |
/// | 5 | a Teams / Skype Online plan in `assignedPlans` (any status) | `PureOnlineTeamsOnlyUserWithNoService` | `DirSyncEnabledOnlineTeamsOnlyUserNotLicensedForService` |
/// | 6 | anything else | `PureOnlineUserWithNoService` | `DirSyncEnabledOnlineUserWithNoService` |
///
/// Where the values come from: Microsoft documents `InterpretedUserType` as an open set without
/// a list; the reference list is the community-maintained one (github.com/get-itips/
/// InterpretedUserType and its gist), which Microsoft's own support articles point to.
/// `PureOnlineApplicationInstance`, `HybridOnpremSfBUser`, `PureOnlineActiveDirectoryDisabledUser`,
/// `PureOnlineTeamsOnlyUser`, `DirSyncEnabledOnlineActiveDirectoryDisabledUser`,
/// `DirSyncEnabledOnlineTeamsOnlyUser` and `DirSyncEnabledOnlineTeamsOnlyUserNotLicensedForService`
/// are in that list. `PureOnlineTeamsOnlyUserWithNoService` and `PureOnlineUserWithNoService` are
/// not, but the Live Platform seed page shows them (so clients know them);
/// `DirSyncEnabledOnlineUserWithNoService` is the one inferred value: row 6 with the synced
/// prefix, as the list has no synced counterpart of it. Resource accounts and on-premises
/// Skype users keep their value: the list has no synced variant of either (an
/// `sfbOnPremUser` is hybrid by definition).
///
/// Notes: resource accounts are created sign-in-disabled, hence row 1 before row 3. Guests,
/// `ineligibleUser`, `unknown`, `user` and users Teams returned no configuration for go through
/// rows 3 to 6 like members: Get-CsOnlineUser documents no guest-specific value, and a guest
/// with the Teams feature is served by Teams like any member. `onPremisesSyncEnabled` false
/// (synced once, no longer) counts as cloud-only, as the object is mastered in the cloud now.
pub fn interpreted_user_type(user: &GraphUser, config: Option<&TeamsUserConfiguration>) -> &'static str {
    let synced = user.is_directory_synced();
    let pick = |cloud: &'static str, dir_synced: &'static str| if synced { dir_synced } else { cloud };
    if config.is_some_and(|c| c.account_type_is("resourceAccount")) {
        IUT_APPLICATION_INSTANCE
    } else if config.is_some_and(|c| c.account_type_is("sfbOnPremUser")) {
        IUT_ONPREM_SFB_USER
    } else if user.account_enabled == Some(false) {
        pick(IUT_DISABLED_USER, IUT_SYNCED_DISABLED_USER)
    } else if config.is_some_and(TeamsUserConfiguration::has_teams_feature) {
        pick(IUT_TEAMS_ONLY_USER, IUT_SYNCED_TEAMS_ONLY_USER)
    } else if user.has_teams_plan() {
        pick(
            IUT_TEAMS_ONLY_USER_WITH_NO_SERVICE,
            IUT_SYNCED_TEAMS_ONLY_USER_NOT_LICENSED,
        )
    } else {
        pick(IUT_USER_WITH_NO_SERVICE, IUT_SYNCED_USER_WITH_NO_SERVICE)
    }
}
