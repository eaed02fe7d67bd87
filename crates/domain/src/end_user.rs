//! The Live Platform end-user record: the 21 fields, their wire order and their empty values.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The `Status` every user carries in the original.
pub const DEFAULT_STATUS: &str = "----";

/// One Microsoft 365 user of a customer, exactly as the end-users endpoint serves it.
///
/// Field order is the wire order of the seed; serde keeps declaration order. `CallForward`,
/// `OnlineVoiceRoutingPolicy` and `OnlinePstnGateway` are `""` when empty, every other empty
/// value is `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EndUser {
    #[serde(rename = "Identity")]
    pub identity: Uuid,
    #[serde(rename = "Status")]
    pub status: String,
    #[serde(rename = "SipAddress")]
    pub sip_address: Option<String>,
    #[serde(rename = "LineURI")]
    pub line_uri: Option<String>,
    #[serde(rename = "HostingProvider")]
    pub hosting_provider: Option<String>,
    #[serde(rename = "HybridPstnSiteName")]
    pub hybrid_pstn_site_name: Option<String>,
    #[serde(rename = "UsageLocation")]
    pub usage_location: Option<String>,
    #[serde(rename = "RegistrarPool")]
    pub registrar_pool: Option<String>,
    #[serde(rename = "CallForward")]
    pub call_forward: String,
    #[serde(rename = "ObjectId")]
    pub object_id: String,
    #[serde(rename = "WebName")]
    pub web_name: Option<String>,
    #[serde(rename = "UserType")]
    pub user_type: Option<String>,
    #[serde(rename = "PsCount")]
    pub ps_count: i64,
    #[serde(rename = "IsManaged")]
    pub is_managed: Option<bool>,
    #[serde(rename = "Department")]
    pub department: Option<String>,
    #[serde(rename = "TenantId")]
    pub tenant_id: Option<String>,
    #[serde(rename = "UserPrincipalName")]
    pub user_principal_name: Option<String>,
    #[serde(rename = "MsInterpretedUserType")]
    pub ms_interpreted_user_type: Option<String>,
    #[serde(rename = "EnterpriseVoiceEnabled")]
    pub enterprise_voice_enabled: Option<bool>,
    #[serde(rename = "OnlineVoiceRoutingPolicy")]
    pub online_voice_routing_policy: String,
    #[serde(rename = "OnlinePstnGateway")]
    pub online_pstn_gateway: String,
}

/// The 21 wire keys, in order.
pub const FIELD_NAMES: [&str; 21] = [
    "Identity",
    "Status",
    "SipAddress",
    "LineURI",
    "HostingProvider",
    "HybridPstnSiteName",
    "UsageLocation",
    "RegistrarPool",
    "CallForward",
    "ObjectId",
    "WebName",
    "UserType",
    "PsCount",
    "IsManaged",
    "Department",
    "TenantId",
    "UserPrincipalName",
    "MsInterpretedUserType",
    "EnterpriseVoiceEnabled",
    "OnlineVoiceRoutingPolicy",
    "OnlinePstnGateway",
];

impl EndUser {
    /// A user with this identity and every other field at the original's empty value.
    pub fn new(identity: Uuid) -> Self {
        Self {
            identity,
            status: DEFAULT_STATUS.to_string(),
            sip_address: None,
            line_uri: None,
            hosting_provider: None,
            hybrid_pstn_site_name: None,
            usage_location: None,
            registrar_pool: None,
            call_forward: String::new(),
            object_id: object_id_of(identity),
            web_name: None,
            user_type: None,
            ps_count: 0,
            is_managed: None,
            department: None,
            tenant_id: None,
            user_principal_name: None,
            ms_interpreted_user_type: None,
            enterprise_voice_enabled: Some(false),
            online_voice_routing_policy: String::new(),
            online_pstn_gateway: String::new(),
        }
    }

    /// The compact JSON object served on the wire. Rendered once, when the user is stored.
    pub fn render_json(&self) -> String {
        // Serializing a struct of strings, options and integers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A stable 64-bit fingerprint of the rendered record, used to tell changed users from
    /// unchanged ones when a new generation is written.
    pub fn fingerprint_of(rendered: &str) -> i64 {
        xxhash_rust::xxh3::xxh3_64(rendered.as_bytes()) as i64
    }
}

/// `ObjectId` is the identity in upper case, as the original shows.
pub fn object_id_of(identity: Uuid) -> String {
    identity.hyphenated().to_string().to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_keys_in_seed_order() {
        let user = EndUser::new(Uuid::nil());
        let value: serde_json::Value = serde_json::from_str(&user.render_json()).unwrap();
        let keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, FIELD_NAMES);
    }

    #[test]
    fn empty_values_match_the_seed() {
        let json = EndUser::new(Uuid::nil()).render_json();
        assert!(json.contains(r#""CallForward":"""#));
        assert!(json.contains(r#""OnlinePstnGateway":"""#));
        assert!(json.contains(r#""OnlineVoiceRoutingPolicy":"""#));
        assert!(json.contains(r#""LineURI":null"#));
        assert!(json.contains(r#""Status":"----""#));
        assert!(json.contains(r#""PsCount":0"#));
    }

    #[test]
    fn object_id_is_upper_identity() {
        let id = Uuid::parse_str("04b6aa84-eb73-4f46-ba4a-200f86a2563a").unwrap();
        assert_eq!(EndUser::new(id).object_id, "04B6AA84-EB73-4F46-BA4A-200F86A2563A");
    }
}
