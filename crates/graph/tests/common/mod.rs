//! Shared set-up for the Graph client tests: a fake Graph with one tenant and a client whose
//! waits are recorded instead of slept.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use graph::{GraphClient, GraphConfig, RecordingObserver, RecordingSleeper, TenantClient, TenantCredentials};
use testkit::fake_graph::{FakeGraph, FakeTenant};

pub struct Setup {
    pub fake: FakeGraph,
    pub tenant: FakeTenant,
    pub client: GraphClient,
    pub sleeper: Arc<RecordingSleeper>,
    pub observer: Arc<RecordingObserver>,
}

impl Setup {
    pub async fn new(seed: u64, users: u64) -> Self {
        Self::with_config(seed, users, |_| {}).await
    }

    pub async fn with_config(seed: u64, users: u64, adjust: impl FnOnce(&mut GraphConfig)) -> Self {
        let fake = FakeGraph::start().await.unwrap();
        let tenant = fake.add_generated_tenant(seed, users);
        let mut config = GraphConfig {
            request_timeout: Duration::from_secs(10),
            max_retries: 4,
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            max_retry_after: Duration::from_secs(30),
            ..GraphConfig::for_base_url(fake.url())
        };
        adjust(&mut config);
        let sleeper = Arc::new(RecordingSleeper::new());
        let client = GraphClient::with_sleeper(config, sleeper.clone()).unwrap();
        Self {
            fake,
            tenant,
            client,
            sleeper,
            observer: Arc::new(RecordingObserver::new()),
        }
    }

    pub fn credentials(&self) -> TenantCredentials {
        credentials_of(&self.tenant)
    }

    /// A handle for the set-up's tenant that reports to `self.observer`.
    pub fn tenant_client(&self) -> TenantClient {
        self.client
            .tenant(self.credentials())
            .with_observer(self.observer.clone())
    }
}

pub fn credentials_of(tenant: &FakeTenant) -> TenantCredentials {
    TenantCredentials::new(tenant.tenant_id, tenant.client_id.clone(), tenant.client_secret.clone())
}
