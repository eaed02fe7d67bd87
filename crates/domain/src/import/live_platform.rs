//! Maps a user written in the Live Platform shape (the 21 keys the endpoint serves) to an
//! `EndUser`, so that a saved GET response can be imported back unchanged.
//!
//! Values are kept as given, including `""` in a nullable field, so rendering an imported user
//! gives back the object it came from. Defaults: a null or missing `Status` is `"----"`,
//! `PsCount` 0, and `CallForward`, `OnlineVoiceRoutingPolicy`, `OnlinePstnGateway` `""`; any other
//! missing key is null. `ObjectId` is optional, but when given it must be the `Identity` GUID (in
//! any case); it is always served as the identity in upper case.

use uuid::Uuid;

use super::error::RowError;
use super::fields::{self, Fields, Key};
use crate::end_user::{object_id_of, EndUser, DEFAULT_STATUS};

pub(crate) fn to_end_user<'a>(user: &mut impl Fields<'a>) -> Result<EndUser, RowError> {
    let identity = identity(user)?;
    Ok(EndUser {
        identity,
        status: user.text(Key::Status)?.unwrap_or_else(|| DEFAULT_STATUS.to_string()),
        sip_address: user.text(Key::SipAddress)?,
        line_uri: user.text(Key::LineUri)?,
        hosting_provider: user.text(Key::HostingProvider)?,
        hybrid_pstn_site_name: user.text(Key::HybridPstnSiteName)?,
        usage_location: user.text(Key::UsageLocation)?,
        registrar_pool: user.text(Key::RegistrarPool)?,
        call_forward: user.text(Key::CallForward)?.unwrap_or_default(),
        object_id: object_id_of(identity),
        web_name: user.text(Key::WebName)?,
        user_type: user.text(Key::UserType)?,
        ps_count: user.integer(Key::PsCount)?.unwrap_or(0),
        is_managed: user.boolean(Key::IsManaged)?,
        department: user.text(Key::Department)?,
        tenant_id: user.text(Key::TenantId)?,
        user_principal_name: user.text(Key::UserPrincipalName)?,
        ms_interpreted_user_type: user.text(Key::MsInterpretedUserType)?,
        enterprise_voice_enabled: user.boolean(Key::EnterpriseVoiceEnabled)?,
        online_voice_routing_policy: user.text(Key::OnlineVoiceRoutingPolicy)?.unwrap_or_default(),
        online_pstn_gateway: user.text(Key::OnlinePstnGateway)?.unwrap_or_default(),
    })
}

fn identity<'a>(user: &mut impl Fields<'a>) -> Result<Uuid, RowError> {
    let identity = match user.non_empty_text(Key::Identity)? {
        Some(text) => fields::parse_guid(&text, Key::Identity)?,
        None => {
            return Err(RowError::field(
                "Identity",
                "is missing: every user needs the GUID of its Entra object in Identity",
            ))
        }
    };
    if let Some(object_id) = user.non_empty_text(Key::ObjectId)? {
        let same = Uuid::parse_str(object_id.trim()).is_ok_and(|id| id == identity);
        if !same {
            return Err(RowError::field(
                "ObjectId",
                format!(
                    "must be the Identity GUID {} (in any case), got {}",
                    identity.hyphenated(),
                    fields::quote(&object_id)
                ),
            ));
        }
    }
    Ok(identity)
}
