//! Tenant isolation: scoped clients cannot give themselves or others more than they have, and a
//! customer-scoped client cannot re-point its service at another customer's tenant.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::http::Method;
use common::TestApp;
use domain::{Role, Scope, SyncState};
use serde_json::{json, Value};

fn ids(reply: &common::Reply) -> Vec<String> {
    reply
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap().to_string())
        .collect()
}

async fn scoped_admins_manage_only_clients_inside_their_scope(app: TestApp) {
    let mine = app.service("mine", 1, true, Some(7)).await;
    let neighbour = app.service("neighbour", 1, true, Some(7)).await;
    let other = app.service("other", 1, true, Some(8)).await;
    let (provider_admin, _) = app.client_for(Role::Admin, Scope::Provider).await;
    let (customer_admin, customer_token) = app
        .client_for(Role::Admin, Scope::Customers { customers: vec![mine] })
        .await;
    let (channel_admin, channel_token) = app.client_for(Role::Admin, Scope::Channel { channel_id: 7 }).await;
    let (other_channel_client, _) = app.client_for(Role::Monitor, Scope::Channel { channel_id: 8 }).await;
    let (neighbour_client, _) = app
        .client_for(
            Role::Operator,
            Scope::Customers {
                customers: vec![neighbour],
            },
        )
        .await;

    // Listing shows only clients inside the caller's scope.
    let listed = app.get_as(&customer_token, "/api/rosterd/clients").await;
    assert_eq!(listed.status, 200);
    assert_eq!(ids(&listed), vec![customer_admin.clone()]);
    let listed = ids(&app.get_as(&channel_token, "/api/rosterd/clients").await);
    assert!(listed.contains(&customer_admin) && listed.contains(&channel_admin) && listed.contains(&neighbour_client));
    assert!(!listed.contains(&provider_admin) && !listed.contains(&other_channel_client));
    assert!(ids(&app.get("/api/rosterd/clients").await).contains(&other_channel_client));

    // No provider-wide client, no wider scope, no other channel, no customer outside the scope.
    let uri = "/api/rosterd/clients";
    for (token, body, field) in [
        (&customer_token, json!({"name": "x", "role": "Admin"}), "customers"),
        (
            &customer_token,
            json!({"name": "x", "role": "Monitor", "channelId": 7}),
            "channelId",
        ),
        (
            &customer_token,
            json!({"name": "x", "role": "Monitor", "customers": [neighbour]}),
            "customers",
        ),
        (
            &customer_token,
            json!({"name": "x", "role": "Monitor", "customers": [mine, other]}),
            "customers",
        ),
        (&channel_token, json!({"name": "x", "role": "Admin"}), "channelId"),
        (
            &channel_token,
            json!({"name": "x", "role": "Monitor", "channelId": 8}),
            "channelId",
        ),
        (
            &channel_token,
            json!({"name": "x", "role": "Monitor", "customers": [other]}),
            "customers",
        ),
        (
            &channel_token,
            json!({"name": "x", "role": "Monitor", "externalAppId": "0b8f2e1c-7a44-4c1e-9d3f-5e6a7b8c9d0e"}),
            "channelId",
        ),
    ] {
        let reply = app.json_as(Method::POST, token, uri, &body).await;
        assert_eq!(reply.status, 403, "{body}: {}", String::from_utf8_lossy(&reply.body));
        assert_eq!(reply.code(), "scope_too_wide", "{body}");
        assert_eq!(reply.json()["field"], field, "{body}");
    }
    // Inside the scope is fine, up to the caller's own role.
    let reply = app
        .json_as(
            Method::POST,
            &customer_token,
            uri,
            &json!({"name": "ops", "role": "Admin", "customers": [mine]}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", String::from_utf8_lossy(&reply.body));
    let reply = app
        .json_as(
            Method::POST,
            &channel_token,
            uri,
            &json!({"name": "noc", "role": "Monitor", "channelId": 7}),
        )
        .await;
    assert_eq!(reply.status, 201);
    let reply = app
        .json_as(
            Method::POST,
            &channel_token,
            uri,
            &json!({"name": "c", "role": "Operator", "customers": [mine, neighbour]}),
        )
        .await;
    assert_eq!(reply.status, 201);

    // Revoking a client outside the scope looks like it does not exist.
    for (token, target) in [
        (&customer_token, &provider_admin),
        (&customer_token, &channel_admin),
        (&customer_token, &neighbour_client),
        (&channel_token, &provider_admin),
        (&channel_token, &other_channel_client),
    ] {
        let reply = app
            .send(
                Method::DELETE,
                &format!("{uri}/{target}"),
                Some(token),
                &[],
                axum::body::Body::empty(),
            )
            .await;
        assert_eq!(reply.status, 404, "{target}");
        assert_eq!(reply.code(), "client_not_found");
    }
    assert_eq!(
        app.get("/api/rosterd/clients").await.status,
        200,
        "the provider admin still works"
    );
    let reply = app
        .send(
            Method::DELETE,
            &format!("{uri}/{neighbour_client}"),
            Some(&channel_token),
            &[],
            axum::body::Body::empty(),
        )
        .await;
    assert_eq!(reply.status, 204, "inside the channel");
}

async fn customer_scoped_clients_cannot_change_connection_fields(app: TestApp) {
    let mine = app.service("mine", 1, true, Some(7)).await;
    let theirs = app.service("theirs", 1, true, Some(8)).await;
    let their_tenant = app.stored(theirs).await.tenant_id.unwrap();
    let customer_operator = app
        .token_for(Role::Operator, Scope::Customers { customers: vec![mine] })
        .await;
    let customer_admin = app
        .token_for(Role::Admin, Scope::Customers { customers: vec![mine] })
        .await;
    let uri = format!("/api/v3/customer/{mine}");
    for (field, value) in [
        ("msTenantId", json!(their_tenant.to_string())),
        ("applicationClientId", json!("0b8f2e1c-7a44-4c1e-9d3f-5e6a7b8c9d0e")),
        ("applicationClientSecret", json!("stolen~secret")),
        ("licenseType", json!(2)),
        ("licensedUsersCount", json!(5000)),
    ] {
        let mut body = json!({"customerFullName": "Mine"});
        body[field] = value;
        for token in [&customer_operator, &customer_admin] {
            let reply = app.json_as(Method::PATCH, token, &uri, &body).await;
            assert_eq!(reply.status, 403, "{field}: {}", String::from_utf8_lossy(&reply.body));
            assert_eq!(reply.code(), "forbidden_field");
            assert_eq!(reply.json()["field"], field);
        }
    }
    let stored = app.stored(mine).await;
    assert_ne!(stored.tenant_id, Some(their_tenant), "nothing was changed");
    assert_eq!(stored.full_name, "mine Inc", "a refused request changes nothing");
    let reply = app
        .json_as(
            Method::PATCH,
            &customer_operator,
            &uri,
            &json!({"customerFullName": "Mine Ltd"}),
        )
        .await;
    assert_eq!(reply.status, 200, "other fields stay the customer's to change");
}

async fn changing_the_tenant_drops_secret_and_sync_state(app: TestApp) {
    let mine = app.service("mine", 1, true, Some(7)).await;
    let channel_operator = app.token_for(Role::Operator, Scope::Channel { channel_id: 7 }).await;
    let synced = SyncState {
        delta_link: Some("https://graph.microsoft.com/v1.0/users/delta?$deltatoken=abc".into()),
        last_full_sync_at: Some(chrono::Utc::now()),
        last_success_at: Some(chrono::Utc::now()),
        next_sync_at: Some(chrono::Utc::now() + chrono::Duration::hours(1)),
        ..SyncState::default()
    };
    app.set_sync_state(mine, &synced).await;
    let uri = format!("/api/v3/customer/{mine}");

    // Same tenant again: not a change.
    let same = app.stored(mine).await.tenant_id.unwrap();
    let reply = app
        .json_as(
            Method::PATCH,
            &channel_operator,
            &uri,
            &json!({"msTenantId": same.to_string().to_uppercase()}),
        )
        .await;
    assert_eq!(reply.status, 200);
    let stored = app.stored(mine).await;
    assert!(stored.app_client_secret_sealed.is_some());
    assert_eq!(stored.sync.delta_link, synced.delta_link);

    // A new tenant without a new secret: the secret and the sync state go.
    let new_tenant = uuid::Uuid::new_v4();
    let reply = app
        .json_as(
            Method::PATCH,
            &channel_operator,
            &uri,
            &json!({"msTenantId": new_tenant.to_string()}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    assert_eq!(reply.json()["ApplicationClientSecret"], Value::Null);
    let stored = app.stored(mine).await;
    assert_eq!(stored.tenant_id, Some(new_tenant));
    assert_eq!(stored.app_client_secret_sealed, None);
    assert_eq!(stored.app_client_secret_hint, None);
    assert_eq!(stored.sync.delta_link, None, "the next sync is a full round");
    assert_eq!(stored.sync.last_full_sync_at, None);
    assert_eq!(stored.sync.next_sync_at, None, "due at once");
    assert!(!stored.has_secure_connection());

    // A new app id with a new secret in the same request keeps the new secret.
    app.set_sync_state(mine, &synced).await;
    let reply = app
        .json_as(
            Method::PATCH,
            &channel_operator,
            &uri,
            &json!({"applicationClientId": "0b8f2e1c-7a44-4c1e-9d3f-5e6a7b8c9d0e", "applicationClientSecret": "new~secret"}),
        )
        .await;
    assert_eq!(reply.status, 200);
    let stored = app.stored(mine).await;
    assert_eq!(stored.app_client_secret_hint.as_deref(), Some("new"));
    assert_eq!(stored.sync.delta_link, None);
    assert!(stored.has_secure_connection());
}

async fn a_tenant_belongs_to_one_service(app: TestApp) {
    let mine = app.service("mine", 1, true, Some(7)).await;
    let theirs = app.service("theirs", 1, true, Some(8)).await;
    let their_tenant = app.stored(theirs).await.tenant_id.unwrap();
    let channel_operator = app.token_for(Role::Operator, Scope::Channel { channel_id: 7 }).await;
    let reply = app
        .json_as(
            Method::PATCH,
            &channel_operator,
            &format!("/api/v3/customer/{mine}"),
            &json!({"msTenantId": their_tenant.to_string().to_uppercase()}),
        )
        .await;
    assert_eq!(reply.status, 409, "{}", String::from_utf8_lossy(&reply.body));
    assert_eq!(reply.code(), "tenant_in_use");
    assert_eq!(reply.json()["field"], "msTenantId");
    assert!(
        !reply.json()["detail"].as_str().unwrap().contains("theirs"),
        "names no other service"
    );
    assert_ne!(app.stored(mine).await.tenant_id, Some(their_tenant));

    let reply = app
        .json_as(
            Method::POST,
            &channel_operator,
            "/api/v2/customer",
            &json!({"shortName": "copycat", "msTenantId": their_tenant.to_string()}),
        )
        .await;
    assert_eq!(reply.status, 409);
    assert_eq!(reply.code(), "tenant_in_use");
}

async fn short_names_are_unique_per_channel(app: TestApp) {
    let seven = app.token_for(Role::Operator, Scope::Channel { channel_id: 7 }).await;
    let eight = app.token_for(Role::Operator, Scope::Channel { channel_id: 8 }).await;
    let create = |token: String| {
        let app = &app;
        async move {
            app.json_as(Method::POST, &token, "/api/v2/customer", &json!({"shortName": "acme"}))
                .await
        }
    };
    assert_eq!(create(seven.clone()).await.status, 201);
    let reply = create(eight.clone()).await;
    assert_eq!(
        reply.status,
        201,
        "another channel's names are not visible: {}",
        reply.json()
    );
    let reply = create(seven.clone()).await;
    assert_eq!(reply.status, 409);
    assert_eq!(reply.code(), "short_name_taken");
    let reply = app
        .json_as(Method::POST, &seven, "/api/v2/customer", &json!({"shortName": "ACME"}))
        .await;
    assert_eq!(reply.status, 409, "compared case-insensitively");
}

both_backends!(
    scoped_admins_manage_only_clients_inside_their_scope,
    customer_scoped_clients_cannot_change_connection_fields,
    changing_the_tenant_drops_secret_and_sync_state,
    a_tenant_belongs_to_one_service,
    short_names_are_unique_per_channel,
);
